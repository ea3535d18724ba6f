"""Deployment granularity (`deployment.per`): one Flux Kustomization / Argo CD Application per
environment, per model or per group of models. Every unit's directory builds, with the real
Kustomize, to exactly its share of the in-memory objects, and the units of an environment together
deploy exactly what the environment directory does."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.genrepo import generate
from mlgitops.language.loader import load_workspace
from mlgitops.layout.overlay import environment_objects
from mlgitops.render.pipeline import render_models
from tests.conftest import kustomize_objects, object_identity, run_cli
from tests.render.test_render import PLATFORM

Identity = tuple[str, str, str, str]


def _repo(root: Path, deployment: str, *, mode: str = "rendered", platform: bool = True) -> Path:
    generate(root, 7)
    project = root / "mlgitops.yaml"
    text = project.read_text().replace(
        'argocd: {mode: plugin, image: "ghcr.io/acme/mlgitops-cmp:0.1.0"}',
        f'argocd: {{mode: {mode}, image: "ghcr.io/acme/mlgitops-cmp:0.1.0"}}',
    )
    project.write_text(text + f"deployment: {deployment}\n")
    for model in sorted((root / "models").glob("*.yaml")):
        team = re.search(r"owner: (team-\d+)", model.read_text())
        assert team is not None
        labelled = f"owner: {team[1]}, labels: {{team: {team[1]}}}"
        model.write_text(model.read_text().replace(f"owner: {team[1]}", labelled))
    if platform:
        for path, content in PLATFORM.items():
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(content)
    return root


def _objects(path: Path, kind: str) -> list[dict[str, Any]]:
    found = []
    for file in sorted(path.rglob("*.yaml")):  # plugins/flux/<cluster>/ since Flux files are per cluster
        for doc in yaml.safe_load_all(file.read_text()):
            if isinstance(doc, dict) and doc.get("kind") == kind and "spec" in doc:
                found.append(doc)
    return found


def _ids(objects: list[dict[str, Any]]) -> set[Identity]:
    return {object_identity(o) for o in objects}


@pytest.mark.parametrize("deployment", ["{per: model}", "{per: group, groupBy: team}"])
def test_units_together_deploy_exactly_each_environment(tmp_path: Path, deployment: str) -> None:
    repo = _repo(tmp_path / "r", deployment)
    assert run_cli(["render"], cwd=repo).exit_code == 0
    workspace = load_workspace(repo)
    renders = render_models(workspace)
    flux = _objects(repo / "plugins/flux", "Kustomization")
    apps = _objects(repo / "plugins/argocd", "Application")
    assert [k["spec"]["path"] for k in flux] == [f"./{a['spec']['source']['path']}" for a in apps]
    assert [k["metadata"]["name"] for k in flux] == [a["metadata"]["name"] for a in apps]
    for env in workspace.project.environment_names:
        mine = [k for k in flux if k["metadata"]["labels"]["mlgitops.io/environment"] == env]
        [shared] = [k for k in mine if k["metadata"]["name"] == f"bench-{env}-shared"]
        assert shared["spec"]["path"] == f"./overlays/_units/{env}/shared"
        others = [k for k in mine if k is not shared]
        assert others and all(k["spec"]["dependsOn"] == [{"name": f"bench-{env}-shared"}] for k in others)
        built: dict[Identity, dict[str, Any]] = {}
        for unit in mine:
            objects = kustomize_objects(repo / unit["spec"]["path"])
            assert objects, unit["spec"]["path"]
            assert not set(_ids(objects)) & set(built), "an object deployed by two units"
            built.update({object_identity(o): o for o in objects})
        whole = {object_identity(o): o for o in kustomize_objects(repo / "overlays" / env)}
        assert built == whole, env
        expected = {object_identity(o): o for o in environment_objects(workspace, env, renders)}
        assert {k: v for k, v in built.items() if k in expected} == expected
    if "group" in deployment:
        # 7 models over 7 teams; a team's unit holds exactly its members in that environment
        assert any(k["metadata"]["name"] == "bench-prod-team-3" for k in flux)
        assert _ids(kustomize_objects(repo / "overlays/_units/prod/group-team-3")) == _ids(
            kustomize_objects(repo / "overlays/prod/model-0003")
        )
    else:
        assert any(k["metadata"]["name"] == "bench-staging-model-0004" for k in flux)


def test_plugin_mode_per_model_passes_the_model_parameter(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r", "{per: model}", mode="plugin")
    assert run_cli(["render"], cwd=repo).exit_code == 0
    apps = {a["metadata"]["name"]: a for a in _objects(repo / "plugins/argocd", "Application")}
    app = apps["bench-dev-model-0002"]
    assert app["spec"]["source"]["plugin"]["parameters"] == [
        {"name": "environment", "string": "dev"},
        {"name": "model", "string": "model-0002"},
    ]
    shared = apps["bench-dev-shared"]["spec"]["source"]
    assert shared["path"] == "overlays/_units/dev/shared" and "plugin" not in shared


def test_default_is_one_unit_per_environment(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r", "{per: environment}")
    assert run_cli(["render"], cwd=repo).exit_code == 0
    assert not (repo / "overlays/_units").exists()
    paths = [k["spec"]["path"] for k in _objects(repo / "plugins/flux", "Kustomization")]
    assert sorted(paths) == ["./overlays/dev", "./overlays/prod", "./overlays/staging"]


def test_group_needs_the_label_on_every_model(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "r", "{per: group, groupBy: team}")
    model = repo / "models/model-0005.yaml"
    model.write_text(re.sub(r", labels: \{team: team-\d+\}", "", model.read_text()))
    result = run_cli(["render"], cwd=repo)
    assert result.exit_code == 1
    assert result.stderr.startswith("models/model-0005.yaml:")
    assert "deployment.per is group (by label 'team') but this model has no such label" in result.stderr
    assert not (repo / "overlays").exists()


@pytest.mark.parametrize(
    ("deployment", "message"),
    [
        ("{per: group}", "groupBy (a model label key) is required with per: group"),
        ("{per: model, groupBy: team}", "groupBy (a model label key) is required with per: group"),
    ],
)
def test_group_by_goes_with_per_group(tmp_path: Path, deployment: str, message: str) -> None:
    result = run_cli(["render"], cwd=_repo(tmp_path / "r", deployment))
    assert result.exit_code == 1 and message in result.stderr


def test_plugin_mode_cannot_deploy_groups(tmp_path: Path) -> None:
    result = run_cli(["render"], cwd=_repo(tmp_path / "r", "{per: group, groupBy: team}", mode="plugin"))
    assert result.exit_code == 1
    assert "argocd.mode plugin renders an environment or one model, not a group" in result.stderr
    assert result.stderr.startswith("mlgitops.yaml:")
