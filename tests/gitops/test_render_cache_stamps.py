"""Stamps (rendercache/stamps.py): a render skips reading the generated files a stamp vouches for, and still
sees every edit, even one that keeps a file's size and sets its modification time back.

Files settle after `SETTLE_NS` (seconds); here they settle at once, so that the render after next trusts them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.genrepo import model_name, model_text
from mlgitops.gitops.rendercache import render as render_module
from mlgitops.gitops.rendercache import stamps, store
from tests.gitops.test_render_cache import assert_exact, render, rewrite_cache
from tests.gitops.test_render_cache import full_renders as full_renders  # the fixture
from tests.gitops.test_render_cache import repo as repo  # the fixture


@pytest.fixture(autouse=True)
def _settled_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stamps, "SETTLE_NS", 0)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The generated files the render cache reads."""
    seen: list[str] = []
    real = render_module.read_file

    def counted(path: str) -> bytes:
        seen.append(path)
        return real(path)

    monkeypatch.setattr(render_module, "read_file", counted)
    return seen


def test_stamped_files_are_not_read_again(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reads: list[str], full_renders: list[Path]
) -> None:
    assert render(repo) == "up to date: no generated file changed\n"  # reads every file once, then stamps them
    cache = store.load(repo)
    assert cache is not None and cache.shared_stamp and all(entry.stamp for entry in cache.models.values())
    reads.clear()
    (repo / f"models/{model_name(4)}.yaml").write_text(model_text(4, version=9))
    assert render(repo).startswith("rendered ")
    assert reads and all(f"/{model_name(4)}/" in path for path in reads)  # only the changed model's, compared
    assert full_renders == []
    assert_exact(repo, tmp_path, monkeypatch)
    cache = store.load(repo)
    assert cache is not None and cache.models[model_name(4)].stamp == ""  # written just now: not settled


def test_an_edit_that_keeps_the_size_and_the_modification_time_is_seen(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, full_renders: list[Path]
) -> None:
    render(repo)  # stamps every group
    edited = repo / f"overlays/prod/{model_name(1)}/kustomization.yaml"
    before = os.stat(edited)
    text = edited.read_text()
    edited.write_text(text.replace("prod", "prud", 1))  # same size, in place (same inode)
    os.utime(edited, ns=(before.st_atime_ns, before.st_mtime_ns))  # and the old modification time
    assert os.stat(edited).st_size == before.st_size and os.stat(edited).st_ino == before.st_ino
    (repo / f"models/{model_name(4)}.yaml").write_text(model_text(4, version=9))
    render(repo)
    assert full_renders == [repo]  # the change time differs: read, found edited, repaired by a full render
    assert edited.read_text() == text
    assert_exact(repo, tmp_path, monkeypatch)


def test_a_stamp_vouches_only_for_settled_regular_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "a").write_text("a")
    (tmp_path / "b").write_text("b")
    later = os.stat(tmp_path / "b").st_ctime_ns + 1
    assert stamps.stamp(tmp_path, ["a", "b"], later) == stamps.stamp(tmp_path, ["b", "a"], later)
    assert stamps.stamp(tmp_path, ["a", "missing"], later) is None
    (tmp_path / "link").symlink_to(tmp_path / "a")
    assert stamps.stamp(tmp_path, ["link"], later) is None
    first = stamps.stamp(tmp_path, ["a"], later)
    (tmp_path / "a").write_text("A")
    assert stamps.stamp(tmp_path, ["a"], os.stat(tmp_path / "a").st_ctime_ns + 1) != first
    monkeypatch.setattr(stamps, "SETTLE_NS", 3_000_000_000)
    assert stamps.stamp(tmp_path, ["a"], os.stat(tmp_path / "a").st_ctime_ns + 1) is None  # not settled yet


@pytest.mark.parametrize("stamp", [5, "short", None])
def test_a_cache_with_a_malformed_stamp_is_no_cache(repo: Path, stamp: object) -> None:
    def forge(data: dict[str, object]) -> None:
        models = data["models"]
        assert isinstance(models, dict)
        models[model_name(2)]["stamp"] = stamp

    rewrite_cache(repo, forge)
    assert store.load(repo) is None
