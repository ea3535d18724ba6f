"""`mlgitops init` scaffolds one Jsonnet addon, templates/pdb.jsonnet: a PodDisruptionBudget for models
served by more than one replica (the example model has two in prod only). A repository that already has
templates/ keeps it as it is: init adds no template there, and renders the team's own templates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlgitops.gitops.scaffold import scaffold_files
from tests.conftest import kustomize_objects, run_cli, snapshot_tree
from tests.gitops.test_init_adopt import existing_repository

PROD_ONLY = "overlays/prod/example-classifier/resources.yaml"  # the objects only prod has


def _prod_pdbs(repo: Path) -> list[dict[str, Any]]:
    prod_only = repo / PROD_ONLY
    documents = list(yaml.safe_load_all(prod_only.read_text())) if prod_only.exists() else []
    return [o for o in documents if o["kind"] == "PodDisruptionBudget"]


def _kinds(objects: list[dict[str, object]]) -> list[str]:
    return sorted(str(o["kind"]) for o in objects)


def test_init_scaffolds_a_pdb_template_that_renders_where_a_model_has_replicas(tmp_path: Path, crds_dir: Path) -> None:
    result = run_cli(["init", "demo"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    repo = tmp_path / "demo"
    assert "  added      templates/pdb.jsonnet" in result.stdout.splitlines()
    assert (repo / "templates/pdb.jsonnet").read_text() == scaffold_files("demo", "x", "github")[
        "templates/pdb.jsonnet"
    ]
    # prod serves example-classifier with min 2 replicas: a PDB there, in prod's own resources
    [pdb] = _prod_pdbs(repo)
    assert pdb["spec"] == {
        "maxUnavailable": 1,
        "selector": {"matchLabels": {"serving.kserve.io/inferenceservice": "example-classifier"}},
    }
    assert not any(p.name.startswith("poddisruptionbudget") for p in (repo / "base").rglob("*.yaml"))
    prod = [o for o in kustomize_objects(repo / "overlays/prod") if o["kind"] == "PodDisruptionBudget"]
    assert [o["metadata"]["namespace"] for o in prod] == ["demo-prod"]
    for env in ("dev", "staging"):  # min 1 replica there: no PDB
        assert "PodDisruptionBudget" not in _kinds(kustomize_objects(repo / "overlays" / env))
    validated = run_cli(["validate", "--strict", "--crds", str(crds_dir)], cwd=repo)
    assert validated.exit_code == 0, validated.stdout + validated.stderr


def test_settings_and_opt_out_reach_the_scaffolded_template(tmp_path: Path) -> None:
    assert run_cli(["init", "demo"], cwd=tmp_path).exit_code == 0
    repo = tmp_path / "demo"
    model = repo / "models/example-classifier.yaml"
    text = model.read_text()
    model.write_text(text.replace("environments:  #", "addons: {pdb: {maxUnavailable: 2}}\nenvironments:  #", 1))
    assert run_cli(["render"], cwd=repo).exit_code == 0
    assert [pdb["spec"]["maxUnavailable"] for pdb in _prod_pdbs(repo)] == [2]
    model.write_text(text.replace("environments:  #", "addons: {pdb: {enabled: false}}\nenvironments:  #", 1))
    assert run_cli(["render"], cwd=repo).exit_code == 0
    assert _prod_pdbs(repo) == []


def test_init_leaves_an_existing_templates_directory_alone(tmp_path: Path) -> None:
    repo = existing_repository(tmp_path / "repo")
    (repo / "templates").mkdir()
    ours = (
        "function(model, environment, project, settings={})\n"
        "  [{apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: model.metadata.name + '-team'}}]\n"
    )
    (repo / "templates/pdb.jsonnet").write_text(ours)  # the team's own, under the scaffold's name
    result = run_cli(["init", "repo"], cwd=tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "  left alone templates/ (it exists)" in result.stdout.splitlines()
    assert not any("templates/pdb.jsonnet" in line for line in result.stdout.splitlines())
    assert (repo / "templates/pdb.jsonnet").read_text() == ours
    assert sorted(p.name for p in (repo / "templates").iterdir()) == ["pdb.jsonnet"]
    assert (repo / "base/models/example-classifier/configmap-example-classifier-team.yaml").is_file()


def test_a_failing_team_template_stops_init_before_it_writes(tmp_path: Path) -> None:
    repo = existing_repository(tmp_path / "repo")
    (repo / "templates").mkdir()
    (repo / "templates/broken.jsonnet").write_text("function(model, environment, project, settings={})\n  [\n")
    before = snapshot_tree(repo)
    result = run_cli(["init", "repo"], cwd=tmp_path)
    assert result.exit_code == 1
    assert result.stderr.startswith("templates/broken.jsonnet:3:1: "), result.stderr
    assert snapshot_tree(repo) == before
