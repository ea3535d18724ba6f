"""Which models `diff` must load and render: only those whose file differs between the revisions,
when nothing else a render reads differs.

A model's objects depend only on its own file and the project (`mlgitops.yaml`; `render_models`
renders each model on its own), so a model whose file is byte-identical at both revisions renders
to identical objects and can change nothing in the diff. `base/platform/` is built separately
(snapshot.py) and compared as before; it is part of the guard anyway, to stay on the safe side.
Anything else differing (the project file, a revision without a project) means a full load.

One consequence: a model identical at both revisions is not checked again, so a diff between two
revisions that both carry the same invalid model file reports the changes instead of the error.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from mlgitops.loader import MODELS_DIR, PROJECT_FILE
from mlgitops.overlay import PLATFORM_DIR

MODEL_SUFFIX = ".yaml"


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _model_files(root: Path) -> dict[str, Path]:
    folder = root / MODELS_DIR
    if not folder.is_dir() or folder.is_symlink():
        return {}
    return {
        entry.name[: -len(MODEL_SUFFIX)]: entry
        for entry in folder.iterdir()
        if entry.name.endswith(MODEL_SUFFIX) and not entry.name.startswith(".")
    }


def _platform_digest(root: Path) -> str | None:
    top = root / PLATFORM_DIR
    if not top.exists() and not top.is_symlink():
        return ""
    if top.is_symlink() or not top.is_dir():
        return None
    digest = hashlib.sha256()
    for path in sorted(top.rglob("*")):
        if path.is_symlink():
            return None  # let the full path refuse or follow it as it always has
        if path.is_file():
            digest.update(path.relative_to(top).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def changed_models(base_root: Path | None, head_root: Path | None) -> set[str] | None:
    """Names of the models whose file differs (added, removed or edited); None: load everything."""
    if base_root is None or head_root is None:
        return None
    project = _read(base_root / PROJECT_FILE)
    if project is None or project != _read(head_root / PROJECT_FILE):
        return None
    platform = _platform_digest(base_root)
    if platform is None or platform != _platform_digest(head_root):
        return None
    base, head = _model_files(base_root), _model_files(head_root)
    if not base or not head:
        return None
    changed = set(base) ^ set(head)
    for name in set(base) & set(head):
        if base[name].is_symlink() or head[name].is_symlink():
            return None
        if _read(base[name]) != _read(head[name]):
            changed.add(name)
    return changed
