"""The leftovers of an interrupted render (tree.py): its journal and staging directories.

Only `render` itself completes an interrupted render (tree.recover), under the project lock. Every
other command that reads the project refuses to run beside such leftovers instead of acting on
them (`refuse_leftovers`): both are git-ignored, but `git add -f` commits them, and a committed
journal in CI's checkout would otherwise let `render --check` "complete" a render by swapping in
whatever the staging directory holds, and pass while the committed tree stays as it was.

A journal that `render` does complete must name a staging directory mlgitops could have made:
a real directory directly in the project, with no symlink or special file anywhere inside it
(`staging_problem`), so the renames of recovery never move anything out of or into the project.

This module imports only the standard library and mlgitops.util.errors (the CMP path loads it).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mlgitops.util.errors import Location, SpecError

STAGING_PREFIX = ".mlgitops-staging-"
JOURNAL_FILE = ".mlgitops-journal.json"


def leftovers(root: Path) -> list[str]:
    """The journal and staging directories (any kind of entry of those names) directly in `root`."""
    try:
        names = os.listdir(root)
    except OSError:
        return []
    return sorted(name for name in names if name == JOURNAL_FILE or name.startswith(STAGING_PREFIX))


def _render_running(root: Path) -> bool:
    """Whether a render holds the project lock now (lock.py: an exclusive flock on the directory)."""
    import fcntl

    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing the only descriptor releases a shared lock taken here
    return False


def refuse_leftovers(root: Path, command: str, *, locked: bool = False) -> None:
    """Refuse, in one line, to run `command` beside an interrupted render's journal or staging directory
    (`locked`: the caller holds the project lock, so no render is running)."""
    found = leftovers(root)
    if not found:
        return
    name = JOURNAL_FILE if JOURNAL_FILE in found else found[0]
    what = "the journal" if name == JOURNAL_FILE else "a staging directory"
    if not locked and _render_running(root):
        message = f"{what} of a render that is running now; run `mlgitops {command}` again when it has finished"
    else:
        message = (
            f"{what} of an interrupted render is in this checkout; `mlgitops {command}` never completes or "
            "acts on one: run `mlgitops render` where the render was interrupted, or delete it "
            "(`git rm -r` it if it was committed; it is never part of a project)"
        )
    raise SpecError.at(Location(name, 1, 1), message)


def staging_problem(root: Path, name: str) -> str | None:
    """Why the staging directory `name` a journal names is not one render could have made (None: it is)."""
    path = root / name
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return None  # already removed: every unit is swapped in (recovery is idempotent)
    except OSError as exc:
        return f"cannot read {name}: {exc.strerror}"
    if stat.S_ISLNK(info.st_mode):
        return f"{name} is a symlink (to {os.readlink(path)}); render stages only in a real directory of the project"
    if not stat.S_ISDIR(info.st_mode):
        return f"{name} is not a directory"
    for dirpath, dirnames, filenames in os.walk(path):
        for entry in sorted(dirnames + filenames):
            full = os.path.join(dirpath, entry)
            mode = os.lstat(full).st_mode
            if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
                shown = Path(full).relative_to(root).as_posix()
                kind = "a symlink" if stat.S_ISLNK(mode) else "a special file"
                return f"{shown} is {kind}; render stages only real files and directories"
    return None
