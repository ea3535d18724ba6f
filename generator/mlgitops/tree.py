"""Writing the generated tree: complete, atomic, and never over a hand-written file.

`render` owns a fixed set of directories (`GENERATED_ROOTS`). It compares what it would write with
what is on disk and, for each owned directory that differs, builds the new directory beside the old
one and swaps them with renames; a failure part-way puts the old directories back.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlgitops.errors import Location, Problem, SpecError
from mlgitops.loader import Workspace
from mlgitops.yamlio import GENERATED_MARK

GENERATED_ROOTS = ("base/models", "overlays", "plugins/argocd", "plugins/flux")
STAGING_PREFIX = ".mlgitops-staging-"


@dataclass
class TreeStatus:
    """How the files on disk differ from what `render` would write."""

    changed: list[str]  # content differs
    added: list[str]  # would be created
    removed: list[str]  # generated files that no longer have a source

    @property
    def stale(self) -> list[str]:
        return sorted(self.changed + self.added + self.removed)


def generated_files(workspace: Workspace) -> dict[str, str]:
    """Every file `render` writes, by repository-relative path."""
    from mlgitops.argocd import argocd_files
    from mlgitops.flux import flux_files
    from mlgitops.overlay import layout_files, render_models

    renders = render_models(workspace)
    files = layout_files(workspace, renders)
    files.update(argocd_files(workspace, renders))
    files.update(flux_files(workspace))
    return dict(sorted(files.items()))


def _root_of(path: str) -> str:
    for root in GENERATED_ROOTS:
        if path.startswith(root + "/"):
            return root
    raise ValueError(f"{path} is outside the generated directories")


def _existing(root: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for owned in GENERATED_ROOTS:
        top = root / owned
        if not top.is_dir():
            continue
        for dirpath, _dirnames, filenames in os.walk(top):
            for name in filenames:
                full = Path(dirpath) / name
                found[full.relative_to(root).as_posix()] = full
    return found


def compare(root: Path, files: dict[str, str]) -> TreeStatus:
    existing = _existing(root)
    changed, added = [], []
    for path, content in files.items():
        current = existing.get(path)
        if current is None:
            added.append(path)
            continue
        try:
            if current.read_bytes() != content.encode("utf-8"):
                changed.append(path)
        except OSError:
            changed.append(path)
    removed = sorted(set(existing) - set(files))
    return TreeStatus(changed=changed, added=added, removed=removed)


def _check_hand_written(root: Path, paths: list[str]) -> None:
    problems = []
    for path in paths:
        try:
            with (root / path).open("rb") as handle:
                head = handle.read(len(GENERATED_MARK))
        except OSError:
            continue
        if head != GENERATED_MARK.encode():
            problems.append(
                Problem(
                    Location(path, 1, 1),
                    "not written by mlgitops, but inside a directory render owns; move it (base/platform/ "
                    "holds hand-written resources) or delete it",
                )
            )
    if problems:
        raise SpecError(problems)


def write(root: Path, files: dict[str, str], status: TreeStatus | None = None) -> TreeStatus:
    """Bring the generated directories in line with `files`; a no-op when nothing is stale."""
    status = status or compare(root, files)
    if not status.stale:
        return status
    _check_hand_written(root, status.removed)
    dirty = sorted({_root_of(p) for p in status.stale})
    _remove_abandoned_staging(root)
    staging = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{os.getpid()}-", dir=root))
    swapped: list[tuple[Path, Path | None]] = []
    try:
        for owned in dirty:
            new = staging / "new" / owned
            new.mkdir(parents=True)
            for path, content in files.items():
                if path.startswith(owned + "/"):
                    target = staging / "new" / path
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(content.encode("utf-8"))
        for owned in dirty:
            live = root / owned
            old: Path | None = None
            if live.exists():
                old = staging / "old" / owned
                old.parent.mkdir(parents=True, exist_ok=True)
                live.rename(old)
            live.parent.mkdir(parents=True, exist_ok=True)
            swapped.append((live, old))
            (staging / "new" / owned).rename(live)
    except BaseException:
        for live, old in reversed(swapped):
            if live.exists():
                shutil.rmtree(live)
            if old is not None:
                old.rename(live)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    for owned in dirty:
        if not any(p.startswith(owned + "/") for p in files):
            _remove_empty(root / owned, stop=root)
    return status


def _remove_abandoned_staging(root: Path) -> None:
    """Delete staging directories of renders that were killed mid-way (their process is gone).

    Such a directory holds only generated files (a new tree, or an old one being swapped out), which
    this render writes again from the specs.
    """
    for path in root.glob(STAGING_PREFIX + "*"):
        pid = path.name.removeprefix(STAGING_PREFIX).partition("-")[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_empty(path: Path, stop: Path) -> None:
    while path != stop and path.is_dir() and not any(path.iterdir()):
        path.rmdir()
        path = path.parent


def render(workspace: Workspace, *, check: bool = False) -> TreeStatus:
    """Compute the generated tree and write it (or, with `check`, only report what is stale)."""
    files = generated_files(workspace)
    status = compare(workspace.root, files)
    if check:
        return status
    return write(workspace.root, files, status)
