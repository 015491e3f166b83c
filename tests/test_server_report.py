"""The demo's HTML report: self-contained, one chart per indicator, suppression visible."""

from __future__ import annotations

import re

from indicator_defs import load_catalogue
from server.report_html import render_report

CAT = load_catalogue()


def _doc(unit: str, rate: float | None) -> dict:
    cell = {
        "numerator": None if rate is None else int(rate * 1000),
        "denominator": None if rate is None else 1000,
        "rate": rate,
        "noise_sd": 31.0,
        "suppressed": {} if rate is not None else {"numerator": "small_count"},
        "strata": [],
    }
    return {
        "unit": unit,
        "contributors": 6,
        "mechanism": "distributed_skellam",
        "epsilon_per_release": 0.99969,
        "indicators": [{"id": i, **cell} for i in CAT.indicators],
    }


def test_report_is_self_contained_with_a_chart_per_indicator_in_both_languages():
    results = {
        "reference_date": "2026-09-30",
        "clusters": {"K01": _doc("K01", 0.8), "K02": _doc("K02", None)},
        "regions": {"Midtjylland": _doc("Midtjylland", 0.7)},
        "aborted_rounds": [{"cluster": "K03", "reason": "BelowMinimumError: 4 < 5"}],
    }
    for lang, suppressed, title in (
        ("da", "skjult", "HbA1c målt"),
        ("en", "suppressed", "HbA1c measured"),
    ):
        html = render_report(results, CAT, lang)
        assert not re.search(r"(src|href)=['\"]?https?:", html)  # nothing fetched
        assert "<script" not in html
        assert html.count("<svg") == len(CAT.indicators)
        assert title in html
        # K02's hidden figures are drawn as hidden, never as a zero-length bar
        assert html.count(suppressed) >= len(CAT.indicators)
        assert "ε" in html and "1.00" in html
        assert "K03" in html and "BelowMinimumError" in html


def test_trends_appear_with_earlier_periods_and_break_at_suppressed_ones():
    def period(ref: str, k02: float | None) -> dict:
        return {
            "reference_date": ref,
            "clusters": {"K01": _doc("K01", 0.8), "K02": _doc("K02", k02)},
            "regions": {"Midtjylland": _doc("Midtjylland", 0.7)},
            "aborted_rounds": [],
        }

    latest = period("2026-09-30", 0.6)
    assert "Trend by quarter" not in render_report(latest, CAT, "en")
    latest["history"] = [period("2026-03-31", 0.5), period("2026-06-30", None)]
    html = render_report(latest, CAT, "en")
    assert html.count("Trend by quarter") == len(CAT.indicators)
    card = html[html.index("DM-01 HbA1c measured") :].split("class='card'")[0]
    # K01 and the region draw a line through three periods; K02's suppressed middle period
    # leaves two lone points and no line bridging the gap
    assert card.count("<polyline") == 2
    assert card.count("<circle") == 3 + 3 + 2
    for month in ("2026-03", "2026-06", "2026-09"):
        assert month in card
