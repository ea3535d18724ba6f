"""Incremental `diff` (diff/incremental.py): a committed revision is read from `git archive`'s tar in
memory, the working tree in place, and only the changed models are loaded and written to disk. Over
random edits (committed or not), including edits of mlgitops.yaml, base/platform and templates/ that
force the full path, every output format equals the full load; a template change is never missed."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from bench.genrepo import generate, model_text
from mlgitops.delivery import git_repo
from mlgitops.delivery.diff import command, incremental, snapshot
from tests.delivery.test_diff import commit_all, git

FORMATS = ("text", "json", "markdown")
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"  # the bundled example's two templates
PLATFORM_KUSTOMIZATION = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [cm.yaml]\n"
PLATFORM_CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: artifact-repositories}\ndata: {a: '1'}\n"


def _repository(tmp_path: Path, models: int = 10) -> Path:
    root = generate(tmp_path / "repo", models)
    (root / "base/platform").mkdir(parents=True)
    (root / "base/platform/kustomization.yaml").write_text(PLATFORM_KUSTOMIZATION)
    (root / "base/platform/cm.yaml").write_text(PLATFORM_CM)
    shutil.copytree(TEMPLATES, root / "templates")
    git(root, "init", "-q")
    commit_all(root, "base")
    return root


def _edit(root: Path, rng: random.Random) -> str:
    models = sorted((root / "models").glob("*.yaml"))
    kind = rng.choice(["edit", "edit", "add", "delete", "rename", "project", "platform", "template", "stray"])
    target = rng.choice(models)
    if kind == "edit":
        target.write_text(model_text(int(target.stem.split("-")[1]), version=rng.randint(6, 40)))
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
    elif kind == "project":
        project = root / "mlgitops.yaml"
        project.write_text(project.read_text().replace("namespace: ml-staging", "namespace: ml-stage"))
    elif kind == "platform":
        cm = root / "base/platform/cm.yaml"
        cm.write_text(cm.read_text().replace("a: '1'", f"a: '{rng.randint(2, 99)}'"))
    elif kind == "template":
        pdb = root / "templates/pdb.jsonnet"
        pdb.write_text(pdb.read_text().replace("'maxUnavailable', 1", f"'maxUnavailable', {rng.randint(2, 5)}"))
    else:  # a file the loader refuses, at both revisions: the error must stay
        (root / "models" / "notes.txt").write_text("not a model\n")
    return kind


def _spy(monkeypatch: pytest.MonkeyPatch) -> tuple[list[set[str] | None], list[list[str]]]:
    """What changed_models decided, and which model files each unpacked revision holds."""
    decided: list[set[str] | None] = []
    written: list[list[str]] = []
    real_changed, real_unpack = incremental.changed_models, snapshot.unpack_snapshot

    def changed(base: incremental.Tree | None, head: incremental.Tree | None) -> set[str] | None:
        decided.append(real_changed(base, head))
        return decided[-1]

    def unpack(tree: incremental.Tree | None, *args: object) -> Path | None:
        where = real_unpack(tree, *args)  # type: ignore[arg-type]
        if where is not None:
            written.append(sorted(p.name for p in (where / "models").iterdir()))
        return where

    monkeypatch.setattr(command, "changed_models", changed)
    monkeypatch.setattr(command, "unpack_snapshot", unpack)
    return decided, written


def _outputs(root: Path, base: str, head: str | None) -> list[tuple[str, bool] | str]:
    out: list[tuple[str, bool] | str] = []
    for fmt in FORMATS:
        try:
            out.append(command.run(root, base=base, head=head, envs=None, fmt=fmt))
        except command.DiffError as exc:
            out.append(f"error: {exc}")
    return out


@pytest.mark.parametrize("seed", range(8))
def test_commit_to_commit_equals_the_full_diff(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(seed)
    root = _repository(tmp_path)
    kinds = [_edit(root, rng) for _ in range(rng.randint(1, 3))]
    commit_all(root, "edit")
    with monkeypatch.context() as patched:
        decided, written = _spy(patched)
        fast = _outputs(root, "HEAD~1", "HEAD")
    with monkeypatch.context() as patched:
        patched.setattr(command, "changed_models", lambda base, head: None)
        full = _outputs(root, "HEAD~1", "HEAD")
    assert fast == full, kinds
    _assert_only_changed_models_loaded(kinds, decided, written, fast)


def _assert_only_changed_models_loaded(
    kinds: list[str], decided: list[set[str] | None], written: list[list[str]], fast: list[tuple[str, bool] | str]
) -> None:
    if {"project", "platform", "template"} & set(kinds):
        assert decided[0] is None, kinds  # a project-wide input renders every model
    elif "stray" not in kinds:
        assert decided[0] is not None and len(decided[0]) <= 2 * len(kinds), kinds
        # only the changed models reach the disk, at both revisions; but a deleted model may have been the last
        # one of an environment, which only a full load tells (snapshot.add_model_objects refuses an empty
        # environment), so a deletion's changed-models attempt may be followed by the full one
        first = written[: 1 if "delete" in kinds else len(written)]
        assert all(len(names) <= len(decided[0]) for names in first), (written, decided)
    if "stray" in kinds:
        assert all(isinstance(o, str) and "notes.txt" in o for o in fast)


@pytest.mark.parametrize("seed", range(6))
def test_working_tree_equals_the_full_diff(tmp_path: Path, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(100 + seed)
    root = _repository(tmp_path)
    kinds = [_edit(root, rng) for _ in range(rng.randint(1, 3))]
    with monkeypatch.context() as patched:
        decided, written = _spy(patched)
        fast = _outputs(root, "HEAD", None)
    with monkeypatch.context() as patched:
        patched.setattr(command, "changed_models", lambda base, head: None)
        full = _outputs(root, "HEAD", None)
    assert fast == full, kinds
    _assert_only_changed_models_loaded(kinds, decided, written, fast)


def test_a_template_change_alone_renders_every_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The models' files are identical, their addon objects are not: the full path, and a diff."""
    root = _repository(tmp_path, models=4)
    pdb = root / "templates/pdb.jsonnet"
    pdb.write_text(pdb.read_text().replace("'maxUnavailable', 1", "'maxUnavailable', 3"))
    commit_all(root, "pdb")
    decided, _ = _spy(monkeypatch)
    text, changed = command.run(root, base="HEAD~1", head="HEAD", envs=None, fmt="text")
    assert decided == [None]
    assert changed and "PodDisruptionBudget" in text and "maxUnavailable: 3" in text


def test_archive_tree_reads_what_unpack_writes(tmp_path: Path) -> None:
    root = _repository(tmp_path, models=3)
    (root / "models/.gitkeep").write_text("")
    (root / "docs").mkdir()
    (root / "docs/link").symlink_to("../mlgitops.yaml")
    commit_all(root, "more")
    repo = git_repo.open_repository(root)
    data = git_repo.archive(repo, "HEAD")
    tree = incremental.ArchiveTree(data)
    on_disk = incremental.DirectoryTree(root)
    assert tree.file("mlgitops.yaml") == on_disk.file("mlgitops.yaml")
    assert tree.models() == on_disk.models() and len(tree.models() or {}) == 3
    assert tree.folder("base/platform") == on_disk.folder("base/platform")
    assert tree.folder("templates") == on_disk.folder("templates") != {}
    assert tree.folder("docs") is None and on_disk.folder("docs") is None  # a symlink: the full path
    assert tree.folder("nothing") == {} == on_disk.folder("nothing")
    destination = tmp_path / "out"
    destination.mkdir()
    incremental.unpack(tree, destination, {"model-0002"})
    assert sorted(p.name for p in (destination / "models").iterdir()) == [".gitkeep", "model-0002.yaml"]
    assert (destination / "templates/pdb.jsonnet").is_file() and (destination / "base/platform/cm.yaml").is_file()


def test_a_symlinked_model_takes_the_full_path(tmp_path: Path) -> None:
    root = _repository(tmp_path, models=3)
    other = tmp_path / "other"
    shutil.copytree(root, other, symlinks=True)
    (other / "models/model-0001.yaml").unlink()
    (other / "models/model-0001.yaml").symlink_to("model-0002.yaml")
    assert incremental.changed_models(root, other) is None


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
