"""Incremental `render`: after one model changes, only that model's files are written; files of
other models keep their inode (not rewritten, not renamed). Deleting a model removes exactly its
files; a project-wide change renders everything."""

from __future__ import annotations

from pathlib import Path

from bench.genrepo import generate, model_text
from tests.conftest import run_cli, snapshot_tree

GENERATED = ("base", "overlays", "plugins")


def _inodes(root: Path) -> dict[str, int]:
    return {
        p.relative_to(root).as_posix(): p.stat().st_ino
        for top in GENERATED
        for p in sorted((root / top).rglob("*"))
        if p.is_file()
    }


def _rendered(tmp_path: Path, models: int = 12) -> Path:
    root = generate(tmp_path / "repo", models)
    assert run_cli(["render"], cwd=root).exit_code == 0
    return root


def _changed(before: dict[str, bytes], after: dict[str, bytes]) -> set[str]:
    return {p for p in set(before) | set(after) if before.get(p) != after.get(p)}


def test_one_changed_model_rewrites_only_its_files(tmp_path: Path) -> None:
    root = _rendered(tmp_path)
    before, inodes = snapshot_tree(root), _inodes(root)
    (root / "models/model-0004.yaml").write_text(model_text(4, version=9))
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 0, result.stderr
    after = snapshot_tree(root)
    changed = _changed(before, after)
    assert changed and all("model-0004" in path for path in changed)
    touched = {path for path, inode in _inodes(root).items() if inodes.get(path) != inode}
    # rewritten: only files inside model-0004's own directories
    assert touched and all("/model-0004/" in path for path in touched), sorted(touched)
    assert run_cli(["render", "--check"], cwd=root).exit_code == 0


def test_a_deleted_model_removes_exactly_its_files(tmp_path: Path) -> None:
    root = _rendered(tmp_path)
    before, inodes = snapshot_tree(root), _inodes(root)
    (root / "models/model-0007.yaml").unlink()
    assert run_cli(["render"], cwd=root).exit_code == 0
    after = snapshot_tree(root)
    gone = set(before) - set(after)
    assert gone and all("model-0007" in path for path in gone)
    assert not any("model-0007" in path for path in after if not path.startswith("models/"))
    edited = {p for p in after if before.get(p) != after[p]}
    # the environments' kustomization.yaml (and the Argo CD AppProject/plugins) no longer list it
    listings = {f"overlays/{env}/kustomization.yaml" for env in ("dev", "staging", "prod")}
    assert {p for p in edited if p.startswith("overlays/")} == listings
    kept = {p for p in after if p in inodes and p not in edited and not p.startswith("models/")}
    assert all(_inodes(root)[p] == inodes[p] for p in kept)
    assert not (root / "base/models/model-0007").exists() and not (root / "overlays/prod/model-0007").exists()


def test_a_project_change_renders_everything(tmp_path: Path) -> None:
    root = _rendered(tmp_path, models=6)
    fresh = generate(tmp_path / "fresh", 6)
    for repo in (root, fresh):
        project = repo / "mlgitops.yaml"
        project.write_text(project.read_text().replace("namespace: ml-prod", "namespace: ml-production"))
    assert run_cli(["render"], cwd=root).exit_code == 0
    assert run_cli(["render"], cwd=fresh).exit_code == 0
    generated = {p: c for p, c in snapshot_tree(root).items() if p.startswith(GENERATED)}
    expected = {p: c for p, c in snapshot_tree(fresh).items() if p.startswith(GENERATED)}
    assert generated == expected
    for index in range(6):
        assert "ml-production" in (root / f"overlays/prod/model-000{index}/kustomization.yaml").read_text()


def test_an_unchanged_render_writes_nothing(tmp_path: Path) -> None:
    root = _rendered(tmp_path, models=6)
    inodes = _inodes(root)
    result = run_cli(["render"], cwd=root)
    assert result.exit_code == 0 and "rendered" not in result.stderr
    assert _inodes(root) == inodes
