"""The country beside the region in the region report, where the region imported it."""

from __future__ import annotations

import re

import pytest

from common.formatting import rate
from reporting.numbers import bare_interval
from reporting.release_document import ReleaseDocumentError, parse_results
from tests.reporting.builders import CAT, cell_doc, render_region_report, results_doc, unit_doc

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
