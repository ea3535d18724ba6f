"""Pieces every rendered object shares: labels, annotations, GPU placement, resources."""

from __future__ import annotations

from mlgitops.language.node_classes import gpu_class_of, placement
from mlgitops.language.project import Project
from mlgitops.language.resolve import ResolvedModel
from mlgitops.language.serving import Gpu, Resources
from mlgitops.render.lineage import lineage_annotations
from mlgitops.util.kubenames import (
    FLUX_SUBSTITUTE_ANNOTATION,
    MANAGED_BY,
    OWNER_ANNOTATION,
    REGISTRY_ANNOTATION,
    SOURCE_ANNOTATION,
    Obj,
)


def standard_labels(model: ResolvedModel, project: Project, component: str) -> dict[str, str]:
    """The model's own labels, then the app.kubernetes.io set (which wins on a clash)."""
    labels = {key: model.spec.metadata.labels[key] for key in sorted(model.spec.metadata.labels)}
    labels.update(
        {
            "app.kubernetes.io/name": model.name,
            "app.kubernetes.io/version": model.spec.model.version,
            "app.kubernetes.io/component": component,
            "app.kubernetes.io/part-of": project.metadata.name,
            "app.kubernetes.io/managed-by": MANAGED_BY,
        }
    )
    return labels


def selector_labels(model: ResolvedModel, component: str) -> dict[str, str]:
    """Labels that never change over a model's life (selectors are immutable)."""
    return {"app.kubernetes.io/name": model.name, "app.kubernetes.io/component": component}


def standard_annotations(model: ResolvedModel, extra: dict[str, str] | None = None) -> dict[str, str]:
    spec = model.spec
    annotations = {key: spec.metadata.annotations[key] for key in sorted(spec.metadata.annotations)}
    if extra:
        annotations.update(extra)
    if spec.metadata.owner:
        annotations[OWNER_ANNOTATION] = spec.metadata.owner
    if spec.model.registry:
        annotations[REGISTRY_ANNOTATION] = spec.model.registry
    annotations.update(lineage_annotations(spec))
    annotations[SOURCE_ANNOTATION] = model.file.path
    return annotations


def workflow_annotations(model: ResolvedModel, project: Project) -> dict[str, str]:
    """Annotations of Argo Workflows objects: the standard ones, plus Flux's opt-out when it substitutes."""
    extra = {FLUX_SUBSTITUTE_ANNOTATION: "disabled"} if project.flux.substitution else None
    return standard_annotations(model, extra)


def metadata(name: str, labels: dict[str, str], annotations: dict[str, str]) -> Obj:
    return {"name": name, "labels": labels, "annotations": annotations}


def gpu_placement(project: Project, gpu: Gpu | None, node_class: str | None = None) -> tuple[dict[str, str], Obj]:
    """(extra resource limits, pod placement fields) for a GPU request and a node class (node_classes.py)."""
    classes = node_class_placement(project, gpu, node_class)
    if gpu is None or gpu.count == 0:
        return {}, classes
    gpu_class = project.gpuClasses.get(gpu.class_) if gpu.class_ else None
    resource = gpu_class.resource if gpu_class else "nvidia.com/gpu"
    return {resource: str(gpu.count)}, classes


def node_class_placement(project: Project, gpu: Gpu | None, node_class: str | None) -> Obj:
    """Placement fields only: the GPU class's (when GPUs are requested) merged with the node class's."""
    return placement(gpu_class_of(project, gpu), project.nodeClasses.get(node_class) if node_class else None)


def resources(spec: Resources | None, gpu_limits: dict[str, str]) -> Obj:
    """A container `resources` block; GPUs go into limits (and requests, when requests are set)."""
    requests = dict(spec.requests) if spec else {}
    limits = dict(spec.limits) if spec else {}
    limits.update(gpu_limits)
    out: Obj = {}
    if requests:
        out["requests"] = requests
    if limits:
        out["limits"] = limits
    return out
