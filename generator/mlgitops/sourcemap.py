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
    RUN_ID_ANNOTATION,
    TRAINING_IMAGE_ANNOTATION,
    parameter_stem,
)
from mlgitops.patches import patched_op
from mlgitops.render.common import CANARY_ANNOTATION, OWNER_ANNOTATION, REGISTRY_ANNOTATION
from mlgitops.spec import Gpu, Model, Project, Resources, Step
from mlgitops.workflow_structure import LOOP_SUFFIX
from mlgitops.yamlio import JsonPath

__all__ = ["SpecSource", "parse_pointer", "spec_source"]

_PLACEMENT = ("nodeSelector", "tolerations", "affinity")
# The arguments render/deployment.py gives every model server before serving.args.
_SERVER_ARGS = 3
_VERSION_LABEL = "app.kubernetes.io/version"
_DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
_AUTOSCALER_CLASS = "serving.kserve.io/autoscalerClass"
_STORAGE_URI_ENV = "STORAGE_URI"


def _contents(
    container: Any, rest: JsonPath, block: JsonPath, env: dict[str, Any], volumes: list[Any]
) -> SpecSource | None:
    """`env`, `envFrom` and `volumeMounts` of a container rendered from `block` (render/containers.py), or
    None for a field of another origin (a variable or mount mlgitops adds itself)."""
    match rest:
        case ("env", int(i), *_):
            name = get_path(container, ("env", i, "name"))
            if isinstance(name, str) and name in env:
                return _m(*block, "env", name)
            return None
        case ("envFrom", int(i), *_):
            return _m(*block, "envFrom", i)
        case ("volumeMounts", int(i), *_):
            name = get_path(container, ("volumeMounts", i, "name"))
            return _volume(name, block, volumes)
    return None


def _volume(name: Any, block: JsonPath, volumes: list[Any]) -> SpecSource | None:
    for index, volume in enumerate(volumes):
        if volume.name == name:
            return _m(*block, "volumes", index)
    return None


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
    if spec.patches:
        op = patched_op(spec.patches, obj, path)
        if op is not None:
            return SpecSource(op)
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
                _AUTOSCALER_CLASS: ("serving", "autoscaling", "metric"),
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
            predictor = get_path(obj, ("spec", "predictor"))
            return _predictor(tuple(rest), spec, canary=knative_canary, predictor=predictor)
        case ("spec", "transformer", *rest):
            return _transformer(obj, tuple(rest))
        case ("spec", "canary", int(), "trafficPercent", *_):
            return _m("serving", "canary", "trafficPercent")
        case ("spec", "canary", int(), "predictor", "name", *_):
            return _m("serving", "canary", "version")
        case ("spec", "canary", int(index), "predictor", *rest):
            predictor = get_path(obj, ("spec", "canary", index, "predictor"))
            return _predictor(tuple(rest), spec, canary=True, predictor=predictor)
        case ("spec", "canary", *_):
            return _m("serving", "canary")
    return _m("serving") if serving is not None else _m()


def _placement(field: str, gpu: Gpu | None, gpu_path: JsonPath, node_class: JsonPath | None) -> SpecSource:
    """A placement field: from the node class (affinity always; the rest when no GPU class places the pod),
    else from the GPU class (node_classes.py merges the two)."""
    gpu_class = gpu is not None and gpu.count > 0 and gpu.class_ is not None
    if node_class is not None and (field == "affinity" or not gpu_class):
        return _m(*node_class)
    return _m(*gpu_path, "class")


def _serving_placement(field: str, spec: Model) -> SpecSource:
    serving = spec.serving
    node_class: JsonPath | None = ("serving", "nodeClass") if serving and serving.nodeClass else None
    return _placement(field, serving.gpu if serving else None, ("serving", "gpu"), node_class)


def _predictor(rest: JsonPath, spec: Model, *, canary: bool, predictor: Any = None) -> SpecSource:
    serving = spec.serving
    if serving is not None:
        match rest:
            case ("model" | "containers", *more):
                container = get_path(predictor, tuple(rest[:2] if rest[0] == "containers" else rest[:1]))
                tail = tuple(more[1:]) if rest[0] == "containers" else tuple(more)
                found = _contents(container, tail, ("serving",), serving.env, serving.volumes)
                if found is not None:
                    return found
                match tail:
                    case ("env", int(i), *_) if get_path(container, ("env", i, "name")) == _STORAGE_URI_ENV:
                        return _m("serving", "canary", "storageUri") if canary else _m("model", "storageUri")
                    case ("env", *_):
                        return _m("serving", "protocol")
                    case ("args", int(i), *_):
                        return _m("serving", "args", i)
                    case ("runtimeVersion", *_):
                        return _m("serving", "runtimeVersion")
                    case ("image", *_):
                        return _m("serving", "image")
            case ("volumes", int(i), *_):
                found = _volume(get_path(predictor, ("volumes", i, "name")), ("serving",), serving.volumes)
                if found is not None:
                    return found
            case (("timeout" | "containerConcurrency" | "logger") as component_field, *more):
                return _m("serving", component_field, *more[:1])
            case ("autoScaling", *_):
                return _m("serving", "autoscaling")
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
            return _serving_placement(field, spec)
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


def _transformer(obj: dict[str, Any], rest: JsonPath) -> SpecSource:
    here = ("serving", "transformer")
    match rest:
        case ("containers", int(), "env", int(i), *_):
            name = get_path(obj, ("spec", "transformer", "containers", 0, "env", i, "name"))
            return _m(*here, "env", name) if isinstance(name, str) else _m(*here, "env")
        case ("containers", int(), ("image" | "command" | "args" | "resources") as field, *more):
            return _m(*here, field, *more[:1])
        case ("securityContext", *_) | ("containers", int(), "securityContext", *_):
            return _m("serving", "securityContext")
    return _m(*here)


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
                pod = get_path(obj, ("spec", "template", "spec"))
                return _pod(tuple(rest), spec, project, is_canary, pod)
    return _m("serving")


def _pod(rest: JsonPath, spec: Model, project: Project, is_canary: bool, pod: Any = None) -> SpecSource:
    serving = spec.serving
    if serving is not None:
        match rest:
            case ("containers", int(c), *more):
                container = get_path(pod, ("containers", c))
                found = _contents(container, tuple(more), ("serving",), serving.env, serving.volumes)
                if found is not None:
                    return found
                match more:
                    case ("args", int(i), *_) if i >= _SERVER_ARGS:
                        return _m("serving", "args", i - _SERVER_ARGS)
            case ("volumes", int(i), *_):
                found = _volume(get_path(pod, ("volumes", i, "name")), ("serving",), serving.volumes)
                if found is not None:
                    return found
    match rest:
        case ("serviceAccountName", *_):
            return _m("serving", "serviceAccount")
        case (str(field), *_) if field in _PLACEMENT:
            return _serving_placement(field, spec)
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
        case ("spec", "onExit", *_):
            return _m("training", "onExit")
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
                argument = get_path(obj, ("spec", "templates", index, "dag", "tasks", task, *more[:3], "name"))
                return _task(tuple(more), step, training.steps[step], argument)
        return _m("training", "steps")
    if isinstance(name, str) and name.endswith(LOOP_SUFFIX):
        loop_step = _step_index(spec, name[: -len(LOOP_SUFFIX)])
        if loop_step is not None:
            here = ("training", "steps", loop_step)
            match rest:
                case ("parallelism", *_):
                    return _m(*here, "parallelism")
                case ("outputs", *_):
                    return _m(*here, "params")
                case ("inputs", "artifacts", *_) | ("dag", "tasks", int(), "arguments", "artifacts", *_):
                    return _m(*here, "inputs")
            return _m(*here, "forEach")
    if training.onExit is not None and name == training.onExit.name:
        template = get_path(obj, ("spec", "templates", index))
        return _step(rest, ("training", "onExit"), training.onExit, training.nodeClass, template)
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
    template = get_path(obj, ("spec", "templates", index))
    return _step(rest, ("training", "steps", step_index), training.steps[step_index], training.nodeClass, template)


def _task(more: JsonPath, step_index: int, step: Step, argument: Any) -> SpecSource:
    """A field of a step's DAG task."""
    here = ("training", "steps", step_index)
    match more:
        case ("depends", *_):
            return _m(*here, "after")
        case ("when", *_):
            return _m(*here, "when")
        case ("withItems", *_) | ("withParam", *_):
            return _m(*here, "forEach")
        case ("template", *_) if step.parallelism is not None:
            return _m(*here, "parallelism")
        case ("arguments", "parameters", *_):
            if isinstance(argument, str) and argument in step.paramInputs:
                return _m(*here, "paramInputs")
            return _m(*here, "forEach")
        case ("arguments", *_):
            return _m(*here, "inputs")
    return _m(*here)


def _step_env(name: Any, here: JsonPath, step: Step) -> SpecSource | None:
    """The spec field behind an environment variable forEach, params or onExit give a step (else None)."""
    if not isinstance(name, str) or name in step.env:
        return None
    if name.startswith("MLGITOPS_ITEM"):
        return _m(*here, "forEach")
    if name.startswith("MLGITOPS_PARAM_"):
        return _m(*here, "paramInputs")
    if name == "MLGITOPS_PARAMS_DIR":
        return _m(*here, "params")
    if name == "MLGITOPS_WORKFLOW_STATUS":
        return _m(*here)
    return None


def _step(rest: JsonPath, here: JsonPath, step: Step, training_node_class: str | None, template: Any) -> SpecSource:
    node_class: JsonPath | None = None
    if step.nodeClass is not None:
        node_class = (*here, "nodeClass")
    elif training_node_class is not None:
        node_class = ("training", "nodeClass")
    match rest:
        case ("memoize", *_):
            return _m(*here, "cache")
        case ("inputs", "parameters", *_):
            return _m(*here, "paramInputs") if step.paramInputs and step.forEach is None else _m(*here, "forEach")
        case ("outputs", "parameters", int(k), *_) if k >= len(step.metrics):
            return _m(*here, "params")
        case ("retryStrategy", *_) if step.retry is not None:
            return _m(*here, "retry")
        case (str(field), *_) if field in _PLACEMENT:
            return _placement(field, step.gpu, (*here, "gpu"), node_class)
        case ("container", "env", int(k), *_):
            found = _step_env(get_path(template, ("container", "env", k, "name")), here, step)
            if found is not None:
                return found
    match rest:
        case ("container", *more):
            container = get_path(template, ("container",))
            found = _contents(container, tuple(more), here, step.env, step.volumes)
            if found is not None:
                return found
        case ("volumes", int(v), *_):
            found = _volume(get_path(template, ("volumes", v, "name")), here, step.volumes)
            if found is not None:
                return found
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
    if key == RUN_ID_ANNOTATION:
        return _m("model", "runId")
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
