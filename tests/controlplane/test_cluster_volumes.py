"""csi and ephemeral volumes on a served model (language/containers.py is shared by serving and training): the
real KServe manager admits the InferenceService and makes its predictor Deployment with both volumes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tests.projects import model_yaml
from tests.render.test_training_run import project, rendered

SERVING = """\
serving:
  engine: kserve
  mode: Standard
  volumes:
  - {name: scratch, mountPath: /scratch, ephemeral: {storageClass: fast-ssd, size: 1Gi}}
  - {name: vault, mountPath: /v, csi: {driver: secrets-store.csi.k8s.io, volumeAttributes: {secretProviderClass: x}}}
"""


def test_kserve_makes_the_predictor_with_csi_and_ephemeral_volumes(cluster: Any, tmp_path: Path) -> None:
    namespace = f"v{os.getpid() % 100000}-volumes"
    isvc = rendered(project(tmp_path, model_yaml(body=SERVING)))[0]["InferenceService"]
    isvc["metadata"]["namespace"] = namespace
    assert [str(r) for r in cluster.refusals([isvc], dry_run=False)] == []
    deployments = cluster.resource("apps/v1", "Deployment")

    def predictor() -> dict[str, Any] | None:
        found = [d.to_dict() for d in deployments.get(namespace=namespace).items]
        return found[0] if found else None

    made = cluster.wait_for("KServe's predictor Deployment", predictor, timeout=120)
    volumes = {v["name"]: v for v in made["spec"]["template"]["spec"]["volumes"]}
    claim = volumes["scratch"]["ephemeral"]["volumeClaimTemplate"]["spec"]
    assert (claim["storageClassName"], claim["resources"]["requests"]["storage"]) == ("fast-ssd", "1Gi")
    assert volumes["vault"]["csi"] == {
        "driver": "secrets-store.csi.k8s.io",
        "volumeAttributes": {"secretProviderClass": "x"},
    }
