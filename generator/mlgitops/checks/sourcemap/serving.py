"""Serving objects back to the spec: KServe InferenceServices and the Deployment engine's objects.

The objects are rendered by render/kserve.py (with render/kserve_components.py) and render/deployment.py:
a field added there needs its entry here, or its findings point at the model's first line.
"""

from __future__ import annotations

from typing import Any

from mlgitops.checks.sourcemap.common import (
    SERVER_ARGS,
    SpecSource,
    container_contents,
    model_at,
    project_at,
    serving_resources,
    volume_source,
)
from mlgitops.language.model import Model
from mlgitops.language.probes import PROBE_FIELDS
from mlgitops.language.project import Project
from mlgitops.language.serving import Gpu
from mlgitops.render.kserve_components import TRANSFORMER_CONTAINER
from mlgitops.util.jsonpointer import get_path
from mlgitops.util.kubenames import CANARY_ANNOTATION, PLACEMENT_FIELDS, STORAGE_URI_ENV, VERSION_LABEL
from mlgitops.util.yamlio import JsonPath

# --- engine: kserve ------------------------------------------------------------------------------


def inference_service_source(obj: dict[str, Any], path: JsonPath, spec: Model) -> SpecSource:
    serving = spec.serving
    knative_canary = get_path(obj, ("spec", "predictor", "canaryTrafficPercent")) is not None
    match path:
        case ("spec", "predictor", *rest):
            predictor = get_path(obj, ("spec", "predictor"))
            return _predictor(tuple(rest), spec, canary=knative_canary, predictor=predictor)
        case ("spec", "transformer", *rest):
            return _transformer(obj, tuple(rest))
        case ("spec", "explainer", *rest):
            return _explainer(obj, tuple(rest))
        case ("spec", "canary", int(), "trafficPercent", *_):
            return model_at("serving", "canary", "trafficPercent")
        case ("spec", "canary", int(), "predictor", "name", *_):
            return model_at("serving", "canary", "version")
        case ("spec", "canary", int(index), "predictor", *rest):
            predictor = get_path(obj, ("spec", "canary", index, "predictor"))
            return _predictor(tuple(rest), spec, canary=True, predictor=predictor)
        case ("spec", "canary", *_):
            return model_at("serving", "canary")
    return model_at("serving") if serving is not None else model_at()


def placement_source(field: str, gpu: Gpu | None, gpu_path: JsonPath, node_class: JsonPath | None) -> SpecSource:
    """A placement field: from the node class (affinity always; the rest when no GPU class places the pod),
    else from the GPU class (node_classes.py merges the two)."""
    gpu_class = gpu is not None and gpu.count > 0 and gpu.class_ is not None
    if node_class is not None and (field == "affinity" or not gpu_class):
        return model_at(*node_class)
    return model_at(*gpu_path, "class")


def _serving_placement(field: str, spec: Model) -> SpecSource:
    serving = spec.serving
    node_class: JsonPath | None = ("serving", "nodeClass") if serving and serving.nodeClass else None
    return placement_source(field, serving.gpu if serving else None, ("serving", "gpu"), node_class)


def _ports_and_probes(tail: JsonPath, spec: Model, own_ports: int = 0) -> SpecSource | None:
    """A model container's `ports` (after the `own_ports` mlgitops declares first) and probes."""
    serving = spec.serving
    assert serving is not None
    match tail:
        case ("ports", int(i), *more) if own_ports <= i < own_ports + len(serving.ports):
            return model_at("serving", "ports", i - own_ports, *more[:1])
        case ("ports", *_):  # a port mlgitops declares itself: serving.ports would replace or add to it
            return model_at("serving", "ports")
        case (("readinessProbe" | "livenessProbe" | "startupProbe") as field, *more) if serving.probes is not None:
            kind = {v: k for k, v in PROBE_FIELDS.items()}[field]
            if getattr(serving.probes, kind) is not None:
                return model_at("serving", "probes", kind, *more)
    return None


def _predictor(rest: JsonPath, spec: Model, *, canary: bool, predictor: Any = None) -> SpecSource:
    serving = spec.serving
    if serving is not None:
        match rest:
            case ("containers", int(i), *more) if get_path(predictor, ("containers", i, "name")) == (
                TRANSFORMER_CONTAINER
            ):
                return _transformer_container(tuple(more), get_path(predictor, ("containers", i)), collocated=True)
            case ("model" | "containers", *more):
                container = get_path(predictor, tuple(rest[:2] if rest[0] == "containers" else rest[:1]))
                tail = tuple(more[1:]) if rest[0] == "containers" else tuple(more)
                found = container_contents(container, tail, ("serving",), serving.env, serving.volumes)
                found = found or _ports_and_probes(tail, spec)
                if found is not None:
                    return found
                match tail:
                    case ("storage", *storage):
                        return model_at("model", "storage", *storage[:1])
                    case ("env", int(i), *_) if get_path(container, ("env", i, "name")) == STORAGE_URI_ENV:
                        return model_at(*(("serving", "canary") if canary else ("model",)), "storageUri")
                    case ("env", *_):
                        return model_at("serving", "protocol")
                    case ("args", int(i), *_):
                        return model_at("serving", "args", i)
                    case ("runtimeVersion", *_):
                        return model_at("serving", "runtimeVersion")
                    case ("image", *_):
                        return model_at("serving", "image")
            case ("volumes", int(i), *_):
                found = volume_source(get_path(predictor, ("volumes", i, "name")), ("serving",), serving.volumes)
                if found is not None:
                    return found
            case (("timeout" | "containerConcurrency" | "logger" | "batcher") as component_field, *more):
                return model_at("serving", component_field, *more[:1])
            case ("autoScaling", *more):
                return _autoscaling(("serving",), tuple(more))
            case ("workerSpec", *more):
                return _worker_spec(tuple(more), spec)
    match rest:
        case ("minReplicas", *_):
            return model_at("serving", "replicas", "min")
        case ("maxReplicas", *_):
            return model_at("serving", "replicas", "max")
        case ("scaleMetric", *_):
            return model_at("serving", "autoscaling", "metric")
        case ("scaleTarget", *_):
            return model_at("serving", "autoscaling", "target")
        case ("serviceAccountName", *_):
            return model_at("serving", "serviceAccount")
        case ("canaryTrafficPercent", *_):
            return model_at("serving", "canary", "trafficPercent")
        case (str(field), *_) if field in PLACEMENT_FIELDS:
            return _serving_placement(field, spec)
        case ("model", "modelFormat", "version", *_):
            return model_at("model", "formatVersion")
        case ("model", "modelFormat", *_):
            return model_at("model", "format")
        case ("model", "runtime", *_):
            return model_at("serving", "runtime")
        case ("model", "protocolVersion", *_):
            return model_at("serving", "protocol")
        case ("model", "storageUri", *_):
            return model_at("serving", "canary", "storageUri") if canary else model_at("model", "storageUri")
        case ("model", "resources", *more):
            return serving_resources(tuple(more), spec)
        case ("securityContext", *_) | ("model", "securityContext", *_):
            return model_at("serving", "securityContext")
    return model_at("serving")


def _worker_spec(rest: JsonPath, spec: Model) -> SpecSource:
    """predictor.workerSpec (render/kserve.py `_worker_spec`): sizes from serving.workers, the rest from the
    serving fields the head pod has too."""
    match rest:
        case (("tensorParallelSize" | "pipelineParallelSize") as field, *_):
            return model_at("serving", "workers", field)
        case ("containers", int(), "resources", *more):
            return serving_resources(tuple(more), spec)
        case ("securityContext", *_) | ("containers", int(), "securityContext", *_):
            return model_at("serving", "securityContext")
        case ("serviceAccountName", *_):
            return model_at("serving", "serviceAccount")
        case (str(field), *_) if field in PLACEMENT_FIELDS:
            return _serving_placement(field, spec)
    return model_at("serving", "workers")


def _container_fields(here: JsonPath, container: Any, tail: JsonPath) -> SpecSource | None:
    """A transformer's or explainer's container (render/kserve_components.py) back to its spec block."""
    match tail:
        case ("env", int(i), *_):
            name = get_path(container, ("env", i, "name"))
            return model_at(*here, "env", name) if isinstance(name, str) else model_at(*here, "env")
        case (("image" | "command" | "args" | "resources") as field, *more):
            return model_at(*here, field, *more[:1])
        case ("securityContext", *_):
            return model_at("serving", "securityContext")
    return None


def _transformer_container(tail: JsonPath, container: Any, *, collocated: bool) -> SpecSource:
    here = ("serving", "transformer")
    found = _container_fields(here, container, tail)
    if found is not None:
        return found
    match tail:
        case (("readinessProbe" | "livenessProbe" | "startupProbe") as field, *more):
            return model_at(*here, "probes", {v: k for k, v in PROBE_FIELDS.items()}[field], *more)
        case ("ports", *_) if collocated:
            return model_at(*here, "collocated")
    return model_at(*here)


def _transformer(obj: dict[str, Any], rest: JsonPath) -> SpecSource:
    here = ("serving", "transformer")
    match rest:
        case ("containers", int(c), *tail):
            container = get_path(obj, ("spec", "transformer", "containers", c))
            return _transformer_container(tuple(tail), container, collocated=False)
        case ("securityContext", *_):
            return model_at("serving", "securityContext")
        case ("minReplicas", *_):
            return model_at(*here, "replicas", "min")
        case ("maxReplicas", *_):
            return model_at(*here, "replicas", "max")
        case ("scaleMetric", *_):
            return model_at(*here, "autoscaling", "metric")
        case ("scaleTarget", *_):
            return model_at(*here, "autoscaling", "target")
        case ("autoScaling", *more):
            return _autoscaling(here, tuple(more))
        case (str(field), *_) if field in PLACEMENT_FIELDS:
            return model_at(*here, "nodeClass")
    return model_at(*here)


def _autoscaling(here: JsonPath, rest: JsonPath) -> SpecSource:
    """A component's autoScaling (render/kserve_components.py `keda_autoscaling`): the TriggerAuthentication
    reference comes from `autoscaling.authentication`, the rest from the autoscaling block."""
    match rest:
        case ("metrics", int(), "external", "authenticationRef", "authModes", *_):
            return model_at(*here, "autoscaling", "authentication", "modes")
        case ("metrics", int(), "external", "authenticationRef", *_):
            return model_at(*here, "autoscaling", "authentication", "name")
    return model_at(*here, "autoscaling")


def _explainer(obj: dict[str, Any], rest: JsonPath) -> SpecSource:
    here = ("serving", "explainer")
    match rest:
        case ("containers", int(c), *tail):
            found = _container_fields(here, get_path(obj, ("spec", "explainer", "containers", c)), tuple(tail))
            if found is not None:
                return found
        case ("securityContext", *_):
            return model_at("serving", "securityContext")
    return model_at(*here)


# --- engine: deployment --------------------------------------------------------------------------


def deployment_engine_source(obj: dict[str, Any], path: JsonPath, spec: Model, project: Project) -> SpecSource:
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
                return model_at("serving", "canary", "trafficPercent")
            case ("spec", "minReplicas", *_):
                return model_at("serving", "replicas", "min")
            case ("spec", "maxReplicas", *_):
                return model_at("serving", "replicas", "max")
            case ("spec", "metrics", int(), "resource", "name", *_):
                return model_at("serving", "autoscaling", "metric")
            case ("spec", "metrics", int(), "resource", "target", *_):
                return model_at("serving", "autoscaling", "target")
        return model_at("serving", "autoscaling") if spec.serving and spec.serving.autoscaling else model_at("serving")
    if kind == "Deployment":
        match path:
            case ("spec", "replicas", *_) if is_canary:
                return model_at("serving", "canary", "trafficPercent")
            case ("spec", "template", "metadata", "labels", str(label), *_) if label == VERSION_LABEL:
                return model_at("serving", "canary", "version") if is_canary else model_at("model", "version")
            case ("spec", "template", "spec", *rest):
                pod = get_path(obj, ("spec", "template", "spec"))
                return _pod(tuple(rest), spec, project, is_canary, pod)
    return model_at("serving")


def _pod(rest: JsonPath, spec: Model, project: Project, is_canary: bool, pod: Any = None) -> SpecSource:
    serving = spec.serving
    if serving is not None:
        match rest:
            case ("containers", int(c), *more):
                container = get_path(pod, ("containers", c))
                found = container_contents(container, tuple(more), ("serving",), serving.env, serving.volumes)
                found = found or _ports_and_probes(tuple(more), spec, own_ports=1)  # `http` 8080 first
                if found is not None:
                    return found
                match more:
                    case ("args", int(i), *_) if i >= SERVER_ARGS:
                        return model_at("serving", "args", i - SERVER_ARGS)
            case ("volumes", int(i), *_):
                found = volume_source(get_path(pod, ("volumes", i, "name")), ("serving",), serving.volumes)
                if found is not None:
                    return found
    match rest:
        case ("serviceAccountName", *_):
            return model_at("serving", "serviceAccount")
        case (str(field), *_) if field in PLACEMENT_FIELDS:
            return _serving_placement(field, spec)
        case ("initContainers", int(), "image", *_):
            return project_at("images", "storageInitializer")
        case ("initContainers", int(), "args", 0, *_):
            return model_at("serving", "canary", "storageUri") if is_canary else model_at("model", "storageUri")
        case ("containers", int(), "image", *_):
            if serving is not None and serving.image:
                return model_at("serving", "image")
            if spec.model.format in project.images.servers:
                return project_at("images", "servers", spec.model.format)
            return model_at("model", "format")
        case ("containers", int(), "resources", *more):
            return serving_resources(tuple(more), spec)
        case ("securityContext", *_) | ("containers", int(), "securityContext", *_):
            return model_at("serving", "securityContext")
    return model_at("serving")
