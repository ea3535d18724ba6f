"""`mlgitops validate`: every rendered object against the Kubernetes schemas (kubernetes-validate) and the
upstream CRDs, findings located at the spec field they came from, output formats, strictness."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import mlgitops.render.model as render
from mlgitops.checks.policies.catalog import Stage
from mlgitops.checks.schemas import kube
from mlgitops.language.loader import load_workspace
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import render_models
from mlgitops.validate.report import ValidateOptions
from mlgitops.validate.run import load_schema_sources, validate_objects
from tests.conftest import CliResult, kustomize_objects, run_cli

Obj = dict[str, Any]


pytestmark = pytest.mark.usefixtures("private_validate_cache")


def line_of(path: Path, needle: str) -> int:
    """1-based number of the first line of `path` that contains `needle`."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def loc(path: Path, line_needle: str, value: str) -> str:
    """`line:column` of `value` on the first line of `path` containing `line_needle`."""
    number = line_of(path, line_needle)
    text = path.read_text().splitlines()[number - 1]
    return f"{number}:{text.index(value, text.index(line_needle)) + 1}"


def finding_lines(result: CliResult, check: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if f"[{check}]" in line]


def validate(root: Path, *args: str) -> CliResult:
    return run_cli(["validate", *args], cwd=root)


def patch_renderer(monkeypatch: pytest.MonkeyPatch, name: str, change: Callable[[Obj], None]) -> None:
    """Make mlgitops.render.<name> (one of the renderers render_model calls) return a changed object."""
    original = getattr(render, name)

    def changed(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        for obj in result if isinstance(result, list) else [result]:
            if obj is not None:
                change(obj)
        return result

    monkeypatch.setattr(render, name, changed)


# --- the bundled example ------------------------------------------------------------------------


def test_bundled_example_validates_clean(example: Path, crds_dir: Path) -> None:
    result = validate(example, "--crds", str(crds_dir))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [result.stdout.strip()], "only the summary line"
    assert result.stdout.startswith("valid: 3 model(s), ")
    assert "schemas: Kubernetes 1." in result.stdout
    assert f"{len(list(crds_dir.glob('*.yaml')))} CRD file(s)" in result.stdout
    assert result.stderr == ""


def test_every_object_of_the_example_has_a_schema(example: Path, crds_dir: Path) -> None:
    result = validate(example, "--crds", str(crds_dir), "--strict", "--format", "json")
    assert result.exit_code == 0, result.stdout
    report = json.loads(result.stdout)
    assert report["findings"] == []
    assert report["valid"] is True
    workspace = load_workspace(example)
    renders = render_models(workspace)
    kinds = {
        o["kind"] for env in workspace.project.environment_names for o in environment_objects(workspace, env, renders)
    }
    # Every schema source is exercised by the clean example.
    assert {
        "InferenceService",
        "WorkflowTemplate",
        "CronWorkflow",
        "Deployment",
        "Service",
        "HorizontalPodAutoscaler",
        "Namespace",
    } <= kinds
    platform = kustomize_objects(example / "base" / "platform")  # checked once, not per environment
    assert report["objects"] == len(platform) + sum(
        len(environment_objects(workspace, env, renders)) for env in workspace.project.environment_names
    )
    # fraud-detector's error objectives in Standard mode (prod only: staging's canary runs on Knative, whose
    # queue-proxy counts errors): two objectives; and staging's Knative canary itself
    assert sorted(w["id"] for w in report["waived"]) == ["gpu-scale-to-zero", "knative-canary"] + ["slo-alerted"] * 2


def test_without_crds_custom_kinds_are_warnings_and_errors_when_strict(example: Path) -> None:
    result = validate(example)
    assert result.exit_code == 0, result.stdout
    unchecked = finding_lines(result, "no-schema")
    assert [line.split()[3] for line in unchecked] == [
        "CronWorkflow:",
        "WorkflowTemplate:",
        "PodMonitor:",
        "PrometheusRule:",
        "InferenceService:",
    ]
    assert all(line.startswith("warning [no-schema] ") for line in unchecked)
    assert "pass --crds DIR" in unchecked[0]
    assert result.stdout.splitlines()[-1].startswith("valid with 5 warning(s): ")

    strict = validate(example, "--strict")
    assert strict.exit_code == 1
    assert all(line.startswith("error [no-schema] ") for line in finding_lines(strict, "no-schema"))
    assert strict.stdout.splitlines()[-1].startswith("invalid: 5 error(s), 0 warning(s)")


# --- Kubernetes built-in kinds (kubernetes-validate) --------------------------------------------------


def test_builtin_kind_type_error_is_located_at_the_spec_field_of_each_environment(
    example: Path, crds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def quote_min(obj: Obj) -> None:
        if obj["kind"] == "HorizontalPodAutoscaler":
            obj["spec"]["minReplicas"] = str(obj["spec"]["minReplicas"])

    patch_renderer(monkeypatch, "render_deployment_engine", quote_min)
    result = validate(example, "--crds", str(crds_dir))
    assert result.exit_code == 1
    model = example / "models" / "churn-scorer.yaml"
    where = {
        # dev: the model's own dev patch; staging: the model file; prod: the prod patch
        "dev": line_of(model, "serving: {replicas: {min: 1}}"),
        "staging": line_of(model, "replicas: {min: 2, max: 8}"),
        "prod": line_of(model, "replicas: {min: 4, max: 16}"),
    }
    lines = finding_lines(result, "schema")
    # prod's canary has its own HPA, whose bounds come from the canary's traffic share
    canary = [line for line in lines if "HorizontalPodAutoscaler/churn-scorer-predictor-canary " in line]
    assert len(canary) == 1
    assert f"(models/churn-scorer.yaml:{line_of(model, 'trafficPercent: 20}')}:" in canary[0]
    lines = [line for line in lines if line not in canary]
    assert len(lines) == 3
    for env, line in zip(("dev", "staging", "prod"), lines, strict=True):
        assert line.startswith(
            f"error [schema] {env} HorizontalPodAutoscaler/churn-scorer-predictor /spec/minReplicas: "
            "expected integer or null, got string (models/churn-scorer.yaml:"
        ), line
        assert f"(models/churn-scorer.yaml:{where[env]}:" in line


def test_builtin_kind_misspelt_field_is_an_error(
    example: Path, crds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def typo(obj: Obj) -> None:
        if obj["kind"] == "Deployment":
            obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "IfNotPresent"

    patch_renderer(monkeypatch, "render_deployment_engine", typo)
    result = validate(example, "--crds", str(crds_dir), "--format", "json")
    assert result.exit_code == 1
    found = [f for f in json.loads(result.stdout)["findings"] if f["environment"] == "staging"]
    assert all(isinstance(f.pop("group"), int) for f in found)  # its text line (tests/validate/test_noise.py)
    assert found == [
        {
            "severity": "error",
            "id": "schema",
            "environment": "staging",
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": "churn-scorer-predictor",
            "path": "/spec/template/spec/containers/0/imagePullPolcy",
            "message": 'unknown field "imagePullPolcy" (did you mean "imagePullPolicy"?)',
            "file": "models/churn-scorer.yaml",
            "line": line_of(example / "models" / "churn-scorer.yaml", "engine: deployment"),
            "column": 3,
        }
    ]


def test_kube_version_choice(example: Path, crds_dir: Path) -> None:
    older = validate(example, "--crds", str(crds_dir), "--kube-version", "1.30")
    assert older.exit_code == 0, older.stdout
    assert "schemas: Kubernetes 1.30," in older.stdout
    newest = ".".join(map(str, kube.shipped_versions()[-1]))
    default = validate(example, "--crds", str(crds_dir))
    assert f"schemas: Kubernetes {newest}," in default.stdout
    for wrong in ("9.99", "latest"):
        result = validate(example, "--kube-version", wrong)
        assert result.exit_code == 2
        assert result.stdout == ""
        assert len(result.stderr.splitlines()) == 1
        assert result.stderr.startswith(f"--kube-version {wrong}")


def test_builtin_kinds_have_no_schema_without_kubernetes_validate(
    example: Path, crds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(kube, "available", lambda: False)
    result = validate(example, "--crds", str(crds_dir))
    assert result.exit_code == 0
    assert result.stderr.splitlines() == [
        "kubernetes-validate (a dependency of mlgitops) is not installed: built-in kinds have no schema"
    ]
    unchecked = {line.split()[3] for line in finding_lines(result, "no-schema")}
    platform = {"ServiceAccount:", "ConfigMap:", "Role:", "RoleBinding:"}  # the example's base/platform
    addons = {"NetworkPolicy:", "PodDisruptionBudget:"}  # the example's templates/
    smoke = {"Job:"}  # fraud-detector's smoke tests (their ConfigMap is among the platform's kinds)
    serving = {"Namespace:", "Service:", "Deployment:", "HorizontalPodAutoscaler:"}
    assert unchecked == serving | platform | addons | smoke
    assert "reinstall mlgitops" in result.stdout


# --- custom resources (each CRD kind the renderer emits) ----------------------------------------------


def test_inference_service_schema_error_points_at_the_spec(
    example: Path, crds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def quote_max(obj: Obj) -> None:
        obj["spec"]["predictor"]["maxReplicas"] = str(obj["spec"]["predictor"]["maxReplicas"])

    patch_renderer(monkeypatch, "render_inference_service", quote_max)
    result = validate(example, "--crds", str(crds_dir))
    assert result.exit_code == 1
    model = example / "models" / "fraud-detector.yaml"
    lines = [line for line in finding_lines(result, "schema") if " InferenceService/fraud-detector " in line]
    message = "/spec/predictor/maxReplicas: expected integer, got string"
    assert lines == [
        # dev: max comes from the project's defaults for dev
        f"error [schema] dev InferenceService/fraud-detector {message} "
        f"(mlgitops.yaml:{loc(example / 'mlgitops.yaml', 'serving: {replicas: {min: 0, max: 1}}', '1}}')})",
        # staging: the model file itself; prod: the model's prod patch
        f"error [schema] staging InferenceService/fraud-detector {message} "
        f"(models/fraud-detector.yaml:{loc(model, 'replicas: {min: 1, max: 4}', '4}')})",
        f"error [schema] prod InferenceService/fraud-detector {message} "
        f"(models/fraud-detector.yaml:{loc(model, 'replicas: {min: 3, max: 10}', '10}')})",
    ]


def test_misspelt_field_in_workflow_template_is_caught_with_its_path(
    example: Path, crds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def typo(obj: Obj) -> None:
        if obj["metadata"]["name"] == "fraud-detector-train":
            train = next(t for t in obj["spec"]["templates"] if t["name"] == "train")
            train["activeDeadlineSecs"] = 3600

    patch_renderer(monkeypatch, "render_workflow_template", typo)
    result = validate(example, "--crds", str(crds_dir))
    assert result.exit_code == 1
    lines = [line for line in finding_lines(result, "schema") if "fraud-detector-train" in line]
    assert len(lines) == 1  # prod: the only environment that trains by default
    model = example / "models" / "fraud-detector.yaml"
    for env, line in zip(("prod",), lines, strict=True):
        assert line == (
            f"error [schema] {env} WorkflowTemplate/fraud-detector-train /spec/templates/2/activeDeadlineSecs: "
            'unknown field "activeDeadlineSecs" (did you mean "activeDeadlineSeconds"?) '
            f"(models/fraud-detector.yaml:{line_of(model, '{name: train,')}:5)"
        )


def test_misspelt_field_through_the_public_function(example: Path, crds_dir: Path) -> None:
    workspace = load_workspace(example)
    renders = render_models(workspace, names=["support-llm"])
    objects = environment_objects(workspace, "prod", renders, with_namespace=False)
    template = copy.deepcopy(next(o for o in objects if o["kind"] == "WorkflowTemplate"))
    template["spec"]["templates"][1]["container"]["resorces"] = {"limits": {"cpu": "1"}}
    template["spec"]["podGC"]["strategy"] = "OnPodSucess"
    sources = load_schema_sources(ValidateOptions(crds=(crds_dir,)))
    findings = validate_objects([template], sources, environment="prod")
    assert [(f.check, f.kind, f.name, f.path) for f in findings] == [
        ("schema", "WorkflowTemplate", "support-llm-train", "/spec/podGC/strategy"),
        ("schema", "WorkflowTemplate", "support-llm-train", "/spec/templates/1/container/resorces"),
    ]
    assert findings[1].message == 'unknown field "resorces" (did you mean "resources"?)'
    assert "OnPodSucess" in findings[0].message
    # The same object, as rendered, is clean; without CRDs its kind has no schema.
    clean = next(o for o in objects if o["kind"] == "WorkflowTemplate")
    assert validate_objects([clean], sources, environment="prod") == []
    bare = validate_objects([clean], load_schema_sources(ValidateOptions()), environment="prod")
    assert [(f.check, f.severity, f.kind) for f in bare] == [("no-schema", "warning", "WorkflowTemplate")]


def test_cron_workflow_schema_error_points_at_the_schedule(
    example: Path, crds_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def single(obj: Obj) -> None:
        obj["spec"]["schedules"] = obj["spec"]["schedules"][0]

    patch_renderer(monkeypatch, "render_cron_workflow", single)
    result = validate(example, "--crds", str(crds_dir))
    assert result.exit_code == 1
    lines = [line for line in finding_lines(result, "schema") if "CronWorkflow/support-llm-train" in line]
    model = example / "models" / "support-llm.yaml"
    assert lines == [
        f"error [schema] {env} CronWorkflow/support-llm-train /spec/schedules: expected array, got string "
        f"(models/support-llm.yaml:{line_of(model, 'schedule: ')}:13)"
        for env in ("prod",)  # the only environment that trains by default
    ]


def test_platform_objects_are_checked_with_their_file_and_line(example: Path, crds_dir: Path) -> None:
    """Hand-written base/platform objects are built with Kustomize and checked once, with their file:line."""
    platform = example / "base" / "platform"
    shutil.rmtree(platform)  # the example's own platform, replaced by this test's
    platform.mkdir(parents=True)
    (platform / "kustomization.yaml").write_text("resources: [serviceaccount.yaml, reader.yaml]\n")
    (platform / "serviceaccount.yaml").write_text(
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: model-reader\n  annotations:\n"
        "    serving.kserve.org/s3-endpoint: minio.ml:9000\n"
    )
    (platform / "reader.yaml").write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: reader}\n"
        "rules:\n- apiGroups: ['']\n  resources: [secrets]\n  verb: [get]\n"
    )
    result = validate(example, "--crds", str(crds_dir))
    assert result.exit_code == 1
    assert finding_lines(result, "kserve-annotation") == [
        "error [kserve-annotation] base/platform ServiceAccount/model-reader "
        "/metadata/annotations/serving.kserve.org~1s3-endpoint: annotation 'serving.kserve.org/s3-endpoint' "
        "looks like a misspelt KServe key (did you mean 'serving.kserve.io/s3-endpoint'?); KServe ignores it "
        "(base/platform/serviceaccount.yaml:6:37)"
    ]
    schema = finding_lines(result, "schema")
    assert schema == [
        "error [schema] base/platform Role/reader /rules/0/verb: "
        'unknown field "verb" (did you mean "verbs"?) (base/platform/reader.yaml:7:9)',
        "error [schema] base/platform Role/reader /rules/0/verbs: "
        'missing required field "verbs" (base/platform/reader.yaml:5:3)',
    ]


# --- output formats ------------------------------------------------------------------------------------


@pytest.fixture
def canary_example(example: Path) -> Path:
    """The example with a Knative canary in prod (a policy warning)."""
    model = example / "models" / "support-llm.yaml"
    canary = "canary: {version: '13', storageUri: s3://ml-models/support-llm/13/model, trafficPercent: 5}"
    text = model.read_text()
    assert "    serving: {replicas: {min: 2, max: 6}}" in text
    model.write_text(text.replace("    serving: {replicas: {min: 2, max: 6}}", f"    serving: {{{canary}}}"))
    return example


@pytest.fixture
def broken_example(canary_example: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The canary example plus one schema error (fraud-detector's maxReplicas, staging and prod)."""

    def quote_max(obj: Obj) -> None:
        if obj["metadata"]["name"] == "fraud-detector":
            obj["spec"]["predictor"]["maxReplicas"] = str(obj["spec"]["predictor"]["maxReplicas"])

    patch_renderer(monkeypatch, "render_inference_service", quote_max)
    return canary_example


def test_github_annotations(broken_example: Path, crds_dir: Path) -> None:
    (broken_example / ".git").mkdir()  # annotations name files from the repository root
    result = validate(broken_example, "--crds", str(crds_dir), "--format", "github")
    assert result.exit_code == 1
    model = broken_example / "models" / "fraud-detector.yaml"
    line, col = loc(model, "replicas: {min: 1, max: 4}", "4}").split(":")
    annotations = [a for a in result.stdout.splitlines() if a.startswith("::")]
    assert annotations[1] == (
        f"::error file=models/fraud-detector.yaml,line={line},col={col},title=mlgitops schema::"
        "staging InferenceService/fraud-detector /spec/predictor/maxReplicas: expected integer, got string"
    )
    assert annotations[0].startswith("::error file=mlgitops.yaml,line=")
    warning = [a for a in annotations if a.startswith("::warning ")]
    llm = broken_example / "models" / "support-llm.yaml"
    assert len(warning) == 1
    assert warning[0].startswith(f"::warning file=models/support-llm.yaml,line={line_of(llm, 'canary: {')},")
    subject = "prod InferenceService/support-llm /spec/predictor/canaryTrafficPercent"
    assert f",title=mlgitops knative-canary::{subject}: " in warning[0]
    assert result.stdout.splitlines()[-1].startswith("invalid: 3 error(s), 1 warning(s)")


def test_github_annotation_paths_are_relative_to_the_git_work_tree(tmp_path: Path, crds_dir: Path) -> None:
    from tests.conftest import copy_example

    (tmp_path / ".git").mkdir()
    project = copy_example(tmp_path / "ml" / "config")
    model = project / "models" / "churn-scorer.yaml"
    patch = "environments:\n  staging: {serving: {image: 'acme/xgb-server:latest'}}\n"
    model.write_text(model.read_text().replace("environments:\n", patch))
    result = validate(project, "--crds", str(crds_dir), "--format", "github")
    assert result.exit_code == 1
    annotations = [a for a in result.stdout.splitlines() if a.startswith("::error ")]
    assert len(annotations) == 1
    assert annotations[0].startswith("::error file=ml/config/models/churn-scorer.yaml,line=")
    assert "title=mlgitops image-pinned::staging Deployment/churn-scorer-predictor " in annotations[0]


def test_warnings_alone_pass_unless_strict(canary_example: Path, crds_dir: Path) -> None:
    result = validate(canary_example, "--crds", str(crds_dir))
    assert result.exit_code == 0, result.stdout
    assert [line.split()[:2] for line in result.stdout.splitlines()[:-1]] == [["warning", "[knative-canary]"]]
    assert result.stdout.splitlines()[-1].startswith("valid with 1 warning(s): ")
    strict = validate(canary_example, "--crds", str(crds_dir), "--strict")
    assert strict.exit_code == 1
    assert strict.stdout.startswith("error [knative-canary] prod InferenceService/support-llm ")


def test_json_output(broken_example: Path, crds_dir: Path) -> None:
    result = validate(broken_example, "--crds", str(crds_dir), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["valid"] is False
    assert (report["errors"], report["warnings"]) == (3, 1)
    assert report["environments"] == ["dev", "staging", "prod"]
    assert report["crdFiles"] == len(list(crds_dir.glob("*.yaml")))
    assert [(f["id"], f["environment"], f["kind"], f["name"], f["path"]) for f in report["findings"]] == [
        ("schema", "dev", "InferenceService", "fraud-detector", "/spec/predictor/maxReplicas"),
        ("schema", "staging", "InferenceService", "fraud-detector", "/spec/predictor/maxReplicas"),
        ("schema", "prod", "InferenceService", "fraud-detector", "/spec/predictor/maxReplicas"),
        ("knative-canary", "prod", "InferenceService", "support-llm", "/spec/predictor/canaryTrafficPercent"),
    ]
    assert [f["file"] for f in report["findings"]] == [
        "mlgitops.yaml",
        "models/fraud-detector.yaml",
        "models/fraud-detector.yaml",
        "models/support-llm.yaml",
    ]
    assert all(isinstance(f["line"], int) and f["line"] > 0 for f in report["findings"])


def test_spec_errors_stay_one_line_each_in_every_format(example: Path) -> None:
    model = example / "models" / "fraud-detector.yaml"
    model.write_text(model.read_text().replace("replicas: {min: 1, max: 4}", "replicas: {min: 1, maks: 4}"))
    line, col = loc(model, "maks: 4", "maks").split(":")
    text = validate(example)
    assert text.exit_code == 1
    assert text.stdout == ""
    assert len(text.stderr.splitlines()) == 1
    prefix = f"models/fraud-detector.yaml:{line}:{col}: "
    assert text.stderr.startswith(prefix + "unknown key 'maks'")
    message = text.stderr.strip()[len(prefix) :]
    github = validate(example, "--format", "github")
    assert github.exit_code == 1
    assert github.stdout == (
        f"::error file=models/fraud-detector.yaml,line={line},col={col},title=mlgitops spec::{message}\n"
    )
    assert github.stderr == text.stderr
    as_json = validate(example, "--format", "json")
    assert as_json.exit_code == 1
    assert json.loads(as_json.stdout)["findings"] == [
        {
            "severity": "error",
            "id": "spec",
            "message": message,
            "file": "models/fraud-detector.yaml",
            "line": int(line),
            "column": int(col),
        }
    ]


def test_crds_directory_errors_are_one_line(example: Path, tmp_path: Path) -> None:
    result = validate(example, "--crds", str(tmp_path / "missing"))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert "cannot list CRD directory" in result.stderr


RESTRICTED: Obj = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "seccompProfile": {"type": "RuntimeDefault"},
}


def test_validate_objects_runs_policies_given_a_project(example: Path) -> None:
    workspace = load_workspace(example)
    deployment: Obj = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "addon"},
        "spec": {
            "selector": {"matchLabels": {"app": "addon"}},
            "template": {
                "metadata": {"labels": {"app": "addon"}},
                "spec": {"containers": [{"name": "main", "image": "acme/addon", "securityContext": RESTRICTED}]},
            },
        },
    }
    sources = load_schema_sources(ValidateOptions())
    findings = validate_objects(
        [deployment],
        sources,
        environment="staging",
        project=workspace.project,
        stage=Stage("staging", is_dev=False, is_prod=False),
    )
    assert [(f.check, f.path) for f in findings] == [("image-pinned", "/spec/template/spec/containers/0/image")]
