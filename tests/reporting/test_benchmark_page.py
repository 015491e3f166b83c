"""The region and cluster reports, rendered from synthetic results (fast, no network)."""

from __future__ import annotations

import re

import pytest

from tests.reporting.builders import (
    CAT,
    cell_doc,
    render_cluster_report,
    render_region_report,
    render_report,
    results_doc,
    unit_doc,
)

BARS = "Released rates with 95% intervals"


def _section(page: str, indicator_id: str) -> str:
    start = page.index(f"<h2 id='{indicator_id}'>")
    return page[start:].split("<section")[0]


def _svgs(html: str, label: str) -> list[str]:
    return re.findall(rf'<svg[^>]*aria-label="{re.escape(label)}".*?</svg>', html, flags=re.S)


@pytest.mark.parametrize(
    ("lang", "suppressed", "title"),
    [("da", "skjult", "HbA1c målt"), ("en", "suppressed", "HbA1c measured")],
)
def test_region_report_is_self_contained_and_printable(lang, suppressed, title):
    page = render_region_report(results_doc(), CAT, lang)
    assert not re.search(r"(src|href)\s*=\s*['\"]?\s*(https?:)?//", page)  # nothing fetched
    assert "<script" not in page and "<link" not in page and "<img" not in page
    assert title in page and "Midtjylland" in page
    assert page.count("<section class='ind'>") == len(CAT.indicators)
    assert "@media print" in page and "break-before:page" in page and "size:A4" in page
    assert "ε" in page and ("1,00" if lang == "da" else "1.00") in page
    mechanism = "fordelt Skellam-støj" if lang == "da" else "distributed Skellam noise"
    assert mechanism in page and "distributed_skellam" not in page  # words, not codes
    assert "K03" in page and "BelowMinimumError" in page
    header = page[: page.index("<section")]
    assert ("2 klynger, 12 praksisser" if lang == "da" else "2 clusters, 12 practices") in header
    assert render_report(results_doc(), CAT, lang) == page  # the older name draws the same


def test_a_suppressed_cell_is_labelled_and_never_drawn_as_a_bar():
    page = render_region_report(results_doc(), CAT, "en")
    (bars,) = _svgs(_section(page, "DM-01"), BARS)
    assert bars.count("<rect") == 2  # the region and K01; K02 has no bar at all
    assert re.search(r'>K02</text><text class="suppressed"[^>]*>suppressed<', bars)
    # hidden everywhere this period: listed as such, no section of empty charts
    hidden = {"DM-01": cell_doc(None)}
    results = results_doc(k01=hidden, region=hidden)
    page = render_region_report(results, CAT, "en")
    assert "<h2 id='DM-01'>" not in page
    assert re.search(
        r"No released figures in the period \(suppressed everywhere\): [^<]*DM-01", page
    )
    # ... unless an earlier period had a figure: then the rows say suppressed, with no axis
    results["history"] = [results_doc(ref="2026-06-30")]
    page = render_region_report(results, CAT, "en")
    (bars,) = _svgs(_section(page, "DM-01"), BARS)
    assert "<rect" not in bars and bars.count(">suppressed<") == 3 and "0%" not in bars
    table = page[page.index("class='compare'") :]
    assert "0.0%" not in table.split("DM-01")[1].split("</tr>")[0]


def test_the_whisker_is_the_released_interval_not_the_noise_alone():
    # noise alone (SD 31 of 1000) would give 80% ± 6.1; the released interval is wider
    k01 = {"DM-01": cell_doc(0.8, interval=[0.5, 0.9])}
    page = render_region_report(results_doc(k01=k01), CAT, "en")
    (bars,) = _svgs(_section(page, "DM-01"), BARS)
    k01_row = bars[bars.index(">K01<") :]
    rect = re.search(r'<rect x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', k01_row)
    left, width = float(rect[1]), float(rect[2])
    per_unit = width / 0.8
    whisker = re.search(r'class="whisker".*?x1="([\d.]+)" x2="([\d.]+)"', k01_row)
    assert float(whisker[1]) == pytest.approx(left + 0.5 * per_unit, abs=0.2)
    assert float(whisker[2]) == pytest.approx(left + 0.9 * per_unit, abs=0.2)
    assert "(50.0–90.0)" in k01_row
    caption = _section(page, "DM-01").split("<figcaption>")[1]
    assert "chance variation" in caption and "privacy" in caption and "target" in caption


def _funnel_results() -> dict:
    cluster = lambda rate: {"DM-01": cell_doc(rate, den=1000, sd=5.0)}  # noqa: E731
    results = results_doc(
        k01=cluster(0.78), k02=cluster(0.95), region={"DM-01": cell_doc(0.8, 2000)}
    )
    results["clusters"]["K03"] = unit_doc("K03", None, ["r3"])
    results["regions"]["Midtjylland"]["round_ids"].append("r3")
    return results


def test_a_cluster_outside_the_outer_limits_is_highlighted_and_hidden_ones_are_listed():
    page = render_region_report(_funnel_results(), CAT, "en")
    (funnel,) = _svgs(
        _section(page, "DM-01"), "Funnel plot: cluster rates against their denominators"
    )
    # 0.8 ± 3.09·sqrt(.16/1000 + (25 + .64·25)/1000²) ≈ 0.8 ± 0.04: K02 at 95% is outside
    assert re.search(r'class="point outside"[^>]*>.*?K02: 95.0%', funnel)
    assert 'font-weight="700">K02<' in funnel
    assert "K03" not in funnel  # hidden: not drawn at all, least of all at 0
    assert funnel.count("<polyline") == 4  # 95% and 99.8%, low and high
    caption = _section(page, "DM-01")[_section(page, "DM-01").index("Each point is a cluster") :]
    assert "Outside the outer lines: K02 (higher)" in caption
    assert "differ by more than chance and noise would explain" in caption
    assert "suppressed: K03" in caption
    table = page[page.index("class='compare'") :]
    dm01 = table.split("DM-01</a>")[1].split("</tr>")[0]
    assert "class='outside'><span class='mark'>▲</span> 95.0%" in dm01


def test_no_funnel_when_the_regional_rate_is_hidden():
    results = _funnel_results()
    results["regions"]["Midtjylland"]["indicators"][0] |= cell_doc(None)
    first = results["regions"]["Midtjylland"]["indicators"][0]["id"]
    section = _section(render_region_report(results, CAT, "en"), first)
    assert "No funnel plot: the regional rate is suppressed" in section
    assert not _svgs(section, "Funnel plot: cluster rates against their denominators")


def _distribution(practices: int, deciles=None, withheld=None, sd: float = 1.2) -> dict:
    return {
        "bins": [0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 5.5, 4.0, 2.0, 0.0],
        "edges": [k / 10 for k in range(11)],
        "bin_noise_sd": sd,
        "practices": practices,
        "full_weight_denominator": 100,
        "deciles": deciles,
        "deciles_withheld": withheld,
    }


@pytest.mark.parametrize(
    ("withheld", "practices", "sd", "texts"),
    [
        (
            "too_few_practices",
            8,
            1.2,
            {
                "en": "only 8 practices contributed, and deciles need at least 10",
                "da": "kun 8 praksisser bidrog, og deciler kræver mindst 10",
            },
        ),
        (
            "too_noisy",
            22,
            5.63,
            {
                "en": "the privacy noise, typically about 5.6 practices per bar, is too large",
                "da": "privatlivsstøjen, typisk ca. 5,6 praksisser pr. søjle, er for stor",
            },
        ),
    ],
)
def test_withheld_deciles_say_why_in_both_languages(withheld, practices, sd, texts):
    dist = {"DM-01": _distribution(practices, withheld=withheld, sd=sd)}
    for lang, text in texts.items():
        label = "Distribution of practice rates" if lang == "en" else "Fordeling af praksissernes"
        section = _section(
            render_region_report(results_doc(distributions=dist), CAT, lang), "DM-01"
        )
        (hist,) = _svgs(section, label + (" rater" if lang == "da" else ""))
        assert hist.count("<rect") == 10 and hist.count('class="whisker"') == 10
        assert text in section
        assert "median" not in hist
    caption = section[section.index("Søjlerne viser") :]
    assert f"af de {practices} praksisser" in caption and "Ingen enkelt praksis" in caption
    assert "færre end 100 i nævneren tæller kun delvist" in caption


def test_released_deciles_are_drawn_with_the_median_marked():
    deciles = [0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.62, 0.68, 0.75]
    dist = {"DM-01": _distribution(40, deciles=deciles, sd=0.0)}
    section = _section(render_region_report(results_doc(distributions=dist), CAT, "en"), "DM-01")
    (hist,) = _svgs(section, "Distribution of practice rates")
    assert hist.count('stroke-dasharray="3 3"') == 9 and ">median<" in hist
    assert 'class="whisker"' not in hist  # no DP noise, no whiskers
    assert "the median (55.0%)" in section and "No single practice" in section
    assert "40 practices" in section and "with noise" not in section


def test_cluster_report_shows_one_cluster_beside_its_region_and_nobody_else():
    results = _funnel_results()
    results["clusters"]["K01"]["distributions"] = {
        "DM-01": _distribution(6, None, "too_few_practices")
    }
    page = render_cluster_report(results, CAT, "K01", "en")
    assert "Cluster report: K01" in page and "Midtjylland" in page
    assert ">K02<" not in page and ">K03<" not in page and "K02" not in page
    section = _section(page, "DM-01")
    (bars,) = _svgs(section, BARS)
    assert bars.index(">K01<") < bars.index(">Midtjylland<") and bars.count("<rect") == 2
    assert "funnel plot, K01 lies within the 95% limits" in section
    assert "Deciles are not shown: only 6 practices" in section
    assert "6 practices in the cluster, 12 in the region" in page
    with pytest.raises(KeyError):
        render_cluster_report(results, CAT, "K09", "en")


def test_trends_appear_with_earlier_periods_and_break_at_suppressed_ones():
    def period(ref: str, k02: float | None) -> dict:
        results = results_doc(ref=ref)
        results["clusters"]["K02"] = unit_doc("K02", k02, ["r2"])
        return results

    latest = period("2026-09-30", 0.6)
    single = render_region_report(latest, CAT, "en")
    assert "Trend over periods" not in single and "at least two periods" in single
    latest["history"] = [period("2026-03-31", 0.5), period("2026-06-30", None)]
    section = _section(render_region_report(latest, CAT, "en"), "DM-01")
    (trend,) = _svgs(section, "Trend over periods")
    # K01 and the region draw a line through three periods; K02's suppressed middle period
    # leaves two lone points and no line bridging the gap
    assert trend.count("<polyline") == 2
    assert trend.count("<circle") == 3 + 3 + 2
    for month in ("2026-03", "2026-06", "2026-09"):
        assert month in trend
    assert 'stroke-dasharray="5 3"' in trend  # DM-01's target


def test_no_dp_results_say_so_loudly():
    results = results_doc()
    for doc in (*results["clusters"].values(), *results["regions"].values()):
        doc.update(mechanism="none", epsilon_per_release="inf", delta_per_release=0.0)
    page = render_region_report(results, CAT, "en")
    assert "WITHOUT differential privacy" in page and "class='warn'" in page


def _overview_row(page: str, indicator_id: str) -> str:
    table = page[page.index("<section class='overview'>") : page.index("</table>")]
    return table.split(f"#{indicator_id}'>")[1].split("</tr>")[0]


def _cell(results: dict, unit: str, indicator_id: str) -> dict:
    return next(c for c in results["clusters"][unit]["indicators"] if c["id"] == indicator_id)


def test_cluster_report_opens_with_an_overview_and_a_verdict_in_words():
    results = _funnel_results()  # K02 (95 %) lies outside the funnel, above the region (80 %)
    page = render_cluster_report(results, CAT, "K02", "da")
    assert page.index("<section class='overview'>") < page.index("<section class='ind'>")
    dm01 = _overview_row(page, "DM-01")  # higher is better for HbA1c measured
    assert "højere end regionen — bedre" in dm01 and "class='verdict better'" in dm01
    assert "95,0\xa0%" in dm01 and "80,0\xa0%" in dm01  # the cluster's own rate, the region's
    k01 = render_cluster_report(results, CAT, "K01", "en")
    assert "no clear difference from the region" in _overview_row(k01, "DM-01")
    assert "K02" not in k01  # the overview names no other cluster either


def test_overview_says_why_a_hidden_or_uncertain_figure_has_no_verdict():
    results = _funnel_results()
    _cell(results, "K01", "DM-01").update(cell_doc(None))
    page = render_cluster_report(results, CAT, "K01", "en")
    assert "cannot be judged: numerator: small count" in _overview_row(page, "DM-01")
    results = _funnel_results()
    _cell(results, "K01", "DM-01")["uncertain"] = True
    page = render_cluster_report(results, CAT, "K01", "en")
    assert "too uncertain to use" in _overview_row(page, "DM-01")


def test_how_to_read_a_figure_is_printed_once_and_each_figure_keeps_its_own_words():
    page = render_region_report(_funnel_results(), CAT, "da")
    box = page.split("<section class='howto print-only'>")[1].split("</section>")[0]
    assert box.count("Hvert punkt er en klynge") == 1
    assert box.count("Søjlen er den udgivne rate") == 1
    section = _section(page, "DM-01")
    assert "<span class='how'>Hvert punkt er en klynge" in section  # still beside it on screen
    assert "Regionens rate er 80,0\xa0%" in section  # this funnel's own centre, not in .how
    css = page[page.index("@media print") :]
    assert ".how," in css and ".print-only{display:block}" in css
