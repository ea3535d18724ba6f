"""Which models `diff` must load and render: only those whose file differs between the revisions,
when nothing else a render reads differs.

A model's objects depend only on its own file and the project (`mlgitops.yaml`; `render_models`
renders each model on its own) and the Jsonnet addon templates (`templates/`), so a model whose
file is byte-identical at both revisions renders to identical objects and can change nothing in the
diff. `base/platform/` is built and compared separately (snapshot.py); it is part of the guard
too, to stay on the safe side. The inference graphs (`graphs/`) are part of it as well: a partial load
reads none, so a graph identical at both revisions shows no change, and a changed one means a full
load. Anything else differing (the project file, templates, a revision without a project, a symlink or
other special file where a model, the platform or a template is) means a full load.

A committed revision is read from the tar `git archive` writes (`ArchiveTree`), in memory: the
files compared are the bytes `materialise` would write, and only the files needed are then
written to disk (`unpack`): a 1000-model revision with one model changed writes one
model file instead of a thousand. The working tree is read in place (`DirectoryTree`).

One consequence: a model identical at both revisions is not checked again, so a diff between two
revisions that both carry the same invalid model file reports the changes instead of the error.
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Protocol

from mlgitops.delivery import git_repo
from mlgitops.util.paths import GRAPHS_DIR, MODEL_SUFFIX, MODELS_DIR, PLATFORM_DIR, PROJECT_FILE, TEMPLATES_DIR

Files = dict[str, bytes]
"""Relative path (under a folder) → bytes (`Tree.folder` gives None instead where one is a symlink or special file)."""


class Tree(Protocol):
    """The files of one revision that a render reads."""

    def file(self, relative: str) -> bytes | None:
        """A regular file's bytes; None when missing or not a regular file."""

    def folder(self, relative: str) -> Files | None:
        """Every file under `relative` (empty when it does not exist); None when it holds anything
        but directories and regular files, or exists but is not a directory."""

    def models(self) -> Files | None:
        """`models/<name>.yaml` (not dot-files) by name; None when one is not a regular file."""


def _model_name(entry: str) -> str | None:
    """The model name of a `models/` entry name, or None when the loader does not read it as a model."""
    if entry.endswith(MODEL_SUFFIX) and not entry.startswith(".") and len(entry) > len(MODEL_SUFFIX):
        return entry[: -len(MODEL_SUFFIX)]
    return None


class DirectoryTree:
    """A revision read in place (the working tree, or a materialised directory)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def file(self, relative: str) -> bytes | None:
        path = self.root / relative
        if path.is_symlink() or not path.is_file():
            return None
        try:
            return path.read_bytes()
        except OSError:
            return None

    def folder(self, relative: str) -> Files | None:
        top = self.root / relative
        if not top.exists() and not top.is_symlink():
            return {}
        if top.is_symlink() or not top.is_dir():
            return None
        found: Files = {}
        for path in top.rglob("*"):
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                return None  # the full load refuses or follows it
            if path.is_file():
                try:
                    found[path.relative_to(top).as_posix()] = path.read_bytes()
                except OSError:
                    return None
        return found

    def models(self) -> Files | None:
        folder = self.root / MODELS_DIR
        if not folder.is_dir() or folder.is_symlink():
            return {}
        found: Files = {}
        for entry in folder.iterdir():
            name = _model_name(entry.name)
            if name is None:
                continue
            data = None if entry.is_symlink() else self.file(f"{MODELS_DIR}/{entry.name}")
            if data is None:
                return None
            found[name] = data
        return found


class ArchiveTree:
    """A committed revision as the tar `git_repo.archive` returns, read in memory."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._files: dict[str, tuple[int, int]] = {}  # name → (offset, size) of its bytes in `data`
        self._special: set[str] = set()  # symlinks, links, devices: anything but files and directories
        self._dirs: set[str] = set()
        self.tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:")  # noqa: SIM115  (in memory: nothing to close)
        self.members = self.tar.getmembers()
        for member in self.members:
            name = member.name.rstrip("/")
            if member.isfile():
                self._files[name] = (member.offset_data, member.size)
            elif member.isdir():
                self._dirs.add(name)
            else:
                self._special.add(name)

    def file(self, relative: str) -> bytes | None:
        found = self._files.get(relative)
        if found is None:
            return None
        offset, size = found
        return self.data[offset : offset + size]

    def folder(self, relative: str) -> Files | None:
        prefix = relative + "/"
        if relative in self._special or (relative in self._files):
            return None
        if any(name.startswith(prefix) for name in self._special):
            return None
        return {name[len(prefix) :]: self.file(name) or b"" for name in self._files if name.startswith(prefix)}

    def models(self) -> Files | None:
        prefix = MODELS_DIR + "/"
        found: Files = {}
        for name in sorted(self._special | self._dirs | set(self._files)):
            if not name.startswith(prefix) or "/" in name[len(prefix) :]:
                continue
            model = _model_name(name[len(prefix) :])
            if model is None:
                continue
            data = self.file(name)
            if data is None:
                return None
            found[model] = data
        return found


def as_tree(side: Tree | Path | None) -> Tree | None:
    return DirectoryTree(side) if isinstance(side, Path) else side


def changed_models(base: Tree | Path | None, head: Tree | Path | None) -> set[str] | None:
    """Names of the models whose file differs (added, removed or edited); None: load everything."""
    base_tree, head_tree = as_tree(base), as_tree(head)
    if base_tree is None or head_tree is None:
        return None
    project = base_tree.file(PROJECT_FILE)
    if project is None or project != head_tree.file(PROJECT_FILE):
        return None
    for folder in (PLATFORM_DIR, TEMPLATES_DIR, GRAPHS_DIR):
        found = base_tree.folder(folder)
        if found is None or found != head_tree.folder(folder):
            return None
    base_models, head_models = base_tree.models(), head_tree.models()
    if not base_models or not head_models:
        return None
    changed = set(base_models) ^ set(head_models)
    changed.update(name for name in set(base_models) & set(head_models) if base_models[name] != head_models[name])
    return changed


def unpack(tree: ArchiveTree, destination: Path, only: set[str] | None) -> None:
    """Write the revision into `destination`: every file, or with `only`, no regular model file of a
    model outside `only` (what `changed_models` found unchanged)."""
    members = tree.members
    if only is not None:
        prefix = MODELS_DIR + "/"

        def unchanged(member: tarfile.TarInfo) -> bool:
            if not member.isfile() or not member.name.startswith(prefix):
                return False
            model = _model_name(member.name[len(prefix) :])
            return model is not None and "/" not in model and model not in only

        members = [m for m in members if not unchanged(m)]
    git_repo.extract(tree.tar, members, destination)
