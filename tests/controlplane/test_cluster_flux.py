"""Flux's real kustomize-controller applies `overlays/<env>` as the rendered Kustomization says (running
as the environment's ServiceAccount, with the RBAC mlgitops renders for it), and prunes a model removed
from Git after the next commit. The controller gets the rendered repository as an ExternalArtifact: a
tarball served on loopback with its digest, as source-controller would serve a Git checkout
(source-controller itself cannot be built here; docs/controlplane.md)."""

from __future__ import annotations

import hashlib
import http.server
import io
import os
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import copy_example, run_cli

_RUN = f"{os.getpid() % 100000}"
FLUX_DIR = Path("plugins/flux/in-cluster")


class ArtifactServer:
    """Serves tarballs of a directory on loopback, one URL per revision."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}
        blobs = self.blobs

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = blobs.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, root: Path, revision: str) -> dict[str, Any]:
        """A tarball of ROOT (without .git) as the `status.artifact` of an ExternalArtifact."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
            for path in sorted(root.rglob("*")):
                if ".git" not in path.relative_to(root).parts and path.is_file():
                    tar.add(path, arcname=path.relative_to(root).as_posix())
        data = buffer.getvalue()
        name = f"/{revision}.tar.gz"
        self.blobs[name] = data
        return {
            "url": f"http://127.0.0.1:{self.server.server_address[1]}{name}",
            "revision": f"main@sha1:{revision}",
            "digest": f"sha256:{hashlib.sha256(data).hexdigest()}",
            "path": name.lstrip("/"),
            "size": len(data),
            "lastUpdateTime": "2026-12-07T00:00:00Z",
        }


@pytest.fixture
def artifacts() -> Iterator[ArtifactServer]:
    server = ArtifactServer()
    yield server
    server.server.shutdown()


def _flux_objects(root: Path, environment: str, artifact: str) -> list[dict[str, Any]]:
    """The rendered Flux objects of ENVIRONMENT (its ServiceAccount, RBAC and Kustomization), the
    Kustomization reading the ExternalArtifact and not waiting for pods (no kubelet runs here)."""
    objects = []
    for path in sorted((root / FLUX_DIR).glob(f"*-{environment}*.yaml")):
        if path.name.startswith("gitrepository-"):
            continue  # the source is the ExternalArtifact below
        for obj in yaml.safe_load_all(path.read_text()):
            if obj and obj["kind"] == "Kustomization":
                obj["spec"]["sourceRef"] = {"kind": "ExternalArtifact", "name": artifact, "namespace": "flux-system"}
                obj["spec"]["wait"] = False
                obj["spec"]["interval"] = "5s"
                obj["spec"]["retryInterval"] = "2s"
            if obj:
                objects.append(obj)
    return objects


def _ready(cluster: Any, name: str, revision: str) -> Any:
    def probe() -> bool:
        found = cluster.get("kustomize.toolkit.fluxcd.io/v1", "Kustomization", name, "flux-system") or {}
        state = found.get("status") or {}
        conditions = {c["type"]: c for c in state.get("conditions", [])}
        ready = conditions.get("Ready", {})
        probe.last = ready  # type: ignore[attr-defined]
        return ready.get("status") == "True" and state.get("lastAppliedRevision", "").endswith(revision)

    try:
        return cluster.wait_for(f"Kustomization {name} at {revision}", probe, timeout=180)
    except AssertionError as error:
        raise AssertionError(f"{error}: {getattr(probe, 'last', None)}") from None


def test_flux_applies_the_environment_and_prunes_a_removed_model(
    cluster: Any, tmp_path: Path, artifacts: ArtifactServer
) -> None:
    root = copy_example(tmp_path / "repo")
    namespace = f"f{_RUN}-prod"
    project = (root / "mlgitops.yaml").read_text().replace("namespace: ml-prod", f"namespace: {namespace}")
    project = project.replace("name: acme-ml", f"name: f{_RUN}")
    (root / "mlgitops.yaml").write_text(project)
    assert run_cli(["render"], cwd=root).exit_code == 0
    name = f"f{_RUN}-prod"
    flux = _flux_objects(root, "prod", name)
    assert [o["kind"] for o in flux if o["kind"] == "Kustomization"] == ["Kustomization"]
    assert [str(r) for r in cluster.refusals(flux, dry_run=False)] == []

    source = cluster.resource("source.toolkit.fluxcd.io/v1", "ExternalArtifact")
    source.create(
        namespace="flux-system",
        body={
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "ExternalArtifact",
            "metadata": {"name": name, "namespace": "flux-system"},
            "spec": {},
        },
    )

    def publish(revision: str) -> None:
        artifact = artifacts.publish(root, revision)
        live = cluster.get("source.toolkit.fluxcd.io/v1", "ExternalArtifact", name, "flux-system")
        source.status.patch(
            name=name,
            namespace="flux-system",
            content_type="application/merge-patch+json",
            body={
                "status": {
                    "artifact": artifact,
                    "conditions": [
                        {
                            "type": "Ready",
                            "status": "True",
                            "reason": "Succeeded",
                            "message": revision,
                            "lastTransitionTime": "2026-12-07T00:00:00Z",
                            "observedGeneration": live["metadata"]["generation"],
                        }
                    ],
                }
            },
        )

    publish("1" * 40)
    _ready(cluster, name, "1" * 40)
    isvc = cluster.get("serving.kserve.io/v1beta1", "InferenceService", "fraud-detector", namespace)
    assert isvc is not None and isvc["metadata"]["labels"]["mlgitops.io/environment"] == "prod"
    assert cluster.get("apps/v1", "Deployment", "churn-scorer-predictor", namespace) is not None

    # a commit removes churn-scorer: Flux prunes its objects
    (root / "models" / "churn-scorer.yaml").unlink()
    assert run_cli(["render"], cwd=root).exit_code == 0
    publish("2" * 40)
    _ready(cluster, name, "2" * 40)
    cluster.wait_for(
        "churn-scorer to be pruned",
        lambda: cluster.get("apps/v1", "Deployment", "churn-scorer-predictor", namespace) is None,
    )
    assert cluster.get("serving.kserve.io/v1beta1", "InferenceService", "fraud-detector", namespace) is not None
