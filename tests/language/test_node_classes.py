"""Placement without a GPU (issue 16): `nodeClasses` in mlgitops.yaml, used by serving.nodeClass, a
step's nodeClass and training.nodeClass; merged with a GPU class; refused on Knative without the
config-features flags, like GPU classes (clusterfit.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlgitops.language.loader import load_workspace
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import render_models
from mlgitops.util.errors import SpecError
from mlgitops.validate.report import ValidateOptions
from mlgitops.validate.run import load_schema_sources, validate_objects
from tests.conftest import run_cli, snapshot_tree
from tests.projects import model_yaml

Obj = dict[str, Any]

AFFINITY = (
    "{nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {nodeSelectorTerms: "
    "[{matchExpressions: [{key: pool, operator: In, values: [cpu, highmem]}]}]}}}"
)
PROJECT = f"""\
apiVersion: mlgitops.io/v1alpha1
kind: Project
metadata: {{name: acme}}
repoURL: https://example.com/acme.git
environments:
- {{name: prod, namespace: ml-prod}}
gpuClasses:
  a100:
    nodeSelector: {{nvidia.com/gpu.product: A100, zone: a}}
    tolerations: [{{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}}]
nodeClasses:
  highmem:
    nodeSelector: {{pool: highmem}}
    tolerations:
    - {{key: dedicated, value: ml, effect: NoSchedule}}
    - {{key: nvidia.com/gpu, operator: Exists, effect: NoSchedule}}
    affinity: {AFFINITY}
  batch:
    nodeSelector: {{pool: batch}}
  zone-b:
    nodeSelector: {{zone: b}}
"""

MODEL = model_yaml(
    body="""\
serving:
  engine: ENGINE
  mode: MODE
  nodeClass: highmem
  replicas: {min: 1, max: 2}
  resources: {requests: {cpu: "1", memory: 1Gi}, limits: {cpu: "2", memory: 2Gi}}
training:
  image: ghcr.io/acme/train:1.4.2
  nodeClass: batch
  steps:
  - {name: prep, command: [python, -m, m.prep], outputs: [data]}
  - {name: fit, after: [prep], command: [python, -m, m.fit], inputs: [data], nodeClass: highmem,
     gpu: {count: 1, class: a100}}
"""
)


def project(tmp_path: Path, model: str, project_text: str = PROJECT) -> Path:
    root = tmp_path / "repo"
    (root / "models").mkdir(parents=True)
    (root / "mlgitops.yaml").write_text(project_text)
    (root / "models" / "m.yaml").write_text(model)
    return root


def model(engine: str = "kserve", mode: str = "Standard") -> str:
    return MODEL.replace("ENGINE", engine).replace("MODE", mode)


def objects(root: Path) -> list[Obj]:
    workspace = load_workspace(root)
    return environment_objects(workspace, "prod", render_models(workspace), with_namespace=False)


def of_kind(objs: list[Obj], kind: str) -> Obj:
    return next(o for o in objs if o["kind"] == kind)


def schema_findings(objs: list[Obj], crds_dir: Path) -> list[str]:
    sources = load_schema_sources(ValidateOptions(crds=(crds_dir,)))
    return [str(f) for f in validate_objects(objs, sources, environment="prod")]


HIGHMEM_AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "pool", "operator": "In", "values": ["cpu", "highmem"]}]}
            ]
        }
    }
}


def test_serving_node_class_on_kserve(tmp_path: Path, crds_dir: Path) -> None:
    objs = objects(project(tmp_path, model()))
    predictor = of_kind(objs, "InferenceService")["spec"]["predictor"]
    assert predictor["nodeSelector"] == {"pool": "highmem"}
    assert predictor["tolerations"] == [
        {"key": "dedicated", "value": "ml", "effect": "NoSchedule"},
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
    ]
    assert predictor["affinity"] == HIGHMEM_AFFINITY
    assert schema_findings(objs, crds_dir) == []


def test_serving_node_class_on_the_deployment_engine(tmp_path: Path, crds_dir: Path) -> None:
    objs = objects(project(tmp_path, model(engine="deployment")))
    pod = of_kind(objs, "Deployment")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "highmem"}
    assert pod["affinity"] == HIGHMEM_AFFINITY
    assert {"key": "dedicated", "value": "ml", "effect": "NoSchedule"} in pod["tolerations"]
    assert schema_findings(objs, crds_dir) == []


def test_steps_get_their_node_class_or_the_training_default_merged_with_the_gpu_class(
    tmp_path: Path, crds_dir: Path
) -> None:
    objs = objects(project(tmp_path, model()))
    templates = {t["name"]: t for t in of_kind(objs, "WorkflowTemplate")["spec"]["templates"]}
    assert templates["prep"]["nodeSelector"] == {"pool": "batch"}  # training.nodeClass
    assert "tolerations" not in templates["prep"]
    fit = templates["fit"]
    # GPU class a100 and node class highmem: the union of the selectors, tolerations once each.
    assert fit["nodeSelector"] == {"nvidia.com/gpu.product": "A100", "zone": "a", "pool": "highmem"}
    assert fit["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "dedicated", "value": "ml", "effect": "NoSchedule"},
    ]
    assert fit["affinity"] == HIGHMEM_AFFINITY
    assert fit["container"]["resources"]["limits"]["nvidia.com/gpu"] == "1"
    assert schema_findings(objs, crds_dir) == []


def problems(root: Path) -> list[str]:
    with pytest.raises(SpecError) as err:
        load_workspace(root)
    return [str(p) for p in err.value.problems]


def test_unknown_node_class_is_positioned_with_did_you_mean(tmp_path: Path) -> None:
    text = model().replace("nodeClass: highmem\n  replicas", "nodeClass: highmen\n  replicas")
    (found,) = problems(project(tmp_path, text))
    assert found.startswith("models/m.yaml:8:14: unknown node class 'highmen' (did you mean 'highmem'?)")
    assert "known: batch, highmem, zone-b" in found


def test_unknown_step_node_class(tmp_path: Path) -> None:
    text = model().replace("nodeClass: highmem,\n", "nodeClass: bach,\n")
    text = text.replace("  nodeClass: batch\n", "")
    (found,) = problems(project(tmp_path, text))
    assert found.startswith("models/m.yaml:15:89:")
    assert "unknown node class 'bach' (did you mean 'batch'?)" in found


def test_a_node_selector_contradicting_the_gpu_class_is_an_error(tmp_path: Path) -> None:
    text = model().replace("nodeClass: highmem,\n", "nodeClass: zone-b,\n")
    (found,) = problems(project(tmp_path, text))
    assert found.startswith("models/m.yaml:16:89:")
    assert "node class 'zone-b' selects zone='b' but GPU class 'a100' selects zone='a'" in found


def test_affinity_accepts_only_the_three_kubernetes_blocks(tmp_path: Path) -> None:
    root = project(tmp_path, model(), PROJECT.replace("affinity: {nodeAffinity", "affinity: {nodeAfinity"))
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1
    assert result.stderr.startswith("mlgitops.yaml:")
    assert "nodeAfinity" in result.stderr


def test_knative_refuses_node_class_placement_without_the_flags(tmp_path: Path) -> None:
    root = project(tmp_path, model(mode="Knative"))
    before = snapshot_tree(root)
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(
        "models/m.yaml:8:14: node class 'highmem' places pods with nodeSelector and tolerations and affinity"
    )
    assert "kubernetes.podspec-affinity: enabled" in line
    assert snapshot_tree(root) == before


def test_knative_with_the_flags_renders_the_placement(tmp_path: Path, crds_dir: Path) -> None:
    flags = (
        "clusterFeatures:\n  knative: {podspecNodeSelector: true, podspecTolerations: true, podspecAffinity: true}\n"
    )
    objs = objects(project(tmp_path, model(mode="Knative"), PROJECT + flags))
    predictor = of_kind(objs, "InferenceService")["spec"]["predictor"]
    assert predictor["affinity"] == HIGHMEM_AFFINITY
    assert predictor["nodeSelector"] == {"pool": "highmem"}
    assert schema_findings(objs, crds_dir) == []


def test_strict_validate_passes_on_a_small_project(tmp_path: Path, crds_dir: Path) -> None:
    provides = "clusterFeatures:\n  provides: {configMaps: [artifact-repositories]}\n"
    root = project(tmp_path, model(), PROJECT + provides)
    assert run_cli(["render"], cwd=root).exit_code == 0
    result = run_cli(["validate", "--strict", "--crds", str(crds_dir)], cwd=root)
    assert result.exit_code == 0, result.stdout + result.stderr


def test_placement_maps_back_to_the_class_that_placed_it(tmp_path: Path) -> None:
    from mlgitops.checks.sourcemap.common import parse_pointer
    from mlgitops.checks.sourcemap.dispatch import spec_source
    from mlgitops.language.resolve import resolve
    from mlgitops.render.model import render_model

    workspace = load_workspace(project(tmp_path, model()))
    (resolved_file,) = workspace.models
    resolved = resolve(workspace, resolved_file, "prod")
    assert resolved is not None
    objs = {o["kind"]: o for o in render_model(resolved, workspace.project)}

    def source(kind: str, pointer: str) -> tuple[str | int, ...]:
        obj = objs[kind]
        return spec_source(obj, parse_pointer(obj, pointer), resolved.spec, workspace.project, "prod").path

    assert source("InferenceService", "/spec/predictor/nodeSelector/pool") == ("serving", "nodeClass")
    assert source("InferenceService", "/spec/predictor/affinity/nodeAffinity") == ("serving", "nodeClass")
    names = [t["name"] for t in objs["WorkflowTemplate"]["spec"]["templates"]]
    prep, fit = names.index("prep"), names.index("fit")
    assert source("WorkflowTemplate", f"/spec/templates/{prep}/nodeSelector/pool") == ("training", "nodeClass")
    assert source("WorkflowTemplate", f"/spec/templates/{fit}/affinity") == ("training", "steps", 1, "nodeClass")
    assert source("WorkflowTemplate", f"/spec/templates/{fit}/tolerations/0") == (
        "training",
        "steps",
        1,
        "gpu",
        "class",
    )
