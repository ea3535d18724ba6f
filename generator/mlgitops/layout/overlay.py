"""The rendered layout: `base/models/<name>/` and `overlays/<env>/`, as file contents in memory (an inference
graph's: `base/graphs/<name>/` and `overlays/<env>/_graphs/<name>/`, the same pattern).

Each environment's overlay is an exact encoding of the resolved models: the base objects, then one
inline JSON6902 patch per object that differs (explicit paths, no strategic merge surprises on custom
resources), one multi-document `resources.yaml` for objects only that environment has, and
`$patch: delete` for objects it lacks. `environment_objects` computes the same objects directly; tests check that
`kubectl kustomize overlays/<env>` gives exactly these.
"""

from __future__ import annotations

from typing import Any

from mlgitops.language.loader import Workspace
from mlgitops.render.model import object_key
from mlgitops.render.pipeline import ModelRender
from mlgitops.util.jsonpointer import escape
from mlgitops.util.kubekinds import cluster_scoped, group_of, kustomize_namespaces
from mlgitops.util.kubenames import ENVIRONMENT_LABEL, MANAGED_BY, Obj
from mlgitops.util.paths import (
    BASE_GRAPHS_DIR,
    BASE_MODELS_DIR,
    KUSTOMIZATION,
    OVERLAY_GRAPHS,
    OVERLAYS_DIR,
    PLATFORM_DIR,
)
from mlgitops.util.yamlio import dump, generated_header

# The objects a model has only in one environment (its monitoring objects, which select that
# environment's series, and whatever a patch or template adds there), in one file per model
# overlay: one file instead of one per object halves the files a render of 1000 monitored models creates.
ENVIRONMENT_RESOURCES = "resources.yaml"


def object_file_name(obj: Obj) -> str:
    return f"{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def json_patch(source: Any, target: Any, path: str = "") -> list[Obj]:
    """JSON6902 operations turning `source` into `target`, recursing into maps and equal-length lists.

    >>> json_patch({"a": 1, "b": [1, 2]}, {"a": 2, "b": [1, 3], "c": True})
    [{'op': 'replace', 'path': '/a', 'value': 2}, {'op': 'replace', 'path': '/b/1', 'value': 3}, \
{'op': 'add', 'path': '/c', 'value': True}]
    """
    if source is target or (type(source) is type(target) and source == target):
        return []  # fast path: rendered values at one path always have one type
    if isinstance(source, dict) and isinstance(target, dict):
        ops: list[Obj] = []
        for key in source:
            if key not in target:
                ops.append({"op": "remove", "path": f"{path}/{escape(key)}"})
            else:
                ops.extend(json_patch(source[key], target[key], f"{path}/{escape(key)}"))
        for key in target:
            if key not in source:
                ops.append({"op": "add", "path": f"{path}/{escape(key)}", "value": target[key]})
        return ops
    if isinstance(source, list) and isinstance(target, list) and len(source) == len(target):
        return [
            op for i, (a, b) in enumerate(zip(source, target, strict=True)) for op in json_patch(a, b, f"{path}/{i}")
        ]
    if _same(source, target):
        return []
    return [{"op": "replace", "path": path or "/", "value": target}]


def _target(obj: Obj) -> Obj:
    group, _, version = obj["apiVersion"].rpartition("/")
    target: Obj = {}
    if group:
        target["group"] = group
    target["version"] = version
    target["kind"] = obj["kind"]
    target["name"] = obj["metadata"]["name"]
    return target


def namespace_object(workspace: Workspace, env: str) -> Obj:
    project = workspace.project
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": project.environment(env).namespace,
            "labels": {"app.kubernetes.io/part-of": project.metadata.name, "app.kubernetes.io/managed-by": MANAGED_BY},
        },
    }


def environment_objects(
    workspace: Workspace, env: str, renders: list[ModelRender], *, with_namespace: bool = True
) -> list[Obj]:
    """The final objects of `env` as Kustomize will print them (platform resources excluded)."""
    namespace = workspace.project.environment(env).namespace
    objects: list[Obj] = []
    if with_namespace and workspace.project.environment(env).createNamespace:
        ns = namespace_object(workspace, env)
        ns["metadata"]["labels"][ENVIRONMENT_LABEL] = env
        objects.append(ns)
    declared = declared_cluster_kinds(workspace)
    for item in renders:
        objects.extend(in_environment(obj, namespace, env, declared) for obj in item.environments.get(env) or [])
    return objects


def declared_cluster_kinds(workspace: Workspace) -> frozenset[tuple[str, str]]:
    """(group, kind) the project declares cluster-scoped (`addons.clusterScoped`)."""
    return frozenset((entry.group, entry.kind) for entry in workspace.project.addons.clusterScoped)


def is_cluster_object(obj: Obj, declared: frozenset[tuple[str, str]] = frozenset()) -> bool:
    """Whether an object lives outside namespaces: a cluster-scoped kind mlgitops knows (kubekinds.py), or one
    the project declares so."""
    api_version, kind = obj["apiVersion"], obj["kind"]
    return cluster_scoped(api_version, kind) or (group_of(api_version), kind) in declared


def _unnamespace(objects: list[Obj], declared: frozenset[tuple[str, str]]) -> list[Obj]:
    """Kustomize `transformers` that take the namespace off the cluster-scoped objects it would namespace.

    Kustomize sets the overlay's namespace on every kind its built-in schema does not know as cluster-scoped
    (a ClusterStorageContainer, a ClusterWorkflowTemplate, a custom cluster kind), and a `patches` entry runs
    before its namespace transformer; a `transformers` entry runs after it, so a builtin JSON 6902 patch there
    removes the namespace again (no plugin flag needed). Every kustomization that sets a namespace over such
    an object needs one: the model's overlay and the environment's (layout tests build both for real).
    """
    out: list[Obj] = []
    for obj in objects:
        if kustomize_namespaces(obj["apiVersion"], obj["kind"]) and is_cluster_object(obj, declared):
            out.append(
                {
                    "apiVersion": "builtin",
                    "kind": "PatchJson6902Transformer",
                    "metadata": {"name": f"cluster-scoped-{obj['kind'].lower()}-{obj['metadata']['name']}"},
                    "target": _target(obj),
                    "jsonOp": '[{"op": "remove", "path": "/metadata/namespace"}]',
                }
            )
    return out


def in_environment(obj: Obj, namespace: str, env: str, declared: frozenset[tuple[str, str]] = frozenset()) -> Obj:
    """A rendered object as Kustomize finalises it in `env`: its namespace and the environment label.

    A cluster-scoped object gets no namespace (`_unnamespace` makes Kustomize agree). Only the metadata is
    copied (the rest is shared with the rendered object, which nothing mutates): deep copies of every object of
    every environment would cost more than rendering them.
    """
    metadata = {**obj["metadata"], "namespace": namespace}
    if not kustomize_namespaces(obj["apiVersion"], obj["kind"]) or is_cluster_object(obj, declared):
        del metadata["namespace"]
    metadata["labels"] = {**(metadata.get("labels") or {}), ENVIRONMENT_LABEL: env}
    return {**obj, "metadata": metadata}


def generated_document(source: str, data: Any) -> str:
    return generated_header(source) + dump(data)


def _docs(source: str, objects: list[Obj]) -> str:
    """Several objects as one multi-document file (Kustomize reads each document as a resource, in order)."""
    return generated_header(source) + "---\n".join(dump(obj) for obj in objects)


def object_directory(folder: str, objects: list[Obj], source: str) -> dict[str, str]:
    """One file per object in `folder`, plus a kustomization.yaml listing them."""
    files = {f"{folder}/{object_file_name(obj)}": generated_document(source, obj) for obj in objects}
    kustomization = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": [object_file_name(obj) for obj in objects],
    }
    files[f"{folder}/{KUSTOMIZATION}"] = generated_document(source, kustomization)
    return files


def base_dir(item: ModelRender) -> str:
    """`base/models/<name>`, or for an inference graph `base/graphs/<name>`."""
    return f"{BASE_GRAPHS_DIR if item.graph else BASE_MODELS_DIR}/{item.name}"


def overlay_entry(item: ModelRender) -> str:
    """The item's directory inside `overlays/<env>/`: `<name>`, or `_graphs/<name>` for a graph."""
    return f"{OVERLAY_GRAPHS}/{item.name}" if item.graph else item.name


def base_files(item: ModelRender) -> dict[str, str]:
    return object_directory(base_dir(item), item.base, item.source)


def environment_kustomization(env: str, namespace: str, resources: list[str]) -> Obj:
    return {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "namespace": namespace,
        "labels": [{"pairs": {ENVIRONMENT_LABEL: env}, "includeSelectors": False}],
        "resources": resources,
    }


def model_overlay_files(workspace: Workspace, env: str, item: ModelRender) -> dict[str, str]:
    """`overlays/<env>/<model>/`: one model in one environment, buildable on its own (empty if opted out).

    It sets the environment's namespace and label itself, so `kubectl kustomize` of this directory
    prints exactly the model's objects in `env`; the environment directory sets the same values again,
    which changes nothing (both transformers set a value, they do not append).
    """
    env_objects = item.environments.get(env)
    if env_objects is None:
        return {}
    entry = overlay_entry(item)
    folder = f"{OVERLAYS_DIR}/{env}/{entry}"
    files: dict[str, str] = {}
    resources = ["../" * (2 + entry.count("/") + 1) + base_dir(item)]
    patches: list[Obj] = []
    base_by_key = {object_key(o): o for o in item.base}
    env_by_key = {object_key(o): o for o in env_objects}
    for key, obj in base_by_key.items():
        if key not in env_by_key:
            patches.append(
                {
                    "patch": dump(
                        {
                            "$patch": "delete",
                            "apiVersion": obj["apiVersion"],
                            "kind": obj["kind"],
                            "metadata": {"name": obj["metadata"]["name"]},
                        }
                    )
                }
            )
            continue
        ops = json_patch(obj, env_by_key[key])
        if ops:  # inline, like the deletions: a file per patch would double the files a render creates
            patches.append({"patch": dump(ops), "target": _target(obj)})
    only_here = [obj for key, obj in env_by_key.items() if key not in base_by_key]
    if only_here:
        files[f"{folder}/{ENVIRONMENT_RESOURCES}"] = _docs(item.source, only_here)
        resources.append(ENVIRONMENT_RESOURCES)
    kustomization = environment_kustomization(env, workspace.project.environment(env).namespace, resources)
    if patches:
        kustomization["patches"] = patches
    transformers = _unnamespace(env_objects, declared_cluster_kinds(workspace))
    if transformers:
        kustomization["transformers"] = [dump(t) for t in transformers]
    files[f"{folder}/{KUSTOMIZATION}"] = generated_document(item.source, kustomization)
    return files


def overlay_files(
    workspace: Workspace, env: str, renders: list[ModelRender], *, include_platform: bool, with_namespace: bool = True
) -> dict[str, str]:
    """`overlays/<env>/`: the environment's own files and one directory per model and graph."""
    files = environment_files(workspace, env, renders, include_platform=include_platform, with_namespace=with_namespace)
    for item in renders:
        files.update(model_overlay_files(workspace, env, item))
    return files


def environment_files(
    workspace: Workspace, env: str, renders: list[ModelRender], *, include_platform: bool, with_namespace: bool = True
) -> dict[str, str]:
    """`overlays/<env>/kustomization.yaml`, listing the Namespace (namespace.yaml), base/platform and one
    directory per model and graph there (`model_overlay_files`). It reads of each render only what
    rendercache/facts.py lists, so an `outline` of it will do."""
    environment = workspace.project.environment(env)
    folder = f"{OVERLAYS_DIR}/{env}"
    files: dict[str, str] = {}
    resources: list[str] = []
    if with_namespace and environment.createNamespace:
        resources.append("namespace.yaml")
        files[f"{folder}/namespace.yaml"] = generated_document("mlgitops.yaml", namespace_object(workspace, env))
    if include_platform:
        resources.append(f"../../{PLATFORM_DIR}")
    cluster_objects: list[Obj] = []
    declared = declared_cluster_kinds(workspace)
    for item in renders:
        objects = item.environments.get(env)
        if objects is not None:
            resources.append(overlay_entry(item))
            cluster_objects += [o for o in objects if is_cluster_object(o, declared)]
    kustomization = environment_kustomization(env, environment.namespace, resources)
    transformers = _unnamespace(cluster_objects, declared)
    if transformers:
        kustomization["transformers"] = [dump(t) for t in transformers]
    files[f"{folder}/{KUSTOMIZATION}"] = generated_document("mlgitops.yaml and models/", kustomization)
    return files


def model_files(workspace: Workspace, item: ModelRender) -> dict[str, str]:
    """One model's (or graph's) own files: its base and its directory in every environment's overlay."""
    files = base_files(item)
    for env in workspace.project.environment_names:
        files.update(model_overlay_files(workspace, env, item))
    return files
