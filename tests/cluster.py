"""The local control plane in the tests: the real etcd, kube-apiserver and KServe controller manager
(tools/controlplane.py), started once per test session, and a small client over the official
`kubernetes` package to apply objects to it (server-side apply, for real or as a dry run)."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))

import controlplane  # noqa: E402

Obj = dict[str, Any]
FIELD_MANAGER = "mlgitops-tests"


@dataclass
class Refusal:
    """An object the API server (or an admission webhook) refused."""

    kind: str
    name: str
    status: int
    message: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}: {self.status} {self.message}"


@dataclass
class Cluster:
    directory: Path
    kubeconfig: Path
    _dynamic: Any = field(default=None, repr=False)
    _namespaces: set[str] = field(default_factory=set, repr=False)

    @property
    def dynamic(self) -> Any:
        if self._dynamic is None:
            self._dynamic, _ = controlplane.api(self.kubeconfig)
        return self._dynamic

    def resource(self, api_version: str, kind: str) -> Any:
        return self.dynamic.resources.get(api_version=api_version, kind=kind)

    def ensure_namespace(self, name: str) -> None:
        if name not in self._namespaces:
            controlplane.apply(self.dynamic, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
            # as on a cluster, pods may name the `default` ServiceAccount the controller manager makes
            self.wait_for(f"ServiceAccount {name}/default", lambda: self.get("v1", "ServiceAccount", "default", name))
            self._namespaces.add(name)

    def apply(self, obj: Obj, dry_run: bool = False) -> Obj:
        """Server-side apply OBJ (creating its namespace first); the object the server answers with."""
        namespace = obj.get("metadata", {}).get("namespace")
        if namespace:
            self.ensure_namespace(namespace)
        resource = self.resource(obj["apiVersion"], obj["kind"])
        answer = resource.server_side_apply(
            body=obj,
            name=obj["metadata"]["name"],
            namespace=namespace if resource.namespaced else None,
            field_manager=FIELD_MANAGER,
            force_conflicts=True,
            dry_run="All" if dry_run else None,
        )
        result: Obj = answer.to_dict()
        return result

    def refusals(self, objects: Iterable[Obj], dry_run: bool = True) -> list[Refusal]:
        """Apply each object; the ones the server refused, with its message."""
        from kubernetes.client.exceptions import ApiException

        refused = []
        for obj in objects:
            try:
                self.apply(obj, dry_run=dry_run)
            except ApiException as error:
                refused.append(Refusal(obj["kind"], obj["metadata"]["name"], error.status, _message(error)))
        return refused

    def get(self, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj | None:
        from kubernetes.dynamic.exceptions import NotFoundError

        try:
            found: Obj = self.resource(api_version, kind).get(name=name, namespace=namespace).to_dict()
            return found
        except NotFoundError:
            return None

    def wait_for(self, what: str, probe: Callable[[], Any], timeout: float = 60.0) -> Any:
        """Poll PROBE until it returns something truthy (bounded)."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.25)


def _message(error: Any) -> str:
    import json

    try:
        return str(json.loads(error.body).get("message", error.body))
    except (TypeError, ValueError):
        return str(error.reason)


def start(directory: Path) -> Cluster:
    controlplane.up(directory)
    return Cluster(directory, directory / "kubeconfig")


def stop(cluster: Cluster) -> None:
    controlplane.down(cluster.directory)
