"""The live cluster, read through the official `kubernetes` client with a bound on every request.

Only GET, LIST and server-side-apply dry runs (`dryRun=All`) are sent: `status` never writes.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlgitops.util.errors import MlgitopsError
from mlgitops.util.kubenames import Obj
from mlgitops.util.textsafe import printable

FIELD_MANAGER = "mlgitops-status"
# (connect, read) seconds for each request: a cluster that does not answer is an error, not a hang.
TIMEOUT = (
    float(os.environ.get("MLGITOPS_STATUS_TIMEOUT", "10")),
    float(os.environ.get("MLGITOPS_STATUS_TIMEOUT", "10")) * 3,
)


_RETRIES_WHEN_BUSY = 3


class ClusterError(MlgitopsError):
    """No cluster, no permission, a bad kubeconfig: `status` cannot answer (exit 2)."""

    exit_code = 2


class ForbiddenError(ClusterError):
    """The credentials may not do this (HTTP 403)."""


@dataclass(frozen=True)
class Resource:
    """Where the API server serves a kind."""

    api_version: str
    kind: str
    plural: str
    namespaced: bool

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/api/{self.api_version}" if "/" not in self.api_version else f"/apis/{self.api_version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        return f"{base}/{name}" if name else base


@dataclass
class Cluster:
    """One API server, as a kubeconfig (and context) names it."""

    client: Any
    server: str
    _discovered: dict[str, dict[str, Resource]] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: list[tuple[str, str]] | None = None,
        body: Any = None,
        content_type: str = "application/json",
    ) -> Obj | None:
        """The JSON answer of one request; None for 404; ClusterError for any other failure."""
        for attempt in range(_RETRIES_WHEN_BUSY + 1):
            answer = self._send(method, path, query, body, content_type)
            if answer.status != 429 or attempt == _RETRIES_WHEN_BUSY:
                break
            # 429: the API server asks to come back (its watch cache is starting, or it sheds load)
            time.sleep(min(float(answer.getheader("Retry-After") or 1), 5.0))
        if answer.status == 404:
            return None
        if answer.status >= 400:
            reason = _reason(answer.data, answer.reason)
            if answer.status in (401, 403):
                raise ForbiddenError(f"{self.server}: {answer.status} {reason}")
            raise ClusterError(f"{self.server}: {method} {path}: {answer.status} {reason}")
        data: Obj = json.loads(answer.data)
        return data

    def _send(self, method: str, path: str, query: list[tuple[str, str]] | None, body: Any, content_type: str) -> Any:
        from urllib3.exceptions import HTTPError

        try:
            method, url, headers, payload, _ = self.client.param_serialize(
                method=method,
                resource_path=path,
                query_params=query or [],
                header_params={"Accept": "application/json", "Content-Type": content_type},
                body=body,
                auth_settings=["BearerToken"],
            )
            answer = self.client.call_api(method, url, header_params=headers, body=payload, _request_timeout=TIMEOUT)
            answer.read()
        except (HTTPError, OSError) as error:
            raise ClusterError(f"{self.server} does not answer: {_network_reason(error)}") from None
        return answer

    def resource(self, api_version: str, kind: str) -> Resource | None:
        """Where KIND of API_VERSION is served; None when the cluster does not serve it."""
        if api_version not in self._discovered:
            path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            found = self.request("GET", path) or {}
            self._discovered[api_version] = {
                r["kind"]: Resource(api_version, r["kind"], r["name"], bool(r.get("namespaced")))
                for r in found.get("resources", [])
                if "/" not in r["name"]
            }
        return self._discovered[api_version].get(kind)

    def get(self, resource: Resource, name: str, namespace: str | None) -> Obj | None:
        return self.request("GET", resource.path(namespace, name))

    def list(self, resource: Resource, namespace: str | None, selector: str | None = None) -> list[Obj]:
        query = [("labelSelector", selector)] if selector else []
        answer = self.request("GET", resource.path(namespace), query=query) or {}
        return list(answer.get("items", []))

    def apply_dry_run(self, resource: Resource, obj: Obj) -> Obj | None:
        """What the object would be after a server-side apply of OBJ (nothing is written)."""
        metadata = obj["metadata"]
        return self.request(
            "PATCH",
            resource.path(metadata.get("namespace"), metadata["name"]),
            query=[("dryRun", "All"), ("fieldManager", FIELD_MANAGER), ("force", "true")],
            body=obj,
            content_type="application/apply-patch+yaml",
        )


def _network_reason(error: BaseException) -> str:
    """The innermost cause of a failed connection, as a short phrase (refused, timed out, TLS...)."""
    cause = getattr(error, "reason", None) or error
    text = str(cause)
    errno = re.search(r"\[Errno -?\d+\] ([^'\")]+)", text)
    if errno:
        return errno.group(1).strip().lower()
    if "timed out" in text.lower():
        return f"no answer within {TIMEOUT[1]:.0f} s"
    return printable(f"{type(cause).__name__}: {text}")[:200]


def _reason(body: bytes | None, reason: str | None) -> str:
    try:
        return printable(str(json.loads(body or b"").get("message", "")))[:300] or str(reason)
    except (TypeError, ValueError, AttributeError):
        return printable(str(reason))


def connect(kubeconfig: str | None, context: str | None) -> Cluster:
    """A client for the kubeconfig (default: $KUBECONFIG, else ~/.kube/config) and context."""
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    path = kubeconfig or os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or str(Path.home() / ".kube" / "config")
    if not Path(path).is_file():
        raise ClusterError(f"{path}: no kubeconfig there (give --kubeconfig PATH or set KUBECONFIG)")
    configuration = client.Configuration()
    try:
        config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=path, context=context, client_configuration=configuration
        )
    except (ConfigException, ValueError, OSError, TypeError, KeyError) as error:
        raise ClusterError(f"{path}: not a usable kubeconfig: {printable(str(error))[:300]}") from None
    configuration.retries = 0
    cluster = Cluster(client.ApiClient(configuration), configuration.host)
    cluster.request("GET", "/version")  # fail fast (and before any render) when nobody answers
    return cluster
