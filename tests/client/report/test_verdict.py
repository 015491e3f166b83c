"""A practice compares itself with the rest of its cluster, using what only it knows."""

from __future__ import annotations

import stat
from datetime import date

import numpy as np
import pytest

from client.agent.pipeline import keep_contribution
from client.report.verdict import REST, judge, judge_survey, read_contribution, rest_of_cluster
from indicator_defs.survey_loader import load_surveys
from privacy.contribution import prepare_contribution
from privacy.estimation import Z95, Z998
from privacy.layout import ReleaseLayout, RoundScope
from privacy.randomness import SeededStream
from reporting.practice_model import Position, SurveyMeasureResult
from reporting.release_document import IndicatorFigure, ReleaseDocument, SurveyMeasureFigure
from reporting.versus_country import critical_z, limit_level, page_limit
from tests.privacy.builders import make_manifest

REF = date(2026, 9, 30)


def _release(manifest, values: np.ndarray, contributors: int) -> ReleaseDocument:
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    figures = {}
    for block in layout.blocks:
        cells = {f: int(values[block.index(0, f)]) for f in block.fields}
        figures[block.indicator_id] = IndicatorFigure(
            block.indicator_id, None, None, None, None, {}, cells=cells
        )
    return ReleaseDocument(
        release_id=1,
        created_at="2026-10-01T00:00:00Z",
        level="cluster",
        unit="K01",
        reference_date=REF,
        round_ids=("r1",),
        manifest_hash=manifest.hash(),
        contributors=contributors,
        mechanism="distributed_skellam",
        epsilon_per_release=1.0,
        figures=figures,
        list_size=int(values[layout.list_size_index]),
    )


def test_the_rest_of_the_cluster_is_the_release_minus_own_cells_and_own_noise(tmp_path):
    manifest = make_manifest()
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    own = layout.encode(
        {"DM-01": (("x", 90, 100),), "DM-02": (("x", 40, 100),), "AB-01": (("x", 500, 2000),)},
        2000,
    )
    others = layout.encode(
        {"DM-01": (("x", 700, 1000),), "DM-02": (("x", 500, 1000),), "AB-01": (("x", 4e3, 2e4),)},
        20_000,
    )
    prepared = prepare_contribution(manifest, own, round_min_survivors=5, source=SeededStream(3))
    path = keep_contribution(tmp_path, "r1", REF, manifest, prepared)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the noise share is for this practice only
    kept = read_contribution(tmp_path, ("r0", "r1"))
    assert kept is not None and np.array_equal(kept.noise, prepared.noise)
    # The others' own noise is left out here, so the rest is exactly their sum.
    release = _release(manifest, prepared.values + others, contributors=6)
    rest = rest_of_cluster(manifest, release, kept)
    assert rest is not None
    assert rest["DM-01"].numerator == pytest.approx(700) and rest["DM-01"].denominator == (
        pytest.approx(1000)
    )
    assert rest["AB-01"].rate == pytest.approx(4000 / 20_000)
    # Its noise is that of the five other practices' shares, not six.
    assert rest["DM-01"].rate_noise_variance > 0
    verdict = judge(0.9, 100, rest=rest["DM-01"], cluster=None, proportion=True)
    assert verdict.position is Position.ABOVE and verdict.compared_with == REST
    close = judge(0.72, 100, rest=rest["DM-01"], cluster=None, proportion=True)
    assert close.position is Position.WITHIN_NOISE


def test_without_a_kept_record_or_raw_cells_there_is_no_rest(tmp_path):
    manifest = make_manifest()
    assert read_contribution(tmp_path, ("r1",)) is None
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    prepared = prepare_contribution(
        manifest, np.zeros(layout.length, dtype=np.int64), round_min_survivors=5
    )
    keep_contribution(tmp_path, "r1", REF, manifest, prepared)
    kept = read_contribution(tmp_path, ("r1",))
    assert kept is not None
    bare = _release(manifest, np.zeros(layout.length), contributors=6)
    no_cells = ReleaseDocument(
        **{
            **bare.__dict__,
            "figures": {k: IndicatorFigure(k, None, None, None, None, {}) for k in bare.figures},
        }
    )
    assert rest_of_cluster(manifest, no_cells, kept) is None
    other_manifest = ReleaseDocument(**{**bare.__dict__, "manifest_hash": "0" * 64})
    assert rest_of_cluster(manifest, other_manifest, kept) is None


def _own(value: float, half: float, *, too_few: bool = False) -> SurveyMeasureResult:
    measure = load_surveys()["PX"].measures["PX-ACCESS"]
    return SurveyMeasureResult(measure, value, 400, (value - half, value + half), too_few)


def _theirs(value: float, half: float, *, uncertain: bool = False) -> SurveyMeasureFigure:
    interval = (value - half, value + half)
    return SurveyMeasureFigure(
        "PX-ACCESS", "PX", "top_box", value, interval, 900, None, uncertain, None
    )


def test_a_survey_verdict_counts_both_intervals_and_the_pages_limit():
    # Both half-widths 1.96 × 0.02: the difference's SD is 0.02·√2 ≈ 0.0283.
    half = Z95 * 0.02
    assert judge_survey(_own(0.70, half), _theirs(0.60, half)).position is Position.ABOVE  # z 3.5
    below = judge_survey(_own(0.50, half), _theirs(0.60, half))
    assert below.position is Position.BELOW and below.z == pytest.approx(-0.1 / (0.02 * 2**0.5))
    # 0.08 is 2.8 SD: beyond 95 %, within the page's 99.8 % limits
    assert judge_survey(_own(0.68, half), _theirs(0.60, half)).position is Position.WITHIN_NOISE
    # z 3.13: beyond 99.8 %, within the limit of a page of 33 comparisons (3.17)
    own, theirs = _own(0.60 + 3.13 * 0.02 * 2**0.5, half), _theirs(0.60, half)
    assert judge_survey(own, theirs, page_limit(23)).position is Position.ABOVE
    assert judge_survey(own, theirs, page_limit(33)).position is Position.WITHIN_NOISE


def test_no_survey_verdict_without_a_usable_figure_on_either_side():
    half = Z95 * 0.02
    assert judge_survey(_own(0.9, half, too_few=True), _theirs(0.1, half)).position is (
        Position.NO_OWN_RATE
    )
    assert judge_survey(_own(0.9, half), None).position is Position.NO_RELEASE
    uncertain = _theirs(0.1, half, uncertain=True)
    assert judge_survey(_own(0.9, half), uncertain).position is Position.UNCERTAIN


def test_the_page_limit_is_the_funnel_plots_up_to_23_comparisons_and_bonferronis_beyond():
    assert page_limit(1) == page_limit(23) == Z998
    assert page_limit(33) == pytest.approx(critical_z(33)) and page_limit(33) > Z998
    assert limit_level(Z998) == pytest.approx(0.998)
