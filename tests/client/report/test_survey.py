"""The practice's own patient-experience section: exact measures with sampling intervals,
"too few answers" below the minimum, the comments listed only here, Danish and English."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from client.report.published import ReleaseChoice
from client.report.sampling import mean_interval, t_quantile, wilson
from client.report.survey import MIN_RESPONDENTS, practice_survey, practice_surveys, survey_period
from client.synth.survey import draw_survey_responses
from indicator_defs.survey_loader import load_surveys
from reporting.practice_model import Position
from reporting.practice_page import render_practice_report
from reporting.release_document import parse_release
from tests.client.report.builders import (
    AS_OF,
    CATALOGUE,
    PATIENTS,
    PRACTICE,
    practice_report,
    release_doc,
)
from tests.reporting.builders import survey_doc

PX = load_surveys()["PX"]
COMMENT = "Lægen <b>lytter</b> & forklarer godt"


def answers(rows: list[tuple]) -> pd.DataFrame:
    columns = ["respondent", "survey", "version", "item", "answer", "date", "text", "patient"]
    out = pd.DataFrame(rows, columns=columns)
    out["answer"] = out["answer"].astype(float)
    out["version"] = out["version"].astype(float)
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[us]")
    return out


def respondents(n: int, top: int, day: str = "2026-03-01") -> list[tuple]:
    """n respondents answering Q01 (the first `top` of them 5, the rest 2)."""
    return [(f"r{i}", "PX", 1, "Q01", 5 if i < top else 2, day, None, None) for i in range(n)]


def test_the_period_is_the_year_ending_at_the_report_date():
    assert survey_period(date(2026, 9, 30)) == (date(2025, 10, 1), date(2026, 9, 30))
    assert survey_period(date(2028, 2, 29)) == (date(2027, 3, 1), date(2028, 2, 29))


def test_wilson_and_t_intervals_match_textbook_values():
    low, high = wilson(0.5, 10)
    assert (round(low, 4), round(high, 4)) == (0.2366, 0.7634)
    assert wilson(1.0, 20)[1] == 1.0 and wilson(0.0, 20)[0] == 0.0
    assert wilson(0.3, 0) is None
    # Student's t, 97.5 % quantiles from the tables
    for df, table in ((5, 2.5706), (9, 2.2622), (29, 2.0452), (100, 1.9840)):
        assert t_quantile(df) == pytest.approx(table, abs=1e-3)
    with pytest.raises(ValueError):
        t_quantile(4)
    values = np.array([3.0, 4.0, 5.0, 4.0, 4.0, 3.0, 5.0, 4.0, 4.0, 4.0])
    low, high = mean_interval(values, 1, 5)
    half = 2.2622 * np.std(values, ddof=1) / math.sqrt(10)
    assert (low, high) == pytest.approx((4.0 - half, 4.0 + half), abs=1e-3)
    assert mean_interval(values[:5], 1, 5) is None


def test_measures_are_exact_with_their_respondents_and_intervals():
    section = practice_survey(answers(respondents(40, 30)), PX, AS_OF)
    access = section.measures[0]
    assert access.measure.id == "PX-ACCESS"
    assert (access.value, access.respondents, access.too_few) == (0.75, 40, False)
    assert access.interval == pytest.approx(wilson(0.75, 40))
    mean = section.measures[-1]
    assert mean.value == pytest.approx((30 * 5 + 10 * 2) / 40)
    values = np.array([5.0] * 30 + [2.0] * 10)
    assert mean.interval == pytest.approx(mean_interval(values, 1, 5))
    assert [m.respondents for m in section.measures[1:4]] == [0, 0, 0]


def test_below_the_minimum_a_measure_is_too_few_answers_in_words(monkeypatch):
    monkeypatch.setenv("KLYNGE_LANG", "da")
    few = answers(respondents(MIN_RESPONDENTS - 1, 5))
    section = practice_survey(few, PX, AS_OF)
    assert section.measures[0].too_few
    html = render(few, "da")
    table = html[html.index("Patientoplevet kvalitet") :]
    assert "for få svar" in table
    assert "55,6" not in table  # 5 of 9 is never shown as a figure
    enough = render(answers(respondents(MIN_RESPONDENTS, 5)), "da")
    assert "50,0" in enough[enough.index("Patientoplevet kvalitet") :]


def test_answers_outside_the_period_do_not_count():
    rows = respondents(20, 20) + respondents(20, 0, day="2025-09-30")
    section = practice_survey(answers(rows), PX, AS_OF)
    assert section.measures[0].respondents == 20 and section.measures[0].value == 1.0


def render(frame: pd.DataFrame | None, lang: str) -> str:
    report = practice_report(
        as_of=AS_OF,
        catalogue=CATALOGUE,
        patients=PATIENTS,
        releases=ReleaseChoice(None, None, ()),
        surveys=practice_surveys(frame, load_surveys(), AS_OF),
    )
    return render_practice_report(report, lang)


def test_the_page_shows_measures_chart_skips_and_escaped_comments_in_danish_and_english():
    rows = [
        *respondents(30, 20),
        ("r1", "PX", 1, "Q11", None, "2026-03-01", COMMENT, None),
        ("r2", "PX", 1, "Q03", 7, "2026-03-01", None, None),  # off the scale
    ]
    da = render(answers(rows), "da")
    section = da[da.index("<h2>Patientoplevet kvalitet") :]
    assert "Adgang: andel med positive svar" in section
    assert ">Adgang</text>" in section and ">Sammenhæng</text>" in section  # short bar labels
    assert "66,7\xa0%" in section and "30" in section
    assert "<svg" in section and "Andel positive svar (4–5)" in section
    assert 'aria-label="Praksisens egne svar med 95\xa0%-stikprøveinterval"' in section
    assert "1 uden for skalaen" in section
    assert "Patienternes kommentarer (1)" in section
    assert "Lægen &lt;b&gt;lytter&lt;/b&gt; &amp; forklarer godt" in section
    assert "<b>lytter</b>" not in da
    en = render(answers(rows), "en")
    section = en[en.index("<h2>Patient experience") :]
    assert "Access: share of positive answers" in section and "66.7%" in section
    assert "1 off the scale" in section and "The patients&#39; comments (1)" in section


def test_no_survey_table_means_no_section():
    assert "Patientoplevet" not in render(None, "da")


def test_synthetic_practices_get_a_full_section():
    frame = draw_survey_responses(np.random.default_rng(1), PRACTICE.patients, PX, AS_OF)
    (section,) = practice_surveys(frame, load_surveys(), AS_OF)
    assert section.respondents > 0
    assert all(
        m.interval is None or m.interval[0] <= m.value <= m.interval[1]
        for m in section.measures
        if m.value is not None
    )


# The practice beside its cluster and region: real release documents, as the agent fetched them.


def released(level: str, unit: str, surveys: dict):
    doc = {**release_doc(level, unit), "surveys": surveys}
    return parse_release(f"{level} {unit}", doc)


def beside(rows: list[tuple], cluster: dict, region: dict):
    return practice_report(
        as_of=AS_OF,
        catalogue=CATALOGUE,
        patients=PATIENTS,
        releases=ReleaseChoice(
            released("cluster", "K01", cluster), released("region", "Midtjylland", region), ()
        ),
        surveys=practice_surveys(answers(rows), load_surveys(), AS_OF),
    )


# 200 respondents, 160 answering top box on Q01: access 80.0 % (Wilson 73.9–84.9 %).
OWN = respondents(200, 160)
CLUSTER = {
    "PX-ACCESS": survey_doc(0.60, 0.01, 2_000),  # 20 points below: beyond any limit
    "PX-MEAN": survey_doc(4.2, 0.02, 2_000, kind="mean"),  # own 4.4, within chance
    "PX-COORDINATION": survey_doc(0.5, 0.2, 40, uncertain=True),
}
REGION = {
    "PX-ACCESS": survey_doc(0.62, 0.005, 20_000),
    "PX-MEAN": survey_doc(4.1, 0.01, 20_000, kind="mean"),
}


def test_each_measure_stands_beside_the_cluster_and_region_with_a_verdict_against_the_cluster():
    report = beside(OWN, CLUSTER, REGION)
    (section,) = report.surveys
    access, communication, _, coordination, mean = section.measures
    assert access.cluster is not None and access.cluster.value == 0.60
    assert access.region is not None and access.region.value == 0.62
    assert (access.position, access.better) == (Position.ABOVE, True)
    assert mean.position is Position.WITHIN_NOISE and mean.better is None
    assert communication.position is Position.NO_OWN_RATE  # nobody answered Q03-Q05
    assert coordination.position is Position.NO_OWN_RATE
    assert report.comparisons == len(CATALOGUE.indicators) + 3  # the released measures count


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "da",
            [
                "<th>Klyngen</th><th>Regionen</th><th>I forhold til klyngen</th>",
                "60,0\xa0% (58,0\xa0%–62,0\xa0%)",
                "62,0\xa0% (61,0\xa0%–63,0\xa0%)",
                "<td class='better'>Over klyngen — bedre</td>",
                "Ingen sikker forskel fra klyngen",
                "50,0\xa0% (10,8\xa0%–89,2\xa0%) · for usikker til at bruge",
                "regner med både praksisens stikprøveinterval og klyngens interval",
            ],
        ),
        (
            "en",
            [
                "<th>Cluster</th><th>Region</th><th>Against the cluster</th>",
                "60.0% (58.0%–62.0%)",
                "<td class='better'>Above the cluster — better</td>",
                "50.0% (10.8%–89.2%) · too uncertain to use",
            ],
        ),
    ],
)
def test_the_page_shows_the_released_figures_in_words(lang, words):
    html = render_practice_report(beside(OWN, CLUSTER, REGION), lang)
    section = html[html.index("<section class='survey'>") :]
    for expected in words:
        assert expected in section, expected


def test_the_page_counts_the_survey_measures_among_its_comparisons():
    html = render_practice_report(beside(OWN, CLUSTER, REGION), "da")
    assert "99,8\xa0%-grænserne" in html and "laver 7 sammenligninger" in html
    without = render_practice_report(beside(OWN, {}, {}), "da")
    assert "laver 4 sammenligninger" in without
    assert "<th>Klyngen</th>" not in without  # nothing released: the own columns only
