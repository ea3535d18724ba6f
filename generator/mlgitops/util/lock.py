"""One mlgitops at a time per project: an advisory `flock` on the project directory itself.

`flock` locks belong to the open file, so the kernel releases them when the process exits, even
on SIGKILL: nothing stale ever blocks anyone, and locking creates no file (a read-only command
leaves the tree byte-identical). While it holds the lock, a command writes a note (pid, host,
command, start time) to `.mlgitops.lock` for the refusal message of a second command, and removes
it on release; a note left by a killed holder is simply overwritten. The file is gitignored.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlgitops.util.errors import MlgitopsError

LOCK_FILE = ".mlgitops.lock"
_NOTE_LIMIT = 300
_NOTE_WAIT_S = 1.0
_held: set[Path] = set()  # projects this process holds (flock would refuse a second fd of ours)


class LockError(MlgitopsError):
    """Another mlgitops holds the project's lock, or the lock file cannot be used."""


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)[:_NOTE_LIMIT]


def holder_note(command: str) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"pid {os.getpid()} on {socket.gethostname()}, `mlgitops {command}`, since {now}"


def _write_note(path: Path, note: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, (note + "\n").encode("utf-8"))
    finally:
        os.close(fd)


def _read_note(path: Path) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return ""
    try:
        return _printable(os.read(fd, _NOTE_LIMIT).decode("utf-8", "replace").strip())
    finally:
        os.close(fd)


def _acquire(fd: int, note_path: Path) -> None:
    """Take the lock or refuse naming the holder.

    A holder writes its note just after it gets the lock, so a refusal waits briefly for the note
    (or for the lock, when the holder finishes meanwhile) instead of saying "not recorded yet".
    """
    deadline = time.monotonic() + _NOTE_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            note = _read_note(note_path)
            if note or time.monotonic() >= deadline:
                raise LockError(
                    f"{LOCK_FILE}:1:1: another mlgitops is working on this project "
                    f"({note or 'holder not recorded'}); run again when it has finished"
                ) from None
            time.sleep(0.01)


@contextmanager
def project_lock(root: Path, command: str, *, required: bool = True) -> Iterator[bool]:
    """Hold the project's lock for the duration of the block; refuse at once when another holds it.

    Yields True. With `required` False (read-only commands), a holder note that cannot be written
    (a read-only checkout) is skipped instead of failing.
    """
    key = root.resolve()
    if key in _held:
        yield True
        return
    note_path = root / LOCK_FILE
    try:
        fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except OSError as exc:
        raise LockError(f"{root}: cannot open the project directory to lock it: {exc.strerror}") from None
    try:
        _acquire(fd, note_path)
        wrote = False  # a note this command did not write (one it may not overwrite) is never removed
        try:
            _write_note(note_path, holder_note(command))
            wrote = True
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise LockError(f"{LOCK_FILE}:1:1: a symlink; the lock note must be a plain file: remove it") from None
            if required:
                raise LockError(f"{LOCK_FILE}:1:1: cannot write the lock note: {exc.strerror}") from None
        _held.add(key)
        try:
            yield True
        finally:
            _held.discard(key)
            with contextlib.suppress(OSError):
                if wrote and not note_path.is_symlink():
                    note_path.unlink()
    finally:
        os.close(fd)
