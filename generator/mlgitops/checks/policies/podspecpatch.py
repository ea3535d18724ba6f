"""Argo Workflows' `podSpecPatch`: a string of YAML (or JSON) merged into each pod a template runs, so the
Pod Security checks see a template's pod as it runs, patch included.

Argo (workflow/controller/workflowpod.go) applies the workflow's `podSpecPatch`, then the template's, as a
strategic merge patch over the pod spec it builds: maps merge, `containers`, `initContainers` and `volumes`
merge by `name` (the template's container is `main`), other lists are replaced. The checks run on the
template's pod with and without the patches, and what only the patched pod breaks is reported at the
`podSpecPatch` that brought it. A patch that is not a YAML map is reported too: Argo fails such a pod.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import yaml

from mlgitops.checks.podsecurity import site_problems
from mlgitops.checks.policies.sites import PodSite
from mlgitops.util.jsonpointer import get_path
from mlgitops.util.kubenames import Obj
from mlgitops.util.yamlio import JsonPath

_BY_NAME = ("containers", "initContainers", "volumes", "ephemeralContainers")
_POD_FIELDS = ("securityContext", "hostNetwork", "hostPID", "hostIPC", "hostUsers", "os", "volumes")


def _merge(base: Any, patch: Any, key: str = "") -> Any:
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for name, value in patch.items():
            merged[name] = _merge(base.get(name), value, str(name)) if name in base else value
        return merged
    if key in _BY_NAME and isinstance(base, list) and isinstance(patch, list):
        merged_list = list(base)
        for item in patch:
            name = item.get("name") if isinstance(item, dict) else None
            index = next(
                (i for i, old in enumerate(merged_list) if isinstance(old, dict) and old.get("name") == name), None
            )
            if name is not None and index is not None:
                merged_list[index] = _merge(merged_list[index], item)
            else:
                merged_list.append(item)
        return merged_list
    return patch


def _template_pod(obj: Obj, site: PodSite, workflow: JsonPath | None) -> Obj:
    """The pod a template runs, as far as the object says: the workflow's pod-level fields, the template's
    over them, its main container (`main`), its other containers, sidecars and init containers."""
    pod: Obj = {}
    for source in ([workflow] if workflow is not None else []) + [site.path]:
        node = get_path(obj, source)
        if isinstance(node, dict):
            pod.update({k: copy.deepcopy(v) for k, v in node.items() if k in _POD_FIELDS})
    containers: list[Obj] = []
    for path in site.containers:
        container = copy.deepcopy(get_path(obj, path))
        if path[-1] in ("container", "script"):
            container = {**container, "name": "main"}
        containers.append(container)
    pod["containers"] = containers
    pod["initContainers"] = [copy.deepcopy(get_path(obj, path)) for path in site.init_containers]
    return pod


def _problems(pod: Obj, level: str) -> set[str]:
    holder = {"spec": pod}
    containers = tuple(
        ("spec", key, i) for key in ("initContainers", "containers") for i in range(len(pod.get(key) or []))
    )
    return {message for _, message in site_problems(holder, ("spec",), containers, None, level)}


def pod_spec_patch_problems(
    obj: Obj, site: PodSite, workflow: JsonPath | None, level: str
) -> Iterator[tuple[JsonPath, str]]:
    """(the podSpecPatch's path, what is wrong) for what the patches add to one Argo template's pod."""
    patches: list[JsonPath] = []
    if workflow is not None and isinstance(get_path(obj, (*workflow, "podSpecPatch")), str):
        patches.append((*workflow, "podSpecPatch"))
    if isinstance(get_path(obj, (*site.path, "podSpecPatch")), str):
        patches.append((*site.path, "podSpecPatch"))
    if not patches:
        return
    pod = _template_pod(obj, site, workflow)
    before = _problems(pod, level)
    for path in patches:
        try:
            patch = yaml.safe_load(get_path(obj, path))
        except yaml.YAMLError as exc:
            yield path, f"podSpecPatch is not YAML ({type(exc).__name__}): Argo cannot apply it"
            continue
        if patch is None:
            continue
        if not isinstance(patch, dict):
            yield path, f"podSpecPatch is a {type(patch).__name__}, not a map: Argo cannot apply it"
            continue
        pod = _merge(pod, patch)
        now = _problems(pod, level)
        for message in sorted(now - before):
            yield path, f"podSpecPatch: {message}"
        before |= now
