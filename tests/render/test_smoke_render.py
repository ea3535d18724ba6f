"""What `tests:` renders: per environment (never in the base) a ConfigMap with the checker and the tests and a
Job running them, named by a hash of what they hold, calling the model's in-cluster address, hardened like
every pod mlgitops renders, and valid: checked with the real Kustomize, the Kubernetes schemas `validate`
uses, the `restricted` Pod Security checks and the image policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import kustomize_objects, run_cli
from projects import model_yaml, project_yaml, write_project

pytestmark = pytest.mark.usefixtures("private_validate_cache")

TESTS = """\
tests:
- name: ready
- name: predict
  request: {body: {instances: [[6.8, 2.8, 4.8, 1.4]]}}
  expect: {json: [{path: /predictions/0, equals: 1}], latencyMs: 500}
  retries: 1
"""
LIMITS = "resources: {requests: {cpu: '1', memory: 1Gi}, limits: {cpu: '1', memory: 1Gi}}"


def render(root: Path, body: str, *, extra: str = "", name: str = "iris", version: str = "3") -> dict[str, list[Any]]:
    """Render a one-model project; each environment's objects as `kubectl kustomize` outputs them."""
    write_project(root, project_yaml(extra=extra), {name: model_yaml(name, version=version, body=body)})
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 0, result.stderr
    return {env: kustomize_objects(root / "overlays" / env) for env in ("dev", "prod")}


def smoke_objects(objects: list[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    config_map = next(o for o in objects if o["kind"] == "ConfigMap" and "check.py" in o.get("data", {}))
    job = next(o for o in objects if o["kind"] == "Job")
    return config_map, job


def test_each_environment_gets_a_configmap_and_a_job_the_base_none(tmp_path: Path) -> None:
    objects = render(tmp_path, f"serving: {{{LIMITS}}}\n{TESTS}")
    assert not list((tmp_path / "base" / "models" / "iris").glob("*smoke*"))
    assert "Job" not in (tmp_path / "base" / "models" / "iris" / "kustomization.yaml").read_text()
    for env in ("dev", "prod"):
        config_map, job = smoke_objects(objects[env])
        assert config_map["metadata"]["namespace"] == job["metadata"]["namespace"] == f"ml-{env}"
        assert config_map["metadata"]["name"] == job["metadata"]["name"]
        assert job["metadata"]["name"].startswith("iris-smoke-") and len(job["metadata"]["name"]) == 19
        assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "smoke-test"
        assert job["metadata"]["labels"]["app.kubernetes.io/version"] == "3"
        assert job["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"] == "1"
        pod = job["spec"]["template"]["spec"]
        assert pod["volumes"][0] == {"name": "tests", "configMap": {"name": config_map["metadata"]["name"]}}
        container = pod["containers"][0]
        assert container["args"][container["args"].index("--url") + 1] == f"http://iris-predictor.ml-{env}"
        document = json.loads(config_map["data"]["tests.json"])
        assert document["environment"] == env
        assert [(t["name"], t["method"], t["path"]) for t in document["tests"]] == [
            ("ready", "GET", "/v1/models/iris"),
            ("predict", "POST", "/v1/models/iris:predict"),
        ]
    # the two environments differ in their address, so in their names too
    assert smoke_objects(objects["dev"])[1]["metadata"]["name"] != smoke_objects(objects["prod"])[1]["metadata"]["name"]


def test_the_checker_in_the_configmap_is_the_package_one(tmp_path: Path) -> None:
    from mlgitops.data.smoke import check

    config_map, _ = smoke_objects(render(tmp_path, f"serving: {{}}\n{TESTS}")["dev"])
    assert config_map["data"]["check.py"] == Path(check.__file__).read_text()


def _name(root: Path, body: str, **kwargs: Any) -> str:
    name: str = smoke_objects(render(root, body, **kwargs)["dev"])[1]["metadata"]["name"]
    return name


def test_the_name_changes_with_what_is_tested_only(tmp_path: Path) -> None:
    base = f"serving: {{}}\n{TESTS}"
    first = _name(tmp_path / "a", base)
    assert _name(tmp_path / "b", base) == first  # deterministic
    assert _name(tmp_path / "c", base.replace("serving: {}", "serving: {replicas: {min: 2}}")) == first
    changed = {
        "version": _name(tmp_path / "d", base, version="4"),
        "tests": _name(tmp_path / "e", base.replace("equals: 1", "equals: 2")),
        "image": _name(tmp_path / "f", base, extra="tests: {image: 'python:3.13-alpine'}\n"),
        "timeout": _name(tmp_path / "g", base, extra="tests: {timeout: 10s}\n"),
        "transformer": _name(
            tmp_path / "h", base.replace("serving: {}", "serving: {transformer: {image: 'ghcr.io/a/t:1'}}")
        ),
    }
    assert first not in changed.values()
    assert len(set(changed.values())) == len(changed)


def test_a_long_model_name_still_fits_a_label_value(tmp_path: Path) -> None:
    long = "m" + "o" * 51 + "x"  # 53 characters, the longest model name
    name = _name(tmp_path, f"serving: {{}}\n{TESTS}", name=long)
    assert len(name) <= 63 and name.startswith(long[:48] + "-smoke-")


@pytest.mark.parametrize(
    ("serving", "host"),
    [
        ("serving: {mode: Knative}", "iris-predictor"),
        ("serving: {transformer: {image: 'ghcr.io/acme/t:1'}}", "iris-transformer"),
        (
            "serving: {transformer: {image: 'ghcr.io/acme/t:1', collocated: true}, ports: [{containerPort: 8085}]}",
            "iris-predictor",
        ),
        ("serving: {engine: deployment}", "iris-predictor"),
    ],
)
def test_the_address_is_the_entry_service(tmp_path: Path, serving: str, host: str) -> None:
    objects = render(tmp_path, f"{serving}\n{TESTS}")
    _, job = smoke_objects(objects["prod"])
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--url") + 1] == f"http://{host}.ml-prod"
    services = {o["metadata"]["name"] for o in objects["prod"] if o["kind"] == "Service"}
    if "deployment" in serving:  # the Service the Deployment engine renders is the one called, on port 80
        assert host in services
        service = next(o for o in objects["prod"] if o["kind"] == "Service")
        assert service["spec"]["ports"][0]["port"] == 80


def test_the_job_is_hardened_and_bounded(tmp_path: Path) -> None:
    from mlgitops.checks.podsecurity import site_problems
    from mlgitops.checks.policies.sites import pod_sites

    _, job = smoke_objects(render(tmp_path, f"serving: {{}}\n{TESTS}", extra="tests: {wait: 2m, timeout: 5s}\n")["dev"])
    sites = pod_sites(job)
    assert len(sites) == 1
    assert list(site_problems(job, sites[0].path, sites[0].containers, None, "restricted")) == []
    pod = job["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False and pod["restartPolicy"] == "Never"
    context = pod["containers"][0]["securityContext"]
    assert context["readOnlyRootFilesystem"] is True and context["runAsUser"] == 65534
    assert context["capabilities"] == {"drop": ["ALL"]} and context["allowPrivilegeEscalation"] is False
    assert set(pod["containers"][0]["resources"]) == {"requests", "limits"}
    spec = job["spec"]
    # the wait, then (retries + 1) x (timeout + the longest pause) per test, and a margin
    assert spec["activeDeadlineSeconds"] == 120 + 3 * (5 + 8) + 2 * (5 + 8) + 60  # retries 2 (default) and 1
    assert spec["ttlSecondsAfterFinished"] == 86400
    assert spec["backoffLimit"] == 2
    assert spec["podFailurePolicy"]["rules"][0] == {
        "action": "FailJob",
        "onExitCodes": {"containerName": "smoke", "operator": "In", "values": [1, 2]},
    }


def test_no_ttl_when_asked(tmp_path: Path) -> None:
    _, job = smoke_objects(render(tmp_path, f"serving: {{}}\n{TESTS}", extra="tests: {ttl: null}\n")["dev"])
    assert "ttlSecondsAfterFinished" not in job["spec"]


def test_the_objects_validate_against_the_kubernetes_schemas(tmp_path: Path, crds_dir: Path) -> None:
    render(tmp_path, f"serving: {{{LIMITS}}}\n{TESTS}")
    result = run_cli(["validate", "--crds", str(crds_dir)], cwd=tmp_path)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "8 object(s) in 2 environment(s)" in result.stdout  # each: Namespace, InferenceService, ConfigMap, Job


def test_a_broken_job_field_fails_schema_validation(tmp_path: Path, crds_dir: Path) -> None:
    """A negative control: the Job is validated, field by field (a patch puts a string where an integer goes)."""
    body = f"serving: {{{LIMITS}}}\n{TESTS}patches:\n- target: {{kind: Job}}\n"
    body += "  ops: [{op: replace, path: /spec/backoffLimit, value: two}]\n"
    render(tmp_path, body)
    result = run_cli(["validate", "--crds", str(crds_dir)], cwd=tmp_path)
    assert result.exit_code == 1
    assert "Job/iris-smoke-" in result.stdout and "expected integer or null, got string" in result.stdout


def test_the_image_policy_covers_the_tests_image(tmp_path: Path, crds_dir: Path) -> None:
    render(tmp_path, f"serving: {{{LIMITS}}}\n{TESTS}", extra="tests: {image: 'python:latest'}\n")
    result = run_cli(["validate", "--crds", str(crds_dir)], cwd=tmp_path)
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if "[image-pinned]" in line]
    assert len(lines) == 1 and "prod Job/iris-smoke-" in lines[0]
    assert lines[0].endswith("(mlgitops.yaml:8:16)")  # tests.image, where the project sets it


def test_build_streams_them_with_the_model(tmp_path: Path) -> None:
    render(tmp_path, f"serving: {{}}\n{TESTS}")
    result = run_cli(["build", "--env", "dev"], cwd=tmp_path)
    assert result.exit_code == 0
    assert "kind: Job" in result.stdout and "iris-smoke-" in result.stdout
