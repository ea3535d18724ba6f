"""A render split over forked workers writes the same tree as one without workers, and fails the same way.

The models are few here, so the share size is lowered to one model: every run below forks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.genrepo import generate
from mlgitops.gitops import generate as generate_module
from mlgitops.gitops.rendercache.render import CACHE_SWITCH
from mlgitops.util import forked
from tests.conftest import copy_example, run_cli, snapshot_tree


@pytest.fixture(autouse=True)
def _no_render_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CACHE_SWITCH, "0")  # every render below is a full one


def render_with(root: Path, workers: int, monkeypatch: pytest.MonkeyPatch) -> tuple[int, str, dict[str, bytes]]:
    with monkeypatch.context() as patch:
        patch.setenv(forked.WORKERS_VARIABLE, str(workers))
        result = run_cli(["render"], cwd=root)
    tree = {path: data for path, data in snapshot_tree(root).items() if not path.startswith(".mlgitops-cache")}
    return result.exit_code, result.stderr, tree


# Project settings whose environment-wide files read more of each model: its labels (groups), the units
# of per-model deployment, GPU serving (Flux's health timeout, in every variant).
VARIANTS = {
    "as-is": "",
    "per-model": "deployment: {per: model}\n",
    "per-group": "deployment: {per: group, groupBy: domain}\n",
    "with-graph": "",
}
GRAPH = """\
apiVersion: mlgitops.io/v1alpha1
kind: Graph
metadata: {name: chain, owner: team-a}
nodes:
  root:
    routerType: Sequence
    steps:
    - {name: first, model: fraud-detector}
    - {name: second, model: support-llm, data: $request}
"""


def example_variant(destination: Path, variant: str) -> Path:
    root = copy_example(destination)
    project = root / "mlgitops.yaml"
    text = project.read_text() + VARIANTS[variant]
    if variant == "per-group":  # the plugin renders an environment or one model, not a group
        text = text.replace("  mode: plugin\n", "  mode: rendered\n")
    project.write_text(text)
    if variant == "with-graph":  # graphs read the models in this process: the workers only render
        (root / "graphs").mkdir()
        (root / "graphs" / "chain.yaml").write_text(GRAPH)
    return root


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_bundled_example_and_a_generated_project_render_the_same_tree(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int], workers: int, variant: str
) -> None:
    makers = {"example": lambda d: example_variant(d, variant), "generated": lambda d: generate(d, 11)}
    for name, make in makers.items():
        alone, split = make(tmp_path / f"{name}-alone"), make(tmp_path / f"{name}-split")
        for root in (alone, split):
            for generated in ("base/models", "overlays", "plugins"):
                shutil.rmtree(root / generated, ignore_errors=True)
        before = len(forks)
        expected = render_with(alone, 1, monkeypatch)
        assert len(forks) == before
        actual = render_with(split, workers, monkeypatch)
        assert len(forks) == before + workers, name
        assert expected[0] == 0, expected[1]
        assert actual[0] == 0, actual[1]
        assert sorted(actual[2]) == sorted(expected[2])
        assert [path for path in expected[2] if actual[2][path] != expected[2][path]] == []
        assert run_cli(["render", "--check"], cwd=split).exit_code == 0


@pytest.mark.parametrize("failing", ["first", "last"])
def test_an_error_in_any_share_reads_as_without_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int], failing: str
) -> None:
    """A template that fails for one model: in a child's share or in this process's, the message, exit code
    and untouched tree are those of a run without workers."""
    roots = []
    for label in ("alone", "split"):
        root = generate(tmp_path / label, 6)
        assert run_cli(["render"], cwd=root).exit_code == 0
        victim = sorted(p.stem for p in (root / "models").glob("*.yaml"))[0 if failing == "first" else -1]
        (root / "templates").mkdir(exist_ok=True)
        (root / "templates" / "boom.jsonnet").write_text(
            "function(model, environment, project, settings={})\n"
            f"  if model.metadata.name == '{victim}' then error 'no {victim}' else []\n"
        )
        roots.append(root)
    alone, split = (render_with(root, workers, monkeypatch) for root, workers in zip(roots, (1, 3), strict=True))
    assert forks, "the split run forked"
    assert alone[0] == split[0] == 1
    assert "no model-" in alone[1]
    assert split[1].replace(str(roots[1]), "ROOT") == alone[1].replace(str(roots[0]), "ROOT")
    assert [p for p in alone[2] if alone[2][p] != split[2].get(p)] == []


def test_an_up_to_date_tree_moves_no_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> None:
    """Over a tree that already holds the render, the workers send hashes, not text (tree.unchanged_units)."""
    root = generate(tmp_path / "repo", 9)
    assert render_with(root, 3, monkeypatch)[0] == 0
    before = snapshot_tree(root)
    seen: list[dict[str, str | None]] = []
    real = generate_module._whole

    def spied(workspace: object, parts: list[generate_module.Generated]) -> generate_module.Generated:
        seen.extend(part.files for part in parts)
        return real(workspace, parts)  # type: ignore[arg-type]

    monkeypatch.setattr(generate_module, "_whole", spied)
    code, message, _tree = render_with(root, 3, monkeypatch)
    assert code == 0 and "up to date" in message
    assert len(seen) == 3 and all(text is None for files in seen for text in files.values())
    assert snapshot_tree(root) == before


def test_workers_repair_a_hand_edited_model_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forks: list[int]
) -> None:
    """An edited file and a stray one in model directories: their units travel as text and are rewritten."""
    alone, split = generate(tmp_path / "alone", 9), generate(tmp_path / "split", 9)
    expected = render_with(alone, 1, monkeypatch)[2]
    assert render_with(split, 3, monkeypatch)[0] == 0
    edited = sorted(split.glob("overlays/prod/*/kustomization.yaml"))[0]
    edited.write_text(edited.read_text() + "# edited\n")
    stray = sorted(split.glob("base/models/*"))[-1] / "stray.yaml"
    stray.write_text("# Generated by mlgitops from models/x.yaml\nkind: ConfigMap\n")
    code, message, actual = render_with(split, 3, monkeypatch)
    assert code == 0, message
    assert actual == expected
