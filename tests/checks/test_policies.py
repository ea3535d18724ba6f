"""Policies: for each one, a spec that breaks it (the finding names the policy, the object, the JSON path
and the spec file:line) and a spec that passes; waivers per project and per model, with a reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlgitops.checks.policies.catalog import POLICIES, POLICY_IDS
from mlgitops.checks.policies.checks import image_problem
from mlgitops.checks.policies.promotion import compare_versions
from tests.conftest import CliResult, run_cli
from tests.projects import KNATIVE_FEATURES, L4_GPU_CLASS, project_yaml

PROJECT = project_yaml("dev", "staging", "prod", extra=KNATIVE_FEATURES + L4_GPU_CLASS)

# Breaks no policy: versioned storageUri, limits everywhere, Standard mode with cpu autoscaling.
GOOD = """\
apiVersion: mlgitops.io/v1alpha1
kind: Model
metadata: {name: m}
model:
  format: sklearn
  version: "3"
  storageUri: s3://models/m/3/model
serving:
  replicas: {min: 1, max: 2}
  autoscaling: {metric: cpu, target: 70}
  resources:
    requests: {cpu: "1", memory: 1Gi}
    limits: {cpu: "2", memory: 2Gi}
"""

TRAINING = """\
training:
  image: ghcr.io/acme/train:1.4.2
  steps:
  - {name: fit, command: [python, -m, m.fit]}
"""


pytestmark = pytest.mark.usefixtures("private_validate_cache")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "mlgitops.yaml").write_text(PROJECT)
    return root


def write_model(root: Path, text: str) -> Path:
    path = root / "models" / "m.yaml"
    path.write_text(text)
    return path


def validate(root: Path, crds: Path, *args: str) -> CliResult:
    """JSON unless the test asks for a format: the text format shows one line per spec line
    (test_noise.py), while these tests check every finding."""
    fmt = [] if "--format" in args else ["--format", "json"]
    return run_cli(["validate", "--crds", str(crds), *fmt, *args], cwd=root)


def _finding_line(item: dict[str, Any]) -> str:
    """A finding of the JSON output, written as the text format writes a finding of its own."""
    subject = [item["environment"]] if item["environment"] else []
    subject.append(f"{item['kind']}/{item['name']}" if item["name"] else f"{item['apiVersion']} {item['kind']}")
    if item["path"]:
        subject.append(item["path"])
    where = (
        f" ({item['file']}:{item['line']}:{item['column']})"
        if "line" in item
        else (f" ({item['file']})" if "file" in item else "")
    )
    return f"{item['severity']} [{item['id']}] {' '.join(subject)}: {item['message']}{where}"


def findings(result: CliResult, policy: str) -> list[str]:
    if result.stdout.startswith("{"):
        return [_finding_line(f) for f in json.loads(result.stdout)["findings"] if f["id"] == policy]
    return [line for line in result.stdout.splitlines() if f"[{policy}]" in line]


def at(path: Path, line_needle: str, value: str, occurrence: int = 1) -> str:
    """`file:line:col` of `value` on the n-th line containing `line_needle` (file relative to the repo)."""
    lines = path.read_text().splitlines()
    number = [i for i, text in enumerate(lines, start=1) if line_needle in text][occurrence - 1]
    text = lines[number - 1]
    column = text.index(value, text.index(line_needle)) + 1
    return (
        f"{path.parent.name}/{path.name}:{number}:{column}"
        if path.parent.name == "models"
        else (f"{path.name}:{number}:{column}")
    )


def test_the_good_model_passes_every_policy(repo: Path, crds_dir: Path) -> None:
    write_model(repo, GOOD + TRAINING)
    result = validate(repo, crds_dir, "--strict", "--format", "text")
    assert result.exit_code == 0, result.stdout
    assert result.stdout.startswith("valid: 1 model(s)")


def test_policies_have_ids_severities_and_one_line_reasons() -> None:
    assert len(set(POLICY_IDS)) == len(POLICIES) == 24
    for policy in POLICIES:
        assert policy.severity in ("error", "warning")
        assert policy.reason and "\n" not in policy.reason and len(policy.reason) < 120
    assert {p.id for p in POLICIES if p.severity == "warning"} == {
        "knative-canary",
        "canary-share",
        "gpu-shared-memory",
        "training-environments",
        "retry-max-duration",
    }


# --- image-pinned ---------------------------------------------------------------------------------


def test_image_latest_outside_dev(repo: Path, crds_dir: Path) -> None:
    # Trains in every environment (no schedule, so no training-environments warning); dev may float.
    training = TRAINING.replace("ghcr.io/acme/train:1.4.2", "ghcr.io/acme/train:latest")
    model = write_model(repo, GOOD + training + "  environments: [dev, staging, prod]\n")
    result = validate(repo, crds_dir)
    assert result.exit_code == 1
    where = at(model, "image: ghcr.io/acme/train:latest", "ghcr.io")
    assert findings(result, "image-pinned") == [
        f"error [image-pinned] {env} WorkflowTemplate/m-train /spec/templates/1/container/image: "
        "image 'ghcr.io/acme/train:latest' uses the mutable tag latest (allowed only in the first environment, "
        f"the dev stage); pin a version tag or a digest ({where})"
        for env in ("staging", "prod")
    ]


def test_image_without_tag_in_a_step_and_in_a_server(repo: Path, crds_dir: Path) -> None:
    text = GOOD.replace("serving:\n", "serving:\n  engine: deployment\n  image: acme/sklearn-server\n") + TRAINING
    text = text.replace("{name: fit, command:", "{name: fit, image: 'registry:5000/acme/fit', command:")
    model = write_model(repo, text)
    result = validate(repo, crds_dir)
    lines = [line for line in findings(result, "image-pinned") if " prod " in line]
    step_image = at(model, "image: 'registry:5000", "'registry")
    assert lines == [
        "error [image-pinned] prod Deployment/m-predictor /spec/template/spec/containers/0/image: image "
        "'acme/sklearn-server' has no tag or digest (allowed only in the first environment, the dev stage); "
        f"pin a version tag or a digest ({at(model, 'image: acme/sklearn-server', 'acme')})",
        "error [image-pinned] prod WorkflowTemplate/m-train /spec/templates/1/container/image: image "
        "'registry:5000/acme/fit' has no tag or digest (allowed only in the first environment, the dev stage); "
        f"pin a version tag or a digest ({step_image})",
    ]


def test_image_latest_in_dev_only_and_digests_pass(repo: Path, crds_dir: Path) -> None:
    digest = "ghcr.io/acme/train@sha256:" + "ab" * 32
    write_model(
        repo,
        GOOD
        + TRAINING.replace("ghcr.io/acme/train:1.4.2", digest)
        + "environments:\n  dev: {training: {image: 'ghcr.io/acme/train:latest'}}\n",
    )
    result = validate(repo, crds_dir)
    assert result.exit_code == 0, result.stdout
    assert findings(result, "image-pinned") == []


def test_image_references() -> None:
    assert image_problem("nginx") == "has no tag or digest"
    assert image_problem("localhost:5000/nginx") == "has no tag or digest"
    assert image_problem("nginx:latest") == "uses the mutable tag latest"
    assert image_problem("nginx@sha256:abc") == "has a malformed digest"
    for pinned in ("nginx:1.27", "localhost:5000/nginx:1.27", "nginx:latest@sha256:" + "0" * 64):
        assert image_problem(pinned) is None


# --- gpu-class ------------------------------------------------------------------------------------


def test_gpu_without_class_in_serving_and_in_a_step(repo: Path, crds_dir: Path) -> None:
    text = GOOD.replace("  replicas:", "  gpu: {count: 1}\n  replicas:") + TRAINING.replace(
        "command: [python, -m, m.fit]}", "command: [python, -m, m.fit], gpu: {count: 2}}"
    )
    model = write_model(repo, text)
    result = validate(repo, crds_dir)
    assert result.exit_code == 1
    prod = [line for line in findings(result, "gpu-class") if " prod " in line]
    assert prod == [
        "error [gpu-class] prod WorkflowTemplate/m-train "
        "/spec/templates/1/container/resources/limits/nvidia.com~1gpu: requests nvidia.com/gpu without a GPU class "
        "(no node selector or tolerations); set gpu.class (known: l4) "
        f"({at(model, 'gpu: {count: 2}', '2}')})",
        "error [gpu-class] prod InferenceService/m /spec/predictor/model/resources/limits/nvidia.com~1gpu: "
        "requests nvidia.com/gpu without a GPU class (no node selector or tolerations); set gpu.class (known: l4) "
        f"({at(model, 'gpu: {count: 1}', '1}')})",
    ]


def test_gpu_with_class_passes(repo: Path, crds_dir: Path) -> None:
    write_model(repo, GOOD.replace("  replicas:", "  gpu: {count: 1, class: l4}\n  replicas:"))
    result = validate(repo, crds_dir)
    assert result.exit_code == 0, result.stdout
    assert findings(result, "gpu-class") == []


# --- gpu-scale-to-zero ----------------------------------------------------------------------------


SCALE_TO_ZERO = GOOD.replace(
    "  replicas: {min: 1, max: 2}", "  mode: Knative\n  gpu: {count: 1, class: l4}\n  replicas: {min: 1, max: 2}"
).replace("{metric: cpu, target: 70}", "{metric: concurrency, target: 8}")


def test_gpu_with_min_replicas_zero(repo: Path, crds_dir: Path) -> None:
    model = write_model(repo, SCALE_TO_ZERO + "environments:\n  staging: {serving: {replicas: {min: 0}}}\n")
    result = validate(repo, crds_dir)
    assert result.exit_code == 1
    assert findings(result, "gpu-scale-to-zero") == [
        "error [gpu-scale-to-zero] staging InferenceService/m /spec/predictor/minReplicas: minReplicas is 0 on a "
        "GPU predictor; keep at least 1 replica (serving.replicas.min) "
        f"({at(model, 'staging: {serving: {replicas: {min: 0}}}', '0}')})"
    ]


def test_gpu_with_one_replica_or_cpu_scale_to_zero_passes(repo: Path, crds_dir: Path) -> None:
    write_model(repo, SCALE_TO_ZERO)
    assert findings(validate(repo, crds_dir), "gpu-scale-to-zero") == []
    write_model(
        repo,
        GOOD.replace("  replicas: {min: 1, max: 2}", "  mode: Knative\n  replicas: {min: 0, max: 2}").replace(
            "metric: cpu", "metric: concurrency"
        ),
    )
    result = validate(repo, crds_dir)
    assert result.exit_code == 0, result.stdout


# --- autoscaling-mode -----------------------------------------------------------------------------


def test_concurrency_autoscaling_in_standard_mode(repo: Path, crds_dir: Path) -> None:
    model = write_model(repo, GOOD.replace("{metric: cpu, target: 70}", "{metric: concurrency, target: 4}"))
    result = validate(repo, crds_dir)
    assert result.exit_code == 1
    where = at(model, "autoscaling: {metric: concurrency", "concurrency")
    assert findings(result, "autoscaling-mode") == [
        f"error [autoscaling-mode] {env} InferenceService/m /spec/predictor/scaleMetric: scaleMetric concurrency "
        f"needs Knative mode; Standard mode scales on cpu or memory ({where})"
        for env in ("dev", "staging", "prod")
    ]


def test_rps_autoscaling_in_knative_mode_passes(repo: Path, crds_dir: Path) -> None:
    write_model(
        repo,
        GOOD.replace("{metric: cpu, target: 70}", "{metric: rps, target: 40}").replace(
            "  replicas:", "  mode: Knative\n  replicas:"
        ),
    )
    result = validate(repo, crds_dir)
    assert result.exit_code == 0, result.stdout


# --- knative-canary -------------------------------------------------------------------------------


CANARY = '      canary: {version: "4", storageUri: s3://models/m/4/model, trafficPercent: 10}\n'
# KServe's Standard mode routes a canary no traffic, so a Standard canary with traffic is refused (stockfit.py):
# the Standard fixtures run it as a dark launch.
DARK_CANARY = CANARY.replace("trafficPercent: 10", "trafficPercent: 0")


def test_canary_in_knative_mode_is_a_warning(repo: Path, crds_dir: Path) -> None:
    model = write_model(
        repo,
        GOOD + "environments:\n  prod:\n    serving:\n      mode: Knative\n      autoscaling: {metric: rps}\n" + CANARY,
    )
    result = validate(repo, crds_dir)
    assert result.exit_code == 0, result.stdout  # warnings alone pass
    assert findings(result, "knative-canary") == [
        "warning [knative-canary] prod InferenceService/m /spec/predictor/canaryTrafficPercent: Knative canary: "
        "the previous model lives only in the cluster's revisions, so rollback state is outside Git; engine: "
        "deployment declares both versions in Git (KServe's Standard mode routes no canary traffic) "
        f"({at(model, 'trafficPercent: 10', '10')})"
    ]
    assert validate(repo, crds_dir, "--strict").exit_code == 1


def test_dark_launch_canary_in_standard_mode_passes(repo: Path, crds_dir: Path) -> None:
    write_model(repo, GOOD + "environments:\n  prod:\n    serving:\n" + DARK_CANARY)
    result = validate(repo, crds_dir, "--strict")
    assert result.exit_code == 0, result.stdout


# --- storage-uri-version --------------------------------------------------------------------------


def test_storage_uri_without_the_version(repo: Path, crds_dir: Path) -> None:
    model = write_model(repo, GOOD.replace("s3://models/m/3/model", "s3://models/m/current/model"))
    result = validate(repo, crds_dir)
    assert result.exit_code == 1
    where = at(model, "storageUri: s3://models/m/current/model", "s3://")
    assert findings(result, "storage-uri-version") == [
        f"error [storage-uri-version] {env} InferenceService/m /spec/predictor/model/storageUri: storageUri "
        "'s3://models/m/current/model' does not contain the model version '3' as a path segment; use a versioned, "
        f"immutable location ({where})"
        for env in ("dev", "staging", "prod")
    ]


def test_canary_storage_uri_without_its_version_on_both_engines(repo: Path, crds_dir: Path) -> None:
    bad = CANARY.replace("s3://models/m/4/model", "s3://models/m/3/model-next")
    dark = DARK_CANARY.replace("s3://models/m/4/model", "s3://models/m/3/model-next")
    model = write_model(
        repo,
        GOOD
        + "environments:\n  staging:\n    serving:\n"
        + dark
        + "  prod:\n    serving:\n      engine: deployment\n"
        + bad,
    )
    result = validate(repo, crds_dir)
    where = at(model, "s3://models/m/3/model-next", "s3://")
    prod_where = at(model, "s3://models/m/3/model-next", "s3://", occurrence=2)
    assert findings(result, "storage-uri-version") == [
        "error [storage-uri-version] staging InferenceService/m /spec/canary/0/predictor/model/storageUri: "
        "storageUri 's3://models/m/3/model-next' does not contain the model version '4' as a path segment; "
        f"use a versioned, immutable location ({where})",
        "error [storage-uri-version] prod Deployment/m-predictor-canary /spec/template/spec/initContainers/0/args/0: "
        "storageUri 's3://models/m/3/model-next' does not contain the model version '4' as a path segment; "
        f"use a versioned, immutable location ({prod_where})",
    ]


def test_versioned_storage_uris_pass(repo: Path, crds_dir: Path) -> None:
    versioned = GOOD.replace("s3://models/m/3/model", "gs://models/m/v3/")
    write_model(repo, versioned + "environments:\n  prod:\n    serving:\n" + DARK_CANARY)
    result = validate(repo, crds_dir)
    assert result.exit_code == 0, result.stdout


# --- prod-limits ----------------------------------------------------------------------------------


def test_prod_without_limits(repo: Path, crds_dir: Path) -> None:
    unlimited = GOOD.replace('    limits: {cpu: "2", memory: 2Gi}\n', "")
    model = write_model(repo, unlimited + "environments:\n  prod:\n    serving:\n" + DARK_CANARY)
    result = validate(repo, crds_dir)
    assert result.exit_code == 1
    where = at(model, "requests: {cpu", "requests")  # the resources block: no limits to point at
    assert findings(result, "prod-limits") == [
        "error [prod-limits] prod InferenceService/m /spec/predictor/model/resources/limits: container model has "
        f"no cpu or memory limit in prod, the production stage; set serving.resources.limits ({where})",
        "error [prod-limits] prod InferenceService/m /spec/canary/0/predictor/model/resources/limits: container "
        "kserve-container has no cpu or memory limit in prod, the production stage; set serving.resources.limits "
        f"({where})",
    ]


def test_limits_only_in_prod_pass(repo: Path, crds_dir: Path) -> None:
    write_model(
        repo,
        GOOD.replace('    limits: {cpu: "2", memory: 2Gi}\n', "")
        + "environments:\n  prod: {serving: {resources: {limits: {memory: 2Gi}}}}\n",
    )
    result = validate(repo, crds_dir)
    assert result.exit_code == 0, result.stdout


# --- promotion-order ------------------------------------------------------------------------------


def test_prod_ahead_of_staging(repo: Path, crds_dir: Path) -> None:
    model = write_model(
        repo, GOOD + 'environments:\n  prod: {model: {version: "10", storageUri: s3://models/m/10/model}}\n'
    )
    result = validate(repo, crds_dir)
    assert result.exit_code == 1
    where = at(model, 'version: "10"', '"10"')
    assert findings(result, "promotion-order") == [
        "error [promotion-order] prod InferenceService/m /metadata/labels/app.kubernetes.io~1version: prod serves "
        f"version '10', ahead of staging ('3'); promote it through staging first ({where})"
    ]


def test_prod_behind_staging_or_at_its_canary_passes(repo: Path, crds_dir: Path) -> None:
    write_model(
        repo,
        GOOD + "environments:\n"
        '  staging: {serving: {canary: {version: "4", storageUri: s3://models/m/4/model, trafficPercent: 0}}}\n'
        '  prod: {model: {version: "4", storageUri: s3://models/m/4/model}}\n',
    )
    result = validate(repo, crds_dir)
    assert result.exit_code == 0, result.stdout


def test_promotion_skips_environments_the_model_is_not_in(repo: Path, crds_dir: Path) -> None:
    write_model(
        repo,
        GOOD + "environments:\n  staging: {enabled: false}\n"
        '  dev: {model: {version: "2", storageUri: s3://models/m/2/model}}\n',
    )
    result = validate(repo, crds_dir)
    assert "ahead of dev ('2')" in findings(result, "promotion-order")[0]


def test_version_comparison() -> None:
    assert compare_versions("10", "9") == 1
    assert compare_versions("1.10.0", "1.9.3") == 1
    assert compare_versions("v2", "2.0") == 0
    assert compare_versions("2026-08-01", "2026-07-30") == 1
    assert compare_versions("1.2.0-rc1", "1.2.0") is None
    assert compare_versions("blue", "green") is None


# --- kserve-annotation ----------------------------------------------------------------------------


def test_misspelt_kserve_annotation(repo: Path, crds_dir: Path) -> None:
    model = write_model(
        repo,
        GOOD.replace(
            "metadata: {name: m}",
            'metadata:\n  name: m\n  annotations:\n    serving.kserve.org/enable-prometheus-scraping: "true"',
        ),
    )
    result = validate(repo, crds_dir)
    assert result.exit_code == 1
    where = at(model, "serving.kserve.org/enable-prometheus-scraping", '"true"')
    assert findings(result, "kserve-annotation") == [
        f"error [kserve-annotation] {env} InferenceService/m /metadata/annotations/"
        "serving.kserve.org~1enable-prometheus-scraping: annotation 'serving.kserve.org/enable-prometheus-scraping' "
        "looks like a misspelt KServe key (did you mean 'serving.kserve.io/enable-prometheus-scraping'?); "
        f"KServe ignores it ({where})"
        for env in ("dev", "staging", "prod")
    ]


def test_correct_kserve_annotation_passes(repo: Path, crds_dir: Path) -> None:
    write_model(
        repo,
        GOOD.replace(
            "metadata: {name: m}",
            'metadata:\n  name: m\n  annotations: {serving.kserve.io/enable-prometheus-scraping: "true", '
            'sidecar.istio.io/inject: "false"}',
        ),
    )
    result = validate(repo, crds_dir)
    assert result.exit_code == 0, result.stdout


# --- switching policies off -----------------------------------------------------------------------


BROKEN = GOOD.replace("s3://models/m/3/model", "s3://models/m/current/model")


def test_disabled_per_project_with_a_reason(repo: Path, crds_dir: Path) -> None:
    write_model(repo, BROKEN)
    (repo / "mlgitops.yaml").write_text(
        PROJECT + "policies:\n  disabled:\n  - {id: storage-uri-version, reason: object storage is versioned}\n"
    )
    result = validate(repo, crds_dir, "--format", "json")
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["findings"] == []
    assert {(w["id"], w["environment"], w["reason"], w["waivedAt"]) for w in report["waived"]} == {
        ("storage-uri-version", env, "object storage is versioned", "mlgitops.yaml:16:5")
        for env in ("dev", "staging", "prod")
    }
    text = validate(repo, crds_dir, "--format", "text")
    assert text.stdout.splitlines()[-1].endswith("; 3 policy finding(s) waived")


def test_disabled_per_model_in_some_environments(repo: Path, crds_dir: Path) -> None:
    model = write_model(
        repo,
        BROKEN + "policies:\n  disabled:\n"
        "  - id: storage-uri-version\n    reason: dev and staging read a moving snapshot\n"
        "    environments: [dev, staging]\n",
    )
    result = validate(repo, crds_dir, "--format", "text")
    assert result.exit_code == 1
    assert [line.split()[2] for line in findings(result, "storage-uri-version")] == ["prod"]
    assert f"({at(model, 'storageUri: s3://models/m/current/model', 's3://')})" in result.stdout


def test_a_reason_is_required(repo: Path, crds_dir: Path) -> None:
    model = write_model(repo, BROKEN + "policies:\n  disabled:\n  - {id: storage-uri-version}\n")
    result = validate(repo, crds_dir, "--format", "text")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{at(model, '- {id: storage-uri-version}', '{id')}: missing required key 'reason' in policies.disabled[0]"
    ]
    write_model(repo, BROKEN + "policies:\n  disabled:\n  - {id: storage-uri-version, reason: ' '}\n")
    blank = validate(repo, crds_dir)
    assert blank.exit_code == 1
    assert "a reason is required" in blank.stderr
    assert len(blank.stderr.splitlines()) == 1


def test_unknown_policy_or_environment_in_a_waiver(repo: Path, crds_dir: Path) -> None:
    (repo / "mlgitops.yaml").write_text(
        PROJECT + "policies:\n  disabled:\n  - {id: storage-uri-versions, reason: r, environments: [stagin]}\n"
    )
    write_model(repo, GOOD)
    result = validate(repo, crds_dir)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        "mlgitops.yaml:16:10: unknown policy 'storage-uri-versions' (did you mean "
        "'storage-uri-version'?); policies: image-pinned, "
    )
    assert lines[1] == (
        f"{at(repo / 'mlgitops.yaml', 'environments: [stagin]', 'stagin')}: unknown environment 'stagin' "
        "(did you mean 'staging'?); the project has dev, staging, prod"
    )
