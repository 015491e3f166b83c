"""Input bounding, coordinator plausibility checks and disclosure control."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.bounding import bound_vector
from privacy.disclosure import (
    COMPLEMENTARY,
    DENOMINATOR_SUPPRESSED,
    RATE_DENOMINATOR_TOO_SMALL,
    SMALL_COMPLEMENT,
    SMALL_COUNT,
    TOO_FEW_PRACTICES,
    apply_disclosure_control,
)
from privacy.errors import BoundingError, DisclosureError
from privacy.layout import ReleaseLayout, RoundScope
from privacy.plausibility import check_plausibility
from tests.privacy.builders import STRATA, indicator, make_manifest

MANIFEST = make_manifest(
    indicators=(
        indicator("DM-01"),
        indicator("AB-01", unit="events", cap=4),
        indicator("AB-02", unit="events", cap=4, den_events=True),
    ),
    region_round=True,
)
# Disclosure control applies to releases without DP; the region-wide layout has strata to check.
LAYOUT = ReleaseLayout.for_round(MANIFEST, RoundScope.REGION)
RULES = MANIFEST.disclosure


def _vector(dm, ab1, ab2, list_size):
    """Each argument: per-stratum (numerator, denominator) pairs, laid out as cells.

    A proportion's cells are (passed, failed) = (num, den − num); AB-01, a rate
    per listed patient, has (events, listed) = (num, den).
    """
    cells = []
    for block, proportion in ((dm, True), (ab1, False), (ab2, True)):
        for num, den in block:
            cells.extend((num, den - num) if proportion else (num, den))
    return np.array([*cells, list_size], dtype=np.int64)


def test_layout_matches_the_engine_vector_order():
    assert LAYOUT.length == 3 * 2 * len(STRATA) + 1
    assert LAYOUT.label(0) == ("DM-01", STRATA[0], "passed")
    assert LAYOUT.label(3) == ("DM-01", STRATA[1], "failed")
    assert LAYOUT.label(8) == ("AB-01", STRATA[0], "events")
    assert LAYOUT.label(9) == ("AB-01", STRATA[0], "listed")
    assert LAYOUT.label(LAYOUT.length - 1) == ("", "", "list_size")
    cluster = ReleaseLayout.for_round(MANIFEST, RoundScope.CLUSTER)
    assert cluster.length == 3 * 2 + 1 and cluster.label(0) == ("DM-01", "total", "passed")


def test_bounding_clips_to_public_bounds_and_reports_it():
    v = _vector(
        dm=[(5, 3), (-2, 4), (1, 10_000), (0, 0)],
        ab1=[(500, 10), (3, 1), (0, 0), (0, 0)],
        ab2=[(7, 5), (2, 9_999), (0, 0), (0, 0)],
        list_size=2_000,
    )
    bounded, report = bound_vector(v, LAYOUT, max_list_size=50_000)
    dm = bounded[:8].reshape(4, 2)
    # passed ≤ list size, failed ≤ list size − passed; a negative count becomes 0
    assert dm.tolist() == [[5, 0], [0, 6], [1, 1999], [0, 0]]
    ab1 = bounded[8:16].reshape(4, 2)
    assert ab1[0].tolist() == [40, 10]  # events ≤ cap × listed
    ab2 = bounded[16:24].reshape(4, 2)
    assert ab2[0].tolist() == [7, 0]  # same-unit events: failed = den − num clipped at 0
    assert ab2[1].tolist() == [2, 7998]  # passed + failed ≤ cap × list size
    fields = {(c.indicator_id, c.group, c.field) for c in report.clips}
    assert ("DM-01", STRATA[0], "failed") in fields
    assert ("DM-01", STRATA[1], "passed") in fields
    assert report.changed
    clean, clean_report = bound_vector(bounded, LAYOUT, max_list_size=50_000)
    assert np.array_equal(clean, bounded) and not clean_report.changed
    big, _ = bound_vector(_vector([(0, 0)] * 4, [(0, 0)] * 4, [(0, 0)] * 4, 90_000), LAYOUT, 50_000)
    assert big[-1] == 50_000


def test_bounding_rejects_a_wrong_layout():
    with pytest.raises(BoundingError, match="shape"):
        bound_vector(np.zeros(5, dtype=np.int64), LAYOUT, 50_000)
    with pytest.raises(BoundingError, match="integers"):
        bound_vector(np.zeros(LAYOUT.length), LAYOUT, 50_000)


def test_plausibility_passes_honest_noisy_sums_and_flags_garbage():
    rng = np.random.default_rng(0)
    honest = _vector(
        dm=[(100, 150), (300, 320), (90, 160), (250, 300)],
        ab1=[(2000, 9000), (900, 4000), (800, 3000), (700, 2000)],
        ab2=[(600, 2000), (300, 900), (200, 800), (100, 700)],
        list_size=48_000,
    )
    sd = 40.0
    noisy = honest + rng.normal(0, sd, honest.size).round().astype(np.int64)
    assert (
        check_plausibility(noisy, LAYOUT, contributors=16, noise_sd=sd, max_list_size=50_000) == ()
    )
    garbage = noisy.copy()
    garbage[9] = -5_000  # an impossible negative number of listed patients
    garbage[10] = 40_000  # far more events than 4 per listed patient
    flags = check_plausibility(garbage, LAYOUT, contributors=16, noise_sd=sd, max_list_size=50_000)
    reasons = {(f.index, f.reason) for f in flags}
    assert (9, "cell_negative") in reasons
    assert (10, "events_exceed_cap") in reasons
    huge = noisy.copy()
    huge[-1] = 16 * 50_000 + 1000  # more listed patients than 16 practices can have
    flags = check_plausibility(huge, LAYOUT, contributors=16, noise_sd=sd, max_list_size=50_000)
    assert any(f.reason == "list_size_out_of_range" for f in flags)
    crowded = noisy.copy()
    crowded[1] = 60_000  # a stratum with more patients than the whole list
    flags = check_plausibility(crowded, LAYOUT, contributors=16, noise_sd=sd, max_list_size=50_000)
    assert any(f.reason == "denominator_exceeds_list_size" for f in flags)


def _release(v, contributors=8, rules=RULES):
    return apply_disclosure_control(
        v, LAYOUT, rules, aggregate="cluster-7", level="cluster", contributors=contributors
    )


def _suppressed(release, indicator_id):
    return {
        (c.stratum, c.field): c.reason for c in release.suppressed if c.indicator_id == indicator_id
    }


def test_small_cells_are_suppressed_with_complementary_suppression():
    big = [(200, 1000)] * 4
    v = _vector(dm=[(3, 400), (120, 300), (60, 200), (90, 250)], ab1=big, ab2=big, list_size=5000)
    release = _release(v)
    hidden = _suppressed(release, "DM-01")
    assert hidden[(STRATA[0], "numerator")] == SMALL_COUNT
    # The total numerator is shown, so a second stratum numerator must go: the smallest (60).
    assert hidden[(STRATA[2], "numerator")] == COMPLEMENTARY
    dm = release.indicators[0]
    assert dm.total.numerator == 3 + 120 + 60 + 90
    assert dm.strata[0].numerator is None and dm.strata[2].numerator is None
    assert dm.strata[0].rate is None and dm.strata[1].rate == pytest.approx(0.4)
    assert dm.strata[0].denominator == 400  # the denominator itself is fine


def test_a_hidden_total_is_not_derivable_from_its_strata():
    big = [(200, 1000)] * 4
    v = _vector(dm=[(1, 40), (1, 30), (1, 20), (1, 30)], ab1=big, ab2=big, list_size=5000)
    hidden = _suppressed(_release(v), "DM-01")
    assert all(hidden[(s, "numerator")] == SMALL_COUNT for s in STRATA)
    assert hidden[("total", "numerator")] == SMALL_COUNT


def test_two_hidden_strata_protect_each_other_without_hiding_the_total():
    one = make_manifest(
        indicators=(replace(indicator("X"), strata=("all", "other")),), region_round=True
    )
    layout = ReleaseLayout.for_round(one, RoundScope.REGION)
    # (passed, failed) per stratum; stratum 'other': 40 of 40 → complement 0
    v = np.array([2, 48, 40, 0, 500], dtype=np.int64)
    release = apply_disclosure_control(
        v, layout, one.disclosure, aggregate="c", level="cluster", contributors=9
    )
    hidden = _suppressed(release, "X")
    assert hidden[("all", "numerator")] == SMALL_COUNT
    assert hidden[("other", "numerator")] == SMALL_COMPLEMENT
    assert ("total", "numerator") not in hidden  # two strata hidden already protect each other


def test_denominator_suppression_hides_its_numerator_and_rate():
    big = [(200, 1000)] * 4
    v = _vector(dm=[(2, 4), (120, 300), (60, 200), (90, 250)], ab1=big, ab2=big, list_size=5000)
    release = _release(v)
    hidden = _suppressed(release, "DM-01")
    assert hidden[(STRATA[0], "denominator")] == SMALL_COUNT
    assert hidden[(STRATA[0], "numerator")] in (SMALL_COUNT, DENOMINATOR_SUPPRESSED)
    assert hidden[(STRATA[2], "denominator")] == COMPLEMENTARY
    assert hidden[(STRATA[0], "rate")] == DENOMINATOR_SUPPRESSED


def test_rates_need_the_minimum_denominator():
    big = [(200, 1000)] * 4
    rules = replace(RULES, min_denominator_for_rate=400, suppress_small_complement=False)
    v = _vector(dm=[(50, 300), (120, 500), (60, 450), (90, 600)], ab1=big, ab2=big, list_size=5000)
    release = _release(v, rules=rules)
    hidden = _suppressed(release, "DM-01")
    assert hidden[(STRATA[0], "rate")] == RATE_DENOMINATOR_TOO_SMALL
    assert release.indicators[0].strata[0].numerator == 50  # counts are still shown
    assert release.indicators[0].strata[1].rate == pytest.approx(0.24)


def test_too_few_practices_releases_nothing():
    v = _vector([(200, 1000)] * 4, [(200, 1000)] * 4, [(200, 1000)] * 4, 5000)
    release = _release(v, contributors=4)
    assert release.indicators == () and release.list_size is None
    assert {c.reason for c in release.suppressed} == {TOO_FEW_PRACTICES}
    assert len(release.suppressed) == len(LAYOUT.blocks) + 1


def test_rounding_applies_to_shown_counts_and_rates_use_rounded_values():
    rules = replace(RULES, rounding_base=5)
    v = _vector([(203, 1002)] * 4, [(200, 1000)] * 4, [(200, 1000)] * 4, 4998)
    release = _release(v, rules=rules)
    cell = release.indicators[0].strata[0]
    assert (cell.numerator, cell.denominator) == (205, 1000)
    assert cell.rate == pytest.approx(205 / 1000)
    assert release.list_size == 5000


def test_disclosure_rejects_a_wrong_layout():
    with pytest.raises(DisclosureError, match="cluster-7"):
        _release(np.zeros(4, dtype=np.int64))


counts = st.integers(min_value=-20, max_value=60)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(counts, counts), min_size=4, max_size=4))
def test_no_released_total_reveals_exactly_one_hidden_cell(cells):
    v = _vector(cells, [(200, 1000)] * 4, [(200, 1000)] * 4, 5000)
    release = _release(v)
    dm = release.indicators[0]
    for field in ("numerator", "denominator"):
        hidden = [getattr(c, field) is None for c in dm.strata]
        total_shown = getattr(dm.total, field) is not None
        # Never exactly one unknown in the linear system "total = Σ strata".
        unknowns = sum(hidden) + (0 if total_shown else 1)
        assert unknowns != 1
        for cell in (*dm.strata, dm.total):
            value = getattr(cell, field)
            assert value is None or value >= RULES.min_cell
    recorded = {(c.stratum, c.field) for c in release.suppressed if c.indicator_id == "DM-01"}
    for cell in (*dm.strata, dm.total):
        for field in ("numerator", "denominator", "rate"):
            if getattr(cell, field) is None:
                assert (cell.stratum, field) in recorded


@pytest.mark.parametrize("complement", [RULES.min_cell - 1, RULES.min_cell])
def test_a_numerator_is_hidden_exactly_when_its_complement_is_below_the_minimum(complement):
    """'All but 2 patients' discloses as much as '2': the boundary is min_cell itself."""
    rules = replace(RULES, suppress_small_complement=True)
    big = [(200, 1000)] * 4
    den = 400
    dm = [(den - complement, den), (120, 300), (60, 200), (90, 250)]
    release = _release(_vector(dm=dm, ab1=big, ab2=big, list_size=5000), rules=rules)
    hidden = _suppressed(release, "DM-01")
    if complement < rules.min_cell:
        assert hidden[(STRATA[0], "numerator")] == SMALL_COMPLEMENT
        assert release.indicators[0].strata[0].numerator is None
    else:
        assert (STRATA[0], "numerator") not in hidden
        assert release.indicators[0].strata[0].numerator is not None


@pytest.mark.parametrize("list_size", [RULES.min_cell - 1, RULES.min_cell])
def test_the_list_size_is_hidden_exactly_when_below_the_minimum(list_size):
    big = [(200, 1000)] * 4
    release = _release(_vector(dm=big, ab1=big, ab2=big, list_size=list_size))
    hidden = {c.field: c.reason for c in release.suppressed if c.indicator_id == ""}
    if list_size < RULES.min_cell:
        assert release.list_size is None
        assert hidden == {"list_size": SMALL_COUNT}
    else:
        assert release.list_size is not None
        assert hidden == {}


@pytest.mark.parametrize("count", [RULES.min_cell - 1, RULES.min_cell])
def test_a_count_is_hidden_exactly_when_below_the_minimum(count):
    """A count of min_cell is shown; one less is not (for numerators and denominators)."""
    rules = replace(RULES, suppress_small_complement=False)
    big = [(200, 1000)] * 4
    dm = [(count, 400), (120, 300), (60, 200), (90, 250)]  # the numerator at the edge
    hidden = _suppressed(
        _release(_vector(dm=dm, ab1=big, ab2=big, list_size=5000), rules=rules), "DM-01"
    )
    assert ((STRATA[0], "numerator") in hidden) is (count < rules.min_cell)
    dm = [(0, count), (120, 300), (60, 200), (90, 250)]  # the denominator at the edge
    hidden = _suppressed(
        _release(_vector(dm=dm, ab1=big, ab2=big, list_size=5000), rules=rules), "DM-01"
    )
    assert ((STRATA[0], "denominator") in hidden) is (count < rules.min_cell)


def test_a_denominator_hidden_to_protect_another_hides_its_numerator_too():
    """Otherwise numerator and rate together would give the hidden denominator back."""
    big = [(200, 1000)] * 4
    # stratum 2 has the smallest shown denominator, stratum 3 the smallest shown numerator
    v = _vector(dm=[(2, 4), (120, 300), (150, 200), (30, 250)], ab1=big, ab2=big, list_size=5000)
    release = _release(v)
    hidden = _suppressed(release, "DM-01")
    assert hidden[(STRATA[2], "denominator")] == COMPLEMENTARY
    assert hidden[(STRATA[3], "numerator")] == COMPLEMENTARY
    assert hidden[(STRATA[2], "numerator")] == DENOMINATOR_SUPPRESSED
    assert release.indicators[0].strata[2].numerator is None
