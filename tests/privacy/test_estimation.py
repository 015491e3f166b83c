"""The least-squares estimator behind every released rate: exact, unbiased, honest about noise."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.defaults import default_manifest_path
from privacy.errors import MechanismError
from privacy.estimation import (
    Z95,
    Cell,
    combined,
    estimate,
    estimate_region_totals,
    estimate_release,
    pass_fail_cells,
    passed_name,
    population_name,
    rate_interval,
)
from privacy.layout import TOTAL, ReleaseLayout, RoundScope
from privacy.manifest import Manifest, load_manifest
from privacy.plan import round_release
from tests.privacy.builders import region_truth


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


# ---------------------------------------------------------------------------
# Regional totals from the cluster sums and the region-wide round together


def _small_manifest() -> Manifest:
    """The default manifest cut to three indicators on two populations (one of them the list),
    so the Monte Carlo below solves small systems."""
    manifest = load_manifest(default_manifest_path()).manifest
    keep = ("AB-01", "KOL-01", "KOL-02")
    region_round = manifest.region_round
    assert region_round is not None and region_round.distribution is not None
    distribution = replace(region_round.distribution, indicators=("KOL-02",))
    return replace(
        manifest,
        indicators=tuple(i for i in manifest.indicators if i.id in keep),
        region_round=replace(region_round, distribution=distribution),
    )


def test_joint_totals_of_exact_sums_are_the_exact_totals() -> None:
    manifest = _small_manifest()
    clusters = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    region = ReleaseLayout.for_round(manifest, RoundScope.REGION)
    cluster_vector, region_vector, totals = region_truth(manifest)
    got = estimate_region_totals(
        clusters,
        cluster_vector,
        np.zeros(clusters.length),
        region,
        region_vector,
        np.zeros(region.length),
    )
    for indicator_id, (num, den) in totals.items():
        assert got[indicator_id].numerator == pytest.approx(num, abs=1e-6)
        assert got[indicator_id].denominator == pytest.approx(den, abs=1e-6)
        assert got[indicator_id].rate == pytest.approx(num / den)
        assert got[indicator_id].numerator_variance == pytest.approx(0, abs=1e-9)


def test_joint_totals_match_a_monte_carlo_and_beat_either_measurement_alone() -> None:
    """Three clusters of six and their region-wide round of eighteen, noised as the manifest
    says: the estimate is unbiased, its predicted variance is the empirical one, and it is
    below what the cluster sums or the region-wide round give alone."""
    manifest = _small_manifest()
    clusters = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    region = ReleaseLayout.for_round(manifest, RoundScope.REGION)
    cluster_var = 3 * round_release(manifest, 5).sum_variance(6)
    region_var = round_release(manifest, 14, RoundScope.REGION).sum_variance(18)
    cluster_vector, region_vector, totals = region_truth(manifest)
    predicted = estimate_region_totals(
        clusters, cluster_vector, cluster_var, region, region_vector, region_var
    )
    alone_clusters = estimate_release(clusters, cluster_vector, cluster_var)
    alone_region = estimate_release(region, region_vector, region_var)
    rng = np.random.default_rng(11)
    draws = 600
    numerators = {i: [] for i in totals}
    rates = {i: [] for i in totals}
    for _ in range(draws):
        noisy_clusters = cluster_vector + rng.normal(0, np.sqrt(cluster_var))
        noisy_region = region_vector + rng.normal(0, np.sqrt(region_var))
        got = estimate_region_totals(
            clusters, noisy_clusters, cluster_var, region, noisy_region, region_var
        )
        for i in totals:
            numerators[i].append(got[i].numerator)
            rates[i].append(got[i].rate)
    for i, (num, _) in totals.items():
        p = predicted[i]
        values = np.array(numerators[i])
        # unbiased: the mean within 4 standard errors of the truth
        assert abs(values.mean() - num) <= 4 * math.sqrt(p.numerator_variance / draws)
        # honest: predicted variance within the Monte Carlo's sampling error (≈ 6 % at 600)
        assert values.var() == pytest.approx(p.numerator_variance, rel=0.2)
        assert np.var(rates[i]) == pytest.approx(p.rate_noise_variance, rel=0.2)
        # and better than either measurement alone
        strata = combined(i, TOTAL, [alone_region[i, s] for s in region.block(i).groups])
        assert p.numerator_variance < alone_clusters[i, TOTAL].numerator_variance
        assert p.numerator_variance < strata.numerator_variance
        assert p.rate_noise_variance < alone_clusters[i, TOTAL].rate_noise_variance
