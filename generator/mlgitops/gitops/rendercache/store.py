"""The render cache file: `.mlgitops-cache/render.json` in the project (git-ignored, never output).

What it records, per model: the hash of its file's bytes, the hashes of the other project files its
render read (a smoke test's `bodyFile`), the hash of every file it contributed
(`base/models/<model>/…`, `overlays/<env>/<model>/…`) and its *facts*, the few values the
environment-wide files read from it (rendercache.facts). Plus the hashes of those environment-wide
files, and the key of everything else a render reads (rendercache.inputs). Each group of files (a model's,
the shared ones) may also carry a *stamp* of their metadata (rendercache.stamps), to skip reading them.

A cache is only ever a hint. It is read with a size bound, its first line carries the format and a
SHA-256 of the rest, every value is type-checked and every path must lie inside the generated
directories with no `.`/`..` parts; anything else means "no cache" and a full render. It is written
to a temporary file and renamed (atomic), and any failure to write it is ignored: the next render
is then a full one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CACHE_DIR = ".mlgitops-cache"
CACHE_FILE = "render.json"
FORMAT = "mlgitops-render-cache 1"
MAX_CACHE_BYTES = 64 << 20  # 1000 models are ~2 MB
_GENERATED_ROOTS = ("base/models", "base/graphs", "overlays", "plugins/argocd", "plugins/flux")


def content_hash(data: bytes) -> str:
    """The hash recorded for one generated file's bytes."""
    return hashlib.blake2b(data, digest_size=20).hexdigest()


@dataclass
class ModelEntry:
    """What one model's file rendered to."""

    input: str  # content_hash of models/<name>.yaml
    files: dict[str, str]  # path → content_hash
    facts: dict[str, Any]
    # Other project files its render read (a smoke test's bodyFile) → content_hash of the bytes read.
    reads: dict[str, str] = field(default_factory=dict)
    stamp: str = ""  # rendercache.stamps of `files` when they were last found to hold these hashes ("": none)


@dataclass
class RenderCache:
    key: str  # rendercache.inputs.project_key
    models: dict[str, ModelEntry] = field(default_factory=dict)
    shared: dict[str, str] = field(default_factory=dict)  # environment-wide files: path → content_hash
    shared_stamp: str = ""  # as ModelEntry.stamp, of `shared`


def cache_path(root: Path) -> Path:
    return root / CACHE_DIR / CACHE_FILE


_ROOT_PREFIXES = tuple(top + "/" for top in _GENERATED_ROOTS)


def _safe_path(path: object) -> bool:
    """Inside a generated directory, with no empty, `.` or `..` part (string tests: ~10,000 paths a run)."""
    return (
        isinstance(path, str)
        and path.startswith(_ROOT_PREFIXES)
        and "//" not in path
        and "/./" not in path
        and "/../" not in path
        and not path.endswith(("/", "/.", "/.."))
        and "\\" not in path
        and "\0" not in path
    )


def _read_hashes(value: object) -> dict[str, str] | None:
    """Project paths (relative, no empty, `.` or `..` part) → content hashes."""
    if not isinstance(value, dict):
        return None
    for path, digest in value.items():
        if not isinstance(path, str) or not isinstance(digest, str) or len(digest) != 40:
            return None
        if path.startswith("/") or "\\" in path or "\0" in path or any(p in ("", ".", "..") for p in path.split("/")):
            return None
    return dict(value)


def _hashes(value: object) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    for path, digest in value.items():
        if not _safe_path(path) or not isinstance(digest, str) or len(digest) != 40:
            return None
    return dict(value)


def model_of(path: str) -> str | None:
    """The model whose own directory holds a generated path (base/models/<name>/ or
    overlays/<env>/<name>/, not overlays/_units/), or None: a file shared by every model."""
    parts = path.split("/", 3)
    if len(parts) < 4:
        return None
    if parts[0] == "base" and parts[1] == "models":
        return parts[2]
    if parts[0] == "overlays" and not parts[1].startswith("_"):
        return parts[2]
    return None


def _model_paths_ok(name: str, paths: dict[str, str]) -> bool:
    """A model's files are in its own directories only."""
    return all(model_of(path) == name for path in paths)


def _is_stamp(value: object) -> bool:
    return isinstance(value, str) and len(value) in (0, 40)


def _decode(data: dict[str, Any]) -> RenderCache | None:
    key, models, shared = data.get("key"), data.get("models"), _hashes(data.get("shared"))
    shared_stamp = data.get("sharedStamp", "")
    if not isinstance(key, str) or not isinstance(models, dict) or shared is None or not _is_stamp(shared_stamp):
        return None
    cache = RenderCache(key, shared=shared, shared_stamp=shared_stamp)
    for name, entry in models.items():
        if not isinstance(name, str) or not isinstance(entry, dict):
            return None
        files, digest, facts = _hashes(entry.get("files")), entry.get("input"), entry.get("facts")
        reads, stamp = _read_hashes(entry.get("reads", {})), entry.get("stamp", "")
        if files is None or not isinstance(digest, str) or not isinstance(facts, dict) or reads is None:
            return None
        if not _model_paths_ok(name, files) or set(files) & set(shared) or not _is_stamp(stamp):
            return None
        cache.models[name] = ModelEntry(digest, files, facts, reads, stamp)
    return cache


def load(root: Path) -> RenderCache | None:
    """The project's render cache, or None: missing, too large, corrupt, or not in this format."""
    path = cache_path(root)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as handle:
            raw = handle.read(MAX_CACHE_BYTES + 1)
    except OSError:
        return None
    if len(raw) > MAX_CACHE_BYTES:
        return None
    header, _, body = raw.partition(b"\n")
    if header != f"{FORMAT} {hashlib.sha256(body).hexdigest()}".encode():
        return None
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return _decode(data) if isinstance(data, dict) else None


def save(root: Path, cache: RenderCache) -> None:
    """Write the cache atomically; on any failure (read-only tree, full disk) leave none behind."""
    body = json.dumps(
        {
            "key": cache.key,
            "models": {
                name: {"input": e.input, "files": e.files, "facts": e.facts, "reads": e.reads, "stamp": e.stamp}
                for name, e in sorted(cache.models.items())
            },
            "shared": cache.shared,
            "sharedStamp": cache.shared_stamp,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    data = f"{FORMAT} {hashlib.sha256(body).hexdigest()}\n".encode() + body
    folder = root / CACHE_DIR
    if len(data) > MAX_CACHE_BYTES:
        forget(root)
        return
    temporary = None
    try:
        if folder.is_symlink():
            return
        folder.mkdir(exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".render-", suffix=".tmp")
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, folder / CACHE_FILE)
        temporary = None
    except OSError:
        forget(root)
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def forget(root: Path) -> None:
    """Remove the cache (a render that cannot record what it wrote must not leave an older record)."""
    with contextlib.suppress(OSError):
        cache_path(root).unlink()
