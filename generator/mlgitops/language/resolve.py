"""Resolving a model for an environment, and the checks every resolved model must pass.

Resolution: the model spec, then the project's `defaults` for the environment, then the model's own
`environments.<env>` patch, each an RFC 7386 merge patch. The result is validated again; a problem in
it is reported at the patch that introduced the offending value (or at the model file when no patch
touched it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from mlgitops.language.clusterfit import Latest, check_cluster_fit
from mlgitops.language.credentialcheck import credential_problems
from mlgitops.language.llmfit import large_model_problems
from mlgitops.language.model import PATCHABLE_MODEL_KEYS, Model, server_image
from mlgitops.language.node_classes import node_class_problems
from mlgitops.language.podspec import check_pods
from mlgitops.language.project import Project
from mlgitops.language.schema_errors import validation_problems
from mlgitops.language.servingfit import serving_problems
from mlgitops.language.smokecheck import smoke_problems
from mlgitops.language.smoketests import smoke_bodies
from mlgitops.language.stepgraph import find_cycle, input_producers
from mlgitops.language.training import Training
from mlgitops.language.training_envs import model_problems, trains_in
from mlgitops.language.training_run import cron_field_problems, name_problems
from mlgitops.language.workflow_structure import workflow_structure_problems
from mlgitops.language.workspace import Locator, ModelFile, Workspace, document_locator, unknown_environment
from mlgitops.util.errors import Location, Problem, SpecError, did_you_mean
from mlgitops.util.limits import MAX_PROBLEMS, MAX_STEPS, MAX_TEMPLATE_ENTRIES
from mlgitops.util.mergepatch import merge_patch
from mlgitops.util.sharing import share_same_input
from mlgitops.util.yamlio import Document, JsonPath

RESERVED_STEP_NAMES = ("pipeline", "register", "reject")


@dataclass
class ResolvedModel:
    """A model as one environment sees it (`environment` is None for the environment-free base)."""

    file: ModelFile
    environment: str | None
    spec: Model
    # Where a path of `spec` was written (the model file, the project's defaults or the environment
    # patch); None: the model file itself. Patches are blamed through it (mlgitops.render.patches).
    locate: Locator | None = None
    # The text of each smoke test's bodyFile (language/smoketests.py), read when the model was resolved.
    bodies: dict[str, str] = field(default_factory=dict)

    def spec_location(self, path: JsonPath) -> Location:
        if self.locate is not None:
            return self.locate(path, False)
        return self.file.doc.location(path)

    @property
    def name(self) -> str:
        return self.spec.metadata.name


@dataclass
class _Layer:
    doc: Document
    prefix: JsonPath
    patch: dict[str, Any]


def _layered_locator(base: Document, layers: list[_Layer]) -> Locator:
    """Locate a path of the resolved document in the file whose patch last set it."""

    def locate(path: JsonPath, key: bool) -> Location:
        for layer in reversed(layers):
            node: Any = layer.patch
            matched = 0
            for part in path:
                if isinstance(node, dict) and part in node:
                    node = node[part]
                elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                    node = node[part]  # a list replaces the whole list; its items still have lines
                else:
                    break
                matched += 1
                if not isinstance(node, (dict, list)):
                    break
            if matched and (matched == len(path) or not isinstance(node, dict)):
                return layer.doc.location((*layer.prefix, *path[:matched]), key=key and matched == len(path))
        return base.location(path, key=key)

    return locate


def _env_patch(model: ModelFile, env: str) -> dict[str, Any]:
    patch = model.spec.environments.get(env) or {}
    return {k: v for k, v in patch.items() if k != "enabled"}


def is_enabled(model: ModelFile, env: str) -> bool:
    patch = model.spec.environments.get(env) or {}
    return patch.get("enabled", True) is not False


def _layers(workspace: Workspace, model: ModelFile, env: str) -> list[_Layer]:
    """The patches over the model file in `env`, in order (cheap: nothing is merged or copied)."""
    project_env = workspace.project.environment(env)
    env_index = workspace.project.environment_names.index(env)
    data = model.doc.data
    layers: list[_Layer] = []
    # Defaults only reach blocks the model has: a dev default for `training` must not invent one.
    # `addons` is the exception: its defaults (docs/addons.md) apply to models that do not mention it.
    defaults = {
        k: v
        for k, v in project_env.defaults.items()
        if k != "environments" and ((k in data and data[k] is not None) or k == "addons")
    }
    if defaults:
        layers.append(_Layer(workspace.project_doc, ("environments", env_index, "defaults"), defaults))
    own = _env_patch(model, env)
    if own:
        layers.append(_Layer(model.doc, ("environments", env), own))
    return layers


def _resolve(workspace: Workspace, model: ModelFile, env: str) -> tuple[dict[str, Any], list[_Layer]]:
    layers = _layers(workspace, model, env)
    data = {k: v for k, v in model.doc.data.items() if k != "environments"}
    for layer in layers:
        data = merge_patch(data, layer.patch)
    return data, layers


def resolve(workspace: Workspace, model: ModelFile, env: str | None) -> ResolvedModel | None:
    """The model in `env` (None: the base), or None when the model opts out of `env`."""
    if env is None:
        return ResolvedModel(model, None, model.spec)
    cache_key = (model.name, env)
    if cache_key in workspace.resolved:
        cached: ResolvedModel | None = workspace.resolved[cache_key]
        return cached
    result = _resolve_uncached(workspace, model, env)
    workspace.resolved[cache_key] = result
    return result


def spec_location(
    workspace: Workspace, model: ModelFile, env: str | None, path: JsonPath, *, key: bool = False
) -> Location:
    """Where the value at `path` of the model resolved for `env` was written: the model file, the
    project's defaults for `env`, or the model's own `environments.<env>` patch, whichever set it last.

    A path nobody wrote (a default) points at its closest written parent.
    """
    if env is None or not is_enabled(model, env):
        return model.doc.location(path, key=key)
    return _layered_locator(model.doc, _layers(workspace, model, env))(path, key)


def _sets(patch: dict[str, Any], path: JsonPath) -> bool:
    """Whether a merge patch decides the value at `path` (sets it, or replaces or deletes a parent)."""
    node: Any = patch
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
        if not isinstance(node, dict):
            return True
    return True


def _latest_writer(layers: list[_Layer]) -> Latest:
    """Of several paths, the one the latest layer decided (the first on a tie): a clash's cause."""

    def rank(path: JsonPath) -> int:
        return max((i for i, layer in enumerate(layers) if _sets(layer.patch, path)), default=-1)

    def latest(paths: Sequence[JsonPath]) -> JsonPath:
        return max(paths, key=rank)

    return latest


def _resolve_uncached(workspace: Workspace, model: ModelFile, env: str) -> ResolvedModel | None:
    if not is_enabled(model, env):
        return None
    resolved = _resolve_checked(workspace, model, env)
    if resolved.spec.training is not None and not trains_in(workspace.project, model.spec, env):
        # Checked like every other block, but rendered only where the model trains (training_envs.py).
        untrained = resolved.spec.model_copy(update={"training": None})
        return ResolvedModel(model, env, untrained, resolved.locate, resolved.bodies)
    return resolved


def _resolve_checked(workspace: Workspace, model: ModelFile, env: str) -> ResolvedModel:
    data, layers = _resolve(workspace, model, env)
    locate = _layered_locator(model.doc, layers)
    spec = model.spec
    if layers:
        try:
            spec = Model.model_validate(data)
        except ValidationError as exc:
            sources = [model.doc, *(layer.doc for layer in layers)]
            problems = validation_problems(exc, data, Model, locate, sources)
            raise SpecError([_in_env(p, env) for p in problems]) from None
        share_same_input(spec, model.spec, data, model.doc.data)  # what no patch reached is the file spec's
        problems = check_model(spec, workspace.project, locate)
        if problems:
            raise SpecError([_in_env(p, env) for p in problems])
    features = workspace.project.features(env)
    # The memoization cache matters only where the model trains (its WorkflowTemplate is rendered there).
    fit = spec if trains_in(workspace.project, model.spec, env) else spec.model_copy(update={"training": None})
    problems = check_cluster_fit(fit, workspace.project, features, locate, _latest_writer(layers))
    if problems:
        raise SpecError([_in_env(p, env) for p in problems])
    bodies, problems = smoke_bodies(workspace.root, spec.tests, locate, workspace.files)
    if problems:
        raise SpecError([_in_env(p, env) for p in problems])
    return ResolvedModel(model, env, spec, locate, bodies)


def _in_env(problem: Problem, env: str) -> Problem:
    return Problem(problem.location, f"{problem.message} (in environment {env!r})")


def check_workspace_model(workspace: Workspace, model: ModelFile) -> list[Problem]:
    """Project-level checks of one model, then its resolution in every environment."""
    doc = model.doc
    envs = workspace.project.environment_names
    problems = check_model(model.spec, workspace.project, document_locator(doc))
    problems.extend(model_problems(model, workspace.project))
    if not problems:  # read once here, so that a bad bodyFile of the file itself is reported once
        problems.extend(smoke_bodies(workspace.root, model.spec.tests, document_locator(doc), workspace.files)[1])
    for env, patch in model.spec.environments.items():
        if env not in envs:
            problems.append(
                Problem(
                    doc.location(("environments", env), key=True),
                    unknown_environment(env, envs),
                )
            )
            continue
        for key, value in (patch or {}).items():
            where = doc.location(("environments", env, key), key=True)
            if key == "enabled":
                if not isinstance(value, bool):
                    problems.append(Problem(doc.location(("environments", env, key)), "enabled must be true or false"))
            elif key not in PATCHABLE_MODEL_KEYS:
                problems.append(
                    Problem(
                        where,
                        f"an environment patch may set enabled, {', '.join(PATCHABLE_MODEL_KEYS)}; not {key!r}"
                        + did_you_mean(key, (*PATCHABLE_MODEL_KEYS, "enabled")),
                    )
                )
    if problems:
        return problems
    trained: list[Model] = []
    for env in envs:
        try:
            resolved = resolve(workspace, model, env)
        except SpecError as exc:
            problems.extend(exc.problems)
            continue
        if resolved is not None and resolved.spec.training is not None:
            trained.append(resolved.spec)
    if not problems:
        problems.extend(cron_field_problems(model, trained))
    return problems


# --- semantic checks -----------------------------------------------------------------------------


def check_model(spec: Model, project: Project, locate: Locator) -> list[Problem]:
    """Checks a schema cannot express: references between fields and to the project."""
    problems: list[Problem] = []
    classes = sorted(project.gpuClasses)

    def gpu_class(path: JsonPath, name: str | None) -> None:
        if name is not None and name not in project.gpuClasses:
            known = ", ".join(classes) if classes else "none are defined in mlgitops.yaml"
            problems.append(
                Problem(
                    locate((*path, "class"), False),
                    f"unknown GPU class {name!r}{did_you_mean(name, classes)}; known: {known}",
                )
            )

    serving = spec.serving
    if serving is not None:
        gpu_class(("serving", "gpu"), serving.gpu.class_)
        if serving.engine == "deployment":
            if server_image(spec, project) is None:
                problems.append(
                    Problem(
                        locate(("model", "format"), False),
                        f"engine: deployment has no model server image for format {spec.model.format!r}; "
                        "set serving.image, or images.servers in mlgitops.yaml",
                    )
                )
            if serving.replicas.min < 1:
                problems.append(
                    Problem(
                        locate(("serving", "replicas", "min"), False),
                        "serving.replicas.min must be at least 1 with engine: deployment "
                        "(scale to zero needs engine: kserve with mode: Knative)",
                    )
                )
            if serving.autoscaling and serving.autoscaling.metric not in ("cpu", "memory"):
                problems.append(
                    Problem(
                        locate(("serving", "autoscaling", "metric"), False),
                        f"autoscaling on {serving.autoscaling.metric!r} needs engine: kserve with mode: Knative; "
                        "engine: deployment scales on cpu or memory",
                    )
                )
        if serving.canary is not None and serving.canary.version == spec.model.version:
            problems.append(
                Problem(
                    locate(("serving", "canary", "version"), False),
                    f"canary version {serving.canary.version!r} is the version already served",
                )
            )
    if spec.training is not None:
        training_problems = _check_training(spec.training, locate, gpu_class)
        problems.extend(training_problems)
        if spec.training.onExit is not None and spec.training.onExit.gpu is not None:
            gpu_class(("training", "onExit", "gpu"), spec.training.onExit.gpu.class_)
        if not training_problems:
            problems.extend(workflow_structure_problems(spec.training, locate))
        problems.extend(_check_template_size(spec.training, project, locate))
        problems.extend(name_problems(spec, locate))
    problems.extend(node_class_problems(spec, project, locate))
    problems.extend(serving_problems(spec, locate))
    problems.extend(check_pods(spec, locate))
    if spec.tests:
        problems.extend(smoke_problems(spec.tests, spec.serving, locate))
    problems.extend(credential_problems(spec, locate))
    problems.extend(large_model_problems(spec, project, locate))
    return problems


def _check_template_size(training: Training, project: Project, locate: Locator) -> list[Problem]:
    """Bound what the WorkflowTemplate repeats per step (see `MAX_TEMPLATE_ENTRIES`)."""
    entries = 0
    for step in training.steps:
        entries += len(training.parameters) + len(step.env)
        placement = project.gpuClasses.get(step.gpu.class_ or "") if step.gpu and step.gpu.count else None
        if placement is not None:
            entries += len(placement.nodeSelector) + len(placement.tolerations)
        node_class = project.nodeClasses.get(step.nodeClass or training.nodeClass or "")
        if node_class is not None:
            entries += len(node_class.nodeSelector) + len(node_class.tolerations) + len(node_class.affinity)
        if isinstance(step.forEach, list):
            entries += len(step.forEach)
    if entries <= MAX_TEMPLATE_ENTRIES:
        return []
    from_parameters = len(training.steps) * len(training.parameters)
    where = ("training", "parameters") if 2 * from_parameters > entries else ("training", "steps")
    return [
        Problem(
            locate(where, True),
            f"the {len(training.steps)} training steps repeat {entries} environment variables and GPU placement "
            f"entries (every step gets every workflow parameter); the limit is {MAX_TEMPLATE_ENTRIES} "
            "(MAX_TEMPLATE_ENTRIES)",
        )
    ]


def _check_training(training: Training, locate: Locator, gpu_class: Any) -> list[Problem]:
    if len(training.steps) > MAX_STEPS:
        return [
            Problem(
                locate(("training", "steps"), False),
                f"{len(training.steps)} training steps exceed the limit of {MAX_STEPS} (MAX_STEPS)",
            )
        ]
    problems: list[Problem] = []
    index_of: dict[str, int] = {}
    for i, step in enumerate(training.steps):
        where = ("training", "steps", i)
        if step.name in RESERVED_STEP_NAMES:
            problems.append(Problem(locate((*where, "name"), False), f"step name {step.name!r} is reserved"))
        if step.name in index_of:
            problems.append(Problem(locate((*where, "name"), False), f"duplicate step name {step.name!r}"))
        index_of.setdefault(step.name, i)
        if step.gpu is not None:
            gpu_class((*where, "gpu"), step.gpu.class_)
    names = list(index_of)
    for i, step in enumerate(training.steps):
        for j, dep in enumerate(step.after):
            if len(problems) > MAX_PROBLEMS:
                break  # each problem below looks for a close name among all steps; SpecError shows MAX_PROBLEMS
            if dep not in index_of:
                problems.append(
                    Problem(
                        locate(("training", "steps", i, "after", j), False),
                        f"step {step.name!r} runs after {dep!r}, which is not a step{did_you_mean(dep, names)}",
                    )
                )
            elif dep == step.name:
                problems.append(
                    Problem(
                        locate(("training", "steps", i, "after", j), False), f"step {step.name!r} runs after itself"
                    )
                )
    if problems:
        return problems
    cycle = find_cycle({s.name: list(s.after) for s in training.steps})
    if cycle:
        first = index_of[cycle[0]]
        problems.append(
            Problem(locate(("training", "steps", first, "after"), False), "steps form a cycle: " + " → ".join(cycle))
        )
        return problems
    producers_of = input_producers(training)
    for i, step in enumerate(training.steps):
        for j, name in enumerate(step.inputs):
            producers = producers_of[step.name][name]
            if not producers:
                problems.append(
                    Problem(
                        locate(("training", "steps", i, "inputs", j), False),
                        f"step {step.name!r} takes input {name!r}, which no step it runs after outputs",
                    )
                )
            elif len(producers) > 1:
                problems.append(
                    Problem(
                        locate(("training", "steps", i, "inputs", j), False),
                        f"input {name!r} of step {step.name!r} is output by several earlier steps: "
                        + ", ".join(sorted(producers)),
                    )
                )
    emitted: dict[str, str] = {}
    for i, step in enumerate(training.steps):
        for j, metric in enumerate(step.metrics):
            if metric in emitted:
                problems.append(
                    Problem(
                        locate(("training", "steps", i, "metrics", j), False),
                        f"metric {metric!r} is already emitted by step {emitted[metric]!r}",
                    )
                )
            emitted.setdefault(metric, step.name)
    for g, gate in enumerate(training.gates):
        if gate.metric not in emitted:
            problems.append(
                Problem(
                    locate(("training", "gates", g, "metric"), False),
                    f"gate on metric {gate.metric!r}, which no step emits{did_you_mean(gate.metric, emitted)}",
                )
            )
    if training.gates and training.register_ is None and default_register_command(training) is None:
        problems.append(
            Problem(
                locate(("training", "gates"), True),
                "gates need a register step: set training.register.command (the default, "
                "`python -m <package>.register`, needs the metrics step to run `python -m <package>.<module>`)",
            )
        )
    return problems


def default_register_command(training: Training) -> list[str] | None:
    """By convention the register step is the sibling module of the step that emits the metrics.

    `[python, -m, fraud.evaluate]` → `[python, -m, fraud.register]`.
    """
    for step in training.steps:
        if step.metrics:
            command = step.command or []
            if step.script is None and len(command) >= 3 and command[1] == "-m" and "." in command[2]:
                package = command[2].rsplit(".", 1)[0]
                return [command[0], "-m", f"{package}.register"]
            return None
    return None
