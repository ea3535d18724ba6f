"""`engine: kserve` → one InferenceService (serving.kserve.io/v1beta1, KServe >= 0.20)."""

from __future__ import annotations

from mlgitops.clusterfit import features_for, knative_allows
from mlgitops.render.common import (
    CANARY_ANNOTATION,
    Obj,
    dns_safe,
    gpu_placement,
    metadata,
    resources,
    standard_annotations,
    standard_labels,
)
from mlgitops.render.pods import (
    container_security_context,
    pod_files,
    pod_security_context,
    serving_hardening,
    serving_shared_memory,
)
from mlgitops.resolve import ResolvedModel
from mlgitops.spec import Project

DEPLOYMENT_MODE_ANNOTATION = "serving.kserve.io/deploymentMode"


def _pod_fields(model: ResolvedModel) -> tuple[Obj, Obj]:
    """(predictor pod fields, model container fields) that make the predictor pod run hardened.

    KServe merges these into the ServingRuntime's container and pod (strategic merge: securityContext
    field by field, volumes by name, volumeMounts by mountPath), so they add to what the runtime sets.
    Knative refuses a pod-level securityContext by default: there the container carries everything.
    """
    serving = model.spec.serving
    assert serving is not None
    hardening = serving_hardening(model.spec)
    files = pod_files(hardening, serving_shared_memory(serving))
    pod: Obj = {}
    if serving.mode == "Standard":
        pod["securityContext"] = pod_security_context()
    if files.volumes:
        pod["volumes"] = list(files.volumes)
    container: Obj = {"securityContext": container_security_context(hardening)}
    if files.mounts:
        container["volumeMounts"] = list(files.mounts)
    return pod, container


def _model_block(model: ResolvedModel, storage_uri: str, container_resources: Obj) -> Obj:
    spec = model.spec
    serving = spec.serving
    assert serving is not None
    fmt: Obj = {"name": spec.model.format}
    if spec.model.formatVersion:
        fmt["version"] = spec.model.formatVersion
    block: Obj = {"modelFormat": fmt}
    if serving.runtime:
        block["runtime"] = serving.runtime
    block["protocolVersion"] = serving.protocol
    block["storageUri"] = storage_uri
    if container_resources:
        block["resources"] = container_resources
    block.update(_pod_fields(model)[1])
    return block


def render_inference_service(model: ResolvedModel, project: Project) -> Obj:
    serving = model.spec.serving
    assert serving is not None
    gpu_limits, placement = gpu_placement(project, serving.gpu, serving.nodeClass)
    if serving.mode == "Knative" and placement:
        # Knative refuses placement fields its config-features flags do not enable (clusterfit.py); GPU
        # limits need no flag. Resolution refuses an environment that needs a missing flag, so this only
        # trims the base, which is rendered for what every environment has.
        features = features_for(project, model.environment)
        placement = {field: value for field, value in placement.items() if knative_allows(field, features)}
    container_resources = resources(serving.resources, gpu_limits)
    canary = serving.canary
    # Knative keeps the previous revision itself: the predictor points at the new version and
    # canaryTrafficPercent splits traffic. Standard declares both versions (spec.canary[]).
    knative_canary = canary is not None and serving.mode == "Knative"
    uri = canary.storageUri if canary is not None and knative_canary else model.spec.model.storageUri

    predictor: Obj = {}
    if serving.serviceAccount:
        predictor["serviceAccountName"] = serving.serviceAccount
    predictor["minReplicas"] = serving.replicas.min
    predictor["maxReplicas"] = serving.replicas.max
    if serving.autoscaling:
        predictor["scaleMetric"] = serving.autoscaling.metric
        predictor["scaleTarget"] = serving.autoscaling.target
    if canary is not None and knative_canary:
        predictor["canaryTrafficPercent"] = canary.trafficPercent
    predictor.update(placement)
    pod_fields = _pod_fields(model)[0]
    predictor.update(pod_fields)
    predictor["model"] = _model_block(model, uri, container_resources)

    spec: Obj = {"predictor": predictor}
    if canary is not None and not knative_canary:
        canary_predictor: Obj = {"name": f"v{dns_safe(canary.version)}"}
        if serving.serviceAccount:
            canary_predictor["serviceAccountName"] = serving.serviceAccount
        canary_predictor.update(placement)
        canary_predictor.update(pod_fields)
        canary_model = _model_block(model, canary.storageUri, container_resources)
        canary_predictor["model"] = {"name": "kserve-container", **canary_model}
        spec["canary"] = [{"trafficPercent": canary.trafficPercent, "predictor": canary_predictor}]

    extra: dict[str, str] = {DEPLOYMENT_MODE_ANNOTATION: serving.mode}
    if canary is not None:
        extra[CANARY_ANNOTATION] = canary.version
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": metadata(
            model.name, standard_labels(model, project, "predictor"), standard_annotations(model, extra)
        ),
        "spec": spec,
    }
