"""Survey measures under the same protection as the indicators (issue 16, item 3).

The contribution bound (one respondent moves a measure's units cell by at most
its `max_units` and its respondents cell by at most 1) is checked against the
real engine on generated answers; the joint vector's sensitivity, cost and
ledger entry; and a release of survey cells through the coordinator's
releasing path and the release document's parser.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client.engine.survey import compute_survey, survey_cells
from indicator_defs.survey_loader import installed_surveys
from privacy.audit import build_report
from privacy.authoring import verification_variant
from privacy.bounding import bound_vector
from privacy.errors import ManifestError
from privacy.layout import RESPONDENTS, UNITS, ReleaseLayout, RoundScope
from privacy.ledger import Ledger
from privacy.manifest import SignedManifest, parse_manifest
from privacy.manifest_toml import render_manifest
from privacy.plan import manifest_release, manifest_sensitivity, round_release
from privacy.plausibility import check_plausibility
from privacy.report_model import render_markdown
from privacy.signing import generate_private_key
from privacy.survey_release import (
    NO_RESPONDENTS,
    TOO_FEW_RESPONDENTS,
    TOO_WIDE,
    survey_figure,
)
from privacy.utility import budget_shares
from reporting.release_document import ReleaseDocumentError, parse_release
from server.documents import release_document
from server.releasing import RegionRoundUse, build_release, round_sum
from server.store import Level, StoredRelease
from tests.privacy.builders import (
    charge_request,
    cluster_length,
    default_surveys,
    make_manifest,
)

REF = date(2026, 9, 30)
SURVEY = installed_surveys()["PX"]
RATED = [i.id for i in SURVEY.scale_items()]


def answers_frame(rows: list[tuple[str, str, float, date]]) -> pd.DataFrame:
    """`survey_responses` rows (respondent, item, answer, date) of survey PX version 1."""
    frame = pd.DataFrame(
        {
            "respondent": [r[0] for r in rows],
            "survey": "PX",
            "version": 1,
            "item": [r[1] for r in rows],
            "answer": pd.Series([r[2] for r in rows], dtype="float64"),
            "date": pd.to_datetime(pd.Series([r[3] for r in rows], dtype="object")),
            "text": "",
            "patient": "",
        }
    )
    return frame


def cells(frame: pd.DataFrame) -> dict[str, tuple[int, int]]:
    return survey_cells(frame, {"PX": SURVEY}, {"PX": (1, (date(2025, 10, 1), REF))})


_answer = st.one_of(st.integers(1, 5).map(float), st.just(math.nan), st.just(7.0))
_response = st.lists(st.tuples(st.sampled_from([*RATED, "Q11", "Q99"]), _answer), max_size=14)
_day = st.dates(date(2025, 6, 1), date(2026, 12, 31))


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    others=st.lists(st.tuples(_response, _day), max_size=8),
    mine=st.lists(st.tuples(_response, _day), min_size=1, max_size=3),
)
def test_one_respondent_moves_each_cell_by_at_most_its_bound(others, mine):
    """Whatever one person answers, on however many dates, the cells move within the bound the
    manifest states, and the whole survey part within the layout's stated l1 and l2²."""
    manifest = make_manifest(surveys=default_surveys())
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    rows = [(f"R{k}", item, a, day) for k, (resp, day) in enumerate(others) for item, a in resp]
    mine_rows = [("ME", item, a, day) for resp, day in mine for item, a in resp]
    without = layout.encode(_no_indicators(layout), 0, cells(answers_frame(rows)))
    with_me = layout.encode(_no_indicators(layout), 0, cells(answers_frame(rows + mine_rows)))
    change = with_me - without
    l1 = l2 = 0
    for block in layout.surveys:
        units, respondents = (int(change[block.index(f)]) for f in (UNITS, RESPONDENTS))
        assert 0 <= units <= block.measure.max_units
        assert respondents in (0, 1)
        l1 += units + respondents
        l2 += units * units + respondents
    stated = [c for c in layout.contributions() if c.block.startswith("survey:")]
    assert l1 <= sum(c.l1 for c in stated) and l2 <= sum(c.l2_squared for c in stated)


def _no_indicators(layout: ReleaseLayout) -> dict[str, list[tuple[str, int, int]]]:
    return {b.indicator_id: [("total", 0, 0)] for b in layout.blocks}


def test_the_engine_counts_a_respondent_s_mean_in_whole_units():
    frame = answers_frame(
        [
            ("A", "Q01", 5, date(2026, 5, 1)),  # access: 1 of 2 in the top box → 1 unit of 2
            ("A", "Q02", 2, date(2026, 5, 1)),
            ("B", "Q01", 4, date(2026, 6, 1)),
            ("B", "Q01", 1, date(2026, 7, 1)),  # a later response of B: skipped
            ("C", "Q01", 5, date(2025, 9, 30)),  # before the 12 months up to REF
        ]
    )
    got = cells(frame)
    assert got["PX-ACCESS"] == (1 + 2, 2)
    assert got["PX-MEAN"] == (((5 + 2) / 2 - 1) * 2520 + (4 - 1) * 2520, 2)
    result = compute_survey(frame, SURVEY, date(2025, 10, 1), REF)
    assert result.skipped["duplicate_respondent"] == 1


def test_a_practice_without_answers_takes_part_with_zeros():
    got = survey_cells(None, {"PX": SURVEY}, {"PX": (1, (date(2025, 10, 1), REF))})
    assert set(got) == set(SURVEY.measures) and set(got.values()) == {(0, 0)}


def test_the_joint_vector_has_one_sensitivity_one_cost_and_one_ledger_entry(tmp_path):
    """Survey blocks add to the clinical blocks (a respondent may be a patient): one Release,
    calibrated over both, charged once for the whole vector."""
    clinical = make_manifest()
    joint = make_manifest(surveys=default_surveys())
    before, after = manifest_sensitivity(clinical), manifest_sensitivity(joint)
    added = sum(m.max_units**2 + 1 for _, m in joint.survey_measures())
    assert after.l2_squared == before.l2_squared + added
    assert cluster_length(joint) == cluster_length(clinical) + 2 * len(joint.survey_measures())
    # Same target ε: the calibrator spends more noise on the joint vector.
    a, b = manifest_release(clinical), manifest_release(joint)
    assert b.cost().epsilon == pytest.approx(a.cost().epsilon, abs=0.01)
    assert b.mu > a.mu  # type: ignore[attr-defined]
    # A units cell costs what a one-person count of the survey's noise weight costs.
    weight = joint.survey_entries[0].noise_weight
    units_blocks = [c for c in after.blocks if c.block.endswith(":units")]
    assert {c.l2_squared / c.noise_weight for c in units_blocks} == {1 / weight}
    ledger = Ledger.create(tmp_path / "ledger", "P0001", generate_private_key())
    receipt = ledger.charge(charge_request(joint, recipient="coordinator:K01"))
    assert [c.receipt for c in ledger.charges()] == [receipt]
    assert receipt.coordinates == cluster_length(joint)
    assert receipt.epsilon == pytest.approx(b.cost().epsilon)


def test_the_survey_section_round_trips_and_its_absence_changes_no_hash():
    joint = make_manifest(surveys=default_surveys())
    assert parse_manifest(render_manifest(joint)).manifest == joint
    assert replace(joint, surveys=None).hash() == make_manifest().hash()
    assert joint.hash() != make_manifest().hash()


def test_a_local_mechanism_cannot_carry_a_survey():
    with pytest.raises(ManifestError, match="distributed_skellam"):
        make_manifest(mechanism="local_discrete_laplace", scale=3.0, surveys=default_surveys())


def test_a_measure_whose_bound_is_not_whole_is_refused():
    text = render_manifest(make_manifest(surveys=default_surveys()))
    bad = text.replace(
        "low = 1.0\nhigh = 5.0\nresolution = 2520", "low = 1.5\nhigh = 5.0\nresolution = 1"
    )
    assert bad != text
    with pytest.raises(ManifestError, match="resolution"):
        parse_manifest(bad, "m.toml")


def test_bounding_clips_units_to_what_the_respondents_can_hold():
    manifest = make_manifest(surveys=default_surveys())
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    vector = layout.encode(_no_indicators(layout), 10, {"PX-ACCESS": (99, 3)})
    bounded, report = bound_vector(vector, layout, manifest.bounding.max_list_size)
    block = layout.survey_block("PX-ACCESS")
    assert block.counts(bounded) == (3 * 2, 3)
    assert [c.field for c in report.clips] == [UNITS]


def _released(manifest, truth: dict[str, tuple[int, int]], noise: bool, seed: int = 4):
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    vector = layout.encode(_no_indicators(layout), 40_000, truth).astype(np.float64)
    variance = round_release(manifest, 12).sum_variance(15)
    if noise:
        vector = vector + np.random.default_rng(seed).normal(0, np.sqrt(variance)).round()
    noisy = round_sum(
        manifest,
        scope=RoundScope.CLUSTER,
        unit="K01",
        round_id="r1",
        reference_date=REF,
        vector=vector.astype(np.int64),
        contributors=15,
        min_survivors=12,
    )
    outcome = build_release(manifest, layout, noisy, round_release(manifest, 12))
    assert outcome.release is not None, outcome.withheld_reason
    stored = StoredRelease(1, "2026-10-01T08:00:00Z", outcome.release)
    return parse_release("release 1", release_document(stored).to_json())


def test_a_release_round_trip_carries_each_measure_with_an_honest_interval():
    manifest = make_manifest(surveys=default_surveys())
    truth = {
        "PX-ACCESS": (round(0.8 * 2 * 3600), 3600),  # a share of 0.8
        "PX-MEAN": (round(3.2 * 2520 * 3600), 3600),  # a mean score of 4.2
        "PX-COORDINATION": (20 * 6, 20),  # 20 respondents: fewer than the cluster's 30
    }
    doc = _released(manifest, truth, noise=True)
    assert list(doc.surveys) == [m.id for _, m in manifest.survey_measures()]
    access, mean = doc.surveys["PX-ACCESS"], doc.surveys["PX-MEAN"]
    assert access.kind == "top_box" and mean.kind == "mean"
    for figure, value in ((access, 0.8), (mean, 4.2)):  # coverage is tested below
        assert abs(figure.value - value) <= 4 * figure.value_noise_sd
        assert figure.interval[0] < figure.value < figure.interval[1]
        assert not figure.uncertain and figure.respondents > 3000
    assert mean.interval[0] >= 1 and mean.interval[1] <= 5
    assert doc.surveys["PX-COORDINATION"].uncertain  # 20 respondents, noise SD ≈ 50 on them
    assert doc.surveys["PX-INVOLVEMENT"].uncertain  # nobody answered: noise alone
    assert access.cells.keys() == {"units", "respondents"}
    # Without noise the figure is exact and its interval is chance alone.
    exact = _released(verification_variant(manifest), truth, noise=False)
    assert exact.surveys["PX-ACCESS"].value == pytest.approx(0.8)
    assert exact.surveys["PX-MEAN"].interval[0] < 4.2 < exact.surveys["PX-MEAN"].interval[1]
    assert exact.surveys["PX-COORDINATION"].reason == TOO_FEW_RESPONDENTS
    assert exact.surveys["PX-INVOLVEMENT"].value is None
    assert exact.surveys["PX-INVOLVEMENT"].reason == NO_RESPONDENTS


def test_the_release_parser_refuses_a_value_outside_its_interval():
    manifest = make_manifest(surveys=default_surveys())
    doc = _released(manifest, {"PX-ACCESS": (5760, 3600)}, noise=False).to_json()
    doc["surveys"]["PX-ACCESS"]["value"] = 0.99
    with pytest.raises(ReleaseDocumentError, match=r"surveys\.PX-ACCESS\.interval"):
        parse_release("release 1", doc)


def test_the_95_interval_covers_the_truth_about_95_percent_of_the_time():
    """Noise (as the coordinator states it) and chance (respondents drawn from a population)."""
    manifest = make_manifest(surveys=default_surveys())
    survey, measure = manifest.survey_measures()[0]
    variance = round_release(manifest, 12).sum_variance(15)
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    block = layout.survey_block(measure.id)
    var = (float(variance[block.index(UNITS)]), float(variance[block.index(RESPONDENTS)]))
    rng = np.random.default_rng(11)
    hits, trials, p, n = 0, 2000, 0.7, 400
    for _ in range(trials):
        units = rng.binomial(n, p) * measure.max_units + rng.normal(0, math.sqrt(var[0]))
        respondents = n + rng.normal(0, math.sqrt(var[1]))
        fig = survey_figure(
            survey, measure, (units, respondents), var, manifest.disclosure, "cluster"
        )
        hits += fig.interval[0] <= p <= fig.interval[1]
    assert 0.93 <= hits / trials <= 0.97


def test_a_wide_interval_is_labelled_too_uncertain():
    manifest = make_manifest(surveys=default_surveys())
    survey, measure = manifest.survey_measures()[0]
    fig = survey_figure(survey, measure, (60.0, 40.0), (1e4, 1e2), manifest.disclosure, "cluster")
    assert fig.uncertain and fig.reason == TOO_WIDE


@pytest.mark.parametrize("lang", ["da", "en"])
def test_the_audit_answers_the_checklist_for_the_survey(lang):
    """What leaves, the contribution bound, the mechanism and its cost, and that free text
    never leaves, from the same objects as the noise (the shares add up with the indicators')."""
    manifest = make_manifest(surveys=default_surveys())
    report = build_report(SignedManifest(manifest, None), lang=lang)
    text = render_markdown(report)
    words = {
        "da": ("Patientoplevet kvalitet", "Bidragsgrænse", "Fritekst forlader aldrig", "10.080"),
        "en": ("Patient experience", "Contribution bound", "Free text never leaves", "10,080"),
    }[lang]
    for phrase in words:
        assert phrase in text
    data = report.data["surveys"]
    assert list(data) == [m.id for _, m in manifest.survey_measures()]
    shares = budget_shares(manifest)
    assert data["PX-MEAN"]["budget_share"] == pytest.approx(
        shares["survey:PX-MEAN:units"] + shares["survey:PX-MEAN:respondents"]
    )
    assert data["PX-MEAN"]["max_units_per_respondent"] == 4 * 2520


def test_without_a_survey_the_audit_has_no_survey_section():
    report = build_report(SignedManifest(make_manifest(), None), lang="en")
    assert report.data["surveys"] is None
    assert "2a. Patient experience" not in render_markdown(report)


def test_an_impossible_survey_sum_is_flagged_and_an_honest_one_is_not():
    """A buggy agent's survey cells show as a sum no clipped vectors plus noise could give."""
    manifest = make_manifest(surveys=default_surveys())
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    sd = np.sqrt(round_release(manifest, 12).sum_variance(15))
    honest = layout.encode(_no_indicators(layout), 40_000, {"PX-ACCESS": (5000, 3000)})
    assert (
        check_plausibility(honest, layout, contributors=15, noise_sd=sd, max_list_size=10_000) == ()
    )
    buggy = layout.encode(_no_indicators(layout), 40_000, {"PX-ACCESS": (60_000, 3000)})
    flags = check_plausibility(buggy, layout, contributors=15, noise_sd=sd, max_list_size=10_000)
    assert [(f.indicator_id, f.reason) for f in flags] == [("PX-ACCESS", "units_exceed_bound")]


def test_a_region_with_the_same_practices_in_its_region_wide_round_uses_both_measurements():
    manifest = make_manifest(surveys=default_surveys(), region_round=True)
    truth = {"PX-ACCESS": (round(0.8 * 2 * 90_000), 90_000)}
    practices = frozenset(f"P{i}" for i in range(30))
    rng = np.random.default_rng(8)

    def noisy(scope: RoundScope, survivors: int) -> np.ndarray:
        layout = ReleaseLayout.for_round(manifest, scope)
        zeros = {b.indicator_id: [(g, 0, 0) for g in b.groups] for b in layout.blocks}
        vector = layout.encode(zeros, 40_000, truth).astype(np.float64)
        sd = np.sqrt(round_release(manifest, survivors, scope).sum_variance(30))
        return (vector + rng.normal(0, sd).round()).astype(np.int64)

    common = {"unit": "Midtjylland", "reference_date": REF, "contributors": 30}
    aggregate = round_sum(
        manifest,
        scope=RoundScope.CLUSTER,
        round_id="c1",
        vector=noisy(RoundScope.CLUSTER, 24),
        min_survivors=24,
        practices=practices,
        **common,
    )
    aggregate = dataclasses.replace(aggregate, level=Level.REGION)
    wide = round_sum(
        manifest,
        scope=RoundScope.REGION,
        round_id="w1",
        vector=noisy(RoundScope.REGION, 24),
        min_survivors=24,
        practices=practices,
        **common,
    )
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    mechanism = round_release(manifest, 24)
    alone = build_release(manifest, layout, aggregate, mechanism).release
    both = build_release(manifest, layout, aggregate, mechanism, RegionRoundUse("w1", wide)).release
    assert alone is not None and both is not None
    one, two = alone.extras["surveys"]["PX-ACCESS"], both.extras["surveys"]["PX-ACCESS"]
    assert two["value_noise_sd"] < 0.8 * one["value_noise_sd"]
    assert abs(two["value"] - 0.8) <= 4 * two["value_noise_sd"] + 0.001
    assert two["cells"] == one["cells"]  # the raw cells stay the aggregate's
