"""`graphs/<name>.yaml` → one InferenceGraph (serving.kserve.io/v1alpha1, the version KServe v0.20's CRD
serves and stores).

The nodes are copied in KServe's shape; a step's `model: NAME` becomes `serviceName: NAME`, the model's
InferenceService in the same environment (graph_resolve.py made sure it exists there with engine: kserve).
The deployment mode is written explicitly, as for InferenceServices. The router pods are made by KServe's
graph controller (pkg/controller/v1alpha1/inferencegraph/raw_ig.go): the object has no pod template for
mlgitops to harden.

Source map (object path → spec line): checks/sourcemap/graph.py.
"""

from __future__ import annotations

from mlgitops.language.graph import GraphStep
from mlgitops.language.graph_resolve import ResolvedGraph
from mlgitops.language.project import Project
from mlgitops.render.common import metadata, resources
from mlgitops.util.kubenames import DEPLOYMENT_MODE_ANNOTATION, MANAGED_BY, OWNER_ANNOTATION, SOURCE_ANNOTATION, Obj

GRAPH_API_VERSION = "serving.kserve.io/v1alpha1"
GRAPH_KIND = "InferenceGraph"
GRAPH_COMPONENT = "graph"


def _step(step: GraphStep) -> Obj:
    out: Obj = {}
    if step.name is not None:
        out["name"] = step.name
    if step.model is not None:
        out["serviceName"] = step.model
    for field in ("nodeName", "serviceName", "serviceUrl", "data", "condition", "dependency", "weight"):
        value = getattr(step, field)
        if value is not None:
            out[field] = value
    return out


def render_inference_graph(graph: ResolvedGraph, project: Project) -> Obj:
    spec = graph.spec
    labels = {key: spec.metadata.labels[key] for key in sorted(spec.metadata.labels)}
    labels.update(
        {
            "app.kubernetes.io/name": graph.name,
            "app.kubernetes.io/component": GRAPH_COMPONENT,
            "app.kubernetes.io/part-of": project.metadata.name,
            "app.kubernetes.io/managed-by": MANAGED_BY,
        }
    )
    annotations = {key: spec.metadata.annotations[key] for key in sorted(spec.metadata.annotations)}
    annotations[DEPLOYMENT_MODE_ANNOTATION] = spec.mode
    if spec.metadata.owner:
        annotations[OWNER_ANNOTATION] = spec.metadata.owner
    annotations[SOURCE_ANNOTATION] = graph.file.path
    nodes = {
        name: {"routerType": node.routerType, **({"steps": [_step(s) for s in node.steps]} if node.steps else {})}
        for name, node in spec.nodes.items()
    }
    body: Obj = {"nodes": nodes}
    if spec.replicas is not None:
        body["minReplicas"] = spec.replicas.min
        body["maxReplicas"] = spec.replicas.upper
    router_resources = resources(spec.resources, {})
    if router_resources:
        body["resources"] = router_resources
    if spec.timeout is not None:
        body["timeout"] = spec.timeout
    return {
        "apiVersion": GRAPH_API_VERSION,
        "kind": GRAPH_KIND,
        "metadata": metadata(graph.name, labels, annotations),
        "spec": body,
    }
