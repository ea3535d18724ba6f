"""A smoke test's `bodyFile` is an input of the render cache: editing, deleting or replacing it re-renders its
model (and only it, incrementally), exactly as a full render would, and a cache recording another file's
hash is not trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgitops.gitops.rendercache import store
from projects import model_yaml, project_yaml, write_project
from tests.gitops.test_render_cache import assert_exact, render
from tests.gitops.test_render_cache import full_renders as full_renders  # the fixture

TESTED = "serving: {}\ntests:\n- {name: a, request: {bodyFile: smoke/a.json}}\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    models = {"a": model_yaml("a", body=TESTED), "b": model_yaml("b", body="serving: {}\n")}
    write_project(tmp_path / "repo", project_yaml(), models)
    (tmp_path / "repo" / "smoke").mkdir()
    (tmp_path / "repo" / "smoke" / "a.json").write_text('{"instances": [[1, 2, 3, 4]]}\n')
    render(tmp_path / "repo")
    return tmp_path / "repo"


def test_the_cache_records_what_a_model_read(root: Path) -> None:
    cache = store.load(root)
    assert cache is not None
    assert list(cache.models["a"].reads) == ["smoke/a.json"]
    assert cache.models["b"].reads == {}


def test_an_edited_body_file_re_renders_its_model_incrementally(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_renders: list[Path]
) -> None:
    before = (root / "overlays/dev/a/resources.yaml").read_text()
    (root / "smoke" / "a.json").write_text('{"instances": [[9, 9, 9, 9]]}\n')
    assert "rendered" in render(root)
    assert full_renders == []  # the changed model alone, through the cache
    after = (root / "overlays/dev/a/resources.yaml").read_text()
    assert after != before and "[[9, 9, 9, 9]]" in after
    assert_exact(root, tmp_path, monkeypatch)


def test_a_deleted_body_file_is_an_error_even_with_a_cache(root: Path) -> None:
    from conftest import run_cli

    (root / "smoke" / "a.json").unlink()
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 1
    assert result.stderr.startswith("models/a.yaml:7:33: smoke/a.json: file not found")


def test_an_unchanged_body_file_keeps_the_render_up_to_date(root: Path, full_renders: list[Path]) -> None:
    assert "up to date" in render(root)
    assert full_renders == []


def test_a_cache_with_a_hand_made_read_path_is_not_trusted(root: Path) -> None:
    cache = store.load(root)
    assert cache is not None
    for bad in ("../outside.json", "/etc/passwd", "smoke//a.json", "smoke/./a.json"):
        cache.models["a"].reads = {bad: "0" * 40}
        store.save(root, cache)
        assert store.load(root) is None, bad


def test_a_new_version_of_a_tested_model_stays_incremental(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_renders: list[Path]
) -> None:
    """The smoke objects get new names with every version; the facts record them without their hash."""
    model = root / "models" / "a.yaml"
    model.write_text(model.read_text().replace('version: "3"', 'version: "4"').replace("/3/", "/4/"))
    assert "rendered" in render(root)
    assert full_renders == []
    text = (root / "overlays" / "dev" / "a" / "resources.yaml").read_text()
    assert 'app.kubernetes.io/version: "4"' in text
    assert_exact(root, tmp_path, monkeypatch)
