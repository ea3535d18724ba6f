"""Stamps: the metadata of a group of generated files, so that a render need not read them to know them unchanged.

Reading and hashing every generated file took most of a one-change render (12,000 files at 1000 models).
Like Git's index, the render cache keeps, beside each group's content hashes, a stamp of the files' `lstat`
(size, modification and change times, inode, device). When the stamp taken now equals the recorded one, the
files hold the recorded bytes; otherwise they are read and hashed as before.

The stamp is recorded only for files *settled* before the render began to read them: their change time
(`st_ctime`, which every write moves and no file call sets back: `utime` sets the other two times; only setting
the system clock back could) is at least `SETTLE_NS` older than that start. A write the render could not have
seen (during or after its read, or in the same clock tick as an earlier write) then always leaves another change
time than the one recorded. Files a render has just written are
therefore stamped by a later render, the first that finds them settled.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from pathlib import Path

# Longer than any filesystem's timestamp granularity that matters here (ext4, xfs, btrfs, tmpfs: 1 ns;
# ext3, HFS+: 1 s) and any lag of the kernel's coarse clock behind time.time_ns().
SETTLE_NS = 3_000_000_000


def stamp(root: Path, paths: Iterable[str], started_ns: int) -> str | None:
    """The stamp of the files at `paths` (relative to `root`; sorted here), or None when one is missing, not a
    regular file or not settled `SETTLE_NS` before `started_ns`."""
    digest = hashlib.blake2b(digest_size=20)
    settled_before = started_ns - SETTLE_NS
    base = str(root)
    for path in sorted(paths):
        try:
            found = os.lstat(f"{base}/{path}")
        except OSError:
            return None
        if not stat.S_ISREG(found.st_mode) or found.st_ctime_ns >= settled_before:
            return None
        digest.update(
            f"{path}\0{found.st_size}\0{found.st_mtime_ns}\0{found.st_ctime_ns}\0{found.st_ino}\0{found.st_dev}\n".encode(
                "utf-8", "surrogateescape"
            )
        )
    return digest.hexdigest()
