"""InferenceGraphs back to the graph file (`graphs/<name>.yaml`).

The object is rendered by render/graph.py: a field added there needs its entry here, or its findings point
at the graph's first line.
"""

from __future__ import annotations

from typing import Any

from mlgitops.language.graph import Graph
from mlgitops.util.kubenames import DEPLOYMENT_MODE_ANNOTATION, OWNER_ANNOTATION
from mlgitops.util.yamlio import JsonPath


def graph_source(obj: dict[str, Any], path: JsonPath, spec: Graph) -> JsonPath:
    """The path of the graph spec that produced `path` of the rendered InferenceGraph `obj`."""
    match path:
        case ("metadata", "labels", str(key), *_) if key in spec.metadata.labels:
            return ("metadata", "labels", key)
        case ("metadata", "annotations", str(key), *_):
            if key in spec.metadata.annotations:
                return ("metadata", "annotations", key)
            if key == DEPLOYMENT_MODE_ANNOTATION:
                return ("mode",)
            if key == OWNER_ANNOTATION:
                return ("metadata", "owner")
            return ("metadata",)
        case ("metadata", "name", *_):
            return ("metadata", "name")
        case ("metadata", *_):
            return ("metadata",)
        case ("spec", "nodes", str(node), "steps", int(i), str(field), *_) if node in spec.nodes:
            steps = spec.nodes[node].steps
            if field == "serviceName" and i < len(steps) and steps[i].model is not None:
                return ("nodes", node, "steps", i, "model")
            return ("nodes", node, "steps", i, field)
        case ("spec", "nodes", str(node), *rest) if node in spec.nodes:
            return ("nodes", node, *[part for part in rest[:2] if isinstance(part, str | int)])
        case ("spec", "minReplicas", *_):
            return ("replicas", "min")
        case ("spec", "maxReplicas", *_):
            return ("replicas", "max") if spec.replicas is not None and spec.replicas.max else ("replicas",)
        case ("spec", "resources", *rest):
            return ("resources", *[part for part in rest[:2] if isinstance(part, str)])
        case ("spec", "timeout", *_):
            return ("timeout",)
    return ()
