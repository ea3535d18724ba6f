"""How linear a cost is in the number of models: a least-squares line and the cost per model against the first point.

Pure functions over (model count, seconds or MiB) points, used by bench/bench_scale.py and tools/plot_scale.py.

>>> line = fit([1000, 2000, 4000], [1.5, 2.5, 4.5])
>>> round(line.slope * 1000, 6), round(line.intercept, 6), round(line.r2, 6)
(1.0, 0.5, 1.0)
>>> per_model_relative([1000, 2000, 4000], [1.0, 2.0, 5.0])
[1.0, 1.0, 1.25]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Line:
    slope: float  # units per model
    intercept: float  # units at zero models (start-up, fixed work)
    r2: float  # coefficient of determination of the fit (1: every point on the line)
    max_deviation: float  # largest |measured - fitted| / fitted over the points


def fit(models: Sequence[float], values: Sequence[float]) -> Line:
    """The least-squares line through (models, values); at least two distinct model counts."""
    if len(models) != len(values):
        raise ValueError(f"{len(models)} model counts for {len(values)} values")
    if len(set(models)) < 2:
        raise ValueError("a line needs at least two distinct model counts")
    n = len(models)
    mean_x = sum(models) / n
    mean_y = sum(values) / n
    sxx = sum((x - mean_x) ** 2 for x in models)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(models, values, strict=True))
    slope = sxy / sxx
    intercept = mean_y - slope * mean_x
    fitted = [intercept + slope * x for x in models]
    residual = sum((y - f) ** 2 for y, f in zip(values, fitted, strict=True))
    total = sum((y - mean_y) ** 2 for y in values)
    r2 = 1.0 - residual / total if total else 1.0
    deviations = [abs(y - f) / abs(f) if f else float("inf") for y, f in zip(values, fitted, strict=True)]
    return Line(slope, intercept, r2, max(deviations))


def per_model_relative(models: Sequence[float], values: Sequence[float]) -> list[float]:
    """Cost per model at each point divided by the cost per model at the first point.

    1.0 everywhere is proportional growth; a fixed start-up cost makes later points fall below 1; above 1
    means each model costs more as the project grows (worse than linear).
    """
    if not models or len(models) != len(values):
        raise ValueError("one value per model count, at least one")
    first = values[0] / models[0]
    if first <= 0:
        raise ValueError(f"the first point's cost per model is {first}, not positive")
    return [(y / x) / first for x, y in zip(models, values, strict=True)]
