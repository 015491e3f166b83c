"""The practice's place among the practices, and the released intervals, in the practice report.

Releases are written as JSON files to a tmp dir and read back as the agent
would, so parsing, placement and rendering are tested together.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from client.report.placement import bin_of, place
from client.report.practice_report import Position
from client.report.published import choose_releases, read_releases
from privacy.distribution import decile_of, share_below
from reporting.practice_page import render_practice_report
from reporting.release_document import ReleaseDocumentError
from tests.client.report.builders import AS_OF, CATALOGUE, PATIENTS, practice_report, release_doc
from tests.langs import in_english


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


# A smoothed histogram of 14 practices over ten bins (the shape a release carries).
BINS = [0.0, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 3.0, 2.0, 1.0]
EDGES = [round(k / 10, 6) for k in range(11)]
DECILES = [0.35, 0.42, 0.5, 0.55, 0.6, 0.66, 0.7, 0.76, 0.83]
DM01 = PATIENTS["DM-01"]
OWN = DM01.numerator / DM01.denominator


def dist(deciles=DECILES, withheld=None, sd=0.0, practices=14, bins=BINS):
    return {
        "bins": list(bins),
        "edges": list(EDGES),
        "bin_noise_sd": sd,
        "practices": practices,
        "full_weight_denominator": 100,
        "deciles": None if deciles is None else list(deciles),
        "deciles_withheld": withheld,
    }


def doc(level="cluster", unit="K01", distributions=None, rounds=("r1",), release_id=1):
    d = release_doc(level, unit, rounds=rounds, release_id=release_id)
    d["indicators"][0]["interval"] = [0.7, 0.9]  # DM-01: rate 0.8
    d["indicators"][1]["interval"] = None  # DM-04: suppressed
    d["indicators"][2]["interval"] = [0.4, 0.5]  # AB-01
    if distributions is not None:
        d["distributions"] = distributions
    return d


def write(tmp_path: Path, *docs) -> Path:
    folder = tmp_path / "releases"
    folder.mkdir(parents=True, exist_ok=True)
    for k, d in enumerate(docs):
        (folder / f"{d['level']}-{k}.json").write_text(json.dumps(d), encoding="utf-8")
    return folder


def report_from(tmp_path: Path, *docs):
    releases = read_releases(write(tmp_path, *docs))
    return practice_report(
        as_of=AS_OF,
        catalogue=CATALOGUE,
        patients=PATIENTS,
        releases=choose_releases(releases, "K01", AS_OF),
    )


def card(page: str, indicator_id: str) -> str:
    """One indicator's card, with HTML entities undone so sentences can be matched."""
    return html.unescape(page[page.index(f"id='{indicator_id}'") :].split("<div class='card'")[0])


def region(distributions):
    return doc("region", "Midtjylland", distributions, rounds=("r1", "r2"), release_id=4)


def test_a_decile_is_stated_only_when_the_release_gives_deciles(tmp_path):
    given = report_from(tmp_path / "a", doc(distributions={"DM-01": dist()}))
    dm01 = next(i for i in given.indicators if i.indicator.id == "DM-01")
    used = dm01.placement.decile_from
    assert used is not None and used.level == "cluster"
    assert used.decile == decile_of(share_below(BINS, OWN))
    assert 0.0 < used.share_below < 1.0  # the own rate lies inside the histogram
    en = render_practice_report(given, "en")
    assert f"in decile {used.decile} " in card(en, "DM-01")
    da = render_practice_report(given, "da")
    assert f"i {used.decile}. decil" in card(da, "DM-01")
    assert f"{used.decile}. (klynge)" in da  # the overview table

    noisy = dist(deciles=None, withheld="too_noisy", sd=3.425, practices=12)
    withheld = report_from(tmp_path / "b", doc(distributions={"DM-01": noisy}))
    dm01 = next(i for i in withheld.indicators if i.indicator.id == "DM-01")
    assert dm01.placement.decile_from is None
    assert dm01.placement.cluster.decile is None and dm01.placement.cluster.share_below is None
    en = card(render_practice_report(withheld, "en"), "DM-01")
    assert "decile " not in en.replace("No decile", "") and "No decile is given" in en
    assert "the privacy noise is too large (each bar ±3.4 practices" in en
    assert "to split 12 practices into tenths" in en
    assert '<svg class="histogram"' in en  # the chart is still shown, with the own rate
    da = card(render_practice_report(withheld, "da"), "DM-01")
    assert "Intet decil er givet" in da and ". decil" not in da
    assert "privatlivsstøjen er for stor (hver søjle ±3,4 praksisser" in da


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("da", "kun 6 praksisser bidrog, og et decil kræver mindst 10"),
        ("en", "only 6 practices contributed, and a decile needs at least 10"),
    ],
)
def test_too_few_practices_is_said_in_plain_words(tmp_path, lang, expected):
    few = dist(deciles=None, withheld="too_few_practices", practices=6)
    page = render_practice_report(report_from(tmp_path, doc(distributions={"DM-01": few})), lang)
    assert expected in card(page, "DM-01")


def test_the_region_is_used_when_the_clusters_deciles_are_withheld_and_it_says_so(tmp_path):
    noisy = dist(deciles=None, withheld="too_noisy", sd=3.0, practices=12)
    report = report_from(
        tmp_path, doc(distributions={"DM-01": noisy}), region({"DM-01": dist(practices=24)})
    )
    dm01 = next(i for i in report.indicators if i.indicator.id == "DM-01")
    used = dm01.placement.decile_from
    assert used.level == "region" and used.unit == "Midtjylland" and used.decile is not None
    assert dm01.placement.shown is used
    en = card(render_practice_report(report, "en"), "DM-01")
    assert "The cluster's decile is not given (the privacy noise is too large" in en
    assert "so the region's distribution is used" in en
    assert "Place among the practices · region Midtjylland" in en
    assert "practices in region Midtjylland have a lower rate than yours" in en
    da = render_practice_report(report, "da")
    assert "så regionens fordeling er brugt" in card(da, "DM-01")
    assert f"{used.decile}. (region)" in da


def test_the_own_rate_marker_sits_in_its_bin(tmp_path):
    report = report_from(tmp_path, doc(distributions={"DM-01": dist(sd=1.0)}))
    svg = card(render_practice_report(report, "en"), "DM-01").split('<svg class="histogram"')[1]
    marker = float(re.search(r'<line class="own" x1="([\d.]+)"', svg).group(1))
    bars = {
        int(b): (float(x), float(w))
        for b, x, w in re.findall(
            r'<rect class="bin" data-bin="(\d+)" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', svg
        )
    }
    assert len(bars) == len(BINS)
    expected = int(OWN * 10) if OWN < 1 else 9
    hits = [b for b, (x, w) in bars.items() if x - 1 <= marker <= x + w + 1]
    assert hits == [expected]
    assert (
        f'data-bin="{expected}" x=' in svg
        and "#3b7dd8" in svg.split(f'data-bin="{expected}"')[1][:120]
    )
    assert "±2.0 practices" in card(render_practice_report(report, "en"), "DM-01")


def test_bin_of_puts_edges_in_the_upper_bin_and_one_in_the_last():
    assert [bin_of(r, 10) for r in (0.0, 0.05, 0.1, 0.95, 1.0, 1.4, -0.1)] == [0, 0, 1, 9, 9, 9, 0]


def test_the_practice_is_said_to_be_counted_only_if_it_took_part(tmp_path):
    release = read_releases(write(tmp_path, doc(distributions={"DM-01": dist()})))[0]
    took_part = place(release, "DM-01", 5, 7, frozenset({"r1"}))
    absent = place(release, "DM-01", 5, 7, frozenset({"r9"}))
    assert took_part.included and not absent.included
    assert took_part.own_mass == pytest.approx(0.07)  # 7 of d_min 100
    assert place(release, "KOL-02", 1, 2, frozenset()) is None  # no histogram for it
    page = render_practice_report(report_from(tmp_path, doc(distributions={"DM-01": dist()})), "en")
    assert "did not take part in that round" in card(page, "DM-01")  # no charges: not sent
    assert "distribution is of practices, not patients" in card(page, "DM-01")
    assert "Place among" not in card(page, "KOL-02")


def test_the_released_interval_decides_above_or_below(tmp_path):
    """Own 0.85 against 0.8: outside the noise's interval (±0.039), inside the released one."""
    new = read_releases(write(tmp_path / "new", doc()))[0].figures["DM-01"]
    assert new.interval == (0.7, 0.9) and new.interval_source == "released"
    old_doc = release_doc()
    old = read_releases(write(tmp_path / "old", old_doc))[0].figures["DM-01"]
    assert old.interval_source == "noise" and old.interval == pytest.approx((0.7608, 0.8392), 1e-3)
    from client.report.verdict import judge

    def verdict(own, figure):
        return judge(own, 10_000, rest=None, cluster=figure, proportion=True).position

    # The released interval (sampling and noise) is wider than the noise-only one of an
    # older release, so the same own rate can be beyond the one and not the other.
    assert verdict(0.9, new) is Position.WITHIN_NOISE
    assert verdict(0.99, new) is Position.ABOVE and verdict(0.6, new) is Position.BELOW
    assert verdict(0.9, old) is Position.ABOVE
    page = render_practice_report(report_from(tmp_path / "r1", doc()), "en")
    assert "95% interval 70.0–90.0%" in page and "noise only" not in page
    old_page = render_practice_report(report_from(tmp_path / "r2", old_doc), "da")
    assert "kun støj" in old_page and "fra før intervallerne blev udgivet" in old_page


def _break(path: list, value):
    def mutate(d):
        target = d
        for key in path[:-1]:
            target = target[key]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return mutate


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (_break(["indicators", 0, "interval"], "wide"), "indicators[0].interval"),
        (_break(["indicators", 0, "interval"], [0.9, 0.7]), "indicators[0].interval"),
        (_break(["indicators", 0, "interval"], [0.7]), "indicators[0].interval"),
        (_break(["indicators", 0, "interval"], [0.7, None]), "indicators[0].interval"),
        (_break(["indicators", 1, "interval"], [0.1, 0.2]), "indicators[1].interval"),
        (_break(["distributions"], []), "distributions"),
        (_break(["distributions", "DM-01"], 3), "distributions.DM-01"),
        (_break(["distributions", "DM-01", "bins"], "many"), "distributions.DM-01.bins"),
        (
            _break(["distributions", "DM-01", "bins"], [1, "x"] + [0] * 8),
            "distributions.DM-01.bins[1]",
        ),
        (_break(["distributions", "DM-01", "bins"], [-1.0] + [0] * 9), "distributions.DM-01.bins"),
        (_break(["distributions", "DM-01", "edges"], EDGES[:-1]), "distributions.DM-01.edges"),
        (
            _break(["distributions", "DM-01", "edges"], [0, 0.5, *EDGES[2:]]),
            "distributions.DM-01.edges",
        ),
        (
            _break(["distributions", "DM-01", "bin_noise_sd"], -1),
            "distributions.DM-01.bin_noise_sd",
        ),
        (
            _break(["distributions", "DM-01", "practices"], KeyError),
            "distributions.DM-01.practices",
        ),
        (_break(["distributions", "DM-01", "practices"], 2.5), "distributions.DM-01.practices"),
        (_break(["distributions", "DM-01", "deciles"], DECILES[:8]), "distributions.DM-01.deciles"),
        (
            _break(["distributions", "DM-01", "deciles"], DECILES[::-1]),
            "distributions.DM-01.deciles",
        ),
        (
            _break(["distributions", "DM-01", "deciles"], None),
            "distributions.DM-01.deciles_withheld",
        ),
        (
            _break(["distributions", "DM-01", "deciles_withheld"], "too_noisy"),
            "distributions.DM-01.deciles_withheld",
        ),
    ],
)
def test_malformed_intervals_and_distributions_name_file_and_field(tmp_path, mutate, field):
    broken = doc(distributions={"DM-01": dist()})
    mutate(broken)
    folder = write(tmp_path, broken)
    with pytest.raises(ReleaseDocumentError) as err:
        read_releases(folder)
    assert f"cluster-0.json, key '{field}':" in str(err.value)
    assert err.value.key == field


def test_a_no_dp_release_states_epsilon_as_inf(tmp_path):
    d = {**doc(), "epsilon_per_release": "inf", "mechanism": "none"}
    release = read_releases(write(tmp_path, d))[0]
    assert release.epsilon_per_release == float("inf")
    assert "ε ∞" in render_practice_report(report_from(tmp_path, d), "en")


def region_round(distributions):
    """A region-wide round's release: the region's strata and practice-rate histograms."""
    d = doc("region", "Midtjylland", distributions, rounds=("w1",), release_id=5)
    d["scope"] = "region"
    return d


def test_the_practice_is_placed_in_the_region_wide_rounds_distribution(tmp_path):
    """A cluster round releases no histogram: the place is the region's, in words."""
    aggregate = doc("region", "Midtjylland", None, rounds=("r1", "r2"), release_id=4)
    report = report_from(tmp_path, doc(), aggregate, region_round({"DM-01": dist(practices=160)}))
    dm01 = next(i for i in report.indicators if i.indicator.id == "DM-01")
    used = dm01.placement.decile_from
    assert dm01.placement.cluster is None
    assert used.level == "region" and used.unit == "Midtjylland"
    assert used.distribution.practices == 160 and used.decile is not None
    fifth = (used.decile + 1) // 2
    which = {1: "lowest", 2: "second-lowest", 3: "middle", 4: "second-highest", 5: "highest"}
    en = card(render_practice_report(report, "en"), "DM-01")
    assert f"Your practice is in the region's {which[fifth]} quintile." in en
    assert "The cluster's decile is not given" not in en  # there is no cluster histogram
    da = card(render_practice_report(report, "da"), "DM-01")
    assert "Jeres praksis ligger i regionens" in da and "femtedel" in da
    # the region column still shows the aggregate of the cluster sums, not the round's
    assert report.region_release is not None and report.region_release.scope == "cluster"
