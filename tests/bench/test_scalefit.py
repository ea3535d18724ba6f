"""bench/scalefit.py: the linearity figures bench/bench_scale.py reports, against numpy as an independent oracle."""

from __future__ import annotations

import numpy as np
import pytest

from bench.scalefit import fit, per_model_relative

COUNTS = [1000, 2000, 5000, 10000]


def test_points_on_a_line_give_that_line_exactly() -> None:
    line = fit(COUNTS, [0.4 + 0.0021 * n for n in COUNTS])
    assert line.slope == pytest.approx(0.0021)
    assert line.intercept == pytest.approx(0.4)
    assert line.r2 == pytest.approx(1.0)
    assert line.max_deviation == pytest.approx(0.0, abs=1e-12)


def test_noisy_points_match_numpy_least_squares() -> None:
    values = [2.31, 4.02, 11.7, 21.9]
    line = fit(COUNTS, values)
    slope, intercept = np.polyfit(COUNTS, values, 1)
    assert line.slope == pytest.approx(slope)
    assert line.intercept == pytest.approx(intercept)
    # for a least-squares line, R² is the squared correlation of x and y
    assert line.r2 == pytest.approx(np.corrcoef(COUNTS, values)[0, 1] ** 2)
    fitted = np.polyval([slope, intercept], COUNTS)
    assert line.max_deviation == pytest.approx(max(abs(np.array(values) - fitted) / fitted))


def test_quadratic_growth_shows_in_both_figures() -> None:
    values = [(n / 1000) ** 2 for n in COUNTS]  # each model costs more as the project grows
    assert per_model_relative(COUNTS, values) == pytest.approx([1, 2, 5, 10])
    line = fit(COUNTS, values)
    assert line.r2 < 0.99
    assert line.max_deviation > 0.2


def test_a_fixed_start_up_cost_makes_later_points_cheaper_per_model() -> None:
    values = [2 + 0.001 * n for n in COUNTS]  # 2 s of start-up, 1 ms per model
    assert per_model_relative(COUNTS, values) == pytest.approx([1, 4 / 6, 7 / 15, 12 / 30])
    assert fit(COUNTS, values).intercept == pytest.approx(2)


def test_a_flat_cost_is_a_perfect_fit_with_no_slope() -> None:
    line = fit(COUNTS, [0.5] * 4)
    assert (line.slope, line.r2, line.max_deviation) == (0, 1.0, 0)


@pytest.mark.parametrize(
    ("models", "values", "message"),
    [
        ([1000, 1000], [1.0, 2.0], "two distinct"),
        ([1000], [1.0], "two distinct"),
        ([1000, 2000], [1.0], "1 values"),
    ],
)
def test_fit_refuses_what_has_no_line(models: list[int], values: list[float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        fit(models, values)


def test_per_model_relative_needs_a_positive_first_point() -> None:
    with pytest.raises(ValueError, match="not positive"):
        per_model_relative([1000, 2000], [0.0, 1.0])
    with pytest.raises(ValueError, match="one value per model count"):
        per_model_relative([], [])
