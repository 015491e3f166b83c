"""The practice report model and its HTML: own vs cluster vs region, suppression, offline."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from client.report.practice_report import (
    BudgetYear,
    Position,
)
from client.report.published import ReleaseChoice, choose_releases
from client.report.verdict import judge
from reporting.practice_page import render_practice_report
from reporting.release_document import IndicatorFigure, ReleaseDocumentError, parse_release
from tests.client.report.builders import (
    AS_OF,
    CATALOGUE,
    PATIENTS,
    practice_report,
    release_doc,
)
from tests.langs import in_english


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


def _figure(rate, den=500, sd=10.0):
    return IndicatorFigure("X", None, den, rate, sd, {})


def _judge(own, figure, own_den=200):
    return judge(own, own_den, rest=None, cluster=figure, proportion=True).position


def test_a_verdict_needs_more_than_chance_and_noise_at_the_99_8_limits():
    """Against the cluster (no own record): the own rate's chance and the cluster's interval.

    Own denominator 200, cluster 0.8 with noise SD 10 on 500: SD of the difference
    √(0.8·0.2/200 + (10/500)²) ≈ 0.035, so the 99.8 % limits are ±0.108.
    """
    fig = _figure(0.8)
    assert _judge(0.85, fig) is Position.WITHIN_NOISE  # outside the old 95 % band: not enough
    assert _judge(0.70, fig) is Position.WITHIN_NOISE
    assert _judge(0.95, fig) is Position.ABOVE
    assert _judge(0.65, fig) is Position.BELOW
    assert _judge(None, fig) is Position.NO_OWN_RATE
    assert _judge(0.5, _figure(None)) is Position.SUPPRESSED
    assert _judge(0.5, None) is Position.NO_RELEASE
    # A bigger own denominator means less chance, so a smaller difference counts.
    assert _judge(0.9, fig) is Position.WITHIN_NOISE
    assert _judge(0.9, fig, own_den=5000) is Position.ABOVE


def _report(choice: ReleaseChoice, budget=()):
    return practice_report(
        as_of=AS_OF, catalogue=CATALOGUE, patients=PATIENTS, releases=choice, budget=budget
    )


def _choice(*docs):
    releases = [parse_release(Path(f"r{i}.json"), d) for i, d in enumerate(docs)]
    return choose_releases(releases, "K01", AS_OF)


def _offline(page: str) -> None:
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "@import" not in page and "url(" not in page


@pytest.mark.parametrize("lang", ["da", "en"])
def test_report_with_releases_shows_own_cluster_region_and_suppression(lang):
    choice = _choice(
        release_doc(), release_doc("region", "Midtjylland", rounds=("r1", "r2"), release_id=4)
    )
    report = _report(choice, (BudgetYear(2026, 1, 1, 1.0, 3.0, 2.0, 1e-6),))
    by_id = {i.indicator.id: i for i in report.indicators}
    dm04 = by_id["DM-04"]
    assert dm04.cluster is not None and dm04.cluster.rate is None
    assert dm04.position is Position.SUPPRESSED
    assert dm04.cluster.suppressed_reason == "small_complement"
    assert by_id["KOL-02"].cluster is None and by_id["KOL-02"].position is Position.NO_RELEASE
    # own figures are the sums of the lists, never a second computation
    assert by_id["DM-01"].numerator == PATIENTS["DM-01"].numerator
    page = render_practice_report(report, lang)
    _offline(page)
    suppressed = "skjult" if lang == "da" else "suppressed"
    card = page[page.index("id='DM-04'") :].split("<div class='card'")[0]
    chart = card.split("<svg")[1].split("</svg>")[0]
    assert suppressed in card and "0,0\u00a0%" not in chart and "0.0%" not in chart
    assert page.count("<svg") == len(CATALOGUE.indicators)
    assert page.count("<details>") == len(CATALOGUE.indicators)
    some_id = PATIENTS["DM-01"].contributions[0].patient_id
    assert some_id in page
    assert ("aldrig sendt" if lang == "da" else "never uploaded") in page
    assert "Endnu ikke tilgængeligt" not in page and "Not yet available" not in page
    assert "Midtjylland" in page


def test_report_without_releases_renders_own_values_and_says_so():
    report = _report(ReleaseChoice(None, None, ()))
    assert all(i.position in (Position.NO_RELEASE,) for i in report.indicators)
    page = render_practice_report(report, "en")
    _offline(page)
    assert "No cluster or regional results have been downloaded for 2026-09-30" in page
    assert "No rounds yet: nothing has left the practice." in page
    dm01 = PATIENTS["DM-01"]
    assert f"({dm01.numerator}/{dm01.denominator})" in page


def test_releases_of_another_date_are_not_compared_but_named():
    choice = _choice(release_doc(ref="2026-06-30"))
    assert choice.cluster is None and choice.other_dates == (date(2026, 6, 30),)
    page = render_practice_report(_report(choice), "en")
    assert "2026-06-30" in page and "--as-of" in page


def test_the_newest_cluster_release_and_its_linked_region_are_chosen():
    old = release_doc(release_id=1, rounds=("r1",))
    new = {**release_doc(release_id=2, rounds=("r9",)), "created_at": "2026-10-05T00:00:00+00:00"}
    other = release_doc("cluster", "K02", rounds=("r5",), release_id=3)
    linked = release_doc("region", "R", rounds=("r9", "r5"), release_id=5)
    unlinked = {**release_doc("region", "R", rounds=("r1",), release_id=6), "created_at": "2027"}
    choice = _choice(old, new, other, linked, unlinked)
    assert choice.cluster.release_id == 2 and choice.region.release_id == 5


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("level"), "level"),
        (lambda d: d.update(reference_date="30-09-2026"), "reference_date"),
        (lambda d: d["indicators"][0].update(rate="high"), "indicators[0].rate"),
        (lambda d: d.update(indicators={}), "indicators"),
    ],
)
def test_a_malformed_release_names_file_and_field(mutate, field):
    doc = release_doc()
    mutate(doc)
    with pytest.raises(ReleaseDocumentError) as err:
        parse_release(Path("cluster-x.json"), doc)
    assert f"cluster-x.json, key '{field}'" in str(err.value)
