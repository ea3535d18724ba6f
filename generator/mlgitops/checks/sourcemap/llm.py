"""LLMInferenceServices back to the spec (`engine: llm`).

The object is rendered by render/llm.py: a field added there needs its entry here, or its findings point
at the model's `serving` block.
"""

from __future__ import annotations

from typing import Any

from mlgitops.checks.sourcemap.common import SpecSource, container_contents, model_at, serving_resources, volume_source
from mlgitops.checks.sourcemap.serving import placement_source
from mlgitops.language.model import Model
from mlgitops.language.probes import PROBE_FIELDS
from mlgitops.util.jsonpointer import get_path
from mlgitops.util.kubenames import PLACEMENT_FIELDS
from mlgitops.util.yamlio import JsonPath


def llm_inference_service_source(obj: dict[str, Any], path: JsonPath, spec: Model) -> SpecSource:
    serving = spec.serving
    match path:
        case ("spec", "model", "uri", *_):
            return model_at("model", "storageUri")
        case ("spec", "model", "name", *_):
            return model_at("metadata", "name")
        case ("spec", "model", *_):
            return model_at("model")
        case ("spec", "replicas", *_):
            return model_at("serving", "replicas", "min")
        case ("spec", "parallelism", "tensor", *_):
            return model_at("serving", "workers", "tensorParallelSize")
        case ("spec", "parallelism", "pipeline", *_):
            return model_at("serving", "workers", "pipelineParallelSize")
        case ("spec", "parallelism", *_):
            return model_at("serving", "workers")
        case ("spec", "router", ("route" | "gateway"), *_):
            return model_at("serving", "router", "gateway")
        case ("spec", "router", "scheduler", *_):
            return model_at("serving", "router", "scheduler")
        case ("spec", "router", *_):
            return model_at("serving", "router")
        case ("spec", "template", *rest) if serving is not None:
            return _template(tuple(rest), spec, get_path(obj, ("spec", "template")))
    return model_at("serving") if serving is not None else model_at()


def _template(rest: JsonPath, spec: Model, template: Any) -> SpecSource:
    serving = spec.serving
    assert serving is not None
    match rest:
        case ("containers", int(c), *more):
            container = get_path(template, ("containers", c))
            found = container_contents(container, tuple(more), ("serving",), serving.env, serving.volumes)
            if found is not None:
                return found
            match more:
                case ("image", *_):
                    return model_at("serving", "image")
                case ("args", int(i), *_):
                    return model_at("serving", "args", i)
                case (("readinessProbe" | "livenessProbe" | "startupProbe") as field, *tail):
                    kind = {v: k for k, v in PROBE_FIELDS.items()}[field]
                    return model_at("serving", "probes", kind, *tail[:1])
                case ("resources", *tail):
                    return serving_resources(tuple(tail), spec)
                case ("securityContext", *_):
                    return model_at("serving", "securityContext")
                case ("volumeMounts", *_):
                    return model_at("serving", "sharedMemory") if serving.gpu.count else model_at("serving")
        case ("volumes", int(i), *_):
            found = volume_source(get_path(template, ("volumes", i, "name")), ("serving",), serving.volumes)
            if found is not None:
                return found
            return model_at("serving", "sharedMemory") if serving.gpu.count else model_at("serving")
        case ("serviceAccountName", *_):
            return model_at("serving", "serviceAccount")
        case ("securityContext", *_):
            return model_at("serving", "securityContext")
        case (str(field), *_) if field in PLACEMENT_FIELDS:
            node_class: JsonPath | None = ("serving", "nodeClass") if serving.nodeClass else None
            return placement_source(field, serving.gpu, ("serving", "gpu"), node_class)
    return model_at("serving")
