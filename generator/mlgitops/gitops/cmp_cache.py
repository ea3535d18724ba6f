"""A content-addressed cache of `cmp generate` answers in the sidecar's private, writable `/tmp`.

Argo CD asks again for every new commit it sees, and most commits leave an Application's inputs as
they were. The answer is a pure function of: the mlgitops code (its version and the size and mtime of
every module file), the Kustomize binary (path, size, mtime), the request (environment, model,
extra-labels, destination namespace, application path, the settings variables that change a
build), and the bytes of every file the render reads or checks: `mlgitops.yaml`, `models/` (names of
every entry, content of the model files read), `graphs/`, `base/` (platform and committed bases) and
`overlays/<env>/` (the committed files the plugin verifies), and with `templates/`, the Jsonnet
evaluators the addons may run on (addons.evaluator_identity: module, file, distribution version).
The key is a SHA-256 over all of that,
so an entry is only ever found for the same inputs. Only successful answers are stored.

Safety: the directory must be owned by this user and not writable by others (else no cache);
entries are written to a temporary file and renamed (atomic); each entry carries its key, the
mlgitops version and a SHA-256 of its payload, and anything unreadable, truncated, corrupt or
from another version is ignored; entries over MAX_ENTRY_BYTES are not stored and the oldest are
removed beyond MAX_ENTRIES or MAX_TOTAL_BYTES. Every failure (read-only `/tmp`, full disk) only
means no cache. `MLGITOPS_CMP_CACHE=0` turns it off; `MLGITOPS_CMP_CACHE_DIR` moves it (default
`$XDG_CACHE_HOME/mlgitops/cmp` or `$HOME/.cache/mlgitops/cmp`; the sidecar sets `HOME=/tmp`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

FORMAT = "mlgitops-cmp-cache 1"
MAX_ENTRIES = 256
MAX_ENTRY_BYTES = 32 << 20
MAX_TOTAL_BYTES = 256 << 20
_SUFFIX = ".entry"
# Request variables that change what generate prints (stream or warnings).
_REQUEST_PREFIXES = ("PARAM_", "ARGOCD_ENV_")
_REQUEST_NAMES = (
    "ARGOCD_APP_PARAMETERS",
    "ARGOCD_APP_NAMESPACE",
    "ARGOCD_APP_SOURCE_PATH",
    "MLGITOPS_KUSTOMIZE",
    "MLGITOPS_BUILD_WITH_KUSTOMIZE",
    "PATH",
)


@dataclass(frozen=True)
class Answer:
    """What a cached generate call printed."""

    stream: str
    warnings: list[str]
    environment: str
    model: str | None


def cache_dir(environ: Mapping[str, str]) -> Path | None:
    """Where entries live, or None when the cache is off or there is no home for it."""
    if environ.get("MLGITOPS_CMP_CACHE", "1") == "0":
        return None
    explicit = environ.get("MLGITOPS_CMP_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = environ.get("XDG_CACHE_HOME") or (environ["HOME"] + "/.cache" if environ.get("HOME") else "")
    return Path(base) / "mlgitops" / "cmp" if base else None


def _usable(directory: Path, create: bool) -> bool:
    """The directory exists (or was made), is ours and nobody else can write to it."""
    try:
        if create:
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.lstat()
    except OSError:
        return False
    return (
        stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    )


def feed_file(digest: hashlib._Hash, root: Path, relative: str) -> None:
    """A file's bytes into the key. Only regular files inside the project are read: a FIFO would block
    and a device never end, and a symlink out of the project is refused by the render anyway, so both
    are keyed by what they are, not read."""
    path = root / relative
    if os.path.islink(path) and _real_inside(root, path) is None:
        digest.update(b"F\0" + relative.encode("utf-8", "surrogateescape") + b"\0O")
        return
    _feed_bytes(digest, relative, path)


def _feed_bytes(digest: hashlib._Hash, relative: str, path: Path | str) -> None:
    digest.update(b"F\0" + relative.encode("utf-8", "surrogateescape") + b"\0")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except OSError as exc:
        digest.update(b"E" + str(exc.errno).encode())
        return
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # a directory, FIFO, socket or device
            digest.update(b"S" + str(stat.S_IFMT(info.st_mode)).encode())
            return
        digest.update(info.st_size.to_bytes(8, "big"))
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
    except OSError as exc:
        digest.update(b"E" + str(exc.errno).encode())
    finally:
        os.close(fd)


def _real_inside(root: Path, path: Path) -> Path | None:
    """Where `path` really is, when that is inside the project (else None, also for a symlink loop)."""
    try:
        real = path.resolve()
        return real if real.is_relative_to(root.resolve()) else None
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop
        return None


def feed_tree(digest: hashlib._Hash, root: Path, relative: str) -> None:
    """Every entry under root/relative, in a fixed order: names, kinds, link targets and file bytes.

    Symlinks are resolved only where they are (plain entries need no system call), symlinked
    directories are followed once each and only inside the project: a link loop or a link to `/`
    cannot make the key walk without end."""
    top = root / relative
    if not os.path.lexists(top):
        digest.update(b"M\0" + relative.encode() + b"\0")
        return
    seen: set[Path] = set()
    pending: list[tuple[str, Path | None]] = [(relative, _real_inside(root, top))]
    while pending:
        prefix, real = pending.pop()
        if real is None or real in seen:
            digest.update(b"O\0" + prefix.encode("utf-8", "surrogateescape") + b"\0")
            continue
        seen.add(real)
        digest.update(b"D\0" + prefix.encode("utf-8", "surrogateescape") + b"\0")
        try:
            with os.scandir(real) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError as exc:
            digest.update(b"E" + str(exc.errno).encode())
            continue
        subfolders: list[tuple[str, Path | None]] = []
        for entry in entries:
            path = f"{prefix}/{entry.name}"
            if entry.is_symlink():
                digest.update(b"L\0" + os.readlink(entry.path).encode("utf-8", "surrogateescape") + b"\0")
                target = _real_inside(root, Path(entry.path))
                if target is not None and target.is_dir():
                    subfolders.append((path, target))
                elif target is None:
                    digest.update(b"O\0" + path.encode("utf-8", "surrogateescape") + b"\0")
                else:
                    _feed_bytes(digest, path, target)
            elif entry.is_dir(follow_symlinks=False):
                subfolders.append((path, real / entry.name))
            else:
                _feed_bytes(digest, path, entry.path)
        pending.extend(reversed(subfolders))  # depth first, in name order


def code_identity(digest: hashlib._Hash) -> None:
    from mlgitops import __version__

    digest.update(f"{FORMAT}\0{__version__}\0".encode())
    package = Path(__file__).resolve().parent.parent  # the whole mlgitops package, not just gitops/
    for dirpath, dirnames, filenames in os.walk(package):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith((".py", ".json", ".yaml")):
                info = os.stat(os.path.join(dirpath, name))
                digest.update(f"{dirpath}/{name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())


def _kustomize_identity(digest: hashlib._Hash, environ: Mapping[str, str]) -> None:
    import shutil
    import sys

    candidates = [environ.get("MLGITOPS_KUSTOMIZE") or "", shutil.which("kustomize") or ""]
    candidates += [str(Path(sys.executable).parent / "kubectl"), shutil.which("kubectl") or ""]
    for candidate in candidates:
        try:
            info = os.stat(candidate) if candidate else None
        except OSError:
            info = None
        digest.update(f"{candidate}\0{info.st_size if info else -1}\0{info.st_mtime_ns if info else -1}\0".encode())


def request_key(root: Path, start: Path, environment: str | None, model: str | None, environ: Mapping[str, str]) -> str:
    """The SHA-256 of everything the answer depends on (see the module docstring)."""
    digest = hashlib.sha256()
    code_identity(digest)
    _kustomize_identity(digest, environ)
    for name in sorted(environ):
        if name in _REQUEST_NAMES or name.startswith(_REQUEST_PREFIXES):
            digest.update(f"V\0{name}\0{environ[name]}\0".encode("utf-8", "surrogateescape"))
    try:  # relative: Argo CD extracts every request into a new directory
        where = start.resolve().relative_to(root).as_posix()
    except ValueError:
        where = str(start.resolve())
    digest.update(f"R\0{where}\0{environment}\0{model}\0".encode("utf-8", "surrogateescape"))
    feed_file(digest, root, "mlgitops.yaml")
    models = root / "models"
    try:
        names = sorted(os.listdir(models))
    except OSError as exc:
        names = []
        digest.update(b"E" + str(exc.errno).encode())
    for name in names:  # every entry matters to the loader (stray files are errors)
        digest.update(b"N\0" + name.encode("utf-8", "surrogateescape") + b"\0")
        if model is None or name.partition(".")[0] == model:
            feed_file(digest, root, f"models/{name}")
    feed_tree(digest, root, "base")
    feed_tree(digest, root, f"overlays/{environment}" if environment else "overlays")
    feed_tree(digest, root, "templates")  # Jsonnet addons (mlgitops.render.addons) are inputs too
    feed_tree(digest, root, "graphs")  # inference graphs (language/graph.py), rendered with the environment
    if os.path.lexists(root / "templates"):  # and so is the evaluator that runs them, and its version
        from mlgitops.render.addons import evaluator_identity

        digest.update(b"J\0" + evaluator_identity().encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


def load(directory: Path, key: str) -> Answer | None:
    """The answer stored under `key`, or None (missing, unreadable, corrupt, another version)."""
    from mlgitops import __version__

    if not _usable(directory, create=False):
        return None
    path = directory / (key + _SUFFIX)
    try:
        info = path.lstat()
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or info.st_size > MAX_ENTRY_BYTES:
            return None
        data = path.read_bytes()
        header, _, rest = data.partition(b"\n")
        meta_line, _, payload = rest.partition(b"\n")
        if header != f"{FORMAT} {__version__} {key} {hashlib.sha256(rest).hexdigest()}".encode():
            return None
        meta = json.loads(meta_line)
        answer = Answer(
            stream=payload.decode("utf-8"),
            warnings=[str(w) for w in meta["warnings"]],
            environment=str(meta["environment"]),
            model=None if meta["model"] is None else str(meta["model"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used entries survive pruning
    return answer


def store(directory: Path, key: str, answer: Answer) -> None:
    """Write the entry atomically, then prune; any failure leaves no entry and raises nothing."""
    from mlgitops import __version__

    meta = json.dumps(
        {"warnings": answer.warnings, "environment": answer.environment, "model": answer.model}, sort_keys=True
    )
    # The parts are hashed and written one after the other: an environment's stream is tens of MiB,
    # and joining them would hold it three times over.
    head = meta.encode() + b"\n"
    stream = answer.stream.encode("utf-8")
    if len(head) + len(stream) > MAX_ENTRY_BYTES:
        return
    digest = hashlib.sha256(head)
    digest.update(stream)
    parts = (f"{FORMAT} {__version__} {key} {digest.hexdigest()}\n".encode() + head, stream)
    if not _usable(directory, create=True):
        return
    import tempfile  # not on the hit path: it imports random and more

    temporary = None
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=_SUFFIX)
        with os.fdopen(handle, "wb") as out:
            for part in parts:
                out.write(part)
        os.replace(temporary, directory / (key + _SUFFIX))
        temporary = None
        _prune(directory)
    except OSError:
        pass
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def _prune(directory: Path) -> None:
    entries = []
    for entry in os.scandir(directory):
        if entry.name.endswith(_SUFFIX) and entry.is_file(follow_symlinks=False):
            info = entry.stat(follow_symlinks=False)
            entries.append((info.st_mtime_ns, info.st_size, entry.path))
    entries.sort(reverse=True)
    total = 0
    for index, (_mtime, size, path) in enumerate(entries):
        total += size
        if index >= MAX_ENTRIES or total > MAX_TOTAL_BYTES:
            with contextlib.suppress(OSError):
                os.unlink(path)
