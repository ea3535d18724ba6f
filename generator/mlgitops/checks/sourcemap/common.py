"""What every part of the source map shares: a spec source, JSON Pointers, metadata, resources, lineage annotations."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlgitops.language.model import Model
from mlgitops.language.project import Project
from mlgitops.language.serving import Resources
from mlgitops.render.lineage import (
    DATASET_ANNOTATION_PREFIX,
    MODEL_VERSION_ANNOTATION,
    RUN_ID_ANNOTATION,
    TRAINING_IMAGE_ANNOTATION,
    parameter_stem,
)
from mlgitops.util.jsonpointer import get_path, is_array_index
from mlgitops.util.kubenames import CANARY_ANNOTATION, OWNER_ANNOTATION, REGISTRY_ANNOTATION, VERSION_LABEL
from mlgitops.util.yamlio import JsonPath

# The arguments render/deployment.py gives every model server before serving.args.
SERVER_ARGS = 3
DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
AUTOSCALER_CLASS = "serving.kserve.io/autoscalerClass"


def container_contents(
    container: Any, rest: JsonPath, block: JsonPath, env: dict[str, Any], volumes: list[Any]
) -> SpecSource | None:
    """`env`, `envFrom` and `volumeMounts` of a container rendered from `block` (render/containers.py), or
    None for a field of another origin (a variable or mount mlgitops adds itself)."""
    match rest:
        case ("env", int(i), *_):
            name = get_path(container, ("env", i, "name"))
            if isinstance(name, str) and name in env:
                return model_at(*block, "env", name)
            return None
        case ("envFrom", int(i), *_):
            return model_at(*block, "envFrom", i)
        case ("volumeMounts", int(i), *_):
            name = get_path(container, ("volumeMounts", i, "name"))
            return volume_source(name, block, volumes)
    return None


def volume_source(name: Any, block: JsonPath, volumes: list[Any]) -> SpecSource | None:
    for index, volume in enumerate(volumes):
        if volume.name == name:
            return model_at(*block, "volumes", index)
    return None


@dataclass(frozen=True)
class SpecSource:
    """A field of the model spec (resolved for one environment) or, `in_project`, of mlgitops.yaml."""

    path: JsonPath
    in_project: bool = False


def model_at(*path: str | int) -> SpecSource:
    return SpecSource(tuple(path))


def project_at(*path: str | int) -> SpecSource:
    return SpecSource(tuple(path), in_project=True)


def parse_pointer(obj: Any, pointer: str) -> JsonPath:
    """`/spec/templates/1/name` → ("spec", "templates", 1, "name"): indexes of lists become ints."""
    if not pointer or pointer == "/":
        return ()
    parts: list[str | int] = []
    node = obj
    for raw in pointer.lstrip("/").split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and is_array_index(token) and len(token) <= 18:
            index = int(token)
            parts.append(index)
            node = node[index] if index < len(node) else None
        else:
            parts.append(token)
            node = node.get(token) if isinstance(node, dict) else None
    return tuple(parts)


def metadata_source(obj: dict[str, Any], rest: JsonPath, spec: Model, project: Project, env: str | None) -> SpecSource:
    match rest:
        case ("name", *_):
            return model_at("metadata", "name")
        case ("namespace", *_) if env is not None:
            return project_at("environments", project.environment_names.index(env), "namespace")
        case ("labels", str(key), *_):
            if key == VERSION_LABEL:
                canary = spec.serving.canary if spec.serving else None
                if canary is not None and get_path(obj, ("metadata", "labels", key)) == canary.version:
                    return model_at("serving", "canary", "version")
                return model_at("model", "version")
            if key in spec.metadata.labels:
                return model_at("metadata", "labels", key)
            return model_at("metadata", "labels")
        case ("annotations", str(key), *_):
            known = {
                OWNER_ANNOTATION: ("metadata", "owner"),
                REGISTRY_ANNOTATION: ("model", "registry"),
                CANARY_ANNOTATION: ("serving", "canary", "version"),
                DEPLOYMENT_MODE: ("serving", "mode"),
                AUTOSCALER_CLASS: ("serving", "autoscaling", "metric"),
            }
            if key in spec.metadata.annotations:
                return model_at("metadata", "annotations", key)
            if key == AUTOSCALER_CLASS and spec.serving is not None and spec.serving.workers is not None:
                return model_at("serving", "workers")  # class none: render/kserve.py, multi-node
            if key in known:
                return model_at(*known[key])
            lineage = lineage_annotation_source(key, spec)
            if lineage is not None:
                return lineage
            return model_at("metadata", "annotations")
    return model_at("metadata")


def resources_source(rest: JsonPath, block: JsonPath, spec_resources: Resources | None, gpu: JsonPath) -> SpecSource:
    """`resources/limits/nvidia.com~1gpu` → the GPU count; other quantities → the resources block."""
    match rest:
        case (("requests" | "limits") as kind, str(name), *_):
            declared = getattr(spec_resources, kind, {}) if spec_resources is not None else {}
            if name in declared:
                return model_at(*block, kind, name)
            if name not in ("cpu", "memory", "ephemeral-storage"):
                return model_at(*gpu, "count")
            return model_at(*block, kind)
        case (("requests" | "limits") as kind, *_):
            return model_at(*block, kind)
    return model_at(*block)


def serving_resources(rest: JsonPath, spec: Model) -> SpecSource:
    declared = spec.serving.resources if spec.serving else None
    return resources_source(rest, ("serving", "resources"), declared, ("serving", "gpu"))


# --- lineage and monitoring ----------------------------------------------------------------------


def lineage_annotation_source(key: str, spec: Model) -> SpecSource | None:
    if key == MODEL_VERSION_ANNOTATION:
        return model_at("model", "version")
    if key == TRAINING_IMAGE_ANNOTATION:
        return model_at("training", "image")
    if key == RUN_ID_ANNOTATION:
        return model_at("model", "runId")
    if key.startswith(DATASET_ANNOTATION_PREFIX):
        for index, dataset in enumerate(spec.data):
            if DATASET_ANNOTATION_PREFIX + dataset.name == key:
                return model_at("data", index)
        return model_at("data")
    return None


def dataset_of_parameter(name: Any, spec: Model) -> SpecSource | None:
    for index, dataset in enumerate(spec.data):
        stem = parameter_stem(dataset)
        if name == f"{stem}_URI":
            return model_at("data", index, "uri")
        if name == f"{stem}_VERSION":
            return model_at("data", index, "version")
    return None
