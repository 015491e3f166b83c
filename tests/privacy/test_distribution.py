"""The practice-rate histograms: encoding, the sensitivity they claim, and reading them back."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.distribution import (
    DISTRIBUTION_BLOCK,
    DistributionSpec,
    decile_of,
    deciles,
    distribution_contribution,
    encode_rate,
    share_below,
)
from privacy.errors import ManifestError
from privacy.layout import FAILED, PASSED, ReleaseLayout, RoundScope, append_distribution
from privacy.manifest import parse_manifest
from privacy.manifest_toml import render_manifest
from privacy.plan import manifest_release
from privacy.plausibility import check_plausibility
from tests.langs import in_english
from tests.privacy.builders import cluster_length, default_manifest, indicator, make_manifest


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


def spec(bins: int = 10, d_min: int = 100, scale: int = 1000, ids=("DM-01",)) -> DistributionSpec:
    return DistributionSpec(tuple(ids), bins, d_min, scale, 1)


def test_a_full_weight_practice_adds_exactly_one_practice_split_between_two_centres():
    s = spec()
    v = encode_rate(72, 100, s)  # 72 %: between the centres 65 % and 75 %
    assert v.sum() == 1000
    assert np.nonzero(v)[0].tolist() == [6, 7]
    assert v[7] == 700 and v[6] == 300
    assert encode_rate(0, 100, s)[0] == 1000  # below the first centre: all in the first bin
    assert encode_rate(100, 100, s)[-1] == 1000


def test_a_small_denominator_counts_as_part_of_a_practice_and_none_counts_nothing():
    s = spec()
    assert encode_rate(10, 25, s).sum() == 250
    assert encode_rate(0, 0, s).sum() == 0


neighbours = st.tuples(
    st.integers(0, 400),  # denominator
    st.floats(0, 1),  # rate, as a share of the denominator
    st.sampled_from([1, -1]),  # the patient is added or removed
    st.floats(0, 1),  # how much of its cap it adds to the denominator
    st.floats(0, 1),  # how much of its cap it adds to the numerator
    st.sampled_from([1, 12]),  # cap per patient
    st.sampled_from([5, 10, 20]),  # bins
    st.sampled_from([20, 100]),  # full-weight denominator
)


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(neighbours)
def test_one_patient_never_moves_the_block_more_than_its_stated_sensitivity(case):
    """A patient's own rows add (a, b) ≤ (cap, cap) to (numerator, denominator), or remove them."""
    d, share, sign, b_share, a_share, cap, bins, d_min = case
    b, a = round(b_share * cap), round(a_share * cap)
    n = round(d * share)
    if sign < 0:  # removing: the patient's rows must have been there
        a, b = min(a, n), min(b, d)
    n2, d2 = n + sign * a, d + sign * b
    if n2 > d2 or (sign > 0 and a > b and n + a > d + b):
        return  # a proportion's numerator never exceeds its denominator
    s = spec(bins, d_min)
    bound = distribution_contribution(s, [cap])
    diff = encode_rate(n2, d2, s) - encode_rate(n, d, s)
    assert np.abs(diff).sum() <= bound.l1
    assert int((diff**2).sum()) <= bound.l2_squared


def test_linear_binning_is_far_cheaper_than_a_one_hot_bin():
    """A one-hot bin costs Δ₂² = 2 practices² per indicator; ours at d_min = 100 about 0.024."""
    c = distribution_contribution(spec(), [1])
    assert c.l2_squared / 1000**2 < 0.03
    assert c.block == DISTRIBUTION_BLOCK and c.coordinates == 10


def test_uniform_rates_give_the_obvious_deciles_and_the_practice_finds_its_place():
    counts = [3.0] * 10  # 30 practices spread evenly
    result = deciles(counts, bin_sd=0.0, practices=30)
    assert result.reason is None
    assert result.values == pytest.approx([k / 10 for k in range(1, 10)])
    assert share_below(counts, 0.35) == pytest.approx(0.35)
    assert decile_of(0.35) == 4 and decile_of(0.0) == 1 and decile_of(1.0) == 10


def test_deciles_are_withheld_with_a_reason():
    assert deciles([1.0] * 10, 0.0, practices=6).reason == "too_few_practices"
    assert deciles([3.0] * 10, 3.0, practices=30).reason == "too_noisy"
    assert deciles([0.0] * 10, 0.0, practices=30).reason == "empty"


def test_the_default_manifest_prices_the_histograms_into_the_region_wide_round_only():
    manifest = default_manifest()
    assert manifest.distribution is not None and manifest.region_round is not None
    region = manifest_release(manifest, RoundScope.REGION)
    blocks = {b.block: b for b in region.sensitivity.blocks}
    assert blocks[DISTRIBUTION_BLOCK].coordinates == manifest.distribution.coordinates
    assert region.dimension == ReleaseLayout.for_round(manifest, RoundScope.REGION).length
    cluster = manifest_release(manifest)
    # Cluster rounds carry no histogram: at cluster level it was pure noise.
    assert DISTRIBUTION_BLOCK not in {b.block for b in cluster.sensitivity.blocks}
    assert cluster.dimension == cluster_length(manifest)
    without = manifest_release(
        replace(manifest, region_round=replace(manifest.region_round, distribution=None)),
        RoundScope.REGION,
    )
    # the same ε target buys less noise per count once the histograms share it
    assert region.cost().epsilon == pytest.approx(without.cost().epsilon, abs=1e-2)
    assert region.mu > without.mu


def test_the_manifest_refuses_a_histogram_it_cannot_bin():
    base = make_manifest(distribution=spec(ids=("DM-01",)))
    text = render_manifest(base)
    assert parse_manifest(text).manifest == base
    bad = text.replace('indicators = [\n    "DM-01",\n]', 'indicators = [\n    "XX-99",\n]')
    with pytest.raises(ManifestError, match=r"key 'region_round\.distribution\.indicators': XX-99"):
        parse_manifest(bad, "m.toml")
    with pytest.raises(ManifestError, match="not a proportion"):
        make_manifest(distribution=spec(ids=("AB-01",)))


def test_the_histogram_is_appended_from_the_bounded_totals():
    manifest = make_manifest(indicators=(indicator("DM-01"),), distribution=spec(ids=("DM-01",)))
    layout = ReleaseLayout.for_round(manifest, RoundScope.REGION)
    block = layout.blocks[0]
    counts = np.zeros(layout.counts_length, dtype=np.int64)
    counts[block.index(0, PASSED)] = 30
    counts[block.index(0, FAILED)] = 10
    counts[block.index(1, PASSED)] = 20
    counts[block.index(1, FAILED)] = 40
    counts[layout.list_size_index] = 500
    full = append_distribution(counts, layout)
    assert full.size == layout.length
    # 50 of 100 patients: rate 50 %, exactly between the centres 45 % and 55 %
    assert full[layout.counts_length :].tolist() == [0, 0, 0, 0, 500, 500, 0, 0, 0, 0]
    assert layout.label(layout.counts_length + 4) == ("DM-01", "bin 5/10", "distribution")


def test_plausibility_flags_a_histogram_with_more_practices_than_contributed():
    manifest = make_manifest(indicators=(indicator("DM-01"),), distribution=spec(ids=("DM-01",)))
    layout = ReleaseLayout.for_round(manifest, RoundScope.REGION)
    total = np.zeros(layout.length, dtype=np.int64)
    total[layout.list_size_index] = 2000
    total[layout.counts_length + 3] = 9000  # nine practices' worth from five contributors
    flags = check_plausibility(total, layout, contributors=5, noise_sd=0.0, max_list_size=50000)
    assert {f.reason for f in flags} == {
        "distribution_bin_out_of_range",
        "distribution_exceeds_practices",
    }
