"""What a render reads, hashed without loading any spec.

`project_key`: everything besides the model files: the mlgitops code (version, size and mtime of
every module file, as the `cmp generate` cache keys it), `mlgitops.yaml`, `base/platform/`, `graphs/`
(inference graphs: a change to one renders everything) and `templates/` (Jsonnet addons and their `lib/`),
byte for byte, and with templates, the installed Jsonnet evaluators. `model_inputs`: one hash per model
file. `model_reads`: the other project files a model's render read (a smoke test's `bodyFile`:
language/smoketests.py), hashed as they were read, and `reads_unchanged` whether they still hold those bytes.
Anything unusual in `models/` (a symlink, a subdirectory, a file the loader refuses) gives None: the
full render then loads everything and reports it.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

from mlgitops.gitops.cmp_cache import code_identity, feed_file, feed_tree
from mlgitops.gitops.rendercache.store import FORMAT, content_hash
from mlgitops.render.addons import evaluator_identity
from mlgitops.util.limits import MAX_SPEC_BYTES
from mlgitops.util.paths import GRAPHS_DIR, MODEL_SUFFIX, MODELS_DIR, PLATFORM_DIR, PROJECT_FILE, TEMPLATES_DIR

if TYPE_CHECKING:
    from mlgitops.language.loader import Workspace
    from mlgitops.language.workspace import ModelFile


def project_key(root: Path) -> str:
    digest = hashlib.sha256(f"{FORMAT}\0".encode())
    code_identity(digest)
    feed_file(digest, root, PROJECT_FILE)
    feed_tree(digest, root, PLATFORM_DIR)
    feed_tree(digest, root, GRAPHS_DIR)
    feed_tree(digest, root, TEMPLATES_DIR)
    if os.path.lexists(root / TEMPLATES_DIR):
        digest.update(evaluator_identity().encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def read_file(path: str) -> bytes:
    """A regular file's bytes with the fewest system calls (no buffered file object): render reads
    thousands. Anything else (a FIFO would block, a device never end) is an OSError."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def model_inputs(root: Path) -> dict[str, str] | None:
    """Model name → content_hash of `models/<name>.yaml`; None when `models/` holds anything unusual."""
    folder = root / MODELS_DIR
    if folder.is_symlink() or not folder.is_dir():
        return None
    found: dict[str, str] = {}
    try:
        with os.scandir(folder) as listing:
            for entry in listing:
                if entry.name.startswith("."):
                    continue
                if entry.is_symlink() or not entry.is_file(follow_symlinks=False):
                    return None
                if not entry.name.endswith(MODEL_SUFFIX) or len(entry.name) == len(MODEL_SUFFIX):
                    return None
                if entry.stat(follow_symlinks=False).st_size > MAX_SPEC_BYTES:
                    return None
                found[entry.name[: -len(MODEL_SUFFIX)]] = content_hash(read_file(entry.path))
    except OSError:
        return None
    return found


def model_reads(workspace: Workspace, model: ModelFile) -> dict[str, str]:
    """Path → content_hash of each project file the model's render read, in any environment (the text the
    render used, so that an edit made while it ran is seen next time)."""
    from mlgitops.language.resolve import resolve

    reads: dict[str, str] = {}
    for env in workspace.project.environment_names:
        resolved = resolve(workspace, model, env)
        for path, text in (resolved.bodies if resolved is not None else {}).items():
            reads[path] = content_hash(text.encode("utf-8"))
    return dict(sorted(reads.items()))


def reads_unchanged(root: Path, reads: dict[str, str]) -> bool:
    """Whether every file of `reads` still holds the bytes recorded (a missing or unreadable one has changed)."""
    for path, digest in reads.items():
        try:
            if content_hash(read_file(str(root / path))) != digest:
                return False
        except OSError:
            return False
    return True
