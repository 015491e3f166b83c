"""The least-squares estimator behind every released rate: exact, unbiased, honest about noise."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.errors import MechanismError
from privacy.estimation import (
    Z95,
    Cell,
    estimate,
    pass_fail_cells,
    passed_name,
    population_name,
    rate_interval,
)


@settings(max_examples=60, deadline=None)
@given(
    population=st.integers(1, 5000),
    rates=st.lists(st.floats(0, 1), min_size=1, max_size=6),
)
def test_exact_cells_give_back_the_true_counts(population: int, rates: list[float]) -> None:
    passed = [round(r * population) for r in rates]
    names = [f"I{i}" for i in range(len(rates))]
    cells = pass_fail_cells(
        "pop", names, [(p, population - p) for p in passed], [(0.0, 0.0)] * len(names)
    )
    est = estimate(cells)
    assert est.value(population_name("pop")) == pytest.approx(population, abs=1e-6)
    for name, p in zip(names, passed, strict=True):
        assert est.value(passed_name(name)) == pytest.approx(p, abs=1e-6)
        assert est.variance(passed_name(name)) == pytest.approx(0, abs=1e-9)


def test_shared_population_is_measured_once_by_every_pair() -> None:
    """m pairs measure D m times: Var(D̂) = 2v/m, where one pair alone gives 2v."""
    v = 100.0
    for m in (1, 2, 5):
        names = [f"I{i}" for i in range(m)]
        est = estimate(pass_fail_cells("pop", names, [(50, 50)] * m, [(v, v)] * m))
        assert est.variance(population_name("pop")) == pytest.approx(2 * v / m)


@pytest.mark.slow
def test_predicted_covariance_matches_monte_carlo() -> None:
    rng = np.random.default_rng(7)
    truth_d, truth_p = 2000, [1800, 1100, 1500]
    v = [(400.0, 400.0), (100.0, 900.0), (250.0, 250.0)]
    names = ["A", "B", "C"]
    draws = []
    for _ in range(4000):
        values = [
            (p + rng.normal(0, math.sqrt(vp)), truth_d - p + rng.normal(0, math.sqrt(vf)))
            for p, (vp, vf) in zip(truth_p, v, strict=True)
        ]
        est = estimate(pass_fail_cells("pop", names, values, v))
        draws.append([est.ratio(passed_name(n), population_name("pop"))[0] for n in names])
    draws_arr = np.array(draws)
    est = estimate(pass_fail_cells("pop", names, [(p, truth_d - p) for p in truth_p], v))
    for i, name in enumerate(names):
        rate, noise_var = est.ratio(passed_name(name), population_name("pop"))
        assert draws_arr[:, i].mean() == pytest.approx(rate, abs=3 * math.sqrt(noise_var / 4000))
        assert draws_arr[:, i].var() == pytest.approx(noise_var, rel=0.1)


def test_a_population_measured_only_through_differences_is_refused() -> None:
    cells = [Cell((("D:x", 1.0), ("P:a", -1.0)), 5, 1.0)]
    with pytest.raises(MechanismError, match="do not identify"):
        estimate(cells)


def test_interval_covers_chance_and_noise_and_is_clamped() -> None:
    interval = rate_interval(0.98, 400, noise_variance=0.0004)
    half = Z95 * math.sqrt(0.98 * 0.02 / 400 + 0.0004)
    assert interval.high == 1.0
    assert interval.low == pytest.approx(0.98 - half)
    events = rate_interval(0.35, 45000, noise_variance=0.0, proportion=False)
    assert events.high == pytest.approx(0.35 + Z95 * math.sqrt(0.35 / 45000))
