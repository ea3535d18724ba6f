"""Inference graphs rendered (issue 25): `graphs/<name>.yaml` becomes a KServe InferenceGraph that validates against
the upstream CRD, laid out as `base/graphs/<name>/` and `overlays/<env>/_graphs/<name>/` so that the real Kustomize
builds exactly the objects mlgitops computes, and checked by `validate` with findings in the graph file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mlgitops.checks.schemas.crd import load_crd_schemas
from mlgitops.language.loader import load_workspace
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import render_models
from tests.conftest import finding_lines, kustomize_objects, object_identity, run_cli
from tests.projects import model_yaml, project_yaml, write_project

pytestmark = pytest.mark.usefixtures("private_validate_cache")

GRAPH = """\
apiVersion: mlgitops.io/v1alpha1
kind: Graph
metadata: {name: chain, owner: team-a, labels: {tier: gold}}
nodes:
  root:
    routerType: Sequence
    steps:
    - {name: first, model: iris}
    - {name: second, nodeName: vote, data: $response}
  vote:
    routerType: Ensemble
    steps:
    - {model: xgb}
    - {serviceUrl: "http://ranker.shared.svc/v1/models/ranker:predict", dependency: Hard}
replicas: {min: 1, max: 3}
resources: {requests: {cpu: 100m}}
environments:
  dev: {timeout: 30, replicas: {min: 0}}
  staging: {enabled: false}
"""
MODELS = {
    "iris": model_yaml("iris", body="serving: {resources: {limits: {cpu: '1', memory: 1Gi}}}\n"),
    "xgb": model_yaml("xgb", format="xgboost", body="serving: {resources: {limits: {cpu: '1', memory: 1Gi}}}\n"),
}


def _repo(root: Path, graph: str = GRAPH) -> Path:
    write_project(root, project_yaml("dev", "staging", "prod"), MODELS)
    (root / "graphs").mkdir()
    (root / "graphs" / "chain.yaml").write_text(graph)
    return root


def _graph(root: Path, env: str) -> dict[str, object]:
    workspace = load_workspace(root)
    [item] = [r for r in render_models(workspace) if r.graph]
    objects = item.environments[env]
    assert objects is not None
    [obj] = objects
    return obj


def test_a_graph_renders_an_inference_graph_the_crd_accepts(tmp_path: Path, crds_dir: Path) -> None:
    root = _repo(tmp_path)
    prod, dev = _graph(root, "prod"), _graph(root, "dev")
    schemas = load_crd_schemas(crds_dir)
    assert schemas.validate(prod) == [] and schemas.validate(dev) == []
    assert prod["apiVersion"] == "serving.kserve.io/v1alpha1" and prod["kind"] == "InferenceGraph"
    spec = prod["spec"]
    assert isinstance(spec, dict)
    assert spec["nodes"] == {
        "root": {
            "routerType": "Sequence",
            "steps": [
                {"name": "first", "serviceName": "iris"},  # the model's InferenceService in this environment
                {"name": "second", "nodeName": "vote", "data": "$response"},
            ],
        },
        "vote": {
            "routerType": "Ensemble",
            "steps": [
                {"serviceName": "xgb"},
                {"serviceUrl": "http://ranker.shared.svc/v1/models/ranker:predict", "dependency": "Hard"},
            ],
        },
    }
    assert (spec["minReplicas"], spec["maxReplicas"], spec["resources"]) == (1, 3, {"requests": {"cpu": "100m"}})
    dev_spec = dev["spec"]
    assert isinstance(dev_spec, dict) and (dev_spec["minReplicas"], dev_spec["timeout"]) == (0, 30)
    metadata = prod["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["annotations"]["serving.kserve.io/deploymentMode"] == "Standard"
    assert metadata["labels"]["tier"] == "gold" and metadata["labels"]["app.kubernetes.io/component"] == "graph"


def test_the_layout_builds_with_kustomize_to_the_computed_objects(tmp_path: Path) -> None:
    root = _repo(tmp_path)
    assert run_cli(["render"], cwd=root).exit_code == 0
    assert (root / "base/graphs/chain/inferencegraph-chain.yaml").is_file()
    assert not (root / "overlays/staging/_graphs").exists()  # disabled there
    workspace = load_workspace(root)
    renders = render_models(workspace)
    for env in ("dev", "staging", "prod"):
        built = {object_identity(o): o for o in kustomize_objects(root / "overlays" / env)}
        computed = {object_identity(o): o for o in environment_objects(workspace, env, renders)}
        assert built == computed
        graphs = [o for o in built.values() if o["kind"] == "InferenceGraph"]
        assert len(graphs) == (0 if env == "staging" else 1)
        stream = run_cli(["build", "--env", env], cwd=root)
        assert stream.exit_code == 0, stream.stderr
        assert [o for o in yaml.safe_load_all(stream.stdout) if o] == kustomize_objects(root / "overlays" / env)
    # a removed graph takes its generated directories with it
    (root / "graphs/chain.yaml").unlink()
    assert run_cli(["render"], cwd=root).exit_code == 0
    assert not (root / "base/graphs").exists() and not (root / "overlays/prod/_graphs").exists()


def test_validate_places_a_graph_finding_in_the_graph_file(tmp_path: Path, crds_dir: Path) -> None:
    graph = GRAPH.replace(
        "labels: {tier: gold}}", "labels: {tier: gold}, annotations: {serving.kserve.io/deploymentmode: x}}"
    )
    root = _repo(tmp_path, graph)
    result = run_cli(["validate", "--format", "json", "--crds", str(crds_dir)], cwd=root)
    lines = finding_lines(result.stdout)
    column = graph.splitlines()[2].index("x}}") + 1  # the annotation's value
    assert any(
        "[kserve-annotation] dev InferenceGraph/chain /metadata/annotations/serving.kserve.io~1deploymentmode" in line
        and line.endswith(f"(graphs/chain.yaml:3:{column})")
        for line in lines
    ), lines
    assert not any("[schema]" in line or "[no-schema]" in line for line in lines), lines
