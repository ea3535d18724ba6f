"""The rendered layout: `base/models/<name>/` and `overlays/<env>/`, as file contents in memory.

Each environment's overlay is an exact encoding of the resolved models: the base objects, then one
inline JSON6902 patch per object that differs (explicit paths, no strategic merge surprises on custom
resources), one multi-document `resources.yaml` for objects only that environment has, and
`$patch: delete` for objects it lacks. `environment_objects` computes the same objects directly; tests check that
`kubectl kustomize overlays/<env>` gives exactly these.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlgitops.render.addons import (
    AddonRequest,
    addon_settings_problem,
    enabled_settings,
    evaluate_addons,
    template_names,
)
from mlgitops.render.common import ENVIRONMENT_LABEL, MANAGED_BY
from mlgitops.render.model import AddonLocator, Obj, object_key, render_model, with_monitoring
from mlgitops.spec.clusterfit import features_for
from mlgitops.spec.loader import Workspace
from mlgitops.spec.resolve import ResolvedModel, resolve
from mlgitops.util.errors import Location, Problem, SpecError
from mlgitops.util.jsonpointer import escape
from mlgitops.util.kubekinds import kustomize_namespaces
from mlgitops.util.sharing import shared
from mlgitops.util.yamlio import dump, generated_header

BASE_MODELS_DIR = "base/models"
PLATFORM_DIR = "base/platform"
OVERLAYS_DIR = "overlays"
KUSTOMIZATION = "kustomization.yaml"
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


@dataclass
class ModelRender:
    """One model's base objects and, per environment, its objects there (None: opted out)."""

    name: str
    source: str
    base: list[Obj]
    environments: dict[str, list[Obj] | None] = field(default_factory=dict)
    # (group, kind, name) of each addon object → its template's name: `validate` points findings there
    addon_templates: dict[tuple[str, str, str], str] = field(default_factory=dict)


def render_models(
    workspace: Workspace, names: list[str] | None = None, envs: list[str] | None = None
) -> list[ModelRender]:
    """Render the chosen models (default: all) as the base and in the chosen environments (default: all)."""
    project = workspace.project
    chosen = [m for m in workspace.models if names is None or m.name in names]
    out: list[ModelRender] = []
    # The base is rendered for the cluster features every environment has; an environment with others
    # may render the same spec differently (Knative placement), so it reuses the base only when they match.
    base_features = features_for(project, None).model_dump()
    env_names = envs if envs is not None else project.environment_names
    same_features = {env: features_for(project, env).model_dump() == base_features for env in env_names}
    # With templates, every environment is resolved: the base carries the addon objects of the first
    # environment (in project order) the model renders in, whichever environments this call renders;
    # the overlays patch, add or delete what differs elsewhere (so the equality invariant holds).
    templates = template_names(workspace.root)
    resolve_envs = project.environment_names if templates else env_names
    resolved_all = {(model.name, env): resolve(workspace, model, env) for model in chosen for env in resolve_envs}
    addons = model_addons(workspace, resolved_all, templates)
    locate_addon = _addon_locator(workspace)
    for model in chosen:
        model_envs = [env for env in resolve_envs if (model.name, env) in addons]
        base_addons = addons[(model.name, model_envs[0])] if model_envs else []
        base = render_model(ResolvedModel(model, None, model.spec), project, base_addons, locate_addon)
        result = ModelRender(model.name, model.path, base)
        for env in model_envs:
            result.addon_templates.update((object_key(obj), template) for template, obj in addons[(model.name, env)])
        for env in env_names:
            resolved = resolved_all[(model.name, env)]
            env_addons = addons.get((model.name, env), [])
            if resolved is None:
                result.environments[env] = None
            elif resolved.spec is model.spec and same_features[env] and env_addons == base_addons:
                result.environments[env] = with_monitoring(base, resolved, project)  # no patch reached it
            else:
                rendered = render_model(resolved, project, env_addons, locate_addon)
                result.environments[env] = shared_with_base(rendered, base)
        out.append(result)
    if names is None:
        check_unique_objects(workspace, out, env_names, locate_addon)
    return out


def check_unique_objects(
    workspace: Workspace, renders: list[ModelRender], envs: list[str], locate_addon: AddonLocator
) -> None:
    """Refuse two objects with one identity in an environment (Kustomize refuses to build the overlay,
    while an in-memory stream would print both): an addon template making the same object for several
    models, or a model object with the name of another's. The error is at the second one's source."""
    by_name = {model.name: model for model in workspace.models}
    for env in envs:
        namespace = workspace.project.environment(env)
        seen: dict[tuple[str, str, str], str] = {}
        if namespace.createNamespace:
            seen[("", "Namespace", namespace.namespace)] = "mlgitops.yaml (the environment's Namespace)"
        for item in renders:
            for obj in item.environments.get(env) or []:
                key = object_key(obj)
                template = item.addon_templates.get(key)
                origin = f"model {item.name!r}" + (f" (template {template!r})" if template else "")
                first = seen.get(key)
                if first is None:
                    seen[key] = origin
                    continue
                if template is not None:
                    where = locate_addon(template, obj)
                else:
                    where = by_name[item.name].doc.location(("metadata", "name"))
                group = f" ({key[0]})" if key[0] else ""
                raise SpecError.at(
                    where,
                    f"environment {env!r}: {key[1]}{group} {key[2]!r} of {origin} is also made by {first}; Kustomize "
                    "refuses two objects with one identity: give each its own name (for example with the model's name)",
                )


def _addon_locator(workspace: Workspace) -> AddonLocator:
    """Errors about an addon object point at its `metadata.name` in the template (jsonnet_positions.py)."""

    def locate(template: str, obj: Obj) -> Location:
        from mlgitops.render.jsonnet_positions import object_location

        where = f"templates/{template}.jsonnet"
        return object_location(workspace.root, where, obj, ("metadata", "name")) or Location(where, 1, 1)

    return locate


def shared_with_base(objects: list[Obj], base: list[Obj]) -> list[Obj]:
    """An environment's objects sharing every part they have in common with the base's (sharing.py):
    the three environments of 2000 models would otherwise hold the base three times over."""
    base_by_key = {object_key(obj): obj for obj in base}
    return [shared(obj, base_by_key[key]) if (key := object_key(obj)) in base_by_key else obj for obj in objects]


def model_addons(
    workspace: Workspace, resolved: dict[tuple[str, str], ResolvedModel | None], names: list[str]
) -> dict[tuple[str, str], list[tuple[str, Obj]]]:
    """(model, environment) → its addon objects, each template evaluated once over every pair."""
    for item in resolved.values():
        if item is not None and item.spec.addons:
            problem = addon_settings_problem(item.spec.addons, names)
            if problem is not None:
                path, message = problem
                where = f" (in environment {item.environment!r})" if item.environment else ""
                raise SpecError.at(item.spec_location(("addons", *path)), message + where)
    if not names:
        return {}
    project = workspace.project.model_dump(mode="json", by_alias=True, exclude_none=True)
    environments = {env["name"]: env for env in project.get("environments", [])}
    keys = [key for key, item in resolved.items() if item is not None]
    requests = []
    for key in keys:
        item = resolved[key]
        assert item is not None
        requests.append(
            AddonRequest(
                model=item.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
                environment=environments[key[1]],
                settings=enabled_settings(item.spec.addons, names),
            )
        )
    results = evaluate_addons(workspace.root, project, requests)
    return dict(zip(keys, results, strict=True))


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
    for item in renders:
        objects.extend(in_environment(obj, namespace, env) for obj in item.environments.get(env) or [])
    return objects


def in_environment(obj: Obj, namespace: str, env: str) -> Obj:
    """A rendered object as Kustomize finalises it in `env`: its namespace and the environment label.

    Only the metadata is copied (the rest is shared with the rendered object, which nothing mutates):
    deep copies of every object of every environment would cost more than rendering them.
    """
    metadata = {**obj["metadata"], "namespace": namespace}
    if not kustomize_namespaces(obj["apiVersion"], obj["kind"]):  # a cluster-scoped kind Kustomize knows
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


def base_files(item: ModelRender) -> dict[str, str]:
    return object_directory(f"{BASE_MODELS_DIR}/{item.name}", item.base, item.source)


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
    folder = f"{OVERLAYS_DIR}/{env}/{item.name}"
    files: dict[str, str] = {}
    resources = [f"../../../{BASE_MODELS_DIR}/{item.name}"]
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
    files[f"{folder}/{KUSTOMIZATION}"] = generated_document(item.source, kustomization)
    return files


def overlay_files(
    workspace: Workspace, env: str, renders: list[ModelRender], *, include_platform: bool, with_namespace: bool = True
) -> dict[str, str]:
    """`overlays/<env>/`: kustomization.yaml listing the Namespace, base/platform and one directory per
    model (`model_overlay_files`)."""
    environment = workspace.project.environment(env)
    folder = f"{OVERLAYS_DIR}/{env}"
    files: dict[str, str] = {}
    resources: list[str] = []
    if with_namespace and environment.createNamespace:
        resources.append("namespace.yaml")
        files[f"{folder}/namespace.yaml"] = generated_document("mlgitops.yaml", namespace_object(workspace, env))
    if include_platform:
        resources.append(f"../../{PLATFORM_DIR}")
    for item in renders:
        model_files = model_overlay_files(workspace, env, item)
        if model_files:
            resources.append(item.name)
            files.update(model_files)
    kustomization = environment_kustomization(env, environment.namespace, resources)
    files[f"{folder}/{KUSTOMIZATION}"] = generated_document("mlgitops.yaml and models/", kustomization)
    return files


def layout_files(workspace: Workspace, renders: list[ModelRender]) -> dict[str, str]:
    """Every generated file under base/models/ and overlays/."""
    include_platform = (workspace.root / PLATFORM_DIR).is_dir()
    files: dict[str, str] = {}
    for item in renders:
        files.update(base_files(item))
    for env in workspace.project.environment_names:
        files.update(overlay_files(workspace, env, renders, include_platform=include_platform))
    return files


def check_not_empty(workspace: Workspace, renders: list[ModelRender], envs: list[str]) -> None:
    """Refuse an environment without model objects unless it says `allowEmpty: true`.

    An overlay left with only its Namespace passes Argo CD's own guard against empty manifests,
    so an automated sync with prune would delete every deployed model (the same guard as Argo CD's
    `syncPolicy.automated.allowEmpty`, pkg/apis/application/v1alpha1/types.go).
    """
    from mlgitops.util.errors import SpecError

    problems = []
    for env in envs:
        environment = workspace.project.environment(env)
        if environment.allowEmpty or any(item.environments.get(env) for item in renders):
            continue
        index = workspace.project.environment_names.index(env)
        problems.append(
            Problem(
                workspace.project_doc.location(("environments", index, "name")),
                f"environment {env!r} has no model objects (every model is removed or disabled there), so a "
                "sync with prune would delete every deployed model; set allowEmpty: true on the environment "
                "if that is intended",
            )
        )
    if problems:
        raise SpecError(problems)
