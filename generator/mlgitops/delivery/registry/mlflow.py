"""A read-only MLflow REST client on the standard library (no `mlflow` package at run time).

The four calls `promote --alias` needs, checked against upstream MLflow (mlflow/mlflow):

* `GET /api/2.0/mlflow/registered-models/alias?name=&alias=` → `{"model_version": ModelVersion}`
  (`GetModelVersionByAlias` in `mlflow/protos/model_registry.proto`; `_get_model_version_by_alias` in
  `mlflow/server/handlers.py`). A missing alias answers 400 INVALID_PARAMETER_VALUE, a missing model
  404 RESOURCE_DOES_NOT_EXIST.
* `GET /api/2.0/mlflow/model-versions/get?name=&version=` → `{"model_version": ModelVersion}`
  (`GetModelVersion`, `_get_model_version`). ModelVersion carries `name`, `version`, `source`,
  `run_id` and `status` (`READY` once registered; `PENDING_REGISTRATION`, `FAILED_REGISTRATION`).
* `GET /api/2.0/mlflow/model-versions/get-download-uri?name=&version=` → `{"artifact_uri": ...}`
  (`GetModelVersionDownloadUri`, `_get_model_version_download_uri`): the version's storage location, or
  its source when it has none (`get_model_version_download_uri` in
  `mlflow/store/model_registry/sqlalchemy_store.py`). A `models:/m-...` source (an MLflow 3 logged
  model) comes back as the logged model's artifact location; a `runs:/<run>/<path>` source comes back
  unchanged, and is then the run's `artifact_uri` joined with the path (as MLflow's own client does in
  `mlflow/store/artifact/runs_artifact_repo.py`).
* `GET /api/2.0/mlflow/runs/get?run_id=` → `{"run": {"info": RunInfo, "data": {"metrics": [...]}}}`
  (`GetRun` in `mlflow/protos/service.proto`, `_get_run`). `metrics` holds the latest value of each
  key (`{"key", "value", "timestamp", "step"}`); a deleted run is still returned, with
  `info.lifecycle_stage: "deleted"`, until garbage collection removes it (then 404).

Errors are one line each. The token (`MLFLOW_TRACKING_TOKEN`) goes only into the `Authorization`
header, as an unredirected header so that a redirect to another host does not carry it, and is never
part of a message.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from mlgitops.delivery.registry.errors import RegistryError
from mlgitops.language.credentials import mask_uri
from mlgitops.util.textsafe import printable

API_PREFIX = "/api/2.0/mlflow/"
DEFAULT_TIMEOUT_SECONDS = 10.0
# The answers read are small JSON documents; anything larger is not an MLflow answer.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024
MAX_SERVER_MESSAGE_CHARS = 300


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    source: str
    run_id: str
    status: str


@dataclass(frozen=True)
class Run:
    run_id: str
    lifecycle_stage: str
    artifact_uri: str
    metrics: dict[str, float] = field(default_factory=dict)


class MlflowRest:
    """GET calls against one tracking server; `token` is sent as a Bearer token and never shown."""

    def __init__(self, uri: str, token: str | None, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.uri = uri.rstrip("/")
        self._token = token or None
        self.timeout = timeout

    @property
    def shown_uri(self) -> str:
        return mask_uri(self.uri)

    def _get(self, endpoint: str, params: dict[str, str]) -> dict[str, Any]:
        url = f"{self.uri}{API_PREFIX}{endpoint}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(url, method="GET", headers={"Accept": "application/json"})
        if self._token:
            request.add_unredirected_header("Authorization", f"Bearer {self._token}")
        where = f"MLflow server {self.shown_uri}"
        deadline = time.monotonic() + self.timeout
        try:
            with _opener(deadline).open(request, timeout=self.timeout) as response:
                body = self._read_body(response)
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc, endpoint) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, TimeoutError):
                raise RegistryError(f"registry: {where} did not answer within {self.timeout:g}s") from None
            what = reason.strerror if isinstance(reason, OSError) and reason.strerror else str(reason)
            raise RegistryError(f"registry: cannot reach the {where}: {printable(what)}") from None
        except TimeoutError:
            raise RegistryError(f"registry: {where} did not answer within {self.timeout:g}s") from None
        except OSError as exc:
            raise RegistryError(f"registry: cannot read from the {where}: {printable(exc.strerror or '')}") from None
        if len(body) > MAX_RESPONSE_BYTES:
            raise RegistryError(f"registry: the answer of the {where} to {endpoint} is too large")
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            raise RegistryError(
                f"registry: the answer of the {where} to {endpoint} is not JSON (is it an MLflow tracking server?)"
            )
        return data

    def _read_body(self, response: Any) -> bytes:
        """The answer, up to MAX_RESPONSE_BYTES + 1 (the whole exchange is bounded by the deadline every
        read of the connection enforces: see `_DeadlineReader`)."""
        parts: list[bytes] = []
        size = 0
        while size <= MAX_RESPONSE_BYTES:
            chunk = response.read1(64 * 1024)
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
        return b"".join(parts)

    def _http_error(self, exc: urllib.error.HTTPError, endpoint: str) -> RegistryError:
        where = f"MLflow server {self.shown_uri}"
        if exc.code in (401, 403):
            advice = (
                "the token in MLFLOW_TRACKING_TOKEN was not accepted"
                if self._token
                else "set MLFLOW_TRACKING_TOKEN to a token with read access"
            )
            final = exc.geturl() or ""
            if self._token and final and not final.startswith(self.uri + "/"):
                # the token is not re-sent after a redirect (it could lead to another host)
                base = mask_uri(final.partition("?")[0].partition(API_PREFIX)[0])
                advice += f" (the request was redirected to {base}: use that as the tracking URI)"
            return RegistryError(f"registry: the {where} refused access (HTTP {exc.code}): {advice}")
        message = ""
        try:
            payload = json.loads(exc.read(64 * 1024))
            if isinstance(payload, dict) and isinstance(payload.get("message"), str):
                message = payload["message"]
        except (ValueError, OSError):
            pass
        if not message:
            message = f"HTTP {exc.code} for {endpoint}"
        if self._token:
            message = message.replace(self._token, "***")
        message = printable(" ".join(message.split()))[:MAX_SERVER_MESSAGE_CHARS]
        return RegistryError(f"registry: {message} ({where}, HTTP {exc.code})", status=exc.code)

    def version_by_alias(self, name: str, alias: str) -> ModelVersion:
        return _model_version(self._get("registered-models/alias", {"name": name, "alias": alias}))

    def version(self, name: str, version: str) -> ModelVersion:
        return _model_version(self._get("model-versions/get", {"name": name, "version": version}))

    def download_uri(self, name: str, version: str) -> str:
        data = self._get("model-versions/get-download-uri", {"name": name, "version": version})
        uri = data.get("artifact_uri")
        if not isinstance(uri, str) or not uri:
            raise RegistryError(f"registry: no download URI for {name} version {version} ({self.shown_uri})")
        return uri

    def run(self, run_id: str) -> Run:
        data = self._get("runs/get", {"run_id": run_id}).get("run")
        info = data.get("info") if isinstance(data, dict) else None
        if not isinstance(data, dict) or not isinstance(info, dict):
            raise RegistryError(f"registry: the answer for run {run_id} has no run info ({self.shown_uri})")
        metrics: dict[str, float] = {}
        raw = (data.get("data") or {}).get("metrics") or []
        for entry in raw if isinstance(raw, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                value = entry.get("value")
                if isinstance(value, int | float) and not isinstance(value, bool):
                    metrics[entry["key"]] = float(value)
                elif isinstance(value, str):  # the proto3 JSON mapping writes NaN and Infinity as strings
                    with contextlib.suppress(ValueError):
                        metrics[entry["key"]] = float(value)
        return Run(
            run_id=str(info.get("run_id") or info.get("run_uuid") or run_id),
            lifecycle_stage=str(info.get("lifecycle_stage") or "active"),
            artifact_uri=str(info.get("artifact_uri") or ""),
            metrics=metrics,
        )


def _model_version(data: dict[str, Any]) -> ModelVersion:
    mv = data.get("model_version")
    if not isinstance(mv, dict):
        raise RegistryError("registry: the answer has no model_version (is it an MLflow tracking server?)")
    return ModelVersion(
        name=str(mv.get("name") or ""),
        version=str(mv.get("version") or ""),
        source=str(mv.get("source") or ""),
        run_id=str(mv.get("run_id") or ""),
        status=str(mv.get("status") or "READY"),
    )


# --- one deadline for the whole exchange ----------------------------------------------------------------
# A socket timeout bounds each read, not the exchange: a server sending a byte of its status line, headers
# or body now and then would keep `promote` waiting without end. Every read of the response (status line,
# headers, body, on every connection a redirect opens) goes through `_DeadlineReader`, which gives the
# socket only the time left before the deadline and fails once it has passed.


class _DeadlineReader(io.RawIOBase):
    """The reads of a response's socket file, each bounded by the time left before `deadline`."""

    def __init__(self, raw: io.RawIOBase, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._raw = raw  # the socket's own file: it holds the reference that keeps the socket open
        self._sock = sock
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the time for the request has run out")
        self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


def _bounded(connection_class: type[http.client.HTTPConnection], deadline: float) -> type[http.client.HTTPConnection]:
    """`connection_class` whose connecting and every read of its responses end by `deadline`."""

    class Response(http.client.HTTPResponse):
        def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
            super().__init__(sock, *args, **kwargs)
            self.fp = io.BufferedReader(_DeadlineReader(self.fp.detach(), sock, deadline))

    class Connection(connection_class):  # type: ignore[valid-type,misc]
        response_class = Response

        def connect(self) -> None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("the time for the request has run out")
            given = getattr(self, "timeout", None)  # None or socket's default: no bound of its own
            setattr(self, "timeout", min(given, left) if isinstance(given, (int, float)) else left)  # noqa: B010
            super().connect()

    return Connection


def _opener(deadline: float) -> urllib.request.OpenerDirector:
    """urllib's default opener (proxies, redirects, HTTP errors), every connection of it bounded by `deadline`."""

    class HTTPHandler(urllib.request.HTTPHandler):
        def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
            return super().do_open(_bounded(http_class, deadline), req, **kwargs)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
            return super().do_open(_bounded(http_class, deadline), req, **kwargs)

    return urllib.request.build_opener(HTTPHandler, HTTPSHandler)
