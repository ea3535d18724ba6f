"""Writing the generated tree: complete, atomic, confined to the project, one writer at a time.

`render` owns a fixed set of directories (`GENERATED_ROOTS`). It compares what it would write with
what is on disk and swaps in, with renames, only the *units* that differ: a unit is one model's
directory (`base/models/<model>`, `overlays/<env>/<model>`, `overlays/_units/<env>`) or a single file
directly in a generated directory (`overlays/<env>/kustomization.yaml`, `plugins/flux/*.yaml`), see
`swap_unit`. A render after one model changed therefore writes and renames that model's directories
and the few files that list it, not the whole tree.

The swap spans several units, so it is made one step with a journal:

1. the new units are written completely under `.mlgitops-staging-*/new/`;
2. `.mlgitops-journal.json` (staging directory, units to swap in, units to remove) is written to a
   temporary file and renamed into place: this rename is the commit point;
3. for each unit, the live one is renamed to `staging/old/` and the new one into place (a removed
   unit is only moved out);
4. the journal is removed, then the staging directory.

Every command that reads or writes the generated tree (`render`, `render --check`, `init`) takes
the project lock (lock.py). `render` (and `init`) first recovers: a journal found there is rolled
forward (step 3 is idempotent: a unit whose `new/` copy is gone is already swapped, a removed unit
whose live copy is gone is already removed), and staging directories no journal names are deleted
(they hold only generated files). A journal is acted on only when its staging directory is one
render could have made: a real directory in the project holding only real files and directories
(journal.staging_problem), after the generated directories are checked to be real directories too
(confine.check_generated_paths); anything else is refused, so recovery never moves a directory
out of or into the project. A SIGKILL before step 2 leaves the old tree, after it the next `render`
completes the new one: never half of each. A rename that fails (another file system: EXDEV) rolls
back the renames already made and reports one line.

`render --check` never writes and never recovers: a journal or staging directory there (a render
interrupted, or leftovers committed with `git add -f`) is refused (journal.refuse_leftovers), and so
it is by `build`, `diff` and `cmp generate`, which read only the specs and `base/platform/` (they
render the overlays in memory) and take no lock.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.layout.journal import JOURNAL_FILE, STAGING_PREFIX, refuse_leftovers, staging_problem
from mlgitops.util.confine import check_generated_paths
from mlgitops.util.errors import Location, Problem, SpecError
from mlgitops.util.lock import project_lock
from mlgitops.util.paths import GENERATED_ROOTS
from mlgitops.util.samefile import same_file
from mlgitops.util.yamlio import GENERATED_MARK

if TYPE_CHECKING:  # the cached render path (rendercache) runs without loading any spec class
    pass


@dataclass
class TreeStatus:
    """How the files on disk differ from what `render` would write."""

    changed: list[str]  # content differs
    added: list[str]  # would be created
    removed: list[str]  # generated files that no longer have a source
    recovered: str | None = None  # a note when an interrupted render was completed first

    @property
    def stale(self) -> list[str]:
        return sorted(self.changed + self.added + self.removed)


def swap_unit(path: str) -> str:
    """The unit `path` is swapped with: its model-level directory, or the file itself.

    >>> swap_unit("overlays/prod/fraud-detector/patches/x.yaml"), swap_unit("overlays/prod/kustomization.yaml")
    ('overlays/prod/fraud-detector', 'overlays/prod/kustomization.yaml')
    """
    parts = path.split("/")
    return "/".join(parts[:3]) if len(parts) > 3 else path


def _is_unit(unit: object) -> bool:
    """A journal entry render could have written: inside a generated directory, no `.`/`..` parts."""
    if not isinstance(unit, str):
        return False
    parts = unit.split("/")
    return (
        any(unit.startswith(root + "/") for root in GENERATED_ROOTS)
        and all(part not in ("", ".", "..") for part in parts)
        and swap_unit(unit) == unit
    )


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


def symlink_problems(root: Path, found: dict[str, str] | None = None) -> list[Problem]:
    """Symlinks and special files inside the generated directories: render writes none, reads none.

    Walked with `os.scandir`, whose entries know their type without one `stat` per file (the walk
    runs on every render; 1000 models are ~8000 files). With `found`, the regular files seen are
    added to it (repository-relative path → full path), so a caller needs no second walk.
    """
    problems = []
    for owned in GENERATED_ROOTS:
        top = root / owned
        if top.is_symlink() or not top.is_dir():
            continue
        pending = [str(top)]
        while pending:
            folder = pending.pop()
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
            subfolders = []
            for entry in entries:
                if entry.is_symlink():
                    full = Path(entry.path)
                    problems.append(
                        Problem(
                            Location(full.relative_to(root).as_posix(), 1, 1),
                            f"a symlink (to {os.readlink(full)}) inside {owned}, a directory render owns and "
                            "writes only real files into; remove it",
                        )
                    )
                elif entry.is_dir(follow_symlinks=False):
                    subfolders.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    if found is not None:  # entry.path is str(top) + the rest: no relpath per file
                        found[owned + entry.path[len(str(top)) :]] = entry.path
                else:
                    problems.append(
                        Problem(
                            Location(Path(entry.path).relative_to(root).as_posix(), 1, 1),
                            f"a special file (FIFO, socket or device) inside {owned}, a directory render owns; "
                            "remove it",
                        )
                    )
            pending.extend(reversed(subfolders))
    return problems


def unchanged_units(root: Path, files: Mapping[str, str]) -> set[str]:
    """The directory units (`swap_unit`) of `files` the disk already holds exactly: these files, byte for
    byte, and no other. A render worker checks its own models' units, so that their text need not travel
    (gitops/generate.py); `compare` and `write` take None for the text of a file in such a unit."""
    by_unit: dict[str, list[str]] = {}
    for path in files:
        unit = swap_unit(path)
        if unit != path:
            by_unit.setdefault(unit, []).append(path)
    clean: set[str] = set()
    for unit, paths in by_unit.items():
        on_disk: set[str] = set()
        for dirpath, _dirnames, filenames in os.walk(root / unit):
            prefix = Path(dirpath).relative_to(root).as_posix()
            on_disk.update(f"{prefix}/{name}" for name in filenames)
        if on_disk == set(paths) and all(_holds(root / path, files[path]) for path in paths):
            clean.add(unit)
    return clean


def _holds(path: Path, content: str) -> bool:
    return not path.is_symlink() and same_file(path, content)


def compare(root: Path, files: Mapping[str, str | None]) -> TreeStatus:
    """How the disk differs from `files` (None: a file found unchanged already, `unchanged_units`)."""
    existing = _existing(root)
    changed, added = [], []
    for path, content in files.items():
        current = existing.get(path)
        if current is None:
            if content is None:
                raise _changed_while_rendering(path)
            added.append(path)
            continue
        if content is None:
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


def _rename(source: Path, target: Path, owned: str, done: list[tuple[Path, Path]] | None = None) -> None:
    try:
        os.rename(source, target)
    except OSError as exc:
        raise SpecError.at(
            Location(owned, 1, 1),
            f"cannot swap in the new {owned}: {exc.strerror}"
            + (
                " (it is on another file system than the project; render swaps directories by renaming)"
                if exc.errno == errno.EXDEV
                else ""
            ),
        ) from None
    if done is not None:
        done.append((source, target))


def _swap(
    root: Path,
    staging: Path,
    units: list[str],
    done: list[tuple[Path, Path]] | None = None,
    removed: list[str] | None = None,
) -> None:
    """Step 3 of the module docstring: idempotent, so recovery may run it again after a kill."""
    parents: set[Path] = set()  # made or found already: one mkdir per directory, not per unit
    for unit in units:
        new, old, live = staging / "new" / unit, staging / "old" / unit, root / unit
        if not (new.exists() or new.is_symlink()):
            continue  # already swapped in
        _move_out(live, old, unit, done)
        if live.parent not in parents:
            live.parent.mkdir(parents=True, exist_ok=True)
            parents.add(live.parent)
        _rename(new, live, unit, done)
    for unit in removed or []:
        _move_out(root / unit, staging / "old" / unit, unit, done)


def _move_out(live: Path, old: Path, unit: str, done: list[tuple[Path, Path]] | None) -> None:
    if not (live.exists() or live.is_symlink()):
        return  # nothing there (a new unit), or already moved out
    if old.exists():
        raise SpecError.at(
            Location(JOURNAL_FILE, 1, 1),
            f"cannot complete the interrupted render: both {unit} and its previous copy exist; "
            f"remove the {STAGING_PREFIX}* directory and {JOURNAL_FILE}, then render again",
        )
    old.parent.mkdir(parents=True, exist_ok=True)
    _rename(live, old, unit, done)


def _write_journal(root: Path, staging: Path, units: list[str], removed: list[str]) -> None:
    temporary = staging / "journal.tmp"
    data = json.dumps({"staging": staging.name, "swap": units, "remove": removed}, sort_keys=True) + "\n"
    with temporary.open("w", encoding="utf-8") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, root / JOURNAL_FILE)  # the commit point


def _read_journal(root: Path) -> tuple[Path, list[str], list[str]]:
    where = Location(JOURNAL_FILE, 1, 1)
    if not (root / JOURNAL_FILE).is_file() or (root / JOURNAL_FILE).is_symlink():
        raise SpecError.at(where, "not a journal mlgitops wrote (not a regular file); delete it and render again")
    try:
        data = json.loads((root / JOURNAL_FILE).read_text(encoding="utf-8"))
        staging, owned_dirs, removed = data["staging"], data["swap"], data.get("remove", [])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise SpecError.at(where, "unreadable journal of an interrupted render; delete it and render again") from None
    if (
        not isinstance(staging, str)
        or not staging.startswith(STAGING_PREFIX)
        or "/" in staging
        or not isinstance(owned_dirs, list)
        or not isinstance(removed, list)
        or not all(_is_unit(unit) for unit in owned_dirs + removed)
    ):
        raise SpecError.at(where, "not a journal mlgitops wrote; delete it and render again")
    problem = staging_problem(root, staging)
    if problem is not None:
        raise SpecError.at(where, f"not a journal mlgitops wrote: {problem}; delete it and render again")
    return root / staging, [str(d) for d in owned_dirs], [str(d) for d in removed]


def recover(root: Path) -> str | None:
    """Finish an interrupted render, if any, and delete abandoned staging directories (lock held)."""
    note = None
    if os.path.lexists(root / JOURNAL_FILE):
        staging, owned_dirs, removed = _read_journal(root)
        try:
            _swap(root, staging, owned_dirs, removed=removed)
            (root / JOURNAL_FILE).unlink()
            for unit in removed:
                _remove_empty((root / unit).parent, stop=root)
        except OSError as exc:
            raise SpecError.at(
                Location(JOURNAL_FILE, 1, 1), f"cannot complete the interrupted render: {exc.strerror}"
            ) from None
        note = f"completed an interrupted render ({_summary(owned_dirs, removed)} from {staging.name})"
    for path in root.glob(STAGING_PREFIX + "*"):
        shutil.rmtree(path, ignore_errors=True)
    return note


def _summary(units: list[str], removed: list[str]) -> str:
    shown = ", ".join(units[:3]) + (f" and {len(units) - 3} more" if len(units) > 3 else "")
    text = f"{shown} swapped in" if units else ""
    if removed:
        text += ("; " if text else "") + f"{len(removed)} removed"
    return text


def _check_same_file_system(root: Path, staging: Path, owned_dirs: list[str]) -> None:
    device = staging.stat().st_dev
    roots = {_root_of(unit) for unit in owned_dirs}
    for owned in sorted(roots):
        live = root / owned
        if live.is_dir() and live.stat().st_dev != device:
            raise SpecError.at(
                Location(owned, 1, 1),
                f"{owned} is on another file system than the project (a mount point?); render swaps generated "
                "directories by renaming, which cannot cross file systems: make it a plain directory",
            )


def _changed_while_rendering(path: str) -> SpecError:
    return SpecError.at(
        Location(path, 1, 1), "the generated tree changed while rendering (by another program?); render again"
    )


def write(root: Path, files: Mapping[str, str | None], status: TreeStatus | None = None) -> TreeStatus:
    """Bring the generated directories in line with `files`; a no-op when nothing is stale.

    The caller holds the project lock (see `render`).
    """
    status = status or compare(root, files)
    if not status.stale:
        return status
    _check_hand_written(root, status.removed)
    by_unit: dict[str, list[str]] = {}
    for path in files:
        by_unit.setdefault(swap_unit(path), []).append(path)
    dirty = sorted({swap_unit(p) for p in status.stale})
    replaced = [unit for unit in dirty if unit in by_unit]
    removed = [unit for unit in dirty if unit not in by_unit]
    try:
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    except OSError as exc:
        raise SpecError.at(Location(dirty[0], 1, 1), f"cannot write the new tree: {exc.strerror}") from None
    owned = dirty[0]
    try:
        (staging / "new").mkdir()
        made: set[str] = set()
        for owned in replaced:
            for path in by_unit[owned]:
                content = files[path]
                if content is None:  # found unchanged, and since then a file of its unit was added or removed
                    raise _changed_while_rendering(path)
                _write_new(staging / "new", path, content.encode("utf-8"), made)
        _check_same_file_system(root, staging, dirty)
        _write_journal(root, staging, replaced, removed)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise SpecError.at(Location(owned, 1, 1), f"cannot write the new {owned}: {exc.strerror}") from None
    except BaseException:
        if not (root / JOURNAL_FILE).is_file():  # interrupted after the commit point: the journal needs it
            shutil.rmtree(staging, ignore_errors=True)
        raise
    done: list[tuple[Path, Path]] = []
    try:
        _swap(root, staging, replaced, done, removed)
    except (SpecError, OSError) as exc:
        _roll_back(root, staging, done)
        if isinstance(exc, SpecError):
            raise
        raise SpecError.at(Location(JOURNAL_FILE, 1, 1), f"cannot swap in the new tree: {exc.strerror}") from None
    (root / JOURNAL_FILE).unlink()
    shutil.rmtree(staging, ignore_errors=True)
    for unit in removed:
        _remove_empty((root / unit).parent, stop=root)
    return status


def _write_new(top: Path, path: str, data: bytes, made: set[str]) -> None:
    """Create `top/path` with `data`; `made` remembers the directories already created.

    A fresh render creates ~10,000 files: one `mkdir` per new directory rather than per file, and
    plain `os.open`/`os.write` (no buffered file object), since creating files dominates its wall time.
    """
    folder = path.rpartition("/")[0]
    if folder not in made:
        (top / folder).mkdir(parents=True, exist_ok=True)
        parts = folder.split("/")
        made.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    fd = os.open(top / path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _roll_back(root: Path, staging: Path, done: list[tuple[Path, Path]]) -> None:
    """Undo the renames of a failed swap; on success the journal goes too (nothing left to finish)."""
    try:
        for source, target in reversed(done):
            os.rename(target, source)
    except OSError:
        return  # the journal stays: the next command rolls the swap forward
    (root / JOURNAL_FILE).unlink()
    shutil.rmtree(staging, ignore_errors=True)


def _remove_empty(path: Path, stop: Path) -> None:
    while path != stop and path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
        path.rmdir()
        path = path.parent


@contextmanager
def locked(root: Path, label: str, *, check: bool = False) -> Iterator[tuple[str | None, dict[str, str]]]:
    """The project lock, held while the generated tree is compared or written, with the checks before either.

    Yields the note of an interrupted render completed first (None with `check`, which refuses one instead:
    module docstring) and the generated files found on disk (repository-relative path → path on disk).
    """
    from mlgitops.layout.platform_tree import check_platform
    from mlgitops.util.paths import PLATFORM_DIR

    with project_lock(root, label, required=not check):
        check_generated_paths(root, GENERATED_ROOTS)  # before recovery renames anything there
        if check:
            refuse_leftovers(root, label, locked=True)
            note = None
        else:
            note = recover(root)
        existing: dict[str, str] = {}
        problems = symlink_problems(root, existing)
        if problems:
            raise SpecError(problems)
        if (root / PLATFORM_DIR).exists() or (root / PLATFORM_DIR).is_symlink():
            check_platform(root)
        yield note, existing
