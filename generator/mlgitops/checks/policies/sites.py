"""Where pods are in rendered objects (serving workloads, Argo templates) and which GPUs they ask for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlgitops.checks.podsecurity import COMPONENT_CONTAINERS
from mlgitops.language.project import Project
from mlgitops.util.jsonpointer import get_path
from mlgitops.util.kubenames import PLACEMENT_FIELDS, Obj
from mlgitops.util.yamlio import JsonPath

SERVING_WORKLOADS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Rollout"}
)
WORKFLOW_KINDS = {"Workflow", "WorkflowTemplate", "ClusterWorkflowTemplate"}
# KServe's default GPU resource names (pkg/constants); project GPU classes add theirs.
_GPU_RESOURCES = frozenset({"nvidia.com/gpu", "amd.com/gpu", "intel.com/gpu", "habana.ai/gaudi"})


@dataclass(frozen=True)
class PodSite:
    """A pod-shaped part of an object: where placement goes and where its containers are."""

    path: JsonPath
    containers: tuple[JsonPath, ...]
    init_containers: tuple[JsonPath, ...]
    serving: bool
    inherited_placement: bool = False


def list_paths(obj: Obj, path: JsonPath) -> tuple[JsonPath, ...]:
    items = get_path(obj, path)
    if not isinstance(items, list):
        return ()
    return tuple((*path, i) for i, item in enumerate(items) if isinstance(item, dict))


def _pod_spec_site(obj: Obj, path: JsonPath, serving: bool) -> PodSite | None:
    if not isinstance(get_path(obj, path), dict):
        return None
    return PodSite(
        path,
        list_paths(obj, (*path, "containers")),
        list_paths(obj, (*path, "initContainers")),
        serving,
    )


def _component_sites(obj: Obj) -> list[PodSite]:
    """An InferenceService's components (predictor, transformer, explainer, canary predictors), each with its
    multi-node `workerSpec` (a pod spec of its own)."""
    components: list[JsonPath] = [("spec", c) for c in ("predictor", "transformer", "explainer")]
    components += [(*entry, "predictor") for entry in list_paths(obj, ("spec", "canary"))]
    sites: list[PodSite] = []
    for path in components:
        component = get_path(obj, path)
        if not isinstance(component, dict):
            continue
        own = tuple((*path, key) for key in COMPONENT_CONTAINERS if isinstance(component.get(key), dict))
        containers = (*own, *list_paths(obj, (*path, "containers")))
        sites.append(PodSite(path, containers, list_paths(obj, (*path, "initContainers")), serving=True))
        worker = _pod_spec_site(obj, (*path, "workerSpec"), serving=True)
        if worker is not None:
            sites.append(worker)
    return sites


# LLMInferenceService pod specs (kserve pkg/apis/serving/v1alpha2 WorkloadSpec: `template` is the main or
# head pod, `worker` the multi-node workers; `prefill` holds a second workload of the same shape). The
# router's scheduler pod (`router.scheduler.template`) is KServe's, not the model server's: found below.
LLM_KIND = "LLMInferenceService"
_LLM_WORKLOADS: tuple[JsonPath, ...] = (("spec",), ("spec", "prefill"))


def _llm_sites(obj: Obj) -> list[PodSite]:
    sites: list[PodSite] = []
    for workload in _LLM_WORKLOADS:
        for part in ("template", "worker"):
            site = _pod_spec_site(obj, (*workload, part), serving=True)
            if site is not None:
                sites.append(site)
    return sites


def _other_pod_specs(obj: Obj, known: list[PodSite]) -> list[PodSite]:
    """Pod specs outside the known places: any map with a `containers` or `initContainers` list (an addon's
    StatefulSet-like custom resource, a ServingRuntime, an LLMInferenceService template, a Knative Service),
    outside the parts the known sites cover."""
    covered = {site.path for site in known}
    found: list[PodSite] = []
    stack: list[tuple[JsonPath, Any]] = [((), obj)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            if path in covered:
                continue
            if path and any(isinstance(node.get(key), list) for key in ("containers", "initContainers")):
                found.append(
                    PodSite(path, list_paths(obj, (*path, "containers")), list_paths(obj, (*path, "initContainers")),
                            serving=False)
                )  # fmt: skip
                continue
            stack.extend(((*path, key), value) for key, value in node.items() if isinstance(value, dict | list))
        elif isinstance(node, list):
            stack.extend(((*path, i), value) for i, value in enumerate(node) if isinstance(value, dict | list))
    return sorted(found, key=lambda site: [str(part) for part in site.path])


def pod_sites(obj: Obj) -> list[PodSite]:
    """Every pod-shaped part of a rendered object (InferenceService components, workload pod
    templates, Argo templates, and any other map holding containers)."""
    sites = _known_sites(obj)
    return [*sites, *_other_pod_specs(obj, sites)]


def _known_sites(obj: Obj) -> list[PodSite]:
    kind = obj.get("kind")
    sites: list[PodSite] = []
    if kind == "InferenceService":
        sites.extend(_component_sites(obj))
    elif kind == LLM_KIND:
        sites.extend(_llm_sites(obj))
    elif kind in SERVING_WORKLOADS or kind in ("Job", "Pod", "CronJob"):
        path = {"CronJob": ("spec", "jobTemplate", "spec", "template", "spec"), "Pod": ("spec",)}.get(
            str(kind), ("spec", "template", "spec")
        )
        site = _pod_spec_site(obj, path, serving=kind in SERVING_WORKLOADS)
        if site is not None:
            sites.append(site)
    elif kind in WORKFLOW_KINDS or kind == "CronWorkflow":
        base: JsonPath = ("spec", "workflowSpec") if kind == "CronWorkflow" else ("spec",)
        workflow = get_path(obj, base)
        inherited = isinstance(workflow, dict) and any(workflow.get(p) for p in PLACEMENT_FIELDS)
        for template in list_paths(obj, (*base, "templates")):
            containers = tuple(
                (*template, key) for key in ("container", "script") if isinstance(get_path(obj, (*template, key)), dict)
            )
            containers += list_paths(obj, (*template, "containerSet", "containers"))
            containers += list_paths(obj, (*template, "sidecars"))
            if not containers:
                continue
            init = list_paths(obj, (*template, "initContainers"))
            sites.append(PodSite(template, containers, init, serving=False, inherited_placement=inherited))
    return sites


def gpu_resources(project: Project) -> frozenset[str]:
    return _GPU_RESOURCES | {c.resource for c in project.gpuClasses.values()}


def _is_gpu(name: str, known: frozenset[str]) -> bool:
    return name in known or name.endswith("/gpu") or name.startswith("nvidia.com/mig-")


def gpu_request(obj: Obj, container: JsonPath, known: frozenset[str]) -> JsonPath | None:
    """Path of the first non-zero GPU quantity in a container's limits or requests."""
    for kind in ("limits", "requests"):
        block = get_path(obj, (*container, "resources", kind))
        if isinstance(block, dict):
            for name in sorted(block):
                if _is_gpu(name, known) and str(block[name]).strip() not in ("0", ""):
                    return (*container, "resources", kind, name)
    return None
