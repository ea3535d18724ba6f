"""What the real KServe v0.20.0 reconciler makes of the InferenceServices mlgitops renders, on the local
control plane: the Deployment, Service and HorizontalPodAutoscaler it creates for each Standard-mode
InferenceService of the bundled example, checked against what the spec promises (replica bounds,
resources, the runtime version's image, and a port every PodMonitor can scrape)."""

from __future__ import annotations

import os
from typing import Any

import pytest

from conftest import copy_example, kustomize_objects, run_cli

_RUN = f"{os.getpid() % 100000}"


@pytest.fixture(scope="module")
def reconciled(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The prod environment of the example applied for real in a namespace of its own, and what KServe
    made of each Standard-mode InferenceService (waited for, bounded)."""
    root = copy_example(tmp_path_factory.mktemp("kserve") / "repo")
    namespace = f"k{_RUN}-prod"
    project = (root / "mlgitops.yaml").read_text().replace("namespace: ml-prod", f"namespace: {namespace}")
    (root / "mlgitops.yaml").write_text(project)
    assert run_cli(["render"], cwd=root).exit_code == 0
    objects = kustomize_objects(root / "overlays" / "prod")
    assert [str(r) for r in cluster.refusals(objects, dry_run=False)] == []
    isvcs = [
        o
        for o in objects
        if o["kind"] == "InferenceService"
        and o["metadata"].get("annotations", {}).get("serving.kserve.io/deploymentMode") == "Standard"
    ]
    assert isvcs, "the example serves a Standard-mode InferenceService in prod"
    made = {}
    for isvc in isvcs:
        name = f"{isvc['metadata']['name']}-predictor"
        made[isvc["metadata"]["name"]] = {
            "isvc": isvc,
            "deployment": cluster.wait_for(
                f"KServe's Deployment {name}", lambda n=name: cluster.get("apps/v1", "Deployment", n, namespace)
            ),
            "hpa": cluster.wait_for(
                f"KServe's HPA {name}",
                lambda n=name: cluster.get("autoscaling/v2", "HorizontalPodAutoscaler", n, namespace),
            ),
        }
    return {"objects": objects, "made": made}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    return next(c for c in containers if c["name"] == "kserve-container")


def test_replica_bounds_reach_the_autoscaler(reconciled: dict[str, Any]) -> None:
    for made in reconciled["made"].values():
        predictor = made["isvc"]["spec"]["predictor"]
        assert made["hpa"]["spec"]["minReplicas"] == predictor["minReplicas"]
        assert made["hpa"]["spec"]["maxReplicas"] == predictor["maxReplicas"]


def test_resources_and_storage_reach_the_model_container(reconciled: dict[str, Any]) -> None:
    for made in reconciled["made"].values():
        model = made["isvc"]["spec"]["predictor"]["model"]
        container = _container(made["deployment"])
        assert container["resources"] == model["resources"]
        # KServe's pod webhook adds the storage initializer to each pod from this annotation
        annotations = made["deployment"]["spec"]["template"]["metadata"]["annotations"]
        assert annotations["internal.serving.kserve.io/storage-initializer-sourceuri"] == model["storageUri"]
        if "runtimeVersion" in model:
            assert container["image"].endswith(f":{model['runtimeVersion']}")


def test_every_pod_monitor_selects_a_declared_port(reconciled: dict[str, Any]) -> None:
    """The Prometheus Operator keeps only endpoints whose port the pod declares: a PodMonitor over
    pods that declare no such port scrapes nothing."""
    monitors = {o["metadata"]["name"]: o for o in reconciled["objects"] if o["kind"] == "PodMonitor"}
    for name, made in reconciled["made"].items():
        monitor = monitors[name]
        pod = made["deployment"]["spec"]["template"]
        labels = pod["metadata"].get("labels", {})
        assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
        declared = [p for c in pod["spec"]["containers"] for p in c.get("ports", [])]
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            if "port" in endpoint:
                assert endpoint["port"] in {p.get("name") for p in declared}, (name, endpoint, declared)
            else:
                assert endpoint["portNumber"] in {p["containerPort"] for p in declared}, (name, endpoint, declared)
