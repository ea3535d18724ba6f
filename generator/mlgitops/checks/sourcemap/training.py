"""Training objects back to the spec: WorkflowTemplate templates, DAG tasks and steps.

The objects are rendered by render/training.py and render/workflow_parts.py: a field added there needs
its entry here, or its findings point at the model's first line.
"""

from __future__ import annotations

from typing import Any

from mlgitops.checks.sourcemap.common import (
    SpecSource,
    container_contents,
    dataset_of_parameter,
    model_at,
    resources_source,
    volume_source,
)
from mlgitops.checks.sourcemap.serving import placement_source
from mlgitops.language.model import Model
from mlgitops.language.training import Step
from mlgitops.language.workflow_structure import LOOP_SUFFIX
from mlgitops.render.training import STEP_DIRS
from mlgitops.util.jsonpointer import get_path
from mlgitops.util.kubenames import PLACEMENT_FIELDS
from mlgitops.util.yamlio import JsonPath

# --- training ------------------------------------------------------------------------------------

_STEP_DIR_FIELDS = {volume: field for field, volume, _ in STEP_DIRS}


def training_name_source(path: JsonPath, spec: Model) -> SpecSource | None:
    """`metadata.name` of a training object named by `training.name` (None: the model's name names it)."""
    training = spec.training
    if path[:2] == ("metadata", "name") and training is not None and training.name is not None:
        return model_at("training", "name")
    return None


def _run_policy(obj: dict[str, Any], path: JsonPath, spec: Model) -> SpecSource | None:
    """ttlStrategy, podMetadata, imagePullSecrets and the CronWorkflow's concurrency and history fields."""
    training = spec.training
    assert training is not None
    ttl_fields = {"secondsAfterCompletion": "afterCompletion", "secondsAfterSuccess": "afterSuccess"}
    ttl_fields["secondsAfterFailure"] = "afterFailure"
    match path:
        case ("spec", "ttlStrategy", str(key), *_) if training.ttl is not None and key in ttl_fields:
            return model_at("training", "ttl", ttl_fields[key])
        case ("spec", "ttlStrategy", *_):
            return model_at("training", "ttl") if training.ttl is not None else model_at("training")
        case ("spec", "imagePullSecrets", int(index), *_) if index < len(training.imagePullSecrets):
            return model_at("training", "imagePullSecrets", index)
        case ("spec", "imagePullSecrets", *_):
            return model_at("training", "imagePullSecrets")
        case ("spec", "podMetadata", ("labels" | "annotations") as part, str(key), *_):
            own = training.podMetadata
            if own is not None and key in getattr(own, part):
                return model_at("training", "podMetadata", part, key)
            return model_at("training")
        case ("spec", "podMetadata", *_):
            return model_at("training", "podMetadata") if training.podMetadata is not None else model_at("training")
        case ("spec", "concurrencyPolicy", *_) if training.concurrencyPolicy is not None:
            return model_at("training", "concurrencyPolicy")
        case ("spec", "successfulJobsHistoryLimit", *_) if training.history is not None:
            return model_at("training", "history", "successful")
        case ("spec", "failedJobsHistoryLimit", *_) if training.history is not None:
            return model_at("training", "history", "failed")
        case ("spec", "concurrencyPolicy" | "successfulJobsHistoryLimit" | "failedJobsHistoryLimit", *_):
            return model_at("training", "schedule")
    return None


def training_source(obj: dict[str, Any], path: JsonPath, spec: Model) -> SpecSource:
    training = spec.training
    if training is None:
        return model_at()
    policy = _run_policy(obj, path, spec)
    if policy is not None:
        return policy
    match path:
        case ("spec", "schedules", *_):
            return model_at("training", "schedule")
        case ("spec", "timezone", *_):
            return model_at("training", "timezone")
        case ("spec", "workflowSpec", *_):
            return model_at("training")
        case ("spec", "serviceAccountName", *_):
            return model_at("training", "serviceAccount")
        case ("spec", "onExit", *_):
            return model_at("training", "onExit")
        case ("spec", "activeDeadlineSeconds", *_):
            return model_at("training", "timeout")
        case ("spec", "arguments", "parameters", int(index), *_):
            name = get_path(obj, ("spec", "arguments", "parameters", index, "name"))
            if isinstance(name, str) and name in training.parameters:
                return model_at("training", "parameters", name)
            dataset = dataset_of_parameter(name, spec)
            if dataset is not None:
                return dataset
            return model_at("training", "parameters")
        case ("spec", "arguments", *_):
            return model_at("training", "parameters")
        case ("spec", "templates", int(index), *rest):
            return _template(obj, index, tuple(rest), spec)
    return model_at("training")


def _step_index(spec: Model, name: Any) -> int | None:
    assert spec.training is not None
    for i, step in enumerate(spec.training.steps):
        if step.name == name:
            return i
    return None


def _template(obj: dict[str, Any], index: int, rest: JsonPath, spec: Model) -> SpecSource:
    training = spec.training
    assert training is not None
    name = get_path(obj, ("spec", "templates", index, "name"))
    if name == "pipeline":
        match rest:
            case ("dag", "tasks", int(task), *more):
                task_name = get_path(obj, ("spec", "templates", index, "dag", "tasks", task, "name"))
                if task_name in ("register", "reject"):
                    return model_at("training", "gates")
                step = _step_index(spec, task_name)
                if step is None:
                    return model_at("training", "steps")
                argument = get_path(obj, ("spec", "templates", index, "dag", "tasks", task, *more[:3], "name"))
                return _task(tuple(more), step, training.steps[step], argument)
        return model_at("training", "steps")
    if isinstance(name, str) and name.endswith(LOOP_SUFFIX):
        loop_step = _step_index(spec, name[: -len(LOOP_SUFFIX)])
        if loop_step is not None:
            here = ("training", "steps", loop_step)
            match rest:
                case ("parallelism", *_):
                    return model_at(*here, "parallelism")
                case ("outputs", *_):
                    return model_at(*here, "params")
                case ("inputs", "artifacts", *_) | ("dag", "tasks", int(), "arguments", "artifacts", *_):
                    return model_at(*here, "inputs")
            return model_at(*here, "forEach")
    if training.onExit is not None and name == training.onExit.name:
        template = get_path(obj, ("spec", "templates", index))
        return _step(rest, ("training", "onExit"), training.onExit, training.nodeClass, template)
    if name == "register":
        match rest:
            case ("container", "image", *_) if training.register_ is not None and training.register_.image:
                return model_at("training", "register", "image")
            case ("container", "image", *_):
                return model_at("training", "image")
            case ("container", "securityContext", *_):
                return model_at("training", "securityContext")
        return model_at("training", "register") if training.register_ is not None else model_at("training", "gates")
    if name == "reject":
        match rest:
            case ("container", "image", *_):
                return model_at("training", "image")
        return model_at("training", "gates")
    step_index = _step_index(spec, name)
    if step_index is None:
        return model_at("training")
    template = get_path(obj, ("spec", "templates", index))
    return _step(rest, ("training", "steps", step_index), training.steps[step_index], training.nodeClass, template)


def _task(more: JsonPath, step_index: int, step: Step, argument: Any) -> SpecSource:
    """A field of a step's DAG task."""
    here = ("training", "steps", step_index)
    match more:
        case ("depends", *_):
            return model_at(*here, "after")
        case ("when", *_):
            return model_at(*here, "when")
        case ("withItems", *_) | ("withParam", *_):
            return model_at(*here, "forEach")
        case ("template", *_) if step.parallelism is not None:
            return model_at(*here, "parallelism")
        case ("arguments", "parameters", *_):
            if isinstance(argument, str) and argument in step.paramInputs:
                return model_at(*here, "paramInputs")
            return model_at(*here, "forEach")
        case ("arguments", *_):
            return model_at(*here, "inputs")
    return model_at(*here)


def _step_env(name: Any, here: JsonPath, step: Step) -> SpecSource | None:
    """The spec field behind an environment variable forEach, params or onExit give a step (else None)."""
    if not isinstance(name, str) or name in step.env:
        return None
    if name.startswith("MLGITOPS_ITEM"):
        return model_at(*here, "forEach")
    if name.startswith("MLGITOPS_PARAM_"):
        return model_at(*here, "paramInputs")
    if name == "MLGITOPS_PARAMS_DIR":
        return model_at(*here, "params")
    if name == "MLGITOPS_WORKFLOW_STATUS":
        return model_at(*here)
    return None


def _step_dir(rest: JsonPath, template: Any) -> str | None:
    """The step field (outputs, params, metrics) behind a volume or mount of a step's own directory."""
    match rest:
        case ("container", "volumeMounts", int(index), *_):
            name = get_path(template, ("container", "volumeMounts", index, "name"))
        case ("volumes", int(index), *_):
            name = get_path(template, ("volumes", index, "name"))
        case _:
            return None
    return _STEP_DIR_FIELDS.get(name) if isinstance(name, str) else None


def _step(rest: JsonPath, here: JsonPath, step: Step, training_node_class: str | None, template: Any) -> SpecSource:
    if rest[:1] == ("script",):  # a script template: its container fields, and the source
        if rest[1:2] == ("source",) or (rest[1:2] == ("command",) and step.command is None):
            return model_at(*here, "script")
        rest = ("container", *rest[1:])
        template = {"container": get_path(template, ("script",))}
    node_class: JsonPath | None = None
    if step.nodeClass is not None:
        node_class = (*here, "nodeClass")
    elif training_node_class is not None:
        node_class = ("training", "nodeClass")
    match rest:
        case ("memoize", *_):
            return model_at(*here, "cache")
        case ("inputs", "parameters", *_):
            return model_at(*here, "paramInputs" if step.paramInputs and step.forEach is None else "forEach")
        case ("outputs", "parameters", int(k), *_) if k >= len(step.metrics):
            return model_at(*here, "params")
        case ("retryStrategy", *_) if step.retry is not None:
            return model_at(*here, "retry")
        case (str(field), *_) if field in PLACEMENT_FIELDS:
            return placement_source(field, step.gpu, (*here, "gpu"), node_class)
        case ("container", "env", int(k), *_):
            found = _step_env(get_path(template, ("container", "env", k, "name")), here, step)
            if found is not None:
                return found
    step_dir = _step_dir(rest, template)
    if step_dir is not None:
        return model_at(*here, step_dir)
    match rest:
        case ("container", *more):
            container = get_path(template, ("container",))
            found = container_contents(container, tuple(more), here, step.env, step.volumes)
            if found is not None:
                return found
        case ("volumes", int(v), *_):
            found = volume_source(get_path(template, ("volumes", v, "name")), here, step.volumes)
            if found is not None:
                return found
    match rest:
        case ("container", "image", *_):
            return model_at(*here, "image") if step.image else model_at("training", "image")
        case ("container", "command", *more):
            return model_at(*here, "command", *more[:1])
        case ("container", "args", *more):
            return model_at(*here, "args", *more[:1])
        case ("container", "env", *_):
            return model_at(*here, "env") if step.env else model_at("training", "parameters")
        case ("container", "resources", *more):
            return resources_source(tuple(more), (*here, "resources"), step.resources, (*here, "gpu"))
        case ("container", "securityContext", *_):
            own = step.securityContext is not None
            return model_at(*here, "securityContext") if own else model_at("training", "securityContext")
        case ("retryStrategy", "retryPolicy", *_):
            return model_at(*here, "retryPolicy")
        case ("retryStrategy", *_):
            return model_at(*here, "retries")
        case ("timeout", *_):
            return model_at(*here, "timeout")
        case (str(field), *_) if field in PLACEMENT_FIELDS:
            return model_at(*here, "gpu", "class")
        case ("inputs", *_):
            return model_at(*here, "inputs")
        case ("outputs", "parameters", *_):
            return model_at(*here, "metrics")
        case ("outputs", *_):
            return model_at(*here, "outputs")
        case ("name", *_):
            return model_at(*here, "name")
    return model_at(*here)
