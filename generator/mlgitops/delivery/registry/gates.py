"""The spec's `training.gates`, checked again at deployment against the metrics of the version's run.

Same definitions (`mlgitops.language.Gate`) and the same comparison as the training workflow's `register`
condition (mlgitops.render.gates: the metric read as a float, compared with the threshold by the
gate's operator), and the same wording of a failure: `gate auc >= 0.92 does not hold (auc = 0.81)`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence

from mlgitops.language.training import Gate
from mlgitops.render.gates import fixed_point

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}


def shown(value: float) -> str:
    """A metric value as the failure message shows it (fixed-point, like the thresholds)."""
    return fixed_point(value) if math.isfinite(value) else str(value)


def gate_text(gate: Gate) -> str:
    return f"{gate.metric} {gate.op} {fixed_point(gate.value)}"


def failed_gates(gates: Sequence[Gate], metrics: Mapping[str, float]) -> list[str]:
    """One phrase per gate that does not hold (a missing metric does not hold), in the spec's order."""
    failures: list[str] = []
    for gate in gates:
        value = metrics.get(gate.metric)
        if value is None:
            failures.append(f"gate {gate_text(gate)}: the run has no metric {gate.metric!r}")
        elif not _OPS[gate.op](value, gate.value):
            failures.append(f"gate {gate_text(gate)} does not hold ({gate.metric} = {shown(value)})")
    return failures


def evidence(gates: Sequence[Gate], metrics: Mapping[str, float]) -> list[str]:
    """`auc >= 0.92: 0.95 (holds)` per gate, for the pull request."""
    return [f"{gate_text(gate)}: {shown(metrics[gate.metric])} (holds)" for gate in gates if gate.metric in metrics]
