"""The country beside cluster and region in the practice report, with and without its release."""

from __future__ import annotations

import re

import pytest

from client.report.published import choose_releases
from common.formatting import interval, rate
from reporting.practice_page import NO_NATION, render_practice_report
from reporting.release_document import parse_release
from tests.client.report.builders import AS_OF, CATALOGUE, PATIENTS, practice_report, release_doc


def _nation_doc(ref: str = "2026-09-30") -> dict:
    doc = release_doc("nation", "Danmark", ref, rounds=("r1", "r9"), release_id="DK-1")
    doc["contributors"] = 1234
    doc["indicators"][0] |= {  # DM-01: 0.8123 of 12 345 with a released interval
        "numerator": 10028,
        "denominator": 12345,
        "rate": 0.8123,
        "interval": [0.8011, 0.8238],
    }
    return doc


def _releases(*docs: dict):
    return [parse_release(f"{d['level']}-{i}.json", d) for i, d in enumerate(docs)]


def _report(*docs: dict):
    choice = choose_releases(_releases(*docs), "K01", AS_OF)
    return practice_report(as_of=AS_OF, catalogue=CATALOGUE, patients=PATIENTS, releases=choice)


def _overview(html: str) -> list[list[str]]:
    """The overview table's header and rows as cell texts (tags dropped)."""
    table = html.split("<table>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    return [
        [
            re.sub(r"<[^>]+>", "", c).strip()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)
        ]
        for r in rows
    ]


def _column(html: str, header: str) -> dict[str, str]:
    head, *rows = _overview(html)
    at = head.index(header)
    return {row[0].split()[0]: row[at] for row in rows}


def test_the_chosen_national_release_is_the_period_s_own():
    later = _nation_doc("2026-12-31")
    choice = choose_releases(_releases(release_doc(), _nation_doc(), later), "K01", AS_OF)
    assert choice.nation is not None and choice.nation.reference_date == AS_OF
    assert choose_releases(_releases(release_doc(), later), "K01", AS_OF).nation is None


@pytest.mark.parametrize(
    ("lang", "header", "shown", "bounds"),
    [
        ("da", "Landet", "81,2\xa0%", "80,1–82,4\xa0%"),
        ("en", "Country", "81.2%", "80.1–82.4%"),
    ],
)
def test_with_a_national_release_the_country_has_a_column_and_a_bar(lang, header, shown, bounds):
    report = _report(release_doc(), release_doc("region", "Midtjylland"), _nation_doc())
    html = render_practice_report(report, lang)
    country = _column(html, header)
    # through common.formatting, as every number of the page
    assert (shown, bounds) == (
        rate(0.8123, 100, lang=lang),
        interval((0.8011, 0.8238), 100, lang=lang),
    )
    assert country["DM-01"].startswith(shown) and bounds in country["DM-01"]
    assert country["DM-04"] != NO_NATION  # suppressed in the country: said in words, not "—"
    assert country["KOL-02"] == NO_NATION  # not in the national release
    card = html.split("id='DM-01'", 1)[1].split("<div class='card'", 1)[0]
    assert f"{header}: {shown}" in card  # the card's line under the chart
    assert f">{header}<" in card  # and its bar's label in the chart
    assert "Danmark" in html.split("<h2", 1)[0]  # the sources name the national release


@pytest.mark.parametrize(("lang", "header"), [("da", "Landet"), ("en", "Country")])
def test_without_a_national_release_the_column_says_dash_and_nothing_breaks(lang, header):
    html = render_practice_report(
        _report(release_doc(), release_doc("region", "Midtjylland")), lang
    )
    assert set(_column(html, header).values()) == {NO_NATION}
    card = html.split("id='DM-01'", 1)[1].split("<div class='card'", 1)[0]
    assert f"{header}:" not in card and f">{header}<" not in card


def test_no_releases_at_all_still_renders_the_country_column():
    html = render_practice_report(_report(), "da")
    assert set(_column(html, "Landet").values()) == {NO_NATION}
