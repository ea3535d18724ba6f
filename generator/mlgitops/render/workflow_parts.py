"""The parts of a training DAG task and step template that forEach, params, `when`, cache and onExit add.

Argo Workflows v4.1 facts (argoproj/argo-workflows):

* **forEach** becomes the DAG task's `withItems` (the values) or `withParam` (an earlier task's output
  parameter holding a JSON list); `{{item}}` and, for a list of maps, `{{item.<KEY>}}` name the current
  item (`docs/variables.md`, "Loops"). The task passes them as input parameters (`mlgitops-item`,
  `mlgitops-item-<key>`) that the container sees as MLGITOPS_ITEM and MLGITOPS_ITEM_<KEY>.
* **parallelism** is a template field ("the max total parallel pods that can execute at the same time
  within the boundaries of this template invocation", `Template.parallelism` in
  `pkg/apis/workflow/v1alpha1/workflow_types.go`); a DAG task has none. So a step with parallelism loops
  inside its own DAG template `<step>-loop` carrying it, which re-exports the loop's output parameters
  (`outputs.parameters[].valueFrom.parameter`), aggregated as a JSON list like any loop's.
* **params** are output parameters read from a file (`valueFrom.path`), like metrics; a later step
  reads one as an input parameter, in the environment as MLGITOPS_PARAM_<NAME>.
* **stdout** makes a step's standard output its param `result`: readers get `{{tasks.<step>.outputs.result}}`
  (`docs/variables.md`). Argo captures it only when the parent template refers to it
  (`workflow/controller/operator.go`, `hasOutputResultRef`), keeps the last 256 kB and trims one final newline
  (`workflow/executor/executor.go`, `CaptureScriptResult`).
* **when** is one expression tag built by render/gates.py (why: see there).
* **cache** is `memoize` with a key hashed from every value the step's container sees besides its
  artifacts: a digest of the step's own definition, the workflow parameters and the step's input
  parameters. Argo accepts only keys matching `^[a-zA-Z0-9][-a-zA-Z0-9]*$`
  (`workflow/controller/cache/cache.go`, `cacheKeyRegex`), so the key is a SHA-256 in hex, computed by
  Argo with sprig's `sha256sum` (expr environment: `util/expr/env/env.go`). The ConfigMap
  `<training name>-cache` (by default `<model>-train-cache`) need not be committed: the controller creates it, labelled
  `workflows.argoproj.io/configmap-type: Cache`, on the first save and treats a missing one as a miss
  (`workflow/controller/cache/configmap_cache.go`, `Save`, `Load`); it needs `create` and `update` on
  configmaps (`docs/memoization.md`). Committing it would make Argo CD fight the controller's writes.
  `maxAge` is a Go duration (`time.ParseDuration` in `workflow/controller/operator.go`).
* **onExit** names a template run when the workflow ends (`WorkflowSpec.onExit`); `{{workflow.status}}`
  (Succeeded, Failed or Error; `docs/variables.md`) reaches it as MLGITOPS_WORKFLOW_STATUS.

Source map (object path → spec line): checks/sourcemap/training.py.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mlgitops.language.training import RESULT, ForEachFrom, Step, Training, training_name
from mlgitops.language.workflow_structure import LOOP_SUFFIX, ancestors, producers
from mlgitops.render.gates import all_of, comparison, metric_ref
from mlgitops.util.kubenames import Obj

__all__ = ["ancestors"]

PARAMS_DIR = "/tmp/mlgitops/params"
ITEM_PARAMETER = "mlgitops-item"
ITEMS_PARAMETER = "mlgitops-items"
ON_EXIT_ENV = {"MLGITOPS_WORKFLOW_STATUS": "{{workflow.status}}"}
CACHE_SUFFIX = "-cache"


def env_suffix(name: str) -> str:
    """`best-lr` → `BEST_LR`."""
    return name.upper().replace("-", "_").replace(".", "_")


def item_keys(step: Step) -> list[str]:
    """The keys of a forEach of objects (validation makes every item have the same keys)."""
    items = step.forEach
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return sorted(items[0])
    return []


def input_parameters(step: Step) -> list[str]:
    """The step template's input parameter names: the forEach item (and its keys), then paramInputs."""
    names = []
    if step.forEach is not None:
        names.append(ITEM_PARAMETER)
        names.extend(f"{ITEM_PARAMETER}-{key}" for key in item_keys(step))
    names.extend(step.paramInputs)
    return names


def step_env(step: Step) -> dict[str, str]:
    """The environment variables forEach, params and paramInputs give the step's container."""
    env: dict[str, str] = {}
    if step.params:
        env["MLGITOPS_PARAMS_DIR"] = PARAMS_DIR
    if step.forEach is not None:
        env["MLGITOPS_ITEM"] = f"{{{{inputs.parameters.{ITEM_PARAMETER}}}}}"
        for key in item_keys(step):
            env[f"MLGITOPS_ITEM_{env_suffix(key)}"] = f"{{{{inputs.parameters.{ITEM_PARAMETER}-{key}}}}}"
    for name in step.paramInputs:
        env[f"MLGITOPS_PARAM_{env_suffix(name)}"] = f"{{{{inputs.parameters.{name}}}}}"
    return env


def item_arguments(step: Step) -> list[Obj]:
    """A looping task's arguments naming the current item."""
    if step.forEach is None:
        return []
    arguments = [{"name": ITEM_PARAMETER, "value": "{{item}}"}]
    arguments.extend({"name": f"{ITEM_PARAMETER}-{key}", "value": f"{{{{item.{key}}}}}"} for key in item_keys(step))
    return arguments


def output_variable(source: Step, name: str) -> str:
    """The Argo variable (without braces) of the param `name` of an earlier step `source`: its standard output
    (`outputs.result`) for `result` of a step with `stdout: true`, else its output parameter."""
    if source.stdout and name == RESULT:
        return f"tasks.{source.name}.outputs.result"
    return f"tasks.{source.name}.outputs.parameters.{name}"


def output_expression(source: Step, name: str) -> str:
    """The same as an expr reference (`tasks['a'].outputs.result`), for the `when` expression tags."""
    if source.stdout and name == RESULT:
        return f"tasks['{source.name}'].outputs.result"
    return metric_ref(source.name, name)


def _items_source(step: Step, training: Training) -> str | list[Any]:
    items = step.forEach
    if isinstance(items, ForEachFrom):
        source = next(s for s in training.steps if s.name == items.fromStep)
        return f"{{{{{output_variable(source, items.output)}}}}}"
    assert items is not None
    return list(items)


def loop_fields(step: Step, training: Training) -> Obj:
    """`withItems` or `withParam` of the DAG task of a step without parallelism."""
    if step.forEach is None:
        return {}
    source = _items_source(step, training)
    return {"withParam": source} if isinstance(source, str) else {"withItems": source}


def loop_items_argument(step: Step, training: Training) -> Obj:
    """The argument that hands a `<step>-loop` template its items (a JSON list, or the producing param)."""
    source = _items_source(step, training)
    value = source if isinstance(source, str) else json.dumps(source, separators=(",", ":"), sort_keys=True)
    return {"name": ITEMS_PARAMETER, "value": value}


def loop_template(step: Step, parameters: list[Obj], artifacts: list[Obj]) -> Obj:
    """`<step>-loop`: a DAG template with the step's parallelism that loops over its items."""
    inner_parameters = [*item_arguments(step)]
    inner_parameters += [{"name": p["name"], "value": f"{{{{inputs.parameters.{p['name']}}}}}"} for p in parameters]
    inner_artifacts = [{"name": a["name"], "from": f"{{{{inputs.artifacts.{a['name']}}}}}"} for a in artifacts]
    task: Obj = {"name": step.name, "template": step.name, "withParam": f"{{{{inputs.parameters.{ITEMS_PARAMETER}}}}}"}
    arguments: Obj = {"parameters": inner_parameters}
    if inner_artifacts:
        arguments["artifacts"] = inner_artifacts
    task["arguments"] = arguments
    inputs: Obj = {"parameters": [{"name": ITEMS_PARAMETER}, *({"name": p["name"]} for p in parameters)]}
    if artifacts:
        inputs["artifacts"] = [{"name": a["name"]} for a in artifacts]
    template: Obj = {"name": f"{step.name}{LOOP_SUFFIX}", "inputs": inputs, "parallelism": step.parallelism}
    exported = [*step.metrics, *step.params]
    if exported:
        template["outputs"] = {
            "parameters": [
                {"name": name, "valueFrom": {"parameter": f"{{{{tasks.{step.name}.outputs.parameters.{name}}}}}"}}
                for name in exported
            ]
        }
    template["dag"] = {"tasks": [task]}
    return template


def param_arguments(step: Step, training: Training, above: dict[str, int]) -> list[Obj]:
    """The task's arguments passing each paramInput from the one earlier step that writes it."""
    out = []
    for name in step.paramInputs:
        source = producers(training, step, name, "params", above)[0]
        out.append({"name": name, "value": f"{{{{{output_variable(source, name)}}}}}"})
    return out


def when(step: Step, training: Training, above: dict[str, int]) -> str:
    """The task's `when`: every condition of the step, as one expression tag."""
    parts = []
    for condition in step.when:
        kind = "metrics" if condition.metric is not None else "params"
        source = producers(training, step, condition.subject, kind, above)[0]
        reference = output_expression(source, condition.subject) if kind == "params" else None
        parts.append(comparison(source.name, condition.subject, condition.op, condition.value, reference))
    return all_of(parts)


def cache_name(model_name: str, training: Training) -> str:
    """`<training name>-cache`: by default `<model>-train-cache`."""
    return f"{training_name(model_name, training)}{CACHE_SUFFIX}"


def memoize(step: Step, training: Training, model_name: str) -> Obj:
    """`memoize` of a cached step (see the module docstring for the key)."""
    assert step.cache is not None
    definition = json.dumps(step.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(f"{training.image}\n{definition}".encode()).hexdigest()[:16]
    values = [f"'{digest}'"]
    values += [f"workflow.parameters['{name}']" for name in training.parameters]
    values += [f"inputs.parameters['{name}']" for name in input_parameters(step)]
    return {
        "key": f"{{{{= sprig.sha256sum(toJson([{', '.join(values)}])) }}}}",
        "maxAge": step.cache.maxAge,
        "cache": {"configMap": {"name": cache_name(model_name, training)}},
    }
