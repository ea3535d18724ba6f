"""One mlgitops at a time per project: an advisory lock on `.mlgitops.lock` in the project root.

`flock` locks belong to the open file, so the kernel releases them when the process exits, even
on SIGKILL: a stale lock file never blocks anyone. The file's content (pid, host, command, start
time) is only a note for the refusal message of a second command; it is rewritten by every holder.
The file is listed in `.gitignore` (it never reaches Git, hence never the Argo CD sidecar).
"""

from __future__ import annotations

import datetime
import errno
import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mlgitops.errors import MlgitopsError

LOCK_FILE = ".mlgitops.lock"
_NOTE_LIMIT = 300


class LockError(MlgitopsError):
    """Another mlgitops holds the project's lock, or the lock file cannot be used."""


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)[:_NOTE_LIMIT]


def holder_note(command: str) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"pid {os.getpid()} on {socket.gethostname()}, `mlgitops {command}`, since {now}"


@contextmanager
def project_lock(root: Path, command: str, *, required: bool = True) -> Iterator[bool]:
    """Hold the project's lock for the duration of the block; refuse at once when another holds it.

    Yields whether the lock is held. With `required` False (read-only commands), a lock file that
    cannot be created (a read-only checkout) yields False instead of failing.
    """
    path = root / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LockError(f"{LOCK_FILE}:1:1: a symlink; the lock file must be a plain file: remove it") from None
        if not required and exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            yield False
            return
        raise LockError(f"{LOCK_FILE}:1:1: cannot create the lock file: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            note = _printable(os.pread(fd, _NOTE_LIMIT, 0).decode("utf-8", "replace").strip())
            raise LockError(
                f"{LOCK_FILE}:1:1: another mlgitops is working on this project "
                f"({note or 'holder not recorded yet'}); run again when it has finished"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, (holder_note(command) + "\n").encode("utf-8"), 0)
        yield True
    finally:
        os.close(fd)
