"""The gate expression builders (render/gates.py), evaluated by the model of Argo's `when` pipeline in
tests/argo_when.py (not by the code under test): numbers written in fixed point read back exactly, text
literals read back as written, and the `when` holds exactly when every gate holds."""

from __future__ import annotations

import math
import operator
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argo_when import evaluate, should_execute
from mlgitops.language.training import Gate
from mlgitops.render.gates import (
    all_hold,
    all_of,
    comparison,
    expr_number,
    expr_text,
    failure_message,
    fixed_point,
    metric_ref,
)

finite = st.floats(allow_nan=False, allow_infinity=False)
OPS = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq, "!=": operator.ne}


@settings(max_examples=500, deadline=None)
@given(finite)
def test_fixed_point_reads_back_exactly_and_never_uses_an_exponent(value: float) -> None:
    text = fixed_point(value)
    assert "e" not in text.lower()
    assert float(text) == value
    assert Decimal(text) == Decimal(repr(value)) or value == 0
    if "." in text:
        assert not text.endswith("0") and not text.endswith(".")
    assert text != "-0"


@settings(max_examples=500, deadline=None)
@given(finite)
def test_expr_number_is_a_float_literal_expr_reads_as_the_value(value: float) -> None:
    text = expr_number(value)
    assert "." in text
    assert evaluate(text, {}) == value


@pytest.mark.parametrize(
    ("value", "text"), [(0.0, "0"), (-0.0, "0"), (50.0, "50"), (1e21, "1000000000000000000000"), (-0.5, "-0.5")]
)
def test_fixed_point_examples(value: float, text: str) -> None:
    assert fixed_point(value) == text
    assert expr_number(value) == (text if "." in text else text + ".0")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab'\\ -.\"")))
def test_expr_text_reads_back_as_written(value: str) -> None:
    assert evaluate(expr_text(value), {}) == value


def test_metric_ref_quotes_names_with_dashes() -> None:
    assert metric_ref("eval-step", "f1-score") == "tasks['eval-step'].outputs.parameters['f1-score']"
    params = {"tasks.eval-step.outputs.parameters.f1-score": "0.5"}
    assert evaluate(metric_ref("eval-step", "f1-score"), params) == "0.5"


def _params(step: str, values: dict[str, str]) -> dict[str, str]:
    return {f"tasks.{step}.outputs.parameters.{name}": value for name, value in values.items()}


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(OPS)),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    st.sampled_from(["{}", " {}\r\n", "{}\n", "{:e}"]),
)
def test_a_numeric_comparison_holds_exactly_when_the_metric_does(
    op: str, metric: float, threshold: float, written: str
) -> None:
    text = written.format(metric) if "{:e}" not in written else f"{metric:e}"
    value = float(text)  # what the step's file holds, as Argo's asFloat reads it
    when = all_of([comparison("eval", "auc", op, threshold)])
    assert should_execute(when, _params("eval", {"auc": text})) == OPS[op](value, threshold)


def test_a_text_comparison_compares_the_trimmed_text() -> None:
    when = all_of([comparison("eval", "verdict", "==", "it's ok")])
    assert should_execute(when, _params("eval", {"verdict": " it's ok \n"}))
    assert not should_execute(when, _params("eval", {"verdict": "its ok"}))


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["auc", "loss", "f1-score"]), st.sampled_from(sorted(OPS)), st.floats(-10, 10)),
        min_size=1,
        max_size=3,
    ),
    st.dictionaries(st.sampled_from(["auc", "loss", "f1-score"]), st.floats(-10, 10), min_size=3, max_size=3),
)
def test_all_hold_and_the_failure_message_agree_with_the_gates(
    gates: list[tuple[str, str, float]], metrics: dict[str, float]
) -> None:
    specs = [Gate(metric=m, op=op, value=v) for m, op, v in gates]  # type: ignore[arg-type]
    step_of = {"auc": "eval", "loss": "train", "f1-score": "eval"}
    params = {f"tasks.{step_of[name]}.outputs.parameters.{name}": fixed_point(value) for name, value in metrics.items()}
    holds = [OPS[g.op](metrics[g.metric], g.value) for g in specs]
    assert should_execute(all_of([all_hold(specs, step_of)]), params) == all(holds)
    message = evaluate(failure_message(specs, step_of), params)
    failing = [g for g, ok in zip(specs, holds, strict=True) if not ok]
    for gate in failing:
        assert f"gate {gate.metric} {gate.op} {fixed_point(gate.value)} does not hold ({gate.metric} = " in message
    assert message.count("does not hold") == len(failing)
    if not failing:
        assert message == ""  # a gate that holds adds nothing
    assert not message.endswith("; ") and not message.startswith("; ")


def test_an_unparsable_metric_is_an_error_not_a_pass() -> None:
    when = all_of([comparison("eval", "auc", ">=", 0.9)])
    with pytest.raises(Exception):  # noqa: B017 - Argo marks the task Error; the model raises
        should_execute(when, _params("eval", {"auc": "n/a"}))
    assert math.isfinite(float(expr_number(0.9)))
