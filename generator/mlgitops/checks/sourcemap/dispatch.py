"""From a rendered object and a path inside it to the spec field the value came from."""

from __future__ import annotations

from typing import Any

from mlgitops.checks.sourcemap.common import SpecSource, metadata_source, model_at
from mlgitops.checks.sourcemap.llm import llm_inference_service_source
from mlgitops.checks.sourcemap.monitoring import monitoring_source
from mlgitops.checks.sourcemap.serving import deployment_engine_source, inference_service_source
from mlgitops.checks.sourcemap.smoke import is_smoke_object, smoke_source
from mlgitops.checks.sourcemap.training import training_name_source, training_source
from mlgitops.language.model import Model
from mlgitops.language.project import Project
from mlgitops.render.patches import patched_op
from mlgitops.util.yamlio import JsonPath


def spec_source(obj: dict[str, Any], path: JsonPath, spec: Model, project: Project, env: str | None) -> SpecSource:
    """The spec field that produced `path` of `obj`, a rendered object of the model `spec` in `env`."""
    kind = obj.get("kind")
    if spec.patches:
        op = patched_op(spec.patches, obj, path)
        if op is not None:
            return SpecSource(op)
    if path[:1] == ("metadata",):
        named = training_name_source(path, spec) if kind in ("WorkflowTemplate", "CronWorkflow") else None
        return named if named is not None else metadata_source(obj, path[1:], spec, project, env)
    if kind == "InferenceService":
        return inference_service_source(obj, path, spec)
    if kind == "LLMInferenceService":
        return llm_inference_service_source(obj, path, spec)
    if kind in ("Deployment", "Service", "HorizontalPodAutoscaler"):
        return deployment_engine_source(obj, path, spec, project)
    if kind in ("WorkflowTemplate", "CronWorkflow"):
        return training_source(obj, path, spec)
    if is_smoke_object(obj):
        return smoke_source(obj, path)
    if kind in ("PodMonitor", "PrometheusRule") or (kind == "ConfigMap" and spec.monitoring is not None):
        return monitoring_source(obj, path, spec)
    return model_at()
