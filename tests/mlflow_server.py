"""A real `mlflow server` for the registry tests, and a recording proxy in front of it.

The server runs from this virtualenv's `mlflow` (a dev dependency: `make setup` installs it) with a
SQLite backend store and a local artifact root, on a free loopback port, in its own process group so
that teardown ends it and its workers. Start-up waits for `/health` with a deadline, so a server that
never comes up fails the session instead of hanging it.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

START_DEADLINE_SECONDS = 120.0
STOP_DEADLINE_SECONDS = 15.0
# MLflow 3 reports usage unless told not to; tests stay offline.
QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def mlflow_server(workdir: Path) -> Iterator[str]:
    """Run `mlflow server` until the block ends; yields its URL."""
    mlflow = Path(sys.executable).parent / "mlflow"
    if not mlflow.exists():
        raise RuntimeError(f"{mlflow} not found: mlflow is a dev dependency (make setup)")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (workdir / "mlflow-server.log").open("wb")
    command = [
        str(mlflow),
        "server",
        "--backend-store-uri",
        f"sqlite:///{workdir / 'mlflow.db'}",
        "--default-artifact-root",
        str(workdir / "artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        # uvicorn closes an idle keep-alive connection after 5 s; a client request sent on its pooled connection
        # as the server closes it fails with RemoteDisconnected (a POST is not retried), seen on a loaded machine
        "--uvicorn-opts",
        "--timeout-keep-alive 600",
    ]
    proc = subprocess.Popen(
        command,
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **QUIET_ENV},
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + START_DEADLINE_SECONDS
        while not _healthy(url):
            if proc.poll() is not None:
                raise RuntimeError(f"mlflow server exited ({proc.returncode}): see {workdir / 'mlflow-server.log'}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server not healthy after {START_DEADLINE_SECONDS:g}s")
            time.sleep(0.25)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(STOP_DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(STOP_DEADLINE_SECONDS)
        log.close()


@dataclass
class RecordingProxy:
    """Forwards GET requests to `upstream`, recording each request's path and Authorization header.

    With `required_token` set it answers 401 to a request without that Bearer token, like an
    authenticating gateway in front of MLflow.
    """

    upstream: str
    required_token: str | None = None
    seen: list[tuple[str, str | None]] = field(default_factory=list)
    url: str = ""


@contextlib.contextmanager
def recording_proxy(upstream: str, required_token: str | None = None) -> Iterator[RecordingProxy]:
    state = RecordingProxy(upstream, required_token)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            auth = self.headers.get("Authorization")
            state.seen.append((self.path, auth))
            if state.required_token is not None and auth != f"Bearer {state.required_token}":
                self._answer(401, b'{"error_code": "UNAUTHENTICATED", "message": "credentials required"}')
                return
            try:
                with urllib.request.urlopen(state.upstream + self.path, timeout=30) as response:
                    self._answer(response.status, response.read())
            except urllib.error.HTTPError as exc:
                self._answer(exc.code, exc.read())

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextlib.contextmanager
def _serving(handler: type[http.server.BaseHTTPRequestHandler], stop: threading.Event | None = None) -> Iterator[str]:
    """HANDLER served on a loopback port (its URL); on exit STOP is set first, so handlers that wait on
    it return, then the server is shut down."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        if stop is not None:
            stop.set()
        server.shutdown()
        server.server_close()
        thread.join(10)


@contextlib.contextmanager
def redirecting_server(target: str) -> Iterator[str]:
    """Answers every GET with a 307 to the same path on `target` (another host, as far as a client knows)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(307)
            self.send_header("Location", target + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    with _serving(Handler) as url:
        yield url


@contextlib.contextmanager
def silent_server() -> Iterator[str]:
    """A port that accepts connections and never answers (a hung server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.contextmanager
def trickling_server() -> Iterator[str]:
    """Answers with headers at once, then a body of one byte every 0.2 s (each read is quick, the whole is not)."""
    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            while not stop.wait(0.2):
                try:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                except OSError:
                    return

        def log_message(self, format: str, *args: object) -> None:
            pass

    with _serving(Handler, stop) as url:
        yield url


@contextlib.contextmanager
def header_trickling_server(sent_at_once: bytes) -> Iterator[str]:
    """Answers with `sent_at_once` (nothing, a status line, ...), then one byte of a header line every 0.2 s:
    the response's head never ends, and each read is quick."""
    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            try:
                self.wfile.write(sent_at_once)
                self.wfile.flush()
                for byte in b"X-Slow: " + b"a" * 10_000:
                    if stop.wait(0.2):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
            except OSError:
                return

        def log_message(self, format: str, *args: object) -> None:
            pass

    with _serving(Handler, stop) as url:
        yield url


# Experiments store artifacts here: a runs:/ source then resolves to a URI KServe can load (nothing is
# uploaded; the server only computes the locations).
ARTIFACTS = "s3://ml-artifacts/registry-tests"


@dataclass
class Registry:
    """The session's MLflow server and a client of it (the `mlflow` package, for setting up only)."""

    url: str
    client: Any  # mlflow.MlflowClient
    experiment: str

    def version(
        self,
        name: str,
        metrics: dict[str, float],
        source: str | None = None,
        alias: str | None = None,
    ) -> tuple[str, str]:
        """Register a version of `name` from a new run logging `metrics`; (version, run id)."""
        run = self.client.create_run(self.experiment)
        run_id = str(run.info.run_id)
        for key, value in metrics.items():
            self.client.log_metric(run_id, key, value)
        self.client.set_terminated(run_id)
        if not self.client.search_registered_models(filter_string=f"name = '{name}'"):
            self.client.create_registered_model(name)
        version = self.client.create_model_version(name, source or f"runs:/{run_id}/model", run_id=run_id)
        if alias:
            self.client.set_registered_model_alias(name, alias, version.version)
        return str(version.version), run_id


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """One real MLflow server for the session (fails, never skips, where mlflow is not installed)."""
    for key, value in QUIET_ENV.items():
        os.environ.setdefault(key, value)
    import mlflow

    workdir = tmp_path_factory.mktemp("mlflow")
    with mlflow_server(workdir) as url:
        client = mlflow.MlflowClient(tracking_uri=url, registry_uri=url)
        experiment = client.create_experiment("promotions", artifact_location=ARTIFACTS)
        yield Registry(url, client, experiment)
