"""The render stage's orchestrator: every chosen model rendered as the base and in each environment, with the
project's Jsonnet addons evaluated once over every (model, environment) pair, the inference graphs
(`graphs/`, render/graph.py) when every model is rendered, then the project-wide checks on what was rendered
(one identity per object in an environment; no environment left empty by accident)."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlgitops.language.clusterfit import features_for
from mlgitops.language.loader import Workspace
from mlgitops.language.resolve import ResolvedModel, resolve, spec_location
from mlgitops.language.workspace import ModelFile
from mlgitops.render.addons import (
    AddonRequest,
    addon_settings_problem,
    enabled_settings,
    evaluate_addons,
    template_names,
)
from mlgitops.render.model import AddonLocator, object_key, render_model, with_monitoring
from mlgitops.util.errors import Location, Problem, SpecError
from mlgitops.util.kubenames import Obj
from mlgitops.util.sharing import shared


@dataclass
class ModelRender:
    """One model's base objects and, per environment, its objects there (None: opted out). `graph`: an
    inference graph's (graphs/<name>.yaml) rather than a model's; its files go to base/graphs/ and
    overlays/<env>/_graphs/ (layout/overlay.py)."""

    name: str
    source: str
    base: list[Obj]
    environments: dict[str, list[Obj] | None] = field(default_factory=dict)
    # (group, kind, name) of each addon object → its template's name: `validate` points findings there
    addon_templates: dict[tuple[str, str, str], str] = field(default_factory=dict)
    graph: bool = False
    labels: dict[str, str] = field(default_factory=dict)  # the model's metadata.labels (deployment.per: group)
    gpu_environments: list[str] = field(default_factory=list)  # where it serves on GPUs (Flux's health timeout)


@dataclass
class RenderPlan:
    """What rendering the chosen models needs beyond each model's spec: every (model, environment) resolved,
    the addon objects of every pair (one Jsonnet evaluation for all of them) and the base's cluster features.
    `render_one` renders any chosen model from it, in any order or process."""

    workspace: Workspace
    chosen: list[ModelFile]
    env_names: list[str]
    resolve_envs: list[str]
    resolved: dict[tuple[str, str], ResolvedModel | None]
    addons: dict[tuple[str, str], list[tuple[str, Obj]]]
    same_features: dict[str, bool]
    locate_addon: AddonLocator


def plan_render(workspace: Workspace, names: list[str] | None = None, envs: list[str] | None = None) -> RenderPlan:
    """Resolve the chosen models (default: all) and evaluate their addons, for the chosen environments (default:
    all)."""
    project = workspace.project
    wanted = None if names is None else set(names)
    chosen = [m for m in workspace.models if wanted is None or m.name in wanted]
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
    resolved = {(model.name, env): resolve(workspace, model, env) for model in chosen for env in resolve_envs}
    addons = model_addons(workspace, resolved, templates)
    return RenderPlan(
        workspace, chosen, env_names, resolve_envs, resolved, addons, same_features, addon_locator(workspace)
    )


def render_one(plan: RenderPlan, model: ModelFile) -> ModelRender:
    """One chosen model as the base and in each of the plan's environments."""
    project = plan.workspace.project
    addons = plan.addons
    model_envs = [env for env in plan.resolve_envs if (model.name, env) in addons]
    base_addons = addons[(model.name, model_envs[0])] if model_envs else []
    base = render_model(ResolvedModel(model, None, model.spec), project, base_addons, plan.locate_addon)
    result = ModelRender(model.name, model.path, base, labels=dict(model.spec.metadata.labels))
    for env in model_envs:
        result.addon_templates.update((object_key(obj), template) for template, obj in addons[(model.name, env)])
    for env in plan.env_names:
        resolved = plan.resolved[(model.name, env)]
        env_addons = addons.get((model.name, env), [])
        if resolved is not None and resolved.spec.serving is not None and resolved.spec.serving.gpu.count > 0:
            result.gpu_environments.append(env)
        if resolved is None:
            result.environments[env] = None
        elif (
            resolved.spec is model.spec
            and plan.same_features[env]
            and env_addons == base_addons
            and not (model.spec.patches and model.spec.tests)  # the smoke objects are the environment's: patched there
        ):
            result.environments[env] = with_monitoring(base, resolved, project)  # no patch reached it
        else:
            rendered = render_model(resolved, project, env_addons, plan.locate_addon)
            result.environments[env] = shared_with_base(rendered, base)
    return result


def render_models(
    workspace: Workspace, names: list[str] | None = None, envs: list[str] | None = None
) -> list[ModelRender]:
    """Render the chosen models (default: all) as the base and in the chosen environments (default: all);
    with every model, the inference graphs too, and the identities checked across them."""
    plan = plan_render(workspace, names, envs)
    out = [render_one(plan, model) for model in plan.chosen]
    if names is None:
        out.extend(render_graphs(workspace, plan.env_names))
        check_unique_objects(workspace, out, plan.env_names, plan.locate_addon)
    return out


def outline(item: ModelRender) -> ModelRender:
    """`item` with each object cut down to what the environment-wide files and the render cache's facts read
    of it (rendercache/facts.py): apiVersion, kind, metadata.name and metadata.labels."""

    def cut(objects: list[Obj]) -> list[Obj]:
        return [
            {
                "apiVersion": obj["apiVersion"],
                "kind": obj["kind"],
                "metadata": {"name": obj["metadata"]["name"], "labels": obj["metadata"].get("labels") or {}},
            }
            for obj in objects
        ]

    environments = {env: None if objects is None else cut(objects) for env, objects in item.environments.items()}
    return ModelRender(
        item.name,
        item.source,
        cut(item.base),
        environments,
        dict(item.addon_templates),
        item.graph,
        item.labels,
        item.gpu_environments,
    )


def render_graphs(workspace: Workspace, envs: list[str]) -> list[ModelRender]:
    """Every inference graph as the base and in the chosen environments (the loader checked them)."""
    from mlgitops.language.graph_resolve import resolve_graph
    from mlgitops.render.graph import render_inference_graph

    project = workspace.project
    out: list[ModelRender] = []
    for graph in workspace.graphs:
        base_graph = resolve_graph(workspace, graph, None)
        assert base_graph is not None
        item = ModelRender(graph.name, graph.path, [render_inference_graph(base_graph, project)], graph=True)
        for env in envs:
            resolved = resolve_graph(workspace, graph, env)
            item.environments[env] = None if resolved is None else [render_inference_graph(resolved, project)]
        out.append(item)
    return out


def check_unique_objects(
    workspace: Workspace, renders: list[ModelRender], envs: list[str], locate_addon: AddonLocator
) -> None:
    """Refuse two objects with one identity in an environment (Kustomize refuses to build the overlay,
    while an in-memory stream would print both): an addon template making the same object for several
    models, or a model object with the name of another's. The error is at the second one's source."""
    for env in envs:
        namespace = workspace.project.environment(env)
        seen: dict[tuple[str, str, str], str] = {}
        if namespace.createNamespace:
            seen[("", "Namespace", namespace.namespace)] = "mlgitops.yaml (the environment's Namespace)"
        for item in renders:
            for obj in item.environments.get(env) or []:
                key = object_key(obj)
                template = item.addon_templates.get(key)
                origin = f"{'graph' if item.graph else 'model'} {item.name!r}" + (
                    f" (template {template!r})" if template else ""
                )
                first = seen.get(key)
                if first is None:
                    seen[key] = origin
                    continue
                if template is not None:
                    where = locate_addon(template, obj)
                elif item.graph:
                    where = next(g.doc for g in workspace.graphs if g.name == item.name).location(("metadata", "name"))
                else:
                    where = spec_location(
                        workspace, workspace.model(item.name), env, _name_path(workspace, item.name, env, key)
                    )
                group = f" ({key[0]})" if key[0] else ""
                raise SpecError.at(
                    where,
                    f"environment {env!r}: {key[1]}{group} {key[2]!r} of {origin} is also made by {first}; Kustomize "
                    "refuses two objects with one identity: give each its own name (for example with the model's name)",
                )


def _name_path(workspace: Workspace, model: str, env: str, key: tuple[str, str, str]) -> tuple[str, ...]:
    """The spec field that names an object: `training.name` for a training object it names, else the model's."""
    if key[1] in ("WorkflowTemplate", "CronWorkflow"):
        resolved = resolve(workspace, workspace.model(model), env)
        training = resolved.spec.training if resolved is not None else None
        if training is not None and training.name is not None:
            return ("training", "name")
    return ("metadata", "name")


def addon_locator(workspace: Workspace) -> AddonLocator:
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
