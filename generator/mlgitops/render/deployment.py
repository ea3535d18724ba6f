"""`engine: deployment` → Deployment + Service + HorizontalPodAutoscaler, for clusters without KServe.

This mirrors what KServe's Standard mode creates: a storage-initializer init container downloads the
model into an emptyDir, and a KServe model server image serves it. A canary is a second Deployment
behind the same Service, weighted by its share of the pods (so per connection, not per request), with
its own HPA whose bounds keep that share at every scale.

Source map (object path → spec line): checks/sourcemap/serving.py.
"""

from __future__ import annotations

from mlgitops.language.model import server_image
from mlgitops.language.podspec import canary_replicas
from mlgitops.language.project import Project
from mlgitops.language.resolve import ResolvedModel
from mlgitops.render.common import (
    gpu_placement,
    metadata,
    resources,
    selector_labels,
    standard_annotations,
    standard_labels,
)
from mlgitops.render.containers import add_contents
from mlgitops.render.kserve_components import port_list, probe_fields
from mlgitops.render.pods import (
    STORAGE_INITIALIZER,
    TMP_VOLUME,
    container_security_context,
    pod_files,
    pod_security_context,
    serving_hardening,
    serving_shared_memory,
    tmp_mount,
    tmp_volume,
)
from mlgitops.util.kubenames import CANARY_ANNOTATION, Obj

TRACK_LABEL = "mlgitops.io/track"
HTTP_PORT = 8080
MODEL_DIR = "/mnt/models"


def _pod_template(model: ResolvedModel, project: Project, track: str, storage_uri: str, version: str) -> Obj:
    serving = model.spec.serving
    assert serving is not None
    gpu_limits, placement = gpu_placement(project, serving.gpu, serving.nodeClass)
    labels = {**standard_labels(model, project, "predictor"), "app.kubernetes.io/version": version, TRACK_LABEL: track}
    ready_path = f"/v2/models/{model.name}/ready" if serving.protocol == "v2" else f"/v1/models/{model.name}"
    container: Obj = {
        "name": "kserve-container",
        "image": server_image(model.spec, project),
        "args": [
            f"--model_name={model.name}",
            f"--model_dir={MODEL_DIR}",
            f"--http_port={HTTP_PORT}",
            *serving.args,
        ],
        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}, *port_list(serving.ports)],
        "readinessProbe": {"httpGet": {"path": ready_path, "port": HTTP_PORT}},
    }
    container.update(probe_fields(serving.probes))  # serving.probes.readiness replaces the default
    container_resources = resources(serving.resources, gpu_limits)
    if container_resources:
        container["resources"] = container_resources
    hardening = serving_hardening(model.spec)
    container["securityContext"] = container_security_context(hardening)
    files = pod_files(hardening, serving_shared_memory(serving))
    container["volumeMounts"] = [{"name": "model-store", "mountPath": MODEL_DIR, "readOnly": True}, *files.mounts]
    own_volumes = add_contents(container, serving.env, serving.envFrom, serving.volumes)
    pod: Obj = {}
    if serving.serviceAccount:
        pod["serviceAccountName"] = serving.serviceAccount
    pod["securityContext"] = pod_security_context()
    # KServe's storage initializer image runs as USER 1000 and writes temporary files to /tmp
    # (kserve/kserve python/storage-initializer.Dockerfile, python/storage/kserve_storage/kserve_storage.py).
    pod["initContainers"] = [
        {
            "name": "storage-initializer",
            "image": project.images.storageInitializer,
            "args": [storage_uri, MODEL_DIR],
            "securityContext": container_security_context(STORAGE_INITIALIZER),
            "volumeMounts": [{"name": "model-store", "mountPath": MODEL_DIR}, tmp_mount()],
        }
    ]
    pod["containers"] = [container]
    pod.update(placement)
    volumes = [{"name": "model-store", "emptyDir": {}}, *files.volumes, *own_volumes]
    if not any(v["name"] == TMP_VOLUME for v in volumes):  # the initializer's /tmp, when the server has none
        volumes.append(tmp_volume())
    pod["volumes"] = volumes
    return {"metadata": {"labels": labels}, "spec": pod}


def _deployment(
    model: ResolvedModel,
    project: Project,
    name: str,
    track: str,
    storage_uri: str,
    version: str,
    extra: dict[str, str],
) -> Obj:
    spec: Obj = {}  # no `replicas`: an HPA owns the count
    spec["selector"] = {"matchLabels": {**selector_labels(model, "predictor"), TRACK_LABEL: track}}
    spec["template"] = _pod_template(model, project, track, storage_uri, version)
    labels = {**standard_labels(model, project, "predictor"), "app.kubernetes.io/version": version}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(name, labels, standard_annotations(model, extra)),
        "spec": spec,
    }


def _autoscaler(
    model: ResolvedModel, name: str, labels: dict[str, str], bounds: tuple[int, int], annotations: dict[str, str]
) -> Obj:
    serving = model.spec.serving
    assert serving is not None
    metric = serving.autoscaling.metric if serving.autoscaling else "cpu"
    target = serving.autoscaling.target if serving.autoscaling else 80
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": metadata(name, labels, annotations),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": bounds[0],
            "maxReplicas": bounds[1],
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": metric, "target": {"type": "Utilization", "averageUtilization": target}},
                }
            ],
        },
    }


def render_deployment_engine(model: ResolvedModel, project: Project) -> list[Obj]:
    serving = model.spec.serving
    assert serving is not None
    name = f"{model.name}-predictor"
    labels = standard_labels(model, project, "predictor")
    annotations = standard_annotations(model)
    # An HPA owns each replica count, so the Deployments leave `replicas` unset.
    storage_uri = model.spec.model.storageUri
    assert storage_uri is not None  # servingfit.py refuses KServe's storage spec (model.storage) here
    objects = [_deployment(model, project, name, "stable", storage_uri, model.spec.model.version, {})]
    canary = serving.canary
    autoscalers = [_autoscaler(model, name, labels, (serving.replicas.min, serving.replicas.upper), annotations)]
    if canary is not None and canary.trafficPercent > 0:
        # The canary has its own HPA, on the same metric and target, with bounds that keep its share of
        # the pods at the stable HPA's bounds (resolve.py refuses 100 %: the stable keeps min pods).
        # Both HPAs see the same per-pod load, so between the bounds they scale in step, up to rounding.
        extra = {CANARY_ANNOTATION: canary.version}
        objects.append(
            _deployment(model, project, f"{name}-canary", "canary", canary.storageUri, canary.version, extra)
        )
        low = canary_replicas(canary.trafficPercent, serving.replicas.min)
        high = max(low, canary_replicas(canary.trafficPercent, serving.replicas.upper))
        canary_labels = {**labels, "app.kubernetes.io/version": canary.version}
        autoscalers.append(
            _autoscaler(model, f"{name}-canary", canary_labels, (low, high), standard_annotations(model, extra))
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
    objects.extend(autoscalers)
    return objects
