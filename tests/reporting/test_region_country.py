"""The country beside the region in the region report, where the region imported it."""

from __future__ import annotations

import re

import pytest

from common.formatting import rate
from reporting.numbers import bare_interval
from reporting.rates import is_proportion
from reporting.release_document import ReleaseDocumentError, parse_results
from reporting.versus_country import compare, critical_z
from tests.langs import in_english
from tests.reporting.builders import CAT, cell_doc, render_region_report, results_doc, unit_doc


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


IND = next(iter(CAT.indicators))


def _with_nation(rate_: float = 0.6543, ref: str = "2026-09-30") -> dict:
    results = results_doc()
    nation = unit_doc("Danmark", rate_, ["r1", "r2", "r9"])
    nation |= {"level": "nation", "reference_date": ref, "release_id": "DK-1"}
    results["nation"] = nation
    return results


def _compare_table(page: str) -> tuple[list[str], dict[str, list[str]]]:
    """The comparison table's header and rows (by indicator id), as cell texts."""
    table = page.split("<table class='compare'>", 1)[1].split("</table>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    cells = [
        [
            re.sub(r"<[^>]+>", " ", c).split()
            for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S)
        ]
        for r in rows
    ]
    head = [" ".join(c) for c in cells[0]]
    return head, {c[0][0]: [" ".join(x) for x in c] for c in cells[1:]}


@pytest.mark.parametrize(("lang", "country"), [("da", "Landet"), ("en", "Country")])
def test_the_region_report_shows_the_imported_country_beside_the_region(lang, country):
    page = render_region_report(_with_nation(), CAT, lang)
    head, rows = _compare_table(page)
    assert head.index(country) == head.index("Midtjylland") + 1
    shown = rate(0.6543, CAT.indicators[IND].scale, lang=lang)  # through common.formatting
    cell = rows[IND][head.index(country)]
    assert cell.startswith(" ".join(shown.split()))
    figure = parse_results("r.json", _with_nation()).nation
    assert figure is not None
    bounds = bare_interval(figure.figures[IND].interval, CAT.indicators[IND].scale, lang)
    assert " ".join(bounds.split()) in cell
    section = page.split(f"<h2 id='{IND}'>", 1)[1].split("<section", 1)[0]
    assert f">{country}<" in section  # a bar under the region's


@pytest.mark.parametrize(("lang", "country"), [("da", "Landet"), ("en", "Country")])
def test_without_a_national_release_there_is_no_country_column_or_bar(lang, country):
    page = render_region_report(results_doc(), CAT, lang)
    head, _ = _compare_table(page)
    assert country not in head
    assert f">{country}<" not in page


def test_a_suppressed_national_figure_reads_suppressed_not_zero():
    results = _with_nation()
    results["nation"]["indicators"][0] |= cell_doc(None)
    head, rows = _compare_table(render_region_report(results, CAT, "da"))
    assert rows[IND][head.index("Landet")] == "skjult"


def test_results_json_keeps_the_country_and_refuses_another_period():
    parsed = parse_results("results.json", _with_nation())
    assert parsed.nation is not None and parsed.nation.level == "nation"
    assert parse_results("again.json", parsed.to_json()).nation == parsed.nation
    with pytest.raises(ReleaseDocumentError, match=r"key 'nation\.reference_date'"):
        parse_results("results.json", _with_nation(ref="2026-06-30"))


def _nation_of(rate_: float, den: int = 100_000) -> dict:
    results = results_doc()
    cells = {i: cell_doc(rate_, den=den) for i in CAT.indicators}
    nation = unit_doc("Danmark", rate_, ["r1", "r2", "r9"], **cells)
    results["nation"] = nation | {"level": "nation", "reference_date": "2026-09-30"}
    return results


def test_a_region_far_from_the_rest_of_the_country_is_marked_at_the_region():
    head, rows = _compare_table(render_region_report(_nation_of(0.5), CAT, "da"))
    region = rows[IND][head.index("Midtjylland")]
    assert region.startswith("▲"), region  # 70 % of 1,000 against 50 % of 100,000
    assert not rows[IND][head.index("Landet")].startswith(("▲", "▼"))
    head, rows = _compare_table(render_region_report(_nation_of(0.9), CAT, "da"))
    assert rows[IND][head.index("Midtjylland")].startswith("▼")


def test_a_region_like_the_country_gets_no_mark_and_the_legend_counts_the_comparisons():
    page = render_region_report(_nation_of(0.7), CAT, "en")
    head, rows = _compare_table(page)
    assert not rows[IND][head.index("Midtjylland")].startswith(("▲", "▼"))
    assert f"counting all {len(CAT.indicators)} comparisons with the country" in page


NEAR = 0.64  # 70 % against 64 %: beyond z 1.96 for one comparison, within Bonferroni's for all


def test_a_difference_the_region_alone_could_show_is_not_enough_when_the_page_reads_many():
    """Bonferroni: one comparison at z 1.96 would mark it, all of the page's do not."""
    results = parse_results("r.json", _nation_of(NEAR))
    assert results.nation is not None
    nation = results.nation.figures[IND]
    region = results.regions["Midtjylland"].figures[IND]
    proportion = is_proportion(CAT.indicators[IND])
    assert compare("M", region, nation, proportion, critical_z(1)).verdict == "higher"
    assert compare("M", region, nation, proportion, critical_z(len(CAT.indicators))).verdict == (
        "same"
    )
