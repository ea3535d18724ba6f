"""From a field of a rendered object back to the spec field it came from.

`spec_source(obj, path, spec, project, env)` answers "which line of which hand-written file made
`/spec/predictor/minReplicas` of this InferenceService?" with `serving.replicas.min` of the model
(resolve.spec_location then finds whether the model file, the project's defaults or the model's
environment patch wrote it) or a field of mlgitops.yaml (images, GPU classes, namespaces).

The table mirrors what the renderer writes (render/kserve.py, deployment.py, training.py). A path it
does not know falls back to the block that rendered the object (`serving`, `training`), and for objects
of unknown kinds to the model file itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlgitops.jsonpointer import get_path
from mlgitops.lineage import (
    DATASET_ANNOTATION_PREFIX,
    MODEL_VERSION_ANNOTATION,
    TRAINING_IMAGE_ANNOTATION,
    parameter_stem,
)
from mlgitops.render.common import CANARY_ANNOTATION, OWNER_ANNOTATION, REGISTRY_ANNOTATION
from mlgitops.spec import Model, Project, Resources, Step
from mlgitops.yamlio import JsonPath

__all__ = ["SpecSource", "parse_pointer", "spec_source"]

_PLACEMENT = ("nodeSelector", "tolerations", "affinity")
_VERSION_LABEL = "app.kubernetes.io/version"
_DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"


@dataclass(frozen=True)
class SpecSource:
    """A field of the model spec (resolved for one environment) or, `in_project`, of mlgitops.yaml."""

    path: JsonPath
    in_project: bool = False


def _m(*path: str | int) -> SpecSource:
    return SpecSource(tuple(path))


def _p(*path: str | int) -> SpecSource:
    return SpecSource(tuple(path), in_project=True)


def parse_pointer(obj: Any, pointer: str) -> JsonPath:
    """`/spec/templates/1/name` → ("spec", "templates", 1, "name"): indexes of lists become ints."""
    if not pointer or pointer == "/":
        return ()
    parts: list[str | int] = []
    node = obj
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and token.isdigit():
            index = int(token)
            parts.append(index)
            node = node[index] if index < len(node) else None
        else:
            parts.append(token)
            node = node.get(token) if isinstance(node, dict) else None
    return tuple(parts)


def spec_source(obj: dict[str, Any], path: JsonPath, spec: Model, project: Project, env: str | None) -> SpecSource:
    """The spec field that produced `path` of `obj`, a rendered object of the model `spec` in `env`."""
    kind = obj.get("kind")
    if path[:1] == ("metadata",):
        return _metadata(obj, path[1:], spec, project, env)
    if kind == "InferenceService":
        return _inference_service(obj, path, spec)
    if kind in ("Deployment", "Service", "HorizontalPodAutoscaler"):
        return _deployment_engine(obj, path, spec, project)
    if kind in ("WorkflowTemplate", "CronWorkflow"):
        return _training(obj, path, spec)
    if kind in ("PodMonitor", "PrometheusRule") or (kind == "ConfigMap" and spec.monitoring is not None):
        return _monitoring(obj, path, spec)
    return _m()


def _metadata(obj: dict[str, Any], rest: JsonPath, spec: Model, project: Project, env: str | None) -> SpecSource:
    match rest:
        case ("name", *_):
            return _m("metadata", "name")
        case ("namespace", *_) if env is not None:
            return _p("environments", project.environment_names.index(env), "namespace")
        case ("labels", str(key), *_):
            if key == _VERSION_LABEL:
                canary = spec.serving.canary if spec.serving else None
                if canary is not None and get_path(obj, ("metadata", "labels", key)) == canary.version:
                    return _m("serving", "canary", "version")
                return _m("model", "version")
            if key in spec.metadata.labels:
                return _m("metadata", "labels", key)
            return _m("metadata", "labels")
        case ("annotations", str(key), *_):
            known = {
                OWNER_ANNOTATION: ("metadata", "owner"),
                REGISTRY_ANNOTATION: ("model", "registry"),
                CANARY_ANNOTATION: ("serving", "canary", "version"),
                _DEPLOYMENT_MODE: ("serving", "mode"),
            }
            if key in spec.metadata.annotations:
                return _m("metadata", "annotations", key)
            if key in known:
                return _m(*known[key])
            lineage = _lineage_annotation(key, spec)
            if lineage is not None:
                return lineage
            return _m("metadata", "annotations")
    return _m("metadata")


def _resources(rest: JsonPath, block: JsonPath, spec_resources: Resources | None, gpu: JsonPath) -> SpecSource:
    """`resources/limits/nvidia.com~1gpu` → the GPU count; other quantities → the resources block."""
    match rest:
        case (("requests" | "limits") as kind, str(name), *_):
            declared = getattr(spec_resources, kind, {}) if spec_resources is not None else {}
            if name in declared:
                return _m(*block, kind, name)
            if name not in ("cpu", "memory", "ephemeral-storage"):
                return _m(*gpu, "count")
            return _m(*block, kind)
        case (("requests" | "limits") as kind, *_):
            return _m(*block, kind)
    return _m(*block)


def _serving_resources(rest: JsonPath, spec: Model) -> SpecSource:
    declared = spec.serving.resources if spec.serving else None
    return _resources(rest, ("serving", "resources"), declared, ("serving", "gpu"))


# --- engine: kserve ------------------------------------------------------------------------------


def _inference_service(obj: dict[str, Any], path: JsonPath, spec: Model) -> SpecSource:
    serving = spec.serving
    knative_canary = get_path(obj, ("spec", "predictor", "canaryTrafficPercent")) is not None
    match path:
        case ("spec", "predictor", *rest):
            return _predictor(tuple(rest), spec, canary=knative_canary)
        case ("spec", "canary", int(), "trafficPercent", *_):
            return _m("serving", "canary", "trafficPercent")
        case ("spec", "canary", int(), "predictor", "name", *_):
            return _m("serving", "canary", "version")
        case ("spec", "canary", int(), "predictor", *rest):
            return _predictor(tuple(rest), spec, canary=True)
        case ("spec", "canary", *_):
            return _m("serving", "canary")
    return _m("serving") if serving is not None else _m()


def _predictor(rest: JsonPath, spec: Model, *, canary: bool) -> SpecSource:
    match rest:
        case ("minReplicas", *_):
            return _m("serving", "replicas", "min")
        case ("maxReplicas", *_):
            return _m("serving", "replicas", "max")
        case ("scaleMetric", *_):
            return _m("serving", "autoscaling", "metric")
        case ("scaleTarget", *_):
            return _m("serving", "autoscaling", "target")
        case ("serviceAccountName", *_):
            return _m("serving", "serviceAccount")
        case ("canaryTrafficPercent", *_):
            return _m("serving", "canary", "trafficPercent")
        case (str(field), *_) if field in _PLACEMENT:
            return _m("serving", "gpu", "class")
        case ("model", "modelFormat", "version", *_):
            return _m("model", "formatVersion")
        case ("model", "modelFormat", *_):
            return _m("model", "format")
        case ("model", "runtime", *_):
            return _m("serving", "runtime")
        case ("model", "protocolVersion", *_):
            return _m("serving", "protocol")
        case ("model", "storageUri", *_):
            return _m("serving", "canary", "storageUri") if canary else _m("model", "storageUri")
        case ("model", "resources", *more):
            return _serving_resources(tuple(more), spec)
        case ("securityContext", *_) | ("model", "securityContext", *_):
            return _m("serving", "securityContext")
    return _m("serving")


# --- engine: deployment --------------------------------------------------------------------------


def _deployment_engine(obj: dict[str, Any], path: JsonPath, spec: Model, project: Project) -> SpecSource:
    kind = obj.get("kind")
    is_canary = (
        kind == "Deployment"
        and spec.serving is not None
        and spec.serving.canary is not None
        and (get_path(obj, ("metadata", "annotations", CANARY_ANNOTATION)) is not None)
    )
    if kind == "HorizontalPodAutoscaler":
        canary_hpa = get_path(obj, ("metadata", "annotations", CANARY_ANNOTATION)) is not None
        match path:
            case ("spec", ("minReplicas" | "maxReplicas"), *_) if canary_hpa:
                return _m("serving", "canary", "trafficPercent")
            case ("spec", "minReplicas", *_):
                return _m("serving", "replicas", "min")
            case ("spec", "maxReplicas", *_):
                return _m("serving", "replicas", "max")
            case ("spec", "metrics", int(), "resource", "name", *_):
                return _m("serving", "autoscaling", "metric")
            case ("spec", "metrics", int(), "resource", "target", *_):
                return _m("serving", "autoscaling", "target")
        return _m("serving", "autoscaling") if spec.serving and spec.serving.autoscaling else _m("serving")
    if kind == "Deployment":
        match path:
            case ("spec", "replicas", *_) if is_canary:
                return _m("serving", "canary", "trafficPercent")
            case ("spec", "template", "metadata", "labels", str(label), *_) if label == _VERSION_LABEL:
                return _m("serving", "canary", "version") if is_canary else _m("model", "version")
            case ("spec", "template", "spec", *rest):
                return _pod(tuple(rest), spec, project, is_canary)
    return _m("serving")


def _pod(rest: JsonPath, spec: Model, project: Project, is_canary: bool) -> SpecSource:
    serving = spec.serving
    match rest:
        case ("serviceAccountName", *_):
            return _m("serving", "serviceAccount")
        case (str(field), *_) if field in _PLACEMENT:
            return _m("serving", "gpu", "class")
        case ("initContainers", int(), "image", *_):
            return _p("images", "storageInitializer")
        case ("initContainers", int(), "args", 0, *_):
            return _m("serving", "canary", "storageUri") if is_canary else _m("model", "storageUri")
        case ("containers", int(), "image", *_):
            if serving is not None and serving.image:
                return _m("serving", "image")
            if spec.model.format in project.images.servers:
                return _p("images", "servers", spec.model.format)
            return _m("model", "format")
        case ("containers", int(), "resources", *more):
            return _serving_resources(tuple(more), spec)
        case ("securityContext", *_) | ("containers", int(), "securityContext", *_):
            return _m("serving", "securityContext")
    return _m("serving")


# --- training ------------------------------------------------------------------------------------


def _training(obj: dict[str, Any], path: JsonPath, spec: Model) -> SpecSource:
    training = spec.training
    if training is None:
        return _m()
    match path:
        case ("spec", "schedules", *_):
            return _m("training", "schedule")
        case ("spec", "timezone", *_):
            return _m("training", "timezone")
        case ("spec", "workflowSpec", *_):
            return _m("training")
        case ("spec", "serviceAccountName", *_):
            return _m("training", "serviceAccount")
        case ("spec", "activeDeadlineSeconds", *_):
            return _m("training", "timeout")
        case ("spec", "arguments", "parameters", int(index), *_):
            name = get_path(obj, ("spec", "arguments", "parameters", index, "name"))
            if isinstance(name, str) and name in training.parameters:
                return _m("training", "parameters", name)
            dataset = _dataset_of_parameter(name, spec)
            if dataset is not None:
                return dataset
            return _m("training", "parameters")
        case ("spec", "arguments", *_):
            return _m("training", "parameters")
        case ("spec", "templates", int(index), *rest):
            return _template(obj, index, tuple(rest), spec)
    return _m("training")


def _step_index(spec: Model, name: Any) -> int | None:
    assert spec.training is not None
    for i, step in enumerate(spec.training.steps):
        if step.name == name:
            return i
    return None


def _template(obj: dict[str, Any], index: int, rest: JsonPath, spec: Model) -> SpecSource:
    training = spec.training
    assert training is not None
    name = get_path(obj, ("spec", "templates", index, "name"))
    if name == "pipeline":
        match rest:
            case ("dag", "tasks", int(task), *more):
                task_name = get_path(obj, ("spec", "templates", index, "dag", "tasks", task, "name"))
                if task_name in ("register", "reject"):
                    return _m("training", "gates")
                step = _step_index(spec, task_name)
                if step is None:
                    return _m("training", "steps")
                match more:
                    case ("depends", *_):
                        return _m("training", "steps", step, "after")
                    case ("arguments", *_):
                        return _m("training", "steps", step, "inputs")
                return _m("training", "steps", step)
        return _m("training", "steps")
    if name == "register":
        match rest:
            case ("container", "image", *_) if training.register_ is not None and training.register_.image:
                return _m("training", "register", "image")
            case ("container", "image", *_):
                return _m("training", "image")
            case ("container", "securityContext", *_):
                return _m("training", "securityContext")
        return _m("training", "register") if training.register_ is not None else _m("training", "gates")
    if name == "reject":
        match rest:
            case ("container", "image", *_):
                return _m("training", "image")
        return _m("training", "gates")
    step_index = _step_index(spec, name)
    if step_index is None:
        return _m("training")
    return _step(rest, step_index, training.steps[step_index])


def _step(rest: JsonPath, i: int, step: Step) -> SpecSource:
    here = ("training", "steps", i)
    match rest:
        case ("container", "image", *_):
            return _m(*here, "image") if step.image else _m("training", "image")
        case ("container", "command", *more):
            return _m(*here, "command", *more[:1])
        case ("container", "args", *more):
            return _m(*here, "args", *more[:1])
        case ("container", "env", *_):
            return _m(*here, "env") if step.env else _m("training", "parameters")
        case ("container", "resources", *more):
            return _resources(tuple(more), (*here, "resources"), step.resources, (*here, "gpu"))
        case ("container", "securityContext", *_):
            own = step.securityContext is not None
            return _m(*here, "securityContext") if own else _m("training", "securityContext")
        case ("retryStrategy", "retryPolicy", *_):
            return _m(*here, "retryPolicy")
        case ("retryStrategy", *_):
            return _m(*here, "retries")
        case ("timeout", *_):
            return _m(*here, "timeout")
        case (str(field), *_) if field in _PLACEMENT:
            return _m(*here, "gpu", "class")
        case ("inputs", *_):
            return _m(*here, "inputs")
        case ("outputs", "parameters", *_):
            return _m(*here, "metrics")
        case ("outputs", *_):
            return _m(*here, "outputs")
        case ("name", *_):
            return _m(*here, "name")
    return _m(*here)


# --- lineage and monitoring ----------------------------------------------------------------------


def _lineage_annotation(key: str, spec: Model) -> SpecSource | None:
    if key == MODEL_VERSION_ANNOTATION:
        return _m("model", "version")
    if key == TRAINING_IMAGE_ANNOTATION:
        return _m("training", "image")
    if key.startswith(DATASET_ANNOTATION_PREFIX):
        for index, dataset in enumerate(spec.data):
            if DATASET_ANNOTATION_PREFIX + dataset.name == key:
                return _m("data", index)
        return _m("data")
    return None


def _dataset_of_parameter(name: Any, spec: Model) -> SpecSource | None:
    for index, dataset in enumerate(spec.data):
        stem = parameter_stem(dataset)
        if name == f"{stem}_URI":
            return _m("data", index, "uri")
        if name == f"{stem}_VERSION":
            return _m("data", index, "version")
    return None


def _monitoring(obj: dict[str, Any], path: JsonPath, spec: Model) -> SpecSource:
    """PodMonitor endpoints from the serving engine and mode; rules from the SLOs and alert options."""
    kind = obj.get("kind")
    if kind == "PodMonitor":
        match path:
            case ("spec", "podMetricsEndpoints", int(), "interval", *_):
                return _m("monitoring", "scrapeInterval")
            case ("spec", "selector", *_):
                return _m("serving", "engine")
            case ("spec", "podMetricsEndpoints", int(), ("port" | "portNumber"), *_):
                return _m("serving", "mode")
        return _m("monitoring")
    if kind == "ConfigMap":
        return _m("monitoring", "dashboard")
    alert = None
    match path:
        case ("spec", "groups", int(group), "rules", int(rule), *_):
            alert = get_path(obj, ("spec", "groups", group, "rules", rule, "alert"))
    match path:
        case ("spec", "groups", int(), "rules", int(), "labels", "severity", *_):
            return _m("monitoring", "alerts", "severity")
        case ("spec", "groups", int(), "rules", int(), "annotations", "runbook_url", *_):
            return _m("monitoring", "alerts", "runbook")
    source = _ALERT_SOURCES.get(alert) if isinstance(alert, str) else None
    return _m(*source) if source else _m("monitoring")


_ALERT_SOURCES: dict[str, tuple[str, ...]] = {
    "ModelLatencyP95AboveSLO": ("monitoring", "slo", "latencyP95Ms"),
    "ModelErrorRateAboveSLO": ("monitoring", "slo", "errorRatePercent"),
    "ModelErrorBudgetBurn": ("monitoring", "slo", "availabilityPercent"),
    "ModelNoTraffic": ("monitoring", "alerts", "noTraffic"),
    "ModelTrainingNotSucceeded": ("training", "schedule"),
}
