"""The `cmp generate` answer cache (cmp_cache.py): hits, misses on any input change, corrupt entries,
another mlgitops version, and a cache directory that cannot be written or is not private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mlgitops.gitops import cmp, cmp_cache
from tests.conftest import copy_example


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_example(tmp_path / "repo")


def _environ(cache: Path, **extra: str) -> dict[str, str]:
    return {
        "MLGITOPS_CMP_CACHE": "1",
        "MLGITOPS_CMP_CACHE_DIR": str(cache),
        "PATH": os.environ.get("PATH", ""),
        "ARGOCD_APP_SOURCE_PATH": "overlays/prod",
        "PARAM_ENVIRONMENT": "prod",
        **extra,
    }


def _entries(cache: Path) -> list[Path]:
    return sorted(cache.glob("*.entry")) if cache.is_dir() else []


def _count_renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    original = cmp._generate

    def counting(start: Path, environ: object) -> cmp.Generated:
        calls[0] += 1
        return original(start, environ)  # type: ignore[arg-type]

    monkeypatch.setattr(cmp, "_generate", counting)
    return calls


def test_hit_returns_the_same_answer_without_rendering(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    calls = _count_renders(monkeypatch)
    first = cmp.generate(repo / "overlays/prod", _environ(cache))
    assert calls[0] == 1 and len(_entries(cache)) == 1
    second = cmp.generate(repo / "overlays/prod", _environ(cache))
    assert calls[0] == 1  # answered from the cache
    assert second == first
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


def test_a_new_extracted_copy_of_the_same_commit_hits(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Argo CD extracts each request into a new directory: the key uses paths relative to the project."""
    cache = tmp_path / "cache"
    calls = _count_renders(monkeypatch)
    first = cmp.generate(repo / "overlays/prod", _environ(cache))
    other = copy_example(tmp_path / "other-extract")
    assert cmp.generate(other / "overlays/prod", _environ(cache)) == first
    assert calls[0] == 1


@pytest.mark.parametrize(
    "change",
    [
        "model file",
        "project file",
        "platform file",
        "committed overlay",
        "committed base",
        "new model file",
        "parameter model",
        "extra labels",
        "namespace",
    ],
)
def test_any_input_change_misses(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str) -> None:
    cache = tmp_path / "cache"
    environ = _environ(cache)
    cmp.generate(repo / "overlays/prod", environ)
    calls = _count_renders(monkeypatch)
    if change == "model file":
        path = repo / "models/churn-scorer.yaml"
        path.write_text(path.read_text().replace("max: 16", "max: 17"))
    elif change == "project file":
        path = repo / "mlgitops.yaml"
        path.write_text(path.read_text() + "\n# a comment\n")
    elif change == "platform file":
        path = repo / "base/platform/serviceaccounts.yaml"
        path.write_text(path.read_text() + "\n")
    elif change == "committed overlay":
        (repo / "overlays/prod/namespace.yaml").write_text("# edited\n")
    elif change == "committed base":
        path = next((repo / "base/models/churn-scorer").glob("service-*.yaml"))
        path.write_text(path.read_text() + "# edited\n")
    elif change == "new model file":
        (repo / "models/README.md").write_text("notes\n")
    elif change == "parameter model":
        environ["PARAM_MODEL"] = "churn-scorer"
    elif change == "extra labels":
        environ["PARAM_EXTRA_LABELS"] = "team=risk"
    elif change == "namespace":
        environ["ARGOCD_APP_NAMESPACE"] = "elsewhere"
    try:
        result = cmp.generate(repo / "overlays/prod", environ)
    except cmp.CmpError as exc:  # edited committed files or a stray model file are refused: not cached
        assert change in ("committed overlay", "committed base", "new model file", "model file"), exc
        assert calls[0] == 1
        return
    assert calls[0] == 1, "a changed input must not be answered from the cache"
    if change == "namespace":
        assert result.warnings


def test_failures_are_not_cached(repo: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    (repo / "models/README.md").write_text("notes\n")
    for _ in range(2):
        with pytest.raises(cmp.CmpError):
            cmp.generate(repo / "overlays/prod", _environ(cache))
    assert _entries(cache) == []


def test_corrupt_or_truncated_entry_is_ignored_and_replaced(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    first = cmp.generate(repo / "overlays/prod", _environ(cache))
    (entry,) = _entries(cache)
    data = entry.read_bytes()
    calls = _count_renders(monkeypatch)
    for broken in (data[: len(data) // 2], data.replace(b"kind: Namespace", b"kind: Nemaspace"), b"", b"\xff\xfe"):
        entry.write_bytes(broken)
        assert cmp.generate(repo / "overlays/prod", _environ(cache)) == first
    assert calls[0] == 4
    assert entry.read_bytes() == data  # rewritten by the last miss


def test_entry_from_another_version_is_not_trusted(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    cmp.generate(repo / "overlays/prod", _environ(cache))
    calls = _count_renders(monkeypatch)
    import mlgitops

    monkeypatch.setattr(mlgitops, "__version__", "0.1.0+other")
    cmp.generate(repo / "overlays/prod", _environ(cache))
    assert calls[0] == 1


def test_unwritable_or_shared_cache_directory_means_no_cache(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = cmp.generate(repo / "overlays/prod", _environ(blocker / "cache"))  # cannot be created
    assert "kind: InferenceService" in result.stream
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    cmp.generate(repo / "overlays/prod", _environ(shared))
    assert _entries(shared) == []  # a directory others can write to is never used
    off = tmp_path / "off"
    cmp.generate(repo / "overlays/prod", {**_environ(off), "MLGITOPS_CMP_CACHE": "0"})
    assert not off.exists()


def test_read_only_file_system_means_no_cache(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import tempfile

    def read_only(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    cache = tmp_path / "cache"
    first = cmp.generate(repo / "overlays/prod", _environ(cache))
    assert cmp.generate(repo / "overlays/prod", _environ(cache)) == first
    assert _entries(cache) == []


def test_size_is_bounded(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setattr(cmp_cache, "MAX_ENTRIES", 2)
    for label in ("a", "b", "c", "d"):
        cmp.generate(repo / "overlays/prod", _environ(cache, PARAM_EXTRA_LABELS=f"team={label}"))
    assert len(_entries(cache)) == 2


def test_a_cache_hit_does_not_import_pydantic_or_the_renderer(repo: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from mlgitops.__main__ import main\n"
        "code = main(['cmp', 'generate'])\n"
        "probed = ('pydantic', 'mlgitops.language.loader', 'mlgitops.render.model')\n"
        "heavy = sorted(m for m in probed if m in sys.modules)\n"
        "print('loaded:' + ','.join(heavy), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    environ = {**_environ(tmp_path / "cache"), "HOME": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", probe], cwd=repo / "overlays/prod", env=environ, capture_output=True, text=True
        )
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    assert runs[0].stdout == runs[1].stdout and "kind: InferenceService" in runs[0].stdout
    assert "loaded:mlgitops.language.loader,mlgitops.render.model,pydantic" in runs[0].stderr  # the miss renders
    assert "loaded:\n" in runs[1].stderr  # the hit does not


def test_special_files_and_link_loops_are_keyed_without_reading_through_them(repo: Path) -> None:
    """The key is computed before any check: a FIFO must not block it, links must not make it walk forever."""
    templates = repo / "templates"
    os.mkfifo(templates / "notes")  # opening it for reading would block until a writer comes
    (templates / "up").symlink_to("..")  # the project itself: followed once
    (templates / "again").symlink_to("../templates")  # a loop back into templates/
    (templates / "root").symlink_to("/")  # outside the project: keyed by its target, never walked
    first = cmp_cache.request_key(repo, repo / "overlays/prod", "prod", None, {})
    assert cmp_cache.request_key(repo, repo / "overlays/prod", "prod", None, {}) == first
    (templates / "root").unlink()
    (templates / "root").symlink_to("/usr")
    assert cmp_cache.request_key(repo, repo / "overlays/prod", "prod", None, {}) != first


def test_a_file_reached_through_a_directory_link_inside_the_project_is_keyed(repo: Path) -> None:
    shared = repo / "shared-lib"
    shared.mkdir()
    (shared / "labels.libsonnet").write_text("{team: 'risk'}\n")
    (repo / "templates" / "lib").mkdir(exist_ok=True)
    (repo / "templates" / "lib" / "shared").symlink_to("../../shared-lib")
    first = cmp_cache.request_key(repo, repo / "overlays/prod", "prod", None, {})
    (shared / "labels.libsonnet").write_text("{team: 'fraud'}\n")
    assert cmp_cache.request_key(repo, repo / "overlays/prod", "prod", None, {}) != first
