"""Pod placement from a GPU class and a node class together, and the checks on naming and combining them.

A node class (`nodeClasses` in mlgitops.yaml) places pods that need no GPU, or narrows where a GPU
pod runs. With both, the pod gets the union of the two `nodeSelector`s (the same key with two values
would match no node, so it is a positioned error), the GPU class's tolerations then the node class's
(duplicates once), and the node class's `affinity`. The rendered fields are the pod spec's own
(k8s.io/api core/v1 `PodSpec.nodeSelector`, `.tolerations`, `.affinity`), which InferenceService
components (kserve `pkg/apis/serving/v1beta1/podspec.go`, inline PodSpec), Deployments and Argo
templates (`Template.nodeSelector`, `.tolerations`, `.affinity` in argo-workflows
`pkg/apis/workflow/v1alpha1/workflow_types.go`) all carry.
"""

from __future__ import annotations

from mlgitops.language.model import Model
from mlgitops.language.project import GpuClass, NodeClass, Project
from mlgitops.language.serving import Gpu
from mlgitops.language.workspace import Locator
from mlgitops.util.errors import Problem, did_you_mean
from mlgitops.util.kubenames import Obj
from mlgitops.util.yamlio import JsonPath


def gpu_class_of(project: Project, gpu: Gpu | None) -> GpuClass | None:
    """The GPU class a GPU request places with (none without GPUs or without a known class)."""
    if gpu is None or gpu.count == 0 or not gpu.class_:
        return None
    return project.gpuClasses.get(gpu.class_)


def placement(gpu_class: GpuClass | None, node_class: NodeClass | None) -> Obj:
    """`nodeSelector`, `tolerations`, `affinity` of a pod placed by both classes (either may be None)."""
    selector: dict[str, str] = {}
    tolerations: list[Obj] = []
    for source in (gpu_class, node_class):
        if source is None:
            continue
        selector.update(source.nodeSelector)
        for toleration in source.tolerations:
            dumped = toleration.model_dump(exclude_none=True)
            if dumped not in tolerations:
                tolerations.append(dumped)
    out: Obj = {}
    if selector:
        out["nodeSelector"] = selector
    if tolerations:
        out["tolerations"] = tolerations
    if node_class is not None and node_class.affinity:
        out["affinity"] = {key: node_class.affinity[key] for key in sorted(node_class.affinity)}
    return out


def step_node_class(training_default: str | None, own: str | None) -> str | None:
    """A step's node class: its own, else training.nodeClass."""
    return own if own is not None else training_default


def _usages(spec: Model) -> list[tuple[JsonPath, str, Gpu | None]]:
    """(spec path of a nodeClass, its value, the GPU request beside it) for every place naming one."""
    found: list[tuple[JsonPath, str, Gpu | None]] = []
    if spec.serving is not None and spec.serving.nodeClass is not None:
        found.append((("serving", "nodeClass"), spec.serving.nodeClass, spec.serving.gpu))
    transformer = spec.serving.transformer if spec.serving is not None else None
    if transformer is not None and transformer.nodeClass is not None:
        found.append((("serving", "transformer", "nodeClass"), transformer.nodeClass, None))
    training = spec.training
    if training is None:
        return found
    steps = list(enumerate(training.steps))
    for i, step in steps:
        if step.nodeClass is not None:
            found.append((("training", "steps", i, "nodeClass"), step.nodeClass, step.gpu))
        elif training.nodeClass is not None:
            found.append((("training", "nodeClass"), training.nodeClass, step.gpu))
    if training.onExit is not None and training.onExit.nodeClass is not None:
        found.append((("training", "onExit", "nodeClass"), training.onExit.nodeClass, training.onExit.gpu))
    elif training.nodeClass is not None:
        found.append((("training", "nodeClass"), training.nodeClass, None))
    return found


def node_class_problems(spec: Model, project: Project, locate: Locator) -> list[Problem]:
    """Unknown node classes (with a did-you-mean), and a node class whose nodeSelector contradicts the
    GPU class beside it."""
    problems: list[Problem] = []
    known = sorted(project.nodeClasses)
    reported: set[JsonPath] = set()
    for path, name, gpu in _usages(spec):
        if path in reported:
            continue
        node_class = project.nodeClasses.get(name)
        if node_class is None:
            reported.add(path)
            listed = ", ".join(known) if known else "none are defined in mlgitops.yaml (nodeClasses)"
            problems.append(
                Problem(locate(path, False), f"unknown node class {name!r}{did_you_mean(name, known)}; known: {listed}")
            )
            continue
        gpu_class = gpu_class_of(project, gpu)
        if gpu_class is None:
            continue
        clashes = [
            key
            for key, value in node_class.nodeSelector.items()
            if key in gpu_class.nodeSelector and gpu_class.nodeSelector[key] != value
        ]
        if clashes:
            reported.add(path)
            key = clashes[0]
            problems.append(
                Problem(
                    locate(path, False),
                    f"node class {name!r} selects {key}={node_class.nodeSelector[key]!r} but GPU class "
                    f"{gpu.class_ if gpu else ''!r} selects {key}={gpu_class.nodeSelector[key]!r}: no node has both; "
                    "drop the key from one of the classes",
                )
            )
    return problems
