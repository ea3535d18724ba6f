"""`graphs/<name>.yaml`: an inference graph over the project's models (a KServe InferenceGraph).

The nodes are written in KServe's InferenceGraph shape (kserve pkg/apis/serving/v1alpha1/inference_graph.go:
`nodes` by name, each a `routerType` and its `steps`), except that a step may name a model of the project,
`model: NAME`, which renders as that model's InferenceService in the same environment. Checks a schema
cannot express (the root node, one target per step, splitter weights, the models each environment has)
are in graph_resolve.py. Rendered by render/graph.py; source map: checks/sourcemap/graph.py.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from mlgitops.language.fields import (
    AnnotationMap,
    CredentialFreeUri,
    DnsSubdomain,
    Int32,
    Int64,
    ModelName,
    ObjectLabelMap,
    Strict,
    Text,
)
from mlgitops.language.serving import Replicas, Resources

GRAPH_KIND = "Graph"
# Keys an environment patch of a graph may set (besides `enabled`).
PATCHABLE_GRAPH_KEYS = ("metadata", "mode", "nodes", "replicas", "resources", "timeout")
ROOT_NODE = "root"  # kserve v1alpha1 GraphRootNodeName: where every request enters


class GraphMetadata(Strict):
    name: ModelName = Field(description="graph name; the file is graphs/<name>.yaml (for example fraud-pipeline)")
    owner: str | None = Field(
        default=None, description="owning team or person, rendered as an annotation (for example team-risk)"
    )
    labels: ObjectLabelMap = Field(
        default_factory=dict, description="labels added to the InferenceGraph (for example {tier: critical})"
    )
    annotations: AnnotationMap = Field(
        default_factory=dict, description="annotations added to the InferenceGraph (for example {docs: https://...})"
    )


class GraphStep(Strict):
    """One routing target of a node: a model of the project, another node, or a service outside the project."""

    name: Text | None = Field(
        default=None, description="step name, unique in its node (for example classify)", min_length=1
    )
    model: ModelName | None = Field(
        default=None,
        description="a model of the project (models/<name>.yaml), reached as its InferenceService in the same "
        "environment (for example fraud-detector); it must serve with engine: kserve there",
    )
    nodeName: Text | None = Field(default=None, min_length=1, description="another node of the graph (for example "
                                  "ensemble)")  # fmt: skip
    serviceName: DnsSubdomain | None = Field(
        default=None, description="an InferenceService outside the project, by name (for example shared-embedder)"
    )
    serviceUrl: CredentialFreeUri | None = Field(
        default=None, description="a URL outside the project (for example http://ranker.ml-shared/v1/models/r:predict)"
    )
    data: Text | None = Field(
        default=None,
        description="what the step receives: $request (the graph's request) or $response (the previous step's "
        "response); default $request",
    )
    condition: Text | None = Field(
        default=None,
        description="a GJSON condition on the data; the step runs only when it matches (for example "
        "'[@this].#(predictions.0==\"dog\")')",
    )
    dependency: Literal["Soft", "Hard"] | None = Field(
        default=None, description="Hard: the step's failure fails the request; Soft (KServe's default): it does not"
    )
    weight: Int32 | None = Field(
        default=None, ge=0, le=100, description="share of requests, with routerType Splitter (weights sum to 100)"
    )


class GraphNode(Strict):
    routerType: Literal["Sequence", "Splitter", "Ensemble", "Switch"] = Field(
        description="Sequence: steps one after another; Splitter: one step by weight; Ensemble: every step, "
        "results merged; Switch: the first step whose condition matches"
    )
    steps: list[GraphStep] = Field(
        default_factory=list,
        description="routing targets (for example [{model: preprocess}, {model: classify, data: $response}])",
    )


class Graph(Strict):
    apiVersion: Literal["mlgitops.io/v1alpha1"] = Field(description="spec version; always mlgitops.io/v1alpha1")
    kind: Literal["Graph"] = Field(description="file kind; Graph for graphs/<name>.yaml")
    metadata: GraphMetadata = Field(description="graph name, owner, labels (for example {name: fraud-pipeline})")
    mode: Literal["Standard", "Knative"] = Field(
        default="Standard",
        description="KServe deployment mode of the graph's router: Standard (a Deployment) or Knative; default "
        "Standard",
    )
    nodes: dict[Text, GraphNode] = Field(
        min_length=1,
        description="routing nodes by name; requests enter at `root` (for example {root: {routerType: Sequence, "
        "steps: [{model: a}, {model: b}]}})",
    )
    replicas: Replicas | None = Field(
        default=None, description="router replica bounds (for example {min: 2, max: 4}); default: KServe's"
    )
    resources: Resources | None = Field(
        default=None, description="router requests and limits (for example {requests: {cpu: 100m}}); default: KServe's"
    )
    timeout: Int64 | None = Field(
        default=None, ge=1, description="seconds a request through the graph may take (for example 60)"
    )
    environments: dict[str, dict[str, Any] | None] = Field(
        default_factory=dict,
        description="JSON Merge Patch of this graph per environment, or {enabled: false} (for example {dev: "
        "{enabled: false}})",
    )
