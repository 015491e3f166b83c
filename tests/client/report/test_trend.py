"""The practice's trend: one point per period it holds a cluster release for, gaps not zeros."""

from __future__ import annotations

import html
import json
import re
from datetime import date

import pytest

from client.agent.config import load_settings
from client.engine.fast import PreparedExtract, evaluate_fast
from client.report import gather, trend
from client.report.published import choose_releases, read_releases
from client.report.trend import build_trends, own_counts, trend_dates
from klynge.demo import DemoOptions, prepare
from privacy.manifest import load_manifest
from reporting.practice_page import render_practice_report
from tests.client.report.builders import CATALOGUE, PATIENTS, PRACTICE, practice_report, release_doc

DATES = (date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30))
AS_OF = DATES[-1]


def period_docs(ref: date, k: int, suppress_dm01: bool = False) -> list[dict]:
    cluster = release_doc(ref=ref.isoformat(), rounds=(f"r{k}",), release_id=10 * k)
    cluster["indicators"][0]["interval"] = [0.7, 0.9]
    if suppress_dm01:
        cluster["indicators"][0].update(
            numerator=None,
            rate=None,
            interval=None,
            suppressed={"numerator": "small_complement", "rate": "numerator_suppressed"},
        )
    region = release_doc(
        "region",
        "Midtjylland",
        ref=ref.isoformat(),
        rounds=(f"r{k}", f"x{k}"),
        release_id=10 * k + 1,
    )
    region["indicators"][0].update(rate=0.75, interval=[0.72, 0.78])
    return [cluster, region]


@pytest.fixture
def releases(tmp_path):
    docs = []
    for k, ref in enumerate(DATES):
        docs += period_docs(ref, k, suppress_dm01=k == 1)
    docs.append(release_doc("cluster", "K02", ref="2025-12-31", rounds=("o1",), release_id=99))
    docs.append(release_doc(ref="2026-12-31", rounds=("later",), release_id=100))  # after as_of
    for k, d in enumerate(docs):
        (tmp_path / f"{d['level']}-{k}.json").write_text(json.dumps(d), encoding="utf-8")
    return read_releases(tmp_path)


def test_trend_dates_are_the_own_clusters_periods_up_to_as_of(releases):
    assert trend_dates(releases, "K01", AS_OF) == list(DATES)
    assert trend_dates(releases, "K01", DATES[1]) == list(DATES[:2])
    assert trend_dates(releases, "K02", AS_OF) == [date(2025, 12, 31)]


def test_own_counts_prepare_once_and_evaluate_once_per_new_period(monkeypatch):
    calls: list[date] = []
    real = trend.evaluate_prepared

    def counting(px, catalogue, ref):
        calls.append(ref)
        return real(px, catalogue, ref)

    monkeypatch.setattr(trend, "evaluate_prepared", counting)
    prepared = PreparedExtract.from_extract(PRACTICE)
    known = {AS_OF: {i: (p.numerator, p.denominator) for i, p in PATIENTS.items()}}
    own = own_counts(prepared, CATALOGUE, DATES, known)
    assert calls == list(DATES[:2])  # the as-of period comes from the patient lists
    assert list(own) == list(DATES)
    for ref in DATES:
        expected = evaluate_fast(PRACTICE, CATALOGUE, ref).by_id()
        assert own[ref] == {i: (c.numerator, c.denominator) for i, c in expected.items()}


def _report(releases, trends):
    return practice_report(
        as_of=AS_OF,
        catalogue=CATALOGUE,
        patients=PATIENTS,
        releases=choose_releases(releases, "K01", AS_OF),
        trends=trends,
    )


def _trends(releases):
    own = own_counts(PreparedExtract.from_extract(PRACTICE), CATALOGUE, DATES)
    return build_trends(CATALOGUE, releases, "K01", own)


def test_one_point_per_period_with_a_gap_for_the_suppressed_one(releases):
    dm01 = _trends(releases)["DM-01"]
    assert [p.reference_date for p in dm01.points] == list(DATES)
    assert [p.cluster.rate for p in dm01.points] == [0.8, None, 0.8]
    assert dm01.points[1].cluster.suppressed_reason == "small_complement"
    assert [p.region.rate for p in dm01.points] == [0.75, 0.75, 0.75]
    assert dm01.points[-1].numerator == PATIENTS["DM-01"].numerator
    kol = _trends(releases)["KOL-02"]  # in no release: no cluster figure, still own points
    assert all(p.cluster is None for p in kol.points) and len(kol.points) == 3


@pytest.mark.parametrize(
    ("lang", "gap"),
    [
        ("en", "cluster 2026-06-30 (small complement)"),
        ("da", "klynge 2026-06-30 (lille komplement)"),
    ],
)
def test_the_chart_draws_a_dot_per_shown_figure_and_breaks_the_line_at_a_gap(releases, lang, gap):
    page = render_practice_report(_report(releases, _trends(releases)), lang)
    card = page[page.index("id='DM-01'") :].split("<div class='card'")[0]
    svg = card.split('<svg class="trend-chart"')[1].split("</svg>")[0]
    assert svg.count('<circle class="own"') == 3
    assert svg.count('<circle class="cluster"') == 2  # the suppressed period has no dot
    assert svg.count('<circle class="region"') == 3
    clusters = re.findall(r'<polyline points="([^"]+)" fill="none" stroke="#3b7dd8"', svg)
    assert clusters == []  # two shown periods around a gap: never bridged
    owns = re.findall(r'<polyline points="([^"]+)" fill="none" stroke="#e07b00"', svg)
    assert len(owns) == 1 and len(owns[0].split()) == 3
    baseline = re.search(r'<line x1="\d+" x2="\d+" y1="([\d.]+)"', svg).group(1)
    cluster_ys = re.findall(r'<circle class="cluster" cx="[\d.]+" cy="([\d.]+)"', svg)
    assert baseline not in cluster_ys  # nothing drawn at zero for the hidden figure
    assert gap in html.unescape(card)
    assert "2026-03" in svg and "2026-09" in svg


def test_a_single_period_or_none_is_said_not_drawn(releases):
    one = build_trends(
        CATALOGUE,
        releases,
        "K01",
        own_counts(PreparedExtract.from_extract(PRACTICE), CATALOGUE, DATES[-1:]),
    )
    page = render_practice_report(_report(releases, one), "en")
    assert 'class="trend-chart"' not in page and "Only one period (2026-09-30)" in page
    none = build_trends(CATALOGUE, releases, "K01", {})
    page = render_practice_report(_report(releases, none), "da")
    assert "<h3>Udvikling</h3>" not in page  # no periods: no empty trend blocks


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    out = tmp_path_factory.mktemp("practice-trend") / "demo"
    layout = prepare(DemoOptions(out=out, practices=5, clusters=1, patients=60))
    return load_settings(layout.agent_configs["P0001"])


def test_gather_prepares_the_extract_once_for_every_period(agent, monkeypatch):
    manifest = load_manifest(agent.manifests[0]).manifest
    agent.releases_dir.mkdir(parents=True, exist_ok=True)
    for k, ref in enumerate(DATES[1:]):
        doc = release_doc(ref=ref.isoformat(), unit=agent.cluster_id, rounds=(f"g{k}",))
        doc["manifest_hash"] = manifest.hash()
        (agent.releases_dir / f"cluster-g{k}.json").write_text(json.dumps(doc), encoding="utf-8")
    prepared: list[object] = []
    real = PreparedExtract.from_extract

    def counting(extract):
        prepared.append(extract)
        return real(extract)

    monkeypatch.setattr(gather.PreparedExtract, "from_extract", staticmethod(counting))
    report = gather.gather_report(agent, today=AS_OF, generated_at="now")
    assert len(prepared) == 1
    assert report.as_of == AS_OF
    for item in report.indicators:
        assert [p.reference_date for p in item.trend.points] == list(DATES[1:])
        assert item.trend.points[-1].numerator == item.numerator
    page = render_practice_report(report, "en")
    assert page.count('<svg class="trend-chart"') == len(report.indicators)
