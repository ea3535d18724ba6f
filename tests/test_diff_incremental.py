"""Incremental `diff` (diff/incremental.py): loading only the models whose file differs gives the
same result, in every output format, as loading both revisions in full: a property test over
random edits, additions, deletions and renames of models in a generated repository."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from bench.genrepo import generate, model_text
from mlgitops.diff import command, incremental
from tests.test_diff import commit_all, git

FORMATS = ("text", "json", "markdown")


def _random_change(root: Path, rng: random.Random) -> str:
    models = sorted((root / "models").glob("*.yaml"))
    kind = rng.choice(["edit", "edit", "add", "delete", "rename", "touch-project"])
    target = rng.choice(models)
    if kind == "edit":
        index = int(target.stem.split("-")[1])
        target.write_text(model_text(index, version=rng.randint(6, 40)))
    elif kind == "add":
        index = 500 + rng.randint(0, 400)
        (root / "models" / f"model-{index:04d}.yaml").write_text(model_text(index))
    elif kind == "delete":
        target.unlink()
    elif kind == "rename":
        index = 900 + rng.randint(0, 90)
        text = target.read_text().replace(target.stem, f"model-{index:04d}")
        target.unlink()
        (root / "models" / f"model-{index:04d}.yaml").write_text(text)
    else:
        project = root / "mlgitops.yaml"
        project.write_text(project.read_text().replace("namespace: ml-staging", "namespace: ml-stage"))
    return kind


def _results(root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[str], set[str] | None]:
    seen: list[set[str] | None] = []
    real = incremental.changed_models

    def spy(base: Path | None, head: Path | None) -> set[str] | None:
        found = real(base, head)
        seen.append(found)
        return found

    monkeypatch.setattr(command, "changed_models", spy)
    fast = [command.run(root, base="HEAD", head=None, envs=None, fmt=fmt)[0] for fmt in FORMATS]
    monkeypatch.setattr(command, "changed_models", lambda base, head: None)
    full = [command.run(root, base="HEAD", head=None, envs=None, fmt=fmt)[0] for fmt in FORMATS]
    return fast, full, seen[0]


@pytest.mark.parametrize("seed", range(6))
def test_incremental_diff_equals_the_full_diff(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    root = generate(tmp_path / "repo", 12)
    git(root, "init", "-q")
    commit_all(root, "base")
    kinds = [_random_change(root, rng) for _ in range(rng.randint(1, 3))]
    fast, full, selected = _results(root, monkeypatch)
    assert fast == full, kinds
    if "touch-project" in kinds:
        assert selected is None  # a project change loads everything
    else:
        assert selected is not None and len(selected) <= 2 * len(kinds)  # only the models that changed
    assert any("changed" in text or "added" in text or "removed" in text for text in full)


def test_no_model_changed_loads_no_model(tmp_path: Path) -> None:
    root = generate(tmp_path / "a", 4)
    other = tmp_path / "b"
    shutil.copytree(root, other)
    assert incremental.changed_models(root, other) == set()
    (other / "models/model-0001.yaml").write_text(model_text(1, version=9))
    (other / "models/model-0003.yaml").unlink()
    assert incremental.changed_models(root, other) == {"model-0001", "model-0003"}
    (other / "base/platform").mkdir(parents=True)
    (other / "base/platform/kustomization.yaml").write_text("resources: []\n")
    assert incremental.changed_models(root, other) is None
