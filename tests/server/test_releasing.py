"""What the coordinator publishes from a region-wide round, and how the region's aggregate uses it.

Pure functions of `server.releasing` on sums built from consistent true
counts (`test_privacy_support.region_truth`) plus the noise the manifest
prescribes: no processes, no sockets (those are in `test_e2e_federation`).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from privacy.authoring import verification_variant
from privacy.layout import TOTAL, ReleaseLayout, RoundScope
from privacy.manifest import Manifest
from privacy.plan import round_release
from server.releasing import (
    RegionRoundUse,
    build_release,
    regional_sum,
    round_sum,
)
from server.store import Level
from tests.client.agent.world import default_manifest
from tests.privacy.builders import region_truth

REF = date(2026, 9, 30)
PRACTICES = [f"P{i:04d}" for i in range(1, 19)]


def sums(manifest: Manifest, *, noise: bool = True, region_practices=PRACTICES, seed=5):
    """Three clusters of six and one region-wide round of the same (or other) practices."""
    rng = np.random.default_rng(seed)
    cluster_total, region_vector, totals = region_truth(manifest)
    clusters = []
    for k in range(3):  # the region's totals split over three clusters
        share = cluster_total // 3 + (cluster_total % 3 if k == 0 else 0)
        var = round_release(manifest, 5).sum_variance(6)
        noisy = share + (rng.normal(0, np.sqrt(var)).round() if noise else 0)
        clusters.append(
            round_sum(
                manifest,
                scope=RoundScope.CLUSTER,
                unit=f"K0{k + 1}",
                round_id=f"c{k}",
                reference_date=REF,
                vector=noisy.astype(np.int64),
                contributors=6,
                min_survivors=5,
                practices=frozenset(PRACTICES[6 * k : 6 * k + 6]),
            )
        )
    var = round_release(manifest, 14, RoundScope.REGION).sum_variance(len(region_practices))
    noisy = region_vector + (rng.normal(0, np.sqrt(var)).round() if noise else 0)
    region_round = round_sum(
        manifest,
        scope=RoundScope.REGION,
        unit="Midtjylland",
        round_id="w1",
        reference_date=REF,
        vector=noisy.astype(np.int64),
        contributors=len(region_practices),
        min_survivors=14,
        practices=frozenset(region_practices),
    )
    return regional_sum("Midtjylland", clusters), region_round, totals


def publish(manifest, noisy, region_round=None):
    layout = ReleaseLayout.for_round(manifest, noisy.scope)
    mechanism = round_release(manifest, noisy.min_survivors, noisy.scope)
    outcome = build_release(manifest, layout, noisy, mechanism, region_round)
    assert outcome.release is not None, outcome.withheld_reason
    return outcome.release


def totals_of(release):
    return {c.indicator_id: c for c in release.cells if c.stratum == TOTAL}


def test_a_region_round_releases_strata_totals_and_histograms_at_region_level():
    manifest = default_manifest()
    _, noisy, _ = sums(manifest)
    release = publish(manifest, noisy)
    assert release.level is Level.REGION and release.unit == "Midtjylland"
    assert release.extras["scope"] == "region" and release.round_ids == ("w1",)
    layout = ReleaseLayout.for_round(manifest, RoundScope.REGION)
    for block in layout.blocks:
        groups = {c.stratum for c in release.cells if c.indicator_id == block.indicator_id}
        assert groups == {*block.groups, TOTAL}  # every stratum, and the total over them
    assert manifest.distribution is not None
    assert set(release.extras["distributions"]) == set(manifest.distribution.indicators)
    assert "region_round" not in release.extras


def test_the_aggregate_combines_the_same_practices_region_round_into_its_totals():
    manifest = default_manifest()
    aggregate, region_round, totals = sums(manifest)
    alone = totals_of(publish(manifest, aggregate))
    both = publish(manifest, aggregate, RegionRoundUse("w1", region_round))
    assert both.extras["region_round"] == {"round_id": "w1", "totals": "same_contributors"}
    combined = totals_of(both)
    for indicator_id, (num, _) in totals.items():
        c, a = combined[indicator_id], alone[indicator_id]
        assert c.noise_sd < a.noise_sd  # both measurements: less noise than the clusters alone
        assert abs(c.numerator - num) <= 6 * c.noise_sd + 1
        assert c.extras["cells"] == a.extras["cells"]  # the raw cells stay the cluster sums'
    assert both.round_ids == aggregate.round_ids  # the region-wide round is its own release


def test_other_contributors_or_no_region_release_leave_the_totals_to_the_cluster_sums():
    manifest = default_manifest()
    aggregate, _, _ = sums(manifest)
    _, other, _ = sums(manifest, region_practices=PRACTICES[:-1])  # one practice missing
    alone = totals_of(publish(manifest, aggregate))
    for use, reason in (
        (RegionRoundUse("w1", other), "contributors_differ"),
        (RegionRoundUse("w1", None), "region_round_not_released"),
    ):
        release = publish(manifest, aggregate, use)
        assert release.extras["region_round"] == {"round_id": "w1", "totals": reason}
        assert totals_of(release) == alone


def test_without_noise_the_totals_are_the_exact_cluster_sums():
    manifest = verification_variant(default_manifest())
    aggregate, region_round, totals = sums(manifest, noise=False)
    release = publish(manifest, aggregate, RegionRoundUse("w1", region_round))
    assert release.extras["region_round"]["totals"] == "exact"
    for indicator_id, (num, den) in totals.items():
        cell = totals_of(release)[indicator_id]
        if cell.numerator is not None:
            assert (cell.numerator, cell.denominator) == (num, den)
    # and the region-wide round's strata add up to the same totals
    strata = publish(manifest, region_round)
    for indicator_id, (num, _) in totals.items():
        cells = [c for c in strata.cells if c.indicator_id == indicator_id]
        total = next(c for c in cells if c.stratum == TOTAL)
        if total.numerator is not None:
            assert total.numerator == num
            shown = [c.numerator for c in cells if c.stratum != TOTAL]
            if None not in shown:
                assert sum(shown) == pytest.approx(num)
