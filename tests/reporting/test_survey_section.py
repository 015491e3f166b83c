"""The patient-experience section of the cluster and region reports (fast, no network)."""

from __future__ import annotations

import pytest

from tests.reporting.builders import (
    CAT,
    render_cluster_report,
    render_region_report,
    results_doc,
    survey_doc,
)


def results(k01: dict, region: dict) -> dict:
    doc = results_doc()
    doc["clusters"]["K01"]["surveys"] = k01
    doc["regions"]["Midtjylland"]["surveys"] = region
    return doc


REGION = {
    "PX-ACCESS": survey_doc(0.70, 0.002, 100_000),
    "PX-MEAN": survey_doc(4.0, 0.005, 100_000, kind="mean"),
    "PX-INVOLVEMENT": survey_doc(0.75, 0.002, 100_000),
}


@pytest.mark.parametrize(
    ("lang", "title", "better", "chance", "uncertain"),
    [
        ("da", "Patientoplevet kvalitet", "— bedre", "men kan være tilfældigt", "for usikker"),
        ("en", "Patient experience", "— better", "but may be chance", "too uncertain"),
    ],
)
def test_the_cluster_sees_each_measure_with_an_honest_verdict(
    lang, title, better, chance, uncertain
):
    k01 = {
        # 8 points above the region with an SD of 1.5 points (noise) and chance: beyond 99.8 %
        "PX-ACCESS": survey_doc(0.78, 0.015, 3600),
        # 0.12 above with SD ≈ 0.04 (noise 0.03, chance 0.028): beyond 95 %, within 99.8 %
        "PX-MEAN": survey_doc(4.12, 0.03, 3600, kind="mean"),
        "PX-INVOLVEMENT": survey_doc(0.9, 0.3, 25, uncertain=True),
    }
    page = render_cluster_report(results(k01, REGION), CAT, "K01", lang)
    section = page[page.index(title) :]
    rows = section.split("<tr>")
    access = next(r for r in rows if "PX-ACCESS" in r)
    mean = next(r for r in rows if "PX-MEAN" in r)
    involvement = next(r for r in rows if "PX-INVOLVEMENT" in r)
    assert better in access and "class='verdict better'" in access
    assert ("78,0" if lang == "da" else "78.0") in access
    assert chance in mean and ("4,12" if lang == "da" else "4.12") in mean
    assert uncertain in involvement and better not in involvement
    assert "3.600" in access if lang == "da" else "3,600" in access


def test_the_region_page_sets_clusters_beside_the_region_and_marks_clear_differences():
    k01 = {
        "PX-ACCESS": survey_doc(0.60, 0.01, 3600),
        "PX-MEAN": survey_doc(4.0, 0.03, 3600, kind="mean"),
    }
    page = render_region_report(results(k01, REGION), CAT, "en")
    section = page[page.index("Patient experience") :].split("</section>")[0]
    access = next(r for r in section.split("<tr>") if "PX-ACCESS" in r)
    assert "▼" in access and "60.0%" in access and "70.0%" in access
    mean = next(r for r in section.split("<tr>") if "PX-MEAN" in r)
    assert "▲" not in mean and "▼" not in mean


def test_no_survey_released_means_no_section():
    page = render_cluster_report(results_doc(), CAT, "K01", "en")
    assert "Patient experience" not in page
