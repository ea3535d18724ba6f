"""A real KServe model server on loopback for the smoke-test tests: the `kserve` package's `ModelServer`
(the server KServe's Python runtimes are built on: FastAPI under uvicorn, KServe's v1 and v2 REST
protocols, its readiness endpoints and error mapping) serving a tiny model.

The model, `iris`, adds up the four features of each instance and answers class 0 below 10, 1 below 20
and 2 above. A request header `x-delay: SECONDS` makes it answer that much later (a slow or, with a
long delay, a silent model); an instance without four features is KServe's `InvalidInput` (HTTP 400).
`python tests/kserve_server.py PORT` runs it; `serving(tmp_path)` starts it for a test (on `port`, when given).
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MODEL = "iris"


def classify(features: list[float]) -> int:
    total = sum(features)
    return 0 if total < 10 else 1 if total < 20 else 2


def _server(port: int) -> None:  # pragma: no cover - runs in the child process
    import asyncio

    from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer
    from kserve.errors import InvalidInput

    class Iris(Model):  # type: ignore[misc]
        def load(self) -> bool:
            self.ready = True
            return True

        async def predict(self, payload: Any, headers: Any = None, response_headers: Any = None) -> Any:
            delay = float((headers or {}).get("x-delay", "0"))
            if delay:
                await asyncio.sleep(delay)
            if isinstance(payload, InferRequest):
                data = list(payload.inputs[0].data)
                rows = [data[i : i + 4] for i in range(0, len(data), 4)]
            else:
                rows = payload.get("instances", [])
            if not rows or any(len(row) != 4 for row in rows):
                raise InvalidInput("each instance has 4 features")
            classes = [classify(row) for row in rows]
            if isinstance(payload, InferRequest):
                output = InferOutput(name="class", shape=[len(classes)], datatype="INT64", data=classes)
                return InferResponse(payload.id or "0", self.name, infer_outputs=[output])
            return {"predictions": classes}

    model = Iris(MODEL)
    model.load()
    ModelServer(http_port=port, enable_grpc=False, workers=1, enable_latency_logging=False).start([model])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def serving(log_dir: Path, *, port: int | None = None, timeout: float = 60.0) -> Iterator[str]:
    """The server's base URL (http://127.0.0.1:PORT) while the context lasts; it is stopped afterwards."""
    port = port or free_port()
    log_path = log_dir / f"kserve-{port}.log"
    log = log_path.open("wb")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, __file__, str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not _answers(f"{url}/v1/models/{MODEL}"):
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                raise AssertionError(f"the KServe model server did not start: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(15)
        log.close()


if __name__ == "__main__":
    _server(int(sys.argv[1]))
