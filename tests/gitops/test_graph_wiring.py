"""Inference graphs in the GitOps wiring (issue 25): deployed with an environment's shared unit when models deploy
one by one, named in Argo CD's manifest-generate-paths, part of the render cache's and the plugin cache's keys,
and a reason for `diff` to load every model."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

from bench.genrepo import generate, model_name
from mlgitops.delivery.diff.incremental import changed_models
from mlgitops.gitops.cmp_cache import feed_tree
from mlgitops.gitops.rendercache.inputs import project_key
from mlgitops.gitops.rendercache.render import CACHE_SWITCH
from tests.conftest import kustomize_objects, run_cli, snapshot_tree

GRAPH = """\
apiVersion: mlgitops.io/v1alpha1
kind: Graph
metadata: {{name: pipeline}}
nodes:
  root:
    routerType: Sequence
    steps:
    - {{model: {first}}}
    - {{model: {second}, data: $response}}
"""


def _repo(root: Path, deployment: str = "") -> Path:
    generate(root, 6)  # model-0000 and model-0003 serve on KServe in every environment
    (root / "graphs").mkdir()
    (root / "graphs/pipeline.yaml").write_text(GRAPH.format(first=model_name(0), second=model_name(3)))
    if deployment:
        project = root / "mlgitops.yaml"
        project.write_text(project.read_text() + f"deployment: {deployment}\n")
    return root


def _annotation(path: Path) -> str:
    return str(
        yaml.safe_load(path.read_text())["metadata"]["annotations"]["argocd.argoproj.io/manifest-generate-paths"]
    )


def test_graphs_deploy_with_the_shared_unit_when_models_deploy_one_by_one(tmp_path: Path) -> None:
    root = _repo(tmp_path / "r", "{per: model}")
    project = root / "mlgitops.yaml"
    project.write_text(project.read_text().replace("mode: plugin", "mode: rendered"))
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 0, result.stderr
    shared = root / "overlays/_units/prod/shared"
    kinds = [o["kind"] for o in kustomize_objects(shared)]
    assert "InferenceGraph" in kinds
    assert not (root / "overlays/prod/_graphs").joinpath("kustomization.yaml").exists()  # no unit of its own
    assert "/base/graphs;/overlays/prod/_graphs" in _annotation(
        root / "plugins/argocd/application-bench-prod-shared.yaml"
    )


def test_plugin_mode_regenerates_on_a_graph_change(tmp_path: Path) -> None:
    root = _repo(tmp_path / "r")
    assert run_cli(["render"], cwd=root).exit_code == 0
    paths = _annotation(root / "plugins/argocd/application-bench-prod.yaml").split(";")
    assert "/graphs" in paths and "/base/graphs" in paths
    plain = generate(tmp_path / "plain", 3)
    assert run_cli(["render"], cwd=plain).exit_code == 0
    assert "graphs" not in _annotation(plain / "plugins/argocd/application-bench-prod.yaml")


def test_a_graph_change_invalidates_the_render_cache_and_the_plugin_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _repo(tmp_path / "r")
    assert run_cli(["render"], cwd=root).exit_code == 0
    key = project_key(root)
    digest = hashlib.sha256()
    feed_tree(digest, root, "graphs")
    graph = root / "graphs/pipeline.yaml"
    graph.write_text(graph.read_text().replace("data: $response", "data: $request"))
    assert project_key(root) != key
    changed = hashlib.sha256()
    feed_tree(changed, root, "graphs")
    assert changed.hexdigest() != digest.hexdigest()
    assert run_cli(["render"], cwd=root).exit_code == 0  # through the cache: a new key means a full render
    rendered = (root / "base/graphs/pipeline/inferencegraph-pipeline.yaml").read_text()
    assert "data: $request" in rendered
    oracle = tmp_path / "oracle"
    _repo(oracle)
    (oracle / "graphs/pipeline.yaml").write_text(graph.read_text())
    monkeypatch.setenv(CACHE_SWITCH, "0")
    assert run_cli(["render"], cwd=oracle).exit_code == 0
    generated = {p: d for p, d in snapshot_tree(root).items() if p.startswith(("base/", "overlays/", "plugins/"))}
    expected = {p: d for p, d in snapshot_tree(oracle).items() if p.startswith(("base/", "overlays/", "plugins/"))}
    assert generated == expected


def test_diff_loads_every_model_when_graphs_differ(tmp_path: Path) -> None:
    base, head = _repo(tmp_path / "base"), _repo(tmp_path / "head")
    assert changed_models(base, head) == set()
    model = head / "models" / f"{model_name(1)}.yaml"
    model.write_text(model.read_text().replace("owner:", "owner: x-"))
    assert changed_models(base, head) == {model_name(1)}
    graph = head / "graphs/pipeline.yaml"
    graph.write_text(graph.read_text() + "timeout: 30\n")
    assert changed_models(base, head) is None
