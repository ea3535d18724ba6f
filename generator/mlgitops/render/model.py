"""Turning a resolved model into Kubernetes objects (plain dicts, in a fixed order): the render stage's entry."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from mlgitops.language.project import Project
from mlgitops.language.resolve import ResolvedModel
from mlgitops.render.addon_objects import addon_object_problem, literal_secret_problem
from mlgitops.render.deployment import render_deployment_engine
from mlgitops.render.kserve import render_inference_service
from mlgitops.render.llm import render_llm_inference_service
from mlgitops.render.monitoring import render_monitoring
from mlgitops.render.patches import apply_patches
from mlgitops.render.smoke import render_smoke_tests
from mlgitops.render.training import render_cron_workflow, render_workflow_template
from mlgitops.util.errors import Location, Problem, SpecError
from mlgitops.util.kubenames import Obj

__all__ = ["Obj", "object_key", "render_model", "with_monitoring"]

ObjectKey = tuple[str, str, str]


def object_key(obj: Obj) -> ObjectKey:
    """(group, kind, name): unique within one environment (everything shares its namespace)."""
    group = obj["apiVersion"].rpartition("/")[0]
    return group, obj["kind"], obj["metadata"]["name"]


AddonLocator = Callable[[str, Obj], Location]
"""(template, addon object) → where the template writes it, for errors about that object."""


def _template_file(template: str, obj: Obj) -> Location:
    return Location(f"templates/{template}.jsonnet", 1, 1)


def render_model(
    model: ResolvedModel,
    project: Project,
    addons: Sequence[tuple[str, Obj]] = (),
    locate_addon: AddonLocator = _template_file,
) -> list[Obj]:
    """Every object of one model, sorted by (group, kind, name), with the model's `patches` applied.

    `addons` are (template, object) pairs from the project's Jsonnet templates (mlgitops.render.addons); they join
    the generated objects before the patches, so `patches` can target addon objects too. `locate_addon`
    places an error about one of them in its template (by default at the template file).
    """
    objects: list[Obj] = []
    serving = model.spec.serving
    if serving is not None:
        if serving.engine == "kserve":
            objects.append(render_inference_service(model, project))
        elif serving.engine == "llm":
            objects.append(render_llm_inference_service(model, project))
        else:
            objects.extend(render_deployment_engine(model, project))
    if model.spec.training is not None:
        objects.append(render_workflow_template(model, project))
        cron = render_cron_workflow(model, project)
        if cron is not None:
            objects.append(cron)
    objects.extend(render_monitoring(model, project))
    objects.extend(render_smoke_tests(model, project))
    if addons:
        objects.extend(_addon_objects(model, project, objects, addons, locate_addon))
    objects.sort(key=object_key)
    if model.spec.patches:
        # Training objects of a model that does not train in this environment: their patches wait.
        trains_elsewhere = model.spec.training is None and model.file.spec.training is not None
        absent = ("WorkflowTemplate", "CronWorkflow") if trains_elsewhere else ()
        if model.environment is None and _tested_somewhere(model):
            absent = (*absent, "Job", "ConfigMap")  # smoke-test objects: rendered in environments only
        try:
            objects = apply_patches(objects, model.spec.patches, model.spec_location, absent_kinds=absent)
        except SpecError as exc:
            if model.environment is None:
                raise
            suffix = f" (in environment {model.environment!r})"
            raise SpecError([Problem(p.location, p.message + suffix) for p in exc.problems]) from None
        for obj in objects:  # a patch that writes a value into a Secret puts it into Git like a template would
            secret = literal_secret_problem(obj)
            if secret is not None:
                raise SpecError.at(model.spec_location(("patches",)), secret + _in_environment(model))
    return objects


def _tested_somewhere(model: ResolvedModel) -> bool:
    spec = model.file.spec
    return bool(spec.tests) or any("tests" in (patch or {}) for patch in spec.environments.values())


def _in_environment(model: ResolvedModel) -> str:
    return f" (in environment {model.environment!r})" if model.environment else ""


def with_monitoring(base: list[Obj], model: ResolvedModel, project: Project) -> list[Obj]:
    """The environment-free base render plus the objects only `model`'s environment has: its monitoring
    and its smoke tests.

    The base has none (monitoring rules select the environment's series; a smoke test calls the
    environment's address), so an environment no patch reaches reuses the base and adds only these.
    """
    extra = [*render_monitoring(model, project), *render_smoke_tests(model, project)]
    return sorted([*base, *extra], key=object_key) if extra else base


def _addon_objects(
    model: ResolvedModel,
    project: Project,
    generated: list[Obj],
    addons: Sequence[tuple[str, Obj]],
    locate: AddonLocator,
) -> list[Obj]:
    """The addon objects, refused when one has the (group, kind, name) of another object of the model, or
    is something no template may return (addon_objects.py)."""
    taken = {object_key(obj): "the generator" for obj in generated}
    out: list[Obj] = []
    for template, obj in addons:
        refused = addon_object_problem(obj, project)
        if refused is not None:
            raise SpecError.at(locate(template, obj), refused + _in_environment(model))
        key = object_key(obj)
        if key in taken:
            where = f" (in environment {model.environment!r})" if model.environment else ""
            raise SpecError.at(
                locate(template, obj),
                f"{obj['kind']} {key[2]!r} of model {model.name!r} is also made by {taken[key]}{where}; "
                "give the addon object another name",
            )
        taken[key] = f"template {template!r}"
        out.append(obj)
    return out
