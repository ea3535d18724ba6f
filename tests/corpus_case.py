"""One configuration of the corpus (tests/language/test_corpus.py): where it lives upstream, how well a spec
expresses it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Obj = dict[str, Any]
Objects = dict[str, Obj]  # the rendered objects of one model, by kind
# exact, approximate: reachable. newer-upstream: the target upstream (KServe v0.20's CRD) has no such field, so
# no spec for it can run there; out-of-reach: the target runs it and mlgitops cannot express it.
Status = Literal["exact", "approximate", "newer-upstream", "out-of-reach"]


@dataclass(frozen=True)
class Case:
    """`spec`: the model file below `metadata.name` (the name is `name`) or, for a graph case (`models` given),
    the graph file below it, with `models` the model files (name, body) its steps reach; `check` asserts, field by
    field, what the upstream example exists to show. `loss`: what an approximate case does not reproduce, or
    what an out-of-reach case lacks. `replaced_by`: the first-class fields (issue 16) that now express what
    the case once reached through `patches`. `first_class`: the field the spec still lacks, which would
    replace the `patches` a case uses today or make an out-of-reach case expressible."""

    name: str
    repo: str
    path: str
    status: Status
    spec: str
    check: Callable[[Objects], None] | None = None
    loss: str = ""
    first_class: str = ""
    replaced_by: str = ""
    models: tuple[tuple[str, str], ...] = ()
    cluster_features: str = ""  # a line added to clusterFeatures of the corpus' mlgitops.yaml
    templates: tuple[tuple[str, str], ...] = ()
    newer_field: str = ""  # newer-upstream: the JSON pointer of the field the target CRD lacks


def predictor(objs: Objects) -> Obj:
    result: Obj = objs["InferenceService"]["spec"]["predictor"]
    return result


def model(objs: Objects) -> Obj:
    result: Obj = predictor(objs)["model"]
    return result


def protocol(objs: Objects) -> str:
    """An unset protocol is v1 (kserve pkg/apis/serving/v1beta1/predictor_sklearn.go Default: ProtocolV1)."""
    return str(model(objs).get("protocolVersion", "v1"))


def llm(objs: Objects) -> Obj:
    result: Obj = objs["LLMInferenceService"]["spec"]
    return result


def main_container(objs: Objects) -> Obj:
    [container] = llm(objs)["template"]["containers"]
    assert container["name"] == "main"
    result: Obj = container
    return result


def graph_nodes(objs: Objects) -> Obj:
    result: Obj = objs["InferenceGraph"]["spec"]["nodes"]
    return result


def template(objs: Objects, name: str) -> Obj:
    spec = objs["WorkflowTemplate"]["spec"]
    found: Obj = next(t for t in spec["templates"] if t["name"] == name)
    return found


def task(objs: Objects, name: str) -> Obj:
    tasks = template(objs, "pipeline")["dag"]["tasks"]
    found: Obj = next(t for t in tasks if t["name"] == name)
    return found


def env_value(container: Obj, name: str) -> Any:
    return next((e.get("value") for e in container.get("env", []) if e["name"] == name), None)
