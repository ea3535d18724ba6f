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
* **when** is one expression tag built by render/gates.py (why: see there).
* **cache** is `memoize` with a key hashed from every value the step's container sees besides its
  artifacts: a digest of the step's own definition, the workflow parameters and the step's input
  parameters. Argo accepts only keys matching `^[a-zA-Z0-9][-a-zA-Z0-9]*$`
  (`workflow/controller/cache/cache.go`, `cacheKeyRegex`), so the key is a SHA-256 in hex, computed by
  Argo with sprig's `sha256sum` (expr environment: `util/expr/env/env.go`). The ConfigMap
  `<model>-train-cache` need not be committed: the controller creates it, labelled
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

from mlgitops.language.training import ForEachFrom, Step, Training
from mlgitops.language.workflow_structure import LOOP_SUFFIX, ancestors, producers
from mlgitops.render.gates import all_of, comparison
from mlgitops.util.kubenames import Obj

__all__ = ["ancestors"]

PARAMS_DIR = "/tmp/mlgitops/params"
ITEM_PARAMETER = "mlgitops-item"
ITEMS_PARAMETER = "mlgitops-items"
ON_EXIT_ENV = {"MLGITOPS_WORKFLOW_STATUS": "{{workflow.status}}"}
CACHE_SUFFIX = "-train-cache"


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


def _items_source(step: Step) -> str | list[Any]:
    items = step.forEach
    if isinstance(items, ForEachFrom):
        return f"{{{{tasks.{items.fromStep}.outputs.parameters.{items.output}}}}}"
    assert items is not None
    return list(items)


def loop_fields(step: Step) -> Obj:
    """`withItems` or `withParam` of the DAG task of a step without parallelism."""
    if step.forEach is None:
        return {}
    source = _items_source(step)
    return {"withParam": source} if isinstance(source, str) else {"withItems": source}


def loop_items_argument(step: Step) -> Obj:
    """The argument that hands a `<step>-loop` template its items (a JSON list, or the producing param)."""
    source = _items_source(step)
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
        out.append({"name": name, "value": f"{{{{tasks.{source.name}.outputs.parameters.{name}}}}}"})
    return out


def when(step: Step, training: Training, above: dict[str, int]) -> str:
    """The task's `when`: every condition of the step, as one expression tag."""
    parts = []
    for condition in step.when:
        kind = "metrics" if condition.metric is not None else "params"
        source = producers(training, step, condition.subject, kind, above)[0]
        parts.append(comparison(source.name, condition.subject, condition.op, condition.value))
    return all_of(parts)


def cache_name(model_name: str) -> str:
    return f"{model_name}{CACHE_SUFFIX}"


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
        "cache": {"configMap": {"name": cache_name(model_name)}},
    }
