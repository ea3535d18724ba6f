"""A warm `cmp generate`: a server in the sidecar that imports mlgitops once and forks for each request.

Most of a cold one-model `cmp generate` is Python importing pydantic and building the spec classes (0.20 of
0.30 s CPU; Kustomize of the same overlay takes 0.08 s). `mlgitops cmp serve --background`, started by the
sidecar before argocd-cmp-server, listens on a Unix socket in a private directory ($MLGITOPS_CMP_SERVER).
`mlgitops cmp generate` with that variable set connects, hands over its argv, working directory, environment
and its standard input, output and error (SCM_RIGHTS), and waits for the exit code: the request runs in a fork
of the server, so it writes straight to the caller's stdout and stderr, as the command itself would.

Whatever goes wrong before the request is accepted (no variable, no server, another mlgitops code version)
runs the command in the calling process instead, so the server only ever saves time. The fork ends when its
caller does (argocd-cmp-server kills the command's process group on a timeout): it watches the connection.
Only a caller of the server's own user is served (SO_PEERCRED), and the socket's directory must be private.

The client half is on every call's path, so it imports only C modules already loaded or cheap (`_socket`,
`struct`: `socket`, `json` and `hashlib` cost 3-7 ms each). A request is one message: a length, then
NUL-separated fields (none of which can hold a NUL: paths, arguments and environment entries), with the
three descriptors; the answer is one byte (accepted or not), then the exit code.
"""

from __future__ import annotations

import _socket
import contextlib
import os
import signal
import struct
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import socket
    from collections.abc import Callable
    from pathlib import Path

SOCKET_VARIABLE = "MLGITOPS_CMP_SERVER"
_LENGTH = struct.Struct("!I")
_EXIT = struct.Struct("!i")
_ACCEPTED, _STALE = b"A", b"S"
_MAX_REQUEST = 8 << 20  # an environment and argv: far below this
_CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid


class ServeError(Exception):
    """The server cannot start (one line)."""


def code_key() -> str:
    """What the client and the server must share: the Python version and every module of this mlgitops
    (path, size and modification time), so an edited or upgraded installation is never served by an older one."""
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
    entries = [sys.version]
    for folder, directories, files in os.walk(package):
        directories[:] = [name for name in directories if name != "__pycache__"]
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                stat = os.stat(path)
                entries.append(f"{os.path.relpath(path, package)} {stat.st_size} {stat.st_mtime_ns}")
    return "\n".join(sorted(entries))


def encode_request(key: str, cwd: str, argv: list[str], environ: dict[str, str]) -> bytes:
    fields = [key, cwd, str(len(argv)), *argv, *(f"{name}={value}" for name, value in environ.items())]
    payload = b"\0".join(os.fsencode(field) for field in fields)
    return _LENGTH.pack(len(payload)) + payload


def decode_request(payload: bytes) -> tuple[str, str, list[str], dict[str, str]]:
    """(key, cwd, argv, environment); ValueError for a malformed request."""
    fields = [os.fsdecode(field) for field in payload.split(b"\0")]
    key, cwd, count = fields[:3]
    argc = int(count)
    if argc < 0 or len(fields) < 3 + argc:
        raise ValueError("a request with fewer arguments than it announces")
    argv = fields[3 : 3 + argc]
    environ = dict(entry.split("=", 1) for entry in fields[3 + argc :] if "=" in entry)
    return key, cwd, argv, environ


# The client: `mlgitops cmp generate` in the sidecar.


def run_in_server(argv: list[str]) -> int | None:
    """ARGV's exit code, run by the server $MLGITOPS_CMP_SERVER names; None when no server took the request."""
    path = os.environ.get(SOCKET_VARIABLE)
    if not path:
        return None
    connection = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        try:
            connection.connect(path)
            request = encode_request(code_key(), os.getcwd(), argv, dict(os.environ))
            descriptors = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack("3i", 0, 1, 2))]
            sent = connection.sendmsg([request], descriptors)
            connection.sendall(request[sent:])
            answer = connection.recv(1)
        except OSError:
            return None
        if answer != _ACCEPTED:
            return None  # another code version (it stops), or gone: this process does the work
        try:
            code = _receive(connection, _EXIT.size)
        except OSError:
            code = b""
        if len(code) != _EXIT.size:
            print("mlgitops: the warm cmp server stopped before the command ended", file=sys.stderr)
            return 1
        result: int = _EXIT.unpack(code)[0]
        return result
    finally:
        connection.close()


def _receive(connection: _socket.socket, size: int) -> bytes:
    """Exactly SIZE bytes, or fewer when the other end closed."""
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


# The server: `mlgitops cmp serve`.


# What `cmp generate` imports (each a stage below the CLI, or the CLI itself)
PRELOADED = (
    "mlgitops.cli.main",
    "mlgitops.gitops.cmp",
    "mlgitops.gitops.cmp_cache",
    "mlgitops.language.loader",
    "mlgitops.language.model",
    "mlgitops.language.project",
    "mlgitops.layout.build",
    "mlgitops.layout.journal",
    "mlgitops.render.pipeline",
)


def preload() -> None:
    """Import everything `cmp generate` imports, so a request's fork imports nothing."""
    import importlib

    for name in PRELOADED:
        importlib.import_module(name)


def listen(path: Path) -> socket.socket:
    """A listening socket at PATH, in a directory only this user may enter (created if missing)."""
    import socket

    directory = path.parent
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        stat = directory.stat()
    except OSError as exc:
        raise ServeError(f"{directory}: {exc.strerror}") from None
    if stat.st_uid != os.getuid() or stat.st_mode & 0o077:
        raise ServeError(f"{directory}: must belong to this user and be closed to others (mode 700)")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        path.unlink(missing_ok=True)  # a socket left by a server that ended
        server.bind(str(path))
        server.listen(64)
    except OSError as exc:
        server.close()
        raise ServeError(f"{path}: {exc.strerror}") from None
    return server


def serve(server: socket.socket, key: str, run: Callable[[list[str]], int]) -> None:
    """Answer requests until the process is stopped: each in a fork of this process, by `run` (the command line's
    `cli.main.run`, handed in: that module imports this one's command)."""
    import gc

    signal.signal(signal.SIGCHLD, _reap)
    gc.collect()
    gc.freeze()  # the imported modules stay shared with the forks (no reference-count writes by the collector)
    while True:
        try:
            connection, _ = server.accept()
        except InterruptedError:
            continue
        pid = os.fork()
        if pid == 0:
            server.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the command waits for its own children
            os._exit(_answer(connection, key, run))
        connection.close()


def _reap(signum: int, frame: object) -> None:
    """Collect the forks that ended (their CPU time then counts as this process's children's)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _answer(connection: socket.socket, key: str, run: Callable[[list[str]], int]) -> int:
    """Run one request in this fork; the fork's own exit status (the command's goes to the client)."""
    try:
        credentials = connection.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, _CREDENTIALS.size)
        if _CREDENTIALS.unpack(credentials)[1] != os.getuid():
            return 1
        (client_key, cwd, argv, environ), fds = _read_request(connection)
        if client_key != key:
            connection.sendall(_STALE)
            os.kill(os.getppid(), signal.SIGTERM)  # older than the code on disk: stop; the command runs cold
            return 0
        connection.sendall(_ACCEPTED)
        os.setpgid(0, 0)  # the command's children (Jsonnet, git, Kustomize) end with it: see _end_with_caller
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(environ)
        import threading

        threading.Thread(target=_end_with_caller, args=(connection,), daemon=True).start()
        code = _run(argv, run)
        connection.sendall(_EXIT.pack(code))
        return 0
    except (OSError, ValueError):
        return 1


def _read_request(connection: socket.socket) -> tuple[tuple[str, str, list[str], dict[str, str]], list[int]]:
    import socket

    message, fds, _, _ = socket.recv_fds(connection, 1 << 16, 3)
    if len(fds) != 3 or len(message) < _LENGTH.size:
        raise ValueError("a request without its three streams")
    (length,) = _LENGTH.unpack(message[: _LENGTH.size])
    if length > _MAX_REQUEST:
        raise ValueError("a request too large")
    payload = message[_LENGTH.size :]
    payload += _receive(connection, length - len(payload))
    return decode_request(payload), fds


def _end_with_caller(connection: socket.socket) -> None:
    """End this fork and its children when the caller goes away (argocd-cmp-server kills the command's process
    group on a timeout or when the request ends; the fork is in a group of its own): it sends nothing more."""
    with contextlib.suppress(OSError):
        connection.recv(1)
    os.killpg(0, signal.SIGKILL)


def _run(argv: list[str], run: Callable[[list[str]], int]) -> int:
    """The command's exit code, as the process running it would end (a defect: its traceback and 1). The server
    ran `mlgitops.__main__.main`'s preparations already (it is `mlgitops cmp serve`)."""
    try:
        code = run(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    return code
