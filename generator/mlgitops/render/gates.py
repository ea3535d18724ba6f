"""Evaluation gates as Argo Workflows expressions: `register` runs when every gate holds, `reject` fails
the Workflow, naming each gate that does not hold with the metric's value and the threshold.

How Argo v4.1 evaluates a DAG task's `when` (argoproj/argo-workflows):

* `workflow/controller/dag.go`, `resolveDependencyReferences`: the `when` string is JSON-encoded, its
  `{{...}}` tags are replaced (`util/template`), then `shouldExecute` (`workflow/controller/steps.go`)
  evaluates the result with govaluate. govaluate's lexer reads a number from digits and `.` only, so
  a plain tag comparison such as `{{tasks.t.outputs.parameters.loss}} < 0.00005` breaks on a metric
  file holding `1e-05` (and on a threshold written `5e-05`).
* An expression tag `{{= ... }}` is evaluated with expr (`util/template/expression_template.go`), in an
  environment with `asFloat` (`util/expr/env/env.go`, expr's builtin `float`: Go `strconv.ParseFloat`,
  which takes `1e-05` but no surrounding blanks) and expr's builtin `trim`. So the whole `when` is ONE
  expression tag: it expands to `true` or `false`, which govaluate reads as a boolean literal.
* The executor strips one trailing newline from an output parameter file (`workflow/executor/
  executor.go`); `trim` removes any other surrounding white space (` 0.9\\r\\n`).
* Thresholds are written in fixed-point with a decimal point: expr parses a literal without `.` or
  `e` as a 64-bit integer (`parser/parser.go` in expr-lang/expr), so `1e21` written as an integer
  would not parse.
* A value that does not parse (`n/a`) makes expr fail; Argo marks the task Error and the Workflow
  fails with the parse error, never registering.
* Names are read with `['...']`: metric and step names may contain `-`, which expr reads as minus.
* Submission-time validation skips expression tags (`util/template/validate.go`), so they are checked
  only when the task runs; the tests check them with a model of this pipeline (tests/argo_when.py).
"""

from __future__ import annotations

from decimal import Decimal

from mlgitops.language.training import Gate


def fixed_point(value: float) -> str:
    """The shortest decimal that reads back as `value`, never in exponent form.

    >>> [fixed_point(v) for v in (0.00005, 1e-7, 1e21, -0.5, 50.0, 0.92)]
    ['0.00005', '0.0000001', '1000000000000000000000', '-0.5', '50', '0.92']
    """
    text = format(Decimal(repr(float(value))), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def expr_number(value: float) -> str:
    """`value` as an expr float literal (always with a decimal point)."""
    text = fixed_point(value)
    return text if "." in text else f"{text}.0"


def metric_ref(step: str, metric: str) -> str:
    """The expr reference to a metric step's output parameter."""
    return f"tasks['{step}'].outputs.parameters['{metric}']"


def _holds(gate: Gate, step: str) -> str:
    return comparison(step, gate.metric, gate.op, gate.value)


def expr_text(value: str) -> str:
    """`value` as an expr string literal (single-quoted; backslash and quote escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def comparison(step: str, name: str, op: str, value: float | str, reference: str | None = None) -> str:
    """One output parameter of `step` (or the expr `reference` given, such as a step's `outputs.result`)
    against `value`: as numbers for a number, as trimmed text for text."""
    ref = reference if reference is not None else metric_ref(step, name)
    if isinstance(value, str):
        return f"trim({ref}) {op} {expr_text(value)}"
    return f"asFloat(trim({ref})) {op} {expr_number(value)}"


def all_of(comparisons: list[str]) -> str:
    """The `when` of a DAG task: one expression tag that holds when every comparison does."""
    return f"{{{{= {' && '.join(comparisons)} }}}}"


def all_hold(gates: list[Gate], step_of: dict[str, str]) -> str:
    """An expr expression, true when every gate holds (`step_of`: metric → the step that emits it)."""
    return " && ".join(_holds(g, step_of[g.metric]) for g in gates)


def failure_message(gates: list[Gate], step_of: dict[str, str]) -> str:
    """An expr expression naming every gate that does not hold, with the metric's value and the threshold:
    `gate auc >= 0.92 does not hold (auc = 0.81); ...`."""
    parts = [
        f"({_holds(g, step_of[g.metric])} ? '' : 'gate {g.metric} {g.op} {fixed_point(g.value)} does not hold "
        f"({g.metric} = ' + trim({metric_ref(step_of[g.metric], g.metric)}) + '); ')"
        for g in gates
    ]
    return f"trim({' + '.join(parts)}, '; ')"
