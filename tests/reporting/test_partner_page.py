"""The partner's page: its granted figures per unit, in words a reader at a hospital can use."""

from __future__ import annotations

from indicator_defs import load_catalogue
from reporting.partner_page import render_partner_page
from reporting.release_document import parse_release
from tests.reporting.builders import cell_doc, survey_doc, unit_doc

CAT = load_catalogue()


def _doc(level: str, unit: str, **over: dict):
    doc = unit_doc(unit, 0.62, [f"{unit}-r"], **over)
    keep = {"DM-01", "AB-02"}
    doc["indicators"] = [i for i in doc["indicators"] if i["id"] in keep]
    return parse_release(unit, {**doc, "level": level, "reference_date": "2026-09-30"})


def test_the_page_shows_each_unit_and_only_the_measures_it_was_sent():
    docs = [
        _doc("cluster", "K01", **{"AB-02": {**cell_doc(0.3), "uncertain": True}}),
        _doc("region", "Midtjylland", **{"AB-02": cell_doc(None)}),
    ]
    page = render_partner_page("Regionshospitalets <kvalitet>", docs, CAT, "da")
    assert "Kvalitetstal for Regionshospitalets &lt;kvalitet&gt;, 30. september 2026" in page
    assert "<th>klynge K01</th><th>region Midtjylland</th>" in page
    assert "62,0\xa0%" in page and "for usikker til at bruge" in page
    assert "<td class='supp'>skjult" in page  # suppressed is never 0
    assert "DM-01" in page and "AB-02" in page and "HT-01" not in page
    assert "klynge K01, region Midtjylland; 2 indikatorer og spørgeskemamål" in page
    english = render_partner_page("The quality unit", docs, CAT, "en")
    assert "Quality figures for The quality unit, 30 September 2026" in english
    assert "too uncertain to use" in english and "62.0%" in english


def test_a_granted_survey_measure_is_a_row_with_its_interval_and_uncertainty_in_words():
    coordination = {"PX-COORDINATION": survey_doc(0.412, 0.02, 800)}
    uncertain = {"PX-COORDINATION": survey_doc(0.5, 0.2, 40, uncertain=True)}
    docs = [
        parse_release("K01", {**_doc("cluster", "K01").to_json(), "surveys": coordination}),
        parse_release("K02", {**_doc("cluster", "K02").to_json(), "surveys": uncertain}),
    ]
    page = render_partner_page("Kommunen", docs, CAT, "da")
    assert "PX-COORDINATION" in page and "PX-ACCESS" not in page
    assert "41,2\xa0%" in page and "37,3\xa0%–45,1\xa0%" in page
    assert page.count("for usikker til at bruge") == 1
    assert "3 indikatorer og spørgeskemamål" in page
    english = render_partner_page("The municipality", docs, CAT, "en")
    assert "41.2%" in english and "too uncertain to use" in english


def test_with_nothing_released_the_page_says_so():
    page = render_partner_page("Enhed", [], CAT, "da")
    assert "Intet er udgivet for partnerens enheder endnu." in page
