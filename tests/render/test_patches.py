"""`patches`: RFC 6902 operations on the generated objects (generator/mlgitops/render/patches.py, docs/patches.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from mlgitops.checks.sourcemap.common import parse_pointer
from mlgitops.checks.sourcemap.dispatch import spec_source
from mlgitops.language.loader import load_workspace
from mlgitops.language.model import PatchOp
from mlgitops.language.resolve import resolve
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.model import render_model
from mlgitops.render.patches import PatchError, apply_op, identity_change
from mlgitops.render.pipeline import render_models
from mlgitops.util.errors import SpecError
from tests.conftest import CRDS, REPO, copy_example, kustomize_objects, object_identity, run_cli

FRAUD = "models/fraud-detector.yaml"

PRIORITY = """\
patches:
- target: {kind: InferenceService}
  ops:
  - {op: add, path: /spec/predictor/priorityClassName, value: ml-high}
"""


def _repo(tmp_path: Path, extra: str, model: str = FRAUD) -> Path:
    root = copy_example(tmp_path / "r")
    path = root / model
    path.write_text(path.read_text() + extra)
    return root


def _line_of(root: Path, needle: str, model: str = FRAUD) -> int:
    lines = (root / model).read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


MODEL_KINDS = {
    "Namespace",
    "InferenceService",
    "WorkflowTemplate",
    "CronWorkflow",
    "Deployment",
    "Service",
    "HorizontalPodAutoscaler",
}


def _built(overlay: Path) -> dict[tuple[str, str, str, str], dict[str, Any]]:
    """What `kubectl kustomize` builds for an overlay, without the hand-written platform objects."""
    return {object_identity(o): o for o in kustomize_objects(overlay) if _generated(o)}


def _generated(obj: dict[str, Any]) -> bool:
    """Rendered by mlgitops (its managed-by label), not hand-written in base/platform."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return obj["kind"] in MODEL_KINDS or labels.get("app.kubernetes.io/managed-by") == "mlgitops"


def _objects(root: Path, env: str | None, model: str = "fraud-detector") -> dict[str, dict[str, Any]]:
    workspace = load_workspace(root)
    file = workspace.model(model)
    resolved = resolve(workspace, file, env)
    assert resolved is not None
    return {o["kind"]: o for o in render_model(resolved, workspace.project)}


# --- the operations themselves (RFC 6902 section 4) -----------------------------------------------


def _op(**fields: Any) -> PatchOp:
    return PatchOp.model_validate(fields)


def test_every_operation_applies_as_rfc_6902_says() -> None:
    doc: dict[str, Any] = {"spec": {"list": [1, 2], "a": {"b": 1}}}
    apply_op(doc, _op(op="add", path="/spec/list/-", value=3))
    apply_op(doc, _op(op="add", path="/spec/list/0", value=0))
    assert doc["spec"]["list"] == [0, 1, 2, 3]
    apply_op(doc, _op(op="remove", path="/spec/list/1"))
    apply_op(doc, _op(op="replace", path="/spec/a/b", value={"c": True}))
    apply_op(doc, _op(op="copy", **{"from": "/spec/a", "path": "/spec/copied"}))
    apply_op(doc, _op(op="move", **{"from": "/spec/list", "path": "/spec/moved"}))
    apply_op(doc, _op(op="test", path="/spec/copied/b/c", value=True))
    assert doc == {"spec": {"a": {"b": {"c": True}}, "copied": {"b": {"c": True}}, "moved": [0, 2, 3]}}
    apply_op(doc, _op(op="add", path="/spec/a~1b~0c", value=1))  # RFC 6901 escapes
    assert doc["spec"]["a/b~c"] == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"op": "remove", "path": "/spec/missing"}, "/spec/missing does not exist"),
        ({"op": "replace", "path": "/spec/list/5", "value": 1}, "out of range"),
        ({"op": "add", "path": "/spec/nope/deeper", "value": 1}, "/spec/nope does not exist"),
        ({"op": "add", "path": "/spec/list/01", "value": 1}, "not an index"),
        ({"op": "test", "path": "/spec/flag", "value": 1}, "test failed"),  # true is not 1 in JSON
        ({"op": "move", "from": "/spec", "path": "/spec/inner"}, "its own child"),
        ({"op": "add", "path": "/spec/flag/x", "value": 1}, "not a map or list"),
    ],
)
def test_an_operation_that_does_not_apply_says_why(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchError, match=message):
        apply_op({"spec": {"list": [1], "flag": True}}, _op(**fields))


@pytest.mark.parametrize(
    "fields",
    [
        {"op": "add", "path": "/x"},  # no value
        {"op": "copy", "path": "/x"},  # no from
        {"op": "remove", "path": "/x", "from": "/y"},
        {"op": "add", "path": "x", "value": 1},  # not a pointer
        {"op": "add", "path": "/x~2", "value": 1},
        {"op": "merge", "path": "/x", "value": 1},
    ],
)
def test_malformed_operations_are_refused_by_the_schema(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        _op(**fields)


@pytest.mark.parametrize("path", ["/kind", "/apiVersion", "/metadata/name", "/metadata/namespace", "/metadata", ""])
def test_identity_paths_are_refused(path: str) -> None:
    assert identity_change(_op(op="replace", path=path, value="x")) is not None
    assert identity_change(_op(op="test", path=path, value="x")) is None
    assert identity_change(_op(op="add", path="/metadata/labels/team", value="x")) is None


# --- in the render pipeline ------------------------------------------------------------------------


def test_a_patch_reaches_the_base_every_overlay_and_kustomize(tmp_path: Path) -> None:
    root = _repo(tmp_path, PRIORITY)
    assert run_cli(["render"], cwd=root).exit_code == 0
    base = yaml.safe_load((root / "base/models/fraud-detector/inferenceservice-fraud-detector.yaml").read_text())
    assert base["spec"]["predictor"]["priorityClassName"] == "ml-high"
    workspace = load_workspace(root)
    renders = render_models(workspace)
    for env in workspace.project.environment_names:
        built = _built(root / "overlays" / env)
        expected = {object_identity(o): o for o in environment_objects(workspace, env, renders)}
        assert built == expected, env  # the Kustomize-equality invariant, with a patch
        isvc = next(o for o in expected.values() if o["kind"] == "InferenceService")
        assert isvc["spec"]["predictor"]["priorityClassName"] == "ml-high"
    result = run_cli(["validate", "--strict", "--crds", str(CRDS)], cwd=root)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_an_environment_patch_replaces_the_list_for_that_environment_only(tmp_path: Path) -> None:
    env_patch = """\
  prod:
    patches:
    - target: {kind: InferenceService}
      ops:
      - {op: add, path: /spec/predictor/priorityClassName, value: ml-critical}
      - {op: add, path: /metadata/labels/tier, value: gold}
"""
    root = copy_example(tmp_path / "r")
    text = (root / FRAUD).read_text().replace("  prod:\n", env_patch, 1) + PRIORITY
    (root / FRAUD).write_text(text.replace('    model: {version: "6"', '    model: {version: "6"', 1))
    prod = _objects(root, "prod")["InferenceService"]
    assert prod["spec"]["predictor"]["priorityClassName"] == "ml-critical"
    assert prod["metadata"]["labels"]["tier"] == "gold"
    staging = _objects(root, "staging")["InferenceService"]
    assert staging["spec"]["predictor"]["priorityClassName"] == "ml-high"
    assert "tier" not in staging["metadata"]["labels"]
    assert run_cli(["render"], cwd=root).exit_code == 0
    overlay = "".join(p.read_text() for p in (root / "overlays/prod").rglob("*.yaml"))
    assert "ml-critical" in overlay  # the overlay carries the environment's difference
    workspace = load_workspace(root)
    renders = render_models(workspace)
    built = _built(root / "overlays/prod")
    assert built == {object_identity(o): o for o in environment_objects(workspace, "prod", renders)}


def test_a_patch_on_training_objects_waits_for_an_environment_that_trains(tmp_path: Path) -> None:
    extra = """\
patches:
- target: {kind: WorkflowTemplate}
  ops:
  - {op: add, path: /spec/priority, value: 5}
"""
    root = _repo(tmp_path, extra)
    assert "WorkflowTemplate" not in _objects(root, "dev")  # the example trains in prod only
    assert _objects(root, "prod")["WorkflowTemplate"]["spec"]["priority"] == 5


# --- positioned errors -----------------------------------------------------------------------------


def _render_error(root: Path) -> str:
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before  # nothing written
    return result.stderr


@pytest.mark.parametrize(
    ("ops", "target", "message", "blamed"),
    [
        ("- {op: remove, path: /spec/predictor/nothing}", "{kind: InferenceService}", "does not exist", "nothing"),
        (
            "- {op: test, path: /spec/predictor/minReplicas, value: 9}",
            "{kind: InferenceService}",
            "test failed",
            "value: 9",
        ),
        (
            "- {op: replace, path: /metadata/name, value: x}",
            "{kind: InferenceService}",
            "may not change",
            "/metadata/name",
        ),
        ("- {op: add, path: /x, value: 1}", "{kind: Deployment}", "no generated object is a Deployment", "Deployment"),
        (
            "- {op: add, path: /x, value: 1}",
            "{kind: InferenceService, name: other}",
            "InferenceService 'other'",
            "other",
        ),
    ],
)
def test_every_error_is_at_the_line_of_its_op_or_target(
    tmp_path: Path, ops: str, target: str, message: str, blamed: str
) -> None:
    extra = f"patches:\n- target: {target}\n  ops:\n  - {{op: add, path: /metadata/labels/ok, value: x}}\n  {ops}\n"
    root = _repo(tmp_path, extra)
    stderr = _render_error(root)
    line = _line_of(root, blamed)
    assert f"{FRAUD}:{line}:" in stderr and message in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1


def test_a_kind_rendered_several_times_needs_a_name(tmp_path: Path) -> None:
    # churn-scorer's prod canary is a second Deployment (render/deployment.py).
    extra = "patches:\n- target: {kind: Deployment}\n  ops:\n  - {op: add, path: /metadata/labels/x, value: y}\n"
    model = "models/churn-scorer.yaml"
    root = _repo(tmp_path, extra, model)
    stderr = _render_error(root)
    assert f"{model}:{_line_of(root, 'kind: Deployment', model)}:" in stderr
    assert "name one with target.name" in stderr and "(in environment 'prod')" in stderr
    named = extra.replace("{kind: Deployment}", "{kind: Deployment, name: churn-scorer-predictor, apiVersion: apps/v1}")
    root = _repo(tmp_path / "named", named, model)
    deployments = [
        o
        for o in render_model(_resolved(root, "churn-scorer", "prod"), load_workspace(root).project)
        if o["kind"] == "Deployment"
    ]
    labelled = {o["metadata"]["name"]: o["metadata"]["labels"].get("x") for o in deployments}
    assert labelled == {"churn-scorer-predictor": "y", "churn-scorer-predictor-canary": None}


def _resolved(root: Path, model: str, env: str) -> Any:
    workspace = load_workspace(root)
    resolved = resolve(workspace, workspace.model(model), env)
    assert resolved is not None
    return resolved


def test_an_environment_patch_error_is_blamed_at_its_own_line(tmp_path: Path) -> None:
    env_patch = """\
  prod:
    patches:
    - target: {kind: InferenceService}
      ops:
      - {op: remove, path: /spec/predictor/bogusField}
"""
    root = copy_example(tmp_path / "r")
    (root / FRAUD).write_text((root / FRAUD).read_text().replace("  prod:\n", env_patch, 1) + PRIORITY)
    stderr = _render_error(root)
    assert f"{FRAUD}:{_line_of(root, 'bogusField')}:" in stderr
    assert "(in environment 'prod')" in stderr
    with pytest.raises(SpecError):
        _objects(root, "prod")
    assert _objects(root, "staging")["InferenceService"]["spec"]["predictor"]["priorityClassName"] == "ml-high"


def test_project_defaults_patches_reach_models_that_have_patches(tmp_path: Path) -> None:
    root = _repo(tmp_path, PRIORITY)
    project = root / "mlgitops.yaml"
    data = yaml.safe_load(project.read_text())
    staging = next(e for e in data["environments"] if e["name"] == "staging")
    staging.setdefault("defaults", {})["patches"] = [
        {
            "target": {"kind": "InferenceService"},
            "ops": [{"op": "add", "path": "/spec/predictor/nothing/x", "value": 1}],
        }
    ]
    project.write_text(yaml.safe_dump(data, sort_keys=False))
    stderr = _render_error(root)
    assert stderr.startswith("mlgitops.yaml:") and "/spec/predictor/nothing does not exist" in stderr


# --- validate: schemas and policies see patched objects, the source map points at the op -------------


def test_a_schema_finding_on_a_patched_path_points_at_the_op(tmp_path: Path) -> None:
    extra = PRIORITY.replace("priorityClassName, value: ml-high", "minReplicas, value: many")
    root = _repo(tmp_path, extra)
    assert run_cli(["render"], cwd=root).exit_code == 0
    crds = CRDS
    result = run_cli(["validate", "--crds", str(crds)], cwd=root)
    assert result.exit_code == 1
    line = _line_of(root, "value: many")
    assert f"{FRAUD}:{line}:" in result.stdout + result.stderr, result.stdout + result.stderr


def test_the_source_map_names_the_last_op_that_wrote_a_path(tmp_path: Path) -> None:
    extra = """\
patches:
- target: {kind: InferenceService}
  ops:
  - {op: add, path: /spec/predictor/priorityClassName, value: a}
  - {op: replace, path: /spec/predictor/priorityClassName, value: b}
- target: {kind: WorkflowTemplate}
  ops:
  - {op: add, path: /spec/priority, value: 1}
"""
    root = _repo(tmp_path, extra)
    workspace = load_workspace(root)
    resolved = _resolved(root, "fraud-detector", "prod")
    objects = {o["kind"]: o for o in render_model(resolved, workspace.project)}
    isvc, template = objects["InferenceService"], objects["WorkflowTemplate"]

    def source(obj: dict[str, Any], pointer: str) -> tuple[str | int, ...]:
        return spec_source(obj, parse_pointer(obj, pointer), resolved.spec, workspace.project, "prod").path

    assert source(isvc, "/spec/predictor/priorityClassName") == ("patches", 0, "ops", 1)
    assert source(template, "/spec/priority") == ("patches", 1, "ops", 0)
    assert source(isvc, "/spec/predictor/minReplicas") == ("serving", "replicas", "min")  # untouched


def test_a_policy_sees_the_patched_object(tmp_path: Path) -> None:
    extra = (
        "patches:\n- target: {kind: InferenceService}\n  ops:\n"
        "  - {op: add, path: /spec/predictor/model/image, value: 'kserve/sklearnserver:latest'}\n"
    )
    root = _repo(tmp_path, extra)
    assert run_cli(["render"], cwd=root).exit_code == 0
    result = run_cli(["validate"], cwd=root)
    out = result.stdout + result.stderr
    assert result.exit_code == 1, out
    assert f"{FRAUD}:{_line_of(root, 'sklearnserver:latest')}:" in out and "image-pinned" in out, out


def test_diff_summary_says_patches_changed() -> None:
    from mlgitops.delivery.diff.summary import _model_summary
    from mlgitops.language.model import Model

    base = yaml.safe_load((REPO / FRAUD).read_text())
    old = Model.model_validate(base)
    new = Model.model_validate({**base, **yaml.safe_load(PRIORITY)})
    summary, changes = _model_summary(old, new)
    assert summary == "patches changed"
    assert [c.field for c in changes] == ["patches"]


def test_every_field_of_a_patched_model_maps_to_an_existing_spec_field(tmp_path: Path) -> None:
    from tests.checks.test_sourcemap import _MISSING, _leaves, _lookup

    extra = """\
patches:
- target: {kind: InferenceService}
  ops:
  - {op: add, path: /spec/predictor/tolerations, value: [{key: spot, operator: Exists}]}
  - {op: copy, from: /spec/predictor/model/storageUri, path: /metadata/annotations/origin}
"""
    root = _repo(tmp_path, extra)
    workspace = load_workspace(root)
    checked = 0
    for env in workspace.project.environment_names:
        resolved = _resolved(root, "fraud-detector", env)
        data = resolved.spec.model_dump(by_alias=True)
        isvc = _objects(root, env)["InferenceService"]
        for path in _leaves(isvc):
            source = spec_source(isvc, path, resolved.spec, workspace.project, env)
            if not source.in_project:
                assert _lookup(data, source.path) is not _MISSING, (env, path, source)
            if path[:3] == ("spec", "predictor", "tolerations"):
                assert source.path == ("patches", 0, "ops", 0)
                checked += 1
    assert checked == 6  # key and operator, in three environments


def test_a_finding_from_an_environment_patch_is_blamed_at_that_patch(tmp_path: Path) -> None:
    env_patch = """\
  prod:
    patches:
    - target: {kind: InferenceService}
      ops:
      - {op: add, path: /spec/predictor/maxReplicas, value: lots}
"""
    root = copy_example(tmp_path / "r")
    (root / FRAUD).write_text((root / FRAUD).read_text().replace("  prod:\n", env_patch, 1) + PRIORITY)
    assert run_cli(["render"], cwd=root).exit_code == 0
    result = run_cli(["validate", "--crds", str(CRDS)], cwd=root)
    out = result.stdout + result.stderr
    assert result.exit_code == 1
    assert f"{FRAUD}:{_line_of(root, 'value: lots')}:" in out, out
