"""The national report: the country and the regions side by side, in Danish and in English."""

from __future__ import annotations

import pytest

from indicator_defs import load_catalogue
from reporting.national_page import render_national_report
from reporting.release_document import parse_release
from reporting.versus_country import compare, critical_z

CAT = load_catalogue()
IDS = list(CAT.indicators)[:2]


def _doc(level: str, unit: str, num: int, den: int, sd: float = 0.004) -> dict:
    rate = num / den
    cell = {
        "numerator": num,
        "denominator": den,
        "rate": rate,
        "interval": [rate - 0.01, rate + 0.01],
        "noise_sd": 5.0,
        "rate_noise_sd": sd,
        "suppressed": {},
        "strata": [],
    }
    return {
        "release_id": f"{unit}-1",
        "created_at": "2026-10-01T10:00:00+00:00",
        "level": level,
        "unit": unit,
        "reference_date": "2026-09-30",
        "round_ids": ["r1"],
        "manifest_hash": "ab" * 32,
        "contributors": 40,
        "mechanism": "distributed_skellam",
        "epsilon_per_release": 1.0,
        "indicators": [{"id": i, **cell} for i in IDS],
    }


def _page(lang: str) -> str:
    nation = parse_release("nation", _doc("nation", "Danmark", 5000, 10000))
    regions = {
        "Midtjylland": parse_release("a", _doc("region", "Midtjylland", 3600, 6000)),
        "Nordjylland": parse_release("b", _doc("region", "Nordjylland", 1400, 4000)),
    }
    return render_national_report(nation, regions, CAT, lang)


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("da", ("National rapport", "Landet", "Midtjylland", "60,0")),
        ("en", ("National report", "Country", "60.0")),
    ],
)
def test_the_page_reads_in_its_language(lang, words):
    page = _page(lang)
    for word in words:
        assert word in page
    assert page.startswith("<!doctype html>")


def test_a_region_far_from_the_country_is_marked_and_one_near_is_not():
    page = _page("en")
    assert "▲" in page and "▼" in page  # 60 % and 35 % against 50 %, thousands of patients


def test_many_comparisons_need_a_larger_difference():
    assert critical_z(1) == pytest.approx(1.96, abs=0.01)
    assert critical_z(50) > critical_z(10) > critical_z(1)


def test_a_region_equal_to_the_country_gets_no_mark():
    nation = parse_release("n", _doc("nation", "Danmark", 5000, 10000)).figures[IDS[0]]
    same = parse_release("r", _doc("region", "X", 2500, 5000)).figures[IDS[0]]
    assert compare("X", same, nation, True, critical_z(10)).verdict == "same"
