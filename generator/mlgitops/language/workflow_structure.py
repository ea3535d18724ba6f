"""Checks on the training workflow's structure: forEach, output parameters, `when`, cache and onExit.

Run by resolve.check_model once the steps form a valid graph (names unique, `after` known, no cycle).
Each problem is positioned at the spec field that cannot work. The Argo facts behind them
(argoproj/argo-workflows v4.1):

* A loop task's (`withItems`/`withParam`) output parameters reach later tasks as ONE JSON array of
  every iteration's value (`docs/variables.md`, `tasks.<TASKNAME>.outputs.parameters.<NAME>`); its
  output artifacts are not aggregated at all. So a fanned-out step's artifacts feed no later step, and
  its metrics and params cannot be compared in a `when` or a gate; `paramInputs` receive the JSON array.
* Memoization caches a template's outputs under a key built from its inputs (`docs/memoization.md`:
  "Memoization only works for steps which have outputs"); an input artifact's contents cannot be part
  of the key, so a cached step with artifact inputs would reuse results computed from other data.
* `withParam` needs a JSON list written by an earlier task the looping task depends on.
* A step with `stdout: true` outputs the param `result` (its standard output, `outputs.result`), which
  readers find like any param (`outputs_of`). A loop's results are aggregated by parsing each as JSON
  (`workflow/controller/operator.go`, `processAggregateNodeOutputs`), so a fanned-out step takes no
  `stdout`. A script step takes no `args`: Argo appends the script's file after them.
"""

from __future__ import annotations

import re

from mlgitops.language.stepgraph import topological_order
from mlgitops.language.training import RESULT, ForEachFrom, Step, Training
from mlgitops.language.workspace import Locator
from mlgitops.util.errors import Problem, did_you_mean

RESERVED_TEMPLATE_NAMES = ("pipeline", "register", "reject")
LOOP_SUFFIX = "-loop"
# argo-workflows v4.0.5 workflow/validate/validate.go:1607, paramOrArtifactNameRegex.
ARGO_PARAMETER_NAME = re.compile(r"[-a-zA-Z0-9_]+")
FANNED_OUT = (
    "runs once per forEach item: Argo passes a loop's outputs on only as output parameters, aggregated "
    "into one JSON list (argo-workflows docs/variables.md)"
)


def ancestors(training: Training) -> dict[str, int]:
    """step name → bitset of the indices of the steps it runs after, directly or not."""
    steps = training.steps
    index_of = {step.name: i for i, step in enumerate(steps)}
    bits = [0] * len(steps)
    for node in topological_order(training):
        acc = 0
        for dep in steps[node].after:
            parent = index_of.get(dep)
            if parent is not None:
                acc |= bits[parent] | (1 << parent)
        bits[node] = acc
    return {step.name: bits[i] for i, step in enumerate(steps)}


def outputs_of(step: Step, kind: str) -> list[str]:
    """What `step` outputs as a `kind`: "metrics", or "params" (its params, and `result` with stdout: true)."""
    return step.param_outputs if kind == "params" else list(getattr(step, kind))


def producers(training: Training, step: Step, name: str, kind: str, above: dict[str, int]) -> list[Step]:
    """The steps `step` runs after that output `name` as a `kind` ("params" or "metrics")."""
    mask = above[step.name]
    return [s for i, s in enumerate(training.steps) if mask >> i & 1 and name in outputs_of(s, kind)]


def workflow_structure_problems(training: Training, locate: Locator) -> list[Problem]:
    problems: list[Problem] = []
    above = ancestors(training)
    by_name = {s.name: s for s in training.steps}
    fanned = {s.name for s in training.steps if s.forEach is not None}
    all_params = sorted({p for s in training.steps for p in s.param_outputs})
    for i, step in enumerate(training.steps):
        here = ("training", "steps", i)
        for j, param in enumerate(step.params):
            if param in step.metrics:
                problems.append(
                    Problem(
                        locate((*here, "params", j), False),
                        f"{param!r} is both a param and a metric of step {step.name!r}",
                    )
                )
        for j, name in enumerate(step.paramInputs):
            found = producers(training, step, name, "params", above)
            if len(found) != 1:
                problems.append(
                    Problem(
                        locate((*here, "paramInputs", j), False),
                        f"step {step.name!r} reads param {name!r}, which "
                        + (
                            f"no step it runs after writes{did_you_mean(name, all_params)}"
                            if not found
                            else "several steps it runs after write: " + ", ".join(s.name for s in found)
                        ),
                    )
                )
        for j, artifact in enumerate(step.inputs):
            source = next(
                (
                    s
                    for s in training.steps
                    if s.name in fanned and artifact in s.outputs and above[step.name] >> training.steps.index(s) & 1
                ),
                None,
            )
            if source is not None:
                problems.append(
                    Problem(
                        locate((*here, "inputs", j), False),
                        f"step {step.name!r} takes artifact {artifact!r} from step {source.name!r}, which "
                        f"{FANNED_OUT}; "
                        "write what later steps need as params, or merge the shards in the loop's consumer",
                    )
                )
        for j, condition in enumerate(step.when):
            kind = "metrics" if condition.metric is not None else "params"
            found = producers(training, step, condition.subject, kind, above)
            where = (*here, "when", j, kind[:-1] if kind == "metrics" else "param")
            if len(found) != 1:
                problems.append(
                    Problem(
                        locate(where, False),
                        f"step {step.name!r} runs when {kind[:-1]} {condition.subject!r} holds, which "
                        + ("no step it runs after emits" if not found else "several steps it runs after emit"),
                    )
                )
            elif found[0].name in fanned:
                problems.append(
                    Problem(
                        locate(where, False),
                        f"{kind[:-1]} {condition.subject!r} comes from step "
                        f"{found[0].name!r}, which {FANNED_OUT}; a when compares one value",
                    )
                )
        problems.extend(_for_each_problems(training, step, i, above, by_name, fanned, locate))
        problems.extend(script_problems(step, here, locate))
        if step.cache is not None:
            if step.inputs:
                problems.append(
                    Problem(
                        locate((*here, "cache"), True),
                        f"step {step.name!r} takes artifacts, whose contents cannot be part of Argo's memoization "
                        "key: a cached result would be reused for other data; cache steps whose inputs are "
                        "parameters (training.parameters, paramInputs, forEach items)",
                    )
                )
            elif _unkeyed_sources(step):
                problems.append(
                    Problem(
                        locate((*here, "cache"), True),
                        f"step {step.name!r} reads {_unkeyed_sources(step)[0]}, whose contents are not part of "
                        "the memoization key: a cached result would be reused after they change; pass such values "
                        "as training.parameters, or drop cache",
                    )
                )
            elif not (step.outputs or step.params or step.metrics):
                problems.append(
                    Problem(
                        locate((*here, "cache"), True),
                        f"step {step.name!r} has no outputs, params or metrics: Argo memoizes a step's outputs "
                        "and skips nothing without them (docs/memoization.md)",
                    )
                )
        if step.parallelism is not None and f"{step.name}{LOOP_SUFFIX}" in by_name:
            problems.append(
                Problem(
                    locate((*here, "parallelism"), True),
                    f"step {step.name!r} with parallelism runs its loop in a template named "
                    f"'{step.name}{LOOP_SUFFIX}', which is also a step's name; rename that step",
                )
            )
    for g, gate in enumerate(training.gates):
        source = next((s for s in training.steps if gate.metric in s.metrics), None)
        if source is not None and source.name in fanned:
            problems.append(
                Problem(
                    locate(("training", "gates", g, "metric"), False),
                    f"gate on metric {gate.metric!r} of step {source.name!r}, which {FANNED_OUT}; "
                    "gate on a metric of a step that combines the shards",
                )
            )
    problems.extend(_conditional_source_problems(training, above, locate))
    problems.extend(_on_exit_problems(training, by_name, locate))
    return problems


def _unkeyed_sources(step: Step) -> list[str]:
    """What a step's container reads from the cluster rather than from its spec: ConfigMap and Secret keys,
    envFrom, and volumes other than scratch space (emptyDir, ephemeral) (render/workflow_parts.py, `memoize`, keys
    on the spec only)."""
    found = [
        f"env {name} (a {'Secret' if hasattr(value, 'secret') else 'ConfigMap'} key)"
        for name, value in step.env.items()
        if not isinstance(value, str)
    ]
    found += [f"envFrom {source.secret or source.configMap}" for source in step.envFrom]
    found += [
        f"volume {volume.name}" for volume in step.volumes if volume.emptyDir is None and volume.ephemeral is None
    ]
    return found


def _consumed(training: Training, step: Step, above: dict[str, int]) -> list[tuple[tuple[str | int, ...], Step]]:
    """(spec path under the step, the earlier step whose output it reads) for every output it reads."""
    found: list[tuple[tuple[str | int, ...], Step]] = []
    mask = above[step.name]
    earlier = [s for i, s in enumerate(training.steps) if mask >> i & 1]
    for j, artifact in enumerate(step.inputs):
        found.extend((("inputs", j), s) for s in earlier if artifact in s.outputs)
    for j, name in enumerate(step.paramInputs):
        found.extend((("paramInputs", j), s) for s in earlier if name in s.param_outputs)
    for j, condition in enumerate(step.when):
        kind = "metrics" if condition.metric is not None else "params"
        found.extend((("when", j), s) for s in earlier if condition.subject in outputs_of(s, kind))
    if isinstance(step.forEach, ForEachFrom):
        found.extend((("forEach", "fromStep"), s) for s in earlier if s.name == step.forEach.fromStep)
    return found


def _conditional_source_problems(training: Training, above: dict[str, int], locate: Locator) -> list[Problem]:
    """Outputs of a step that may be skipped (it has a `when`): a Skipped task has no outputs, and a task
    reading them fails (`depends: a` also runs after a Skipped `a`: docs/enhanced-depends-logic.md).
    A reader is fine when its own `when` includes every condition of the step it reads from."""
    problems: list[Problem] = []
    for i, step in enumerate(training.steps):
        for where, source in _consumed(training, step, above):
            if source.when and not all(c in step.when for c in source.when):
                problems.append(
                    Problem(
                        locate(("training", "steps", i, *where), False),
                        f"step {step.name!r} reads an output of step {source.name!r}, which is skipped unless its "
                        f"when holds; a skipped step has no outputs: give {step.name!r} the same when conditions",
                    )
                )
    conditional = {m: s.name for s in training.steps if s.when for m in s.metrics}
    for g, gate in enumerate(training.gates):
        if gate.metric in conditional:
            problems.append(
                Problem(
                    locate(("training", "gates", g, "metric"), False),
                    f"gate on metric {gate.metric!r} of step {conditional[gate.metric]!r}, which is skipped unless "
                    "its when holds; gates need a metric step that always runs",
                )
            )
    return problems


def _for_each_problems(
    training: Training,
    step: Step,
    i: int,
    above: dict[str, int],
    by_name: dict[str, Step],
    fanned: set[str],
    locate: Locator,
) -> list[Problem]:
    here = ("training", "steps", i, "forEach")
    items = step.forEach
    if items is None:
        return []
    if isinstance(items, ForEachFrom):
        source = by_name.get(items.fromStep)
        if source is None:
            return [
                Problem(
                    locate((*here, "fromStep"), False),
                    f"forEach of step {step.name!r} reads from {items.fromStep!r}, which is not a step"
                    + did_you_mean(items.fromStep, by_name),
                )
            ]
        if not above[step.name] >> training.steps.index(source) & 1:
            return [
                Problem(
                    locate((*here, "fromStep"), False),
                    f"step {step.name!r} loops over an output of {source.name!r} but does not run after it; "
                    f"add {source.name!r} to after",
                )
            ]
        if items.output not in source.param_outputs:
            return [
                Problem(
                    locate((*here, "output"), False),
                    f"step {source.name!r} writes no param {items.output!r}"
                    f"{did_you_mean(items.output, source.param_outputs)}; "
                    "forEach reads a param holding a JSON list (or result, the output of a step with stdout: true)",
                )
            ]
        if source.name in fanned:
            return [
                Problem(
                    locate((*here, "fromStep"), False),
                    f"step {source.name!r} {FANNED_OUT}; loop over a param of a step that runs once",
                )
            ]
        return []
    if not items:
        return [Problem(locate(here, True), "forEach needs at least one item")]
    objects = [item for item in items if isinstance(item, dict)]
    if objects and len(objects) != len(items):
        return [Problem(locate(here, True), "forEach items must be all values or all objects, not both")]
    if objects:
        keys = sorted(objects[0])
        bad = [key for key in keys if not ARGO_PARAMETER_NAME.fullmatch(key)]
        if bad:
            return [
                Problem(
                    locate((*here, 0, bad[0]), True),
                    f"forEach key {bad[0]!r} becomes the Argo parameter mlgitops-item-{bad[0]}, and Argo admits "
                    "parameter names of letters, digits, '-' and '_' only; rename the key",
                )
            ]
        for k, item in enumerate(objects):
            if sorted(item) != keys:
                return [
                    Problem(
                        locate((*here, k), False),
                        f"forEach item {k} has keys {sorted(item)}, item 0 has {keys}: every object item needs the "
                        "same keys (each becomes an environment variable)",
                    )
                ]
    return []


def script_problems(step: Step, here: tuple[str | int, ...], locate: Locator) -> list[Problem]:
    """A `script` step's args, and `stdout` where Argo cannot pass the output on as one value."""
    problems: list[Problem] = []
    if step.script is not None and step.args:
        problems.append(
            Problem(
                locate((*here, "args"), True),
                f"step {step.name!r} runs a script: Argo runs command, then args, then the script's file "
                "(workflow/controller/operator.go appends it), so args would reach the interpreter before the "
                "script; put interpreter options in command, and pass values as training.parameters or paramInputs",
            )
        )
    if step.stdout and step.forEach is not None:
        problems.append(
            Problem(
                locate((*here, "stdout"), True),
                f"step {step.name!r} {FANNED_OUT}, and Argo fails the loop when one output is not JSON "
                "(processAggregateNodeOutputs parses each); write what later steps need as params",
            )
        )
    if step.stdout and RESULT in step.params:
        index = step.params.index(RESULT)
        problems.append(
            Problem(
                locate((*here, "params", index), False),
                f"step {step.name!r} has stdout: true, whose output is its param {RESULT!r}; name this param otherwise",
            )
        )
    return problems


def _on_exit_problems(training: Training, by_name: dict[str, Step], locate: Locator) -> list[Problem]:
    step = training.onExit
    if step is None:
        return []
    here = ("training", "onExit")
    loops = {f"{s.name}{LOOP_SUFFIX}" for s in by_name.values() if s.parallelism is not None}
    if step.name in by_name or step.name in RESERVED_TEMPLATE_NAMES or step.name in loops:
        return [
            Problem(
                locate((*here, "name"), False),
                f"onExit step name {step.name!r} is already used by a step, a step's loop template or reserved",
            )
        ]
    problems: list[Problem] = []
    problems.extend(script_problems(step, here, locate))
    fields = ("after", "inputs", "outputs", "metrics", "params", "paramInputs", "when", "forEach", "cache", "stdout")
    for field in fields:
        if getattr(step, field):
            problems.append(
                Problem(
                    locate((*here, field), True),
                    f"the onExit step runs once when the workflow ends, whatever the outcome; it takes no {field} "
                    "(it reads MLGITOPS_WORKFLOW_STATUS and the workflow parameters)",
                )
            )
    return problems
