"""`engine: deployment` → Deployment + Service + HorizontalPodAutoscaler, for clusters without KServe.

This mirrors what KServe's Standard mode creates: a storage-initializer init container downloads the
model into an emptyDir, and a KServe model server image serves it. A canary is a second Deployment
behind the same Service, weighted by its replica count.
"""

from __future__ import annotations

import math

from mlgitops.render.common import (
    CANARY_ANNOTATION,
    Obj,
    gpu_placement,
    metadata,
    resources,
    selector_labels,
    standard_annotations,
    standard_labels,
)
from mlgitops.resolve import ResolvedModel
from mlgitops.spec import Project, server_image

TRACK_LABEL = "mlgitops.io/track"
HTTP_PORT = 8080
MODEL_DIR = "/mnt/models"


def _pod_template(model: ResolvedModel, project: Project, track: str, storage_uri: str, version: str) -> Obj:
    serving = model.spec.serving
    assert serving is not None
    gpu_limits, placement = gpu_placement(project, serving.gpu)
    labels = {**standard_labels(model, project, "predictor"), "app.kubernetes.io/version": version, TRACK_LABEL: track}
    ready_path = f"/v2/models/{model.name}/ready" if serving.protocol == "v2" else f"/v1/models/{model.name}"
    container: Obj = {
        "name": "kserve-container",
        "image": server_image(model.spec, project),
        "args": [f"--model_name={model.name}", f"--model_dir={MODEL_DIR}", f"--http_port={HTTP_PORT}"],
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": ready_path, "port": HTTP_PORT}},
    }
    container_resources = resources(serving.resources, gpu_limits)
    if container_resources:
        container["resources"] = container_resources
    container["volumeMounts"] = [{"name": "model-store", "mountPath": MODEL_DIR, "readOnly": True}]
    pod: Obj = {}
    if serving.serviceAccount:
        pod["serviceAccountName"] = serving.serviceAccount
    pod["initContainers"] = [
        {
            "name": "storage-initializer",
            "image": project.images.storageInitializer,
            "args": [storage_uri, MODEL_DIR],
            "volumeMounts": [{"name": "model-store", "mountPath": MODEL_DIR}],
        }
    ]
    pod["containers"] = [container]
    pod.update(placement)
    pod["volumes"] = [{"name": "model-store", "emptyDir": {}}]
    return {"metadata": {"labels": labels}, "spec": pod}


def _deployment(
    model: ResolvedModel,
    project: Project,
    name: str,
    track: str,
    replicas: int | None,
    storage_uri: str,
    version: str,
    extra: dict[str, str],
) -> Obj:
    spec: Obj = {}
    if replicas is not None:
        spec["replicas"] = replicas
    spec["selector"] = {"matchLabels": {**selector_labels(model, "predictor"), TRACK_LABEL: track}}
    spec["template"] = _pod_template(model, project, track, storage_uri, version)
    labels = {**standard_labels(model, project, "predictor"), "app.kubernetes.io/version": version}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(name, labels, standard_annotations(model, extra)),
        "spec": spec,
    }


def render_deployment_engine(model: ResolvedModel, project: Project) -> list[Obj]:
    serving = model.spec.serving
    assert serving is not None
    name = f"{model.name}-predictor"
    labels = standard_labels(model, project, "predictor")
    annotations = standard_annotations(model)
    # The HPA owns the stable replica count, so the Deployment leaves `replicas` unset.
    objects = [
        _deployment(model, project, name, "stable", None, model.spec.model.storageUri, model.spec.model.version, {})
    ]
    canary = serving.canary
    if canary is not None and canary.trafficPercent > 0:
        share = canary.trafficPercent / 100
        weighted = serving.replicas.min * share / (1 - share) if share < 1 else serving.replicas.max
        objects.append(
            _deployment(
                model,
                project,
                f"{name}-canary",
                "canary",
                max(1, math.ceil(weighted)),
                canary.storageUri,
                canary.version,
                {CANARY_ANNOTATION: canary.version},
            )
        )
    objects.append(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": metadata(name, labels, annotations),
            "spec": {
                "selector": selector_labels(model, "predictor"),
                "ports": [{"name": "http", "port": 80, "targetPort": HTTP_PORT, "protocol": "TCP"}],
            },
        }
    )
    metric = serving.autoscaling.metric if serving.autoscaling else "cpu"
    target = serving.autoscaling.target if serving.autoscaling else 80
    objects.append(
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": metadata(name, labels, annotations),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                "minReplicas": serving.replicas.min,
                "maxReplicas": serving.replicas.max,
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {"name": metric, "target": {"type": "Utilization", "averageUtilization": target}},
                    }
                ],
            },
        }
    )
    return objects
