"""The country's figures: sums of the regions', nothing lost, nothing invented."""

from __future__ import annotations

import math

import pytest

from national.combine import CombineError, region_inputs
from national.run import national_figures, verified_publications
from national.trust import load_national_trust
from tests.langs import in_english
from tests.national.world import CATALOGUE, build_world

IDS = list(CATALOGUE.indicators)[:3]


def test_without_noise_the_country_is_the_sum_of_the_regions(tmp_path):
    counts = {
        "Midtjylland": {IDS[0]: (300, 1000), IDS[1]: (40, 200), IDS[2]: (7, 90)},
        "Nordjylland": {IDS[0]: (120, 500), IDS[1]: (10, 100), IDS[2]: (3, 60)},
        "Hovedstaden": {IDS[0]: (900, 2500), IDS[1]: (55, 300), IDS[2]: (11, 70)},
    }
    world = build_world(tmp_path, counts)
    paths = [world.write(r) for r in counts]
    national = national_figures(paths, load_national_trust(world.trust))
    nation = national.nation
    assert nation.level == "nation"
    assert nation.contributors == 30
    for iid in IDS:
        figure = nation.figures[iid]
        assert figure.numerator == sum(c[iid][0] for c in counts.values())
        assert figure.denominator == sum(c[iid][1] for c in counts.values())
        assert figure.rate == pytest.approx(figure.numerator / figure.denominator)
        assert figure.noise_sd == 0
        low, high = figure.interval
        assert low < figure.rate < high  # chance alone still gives an interval


def test_noise_variances_add(tmp_path):
    world = build_world(tmp_path, {"A": {IDS[0]: (300, 1000)}, "B": {IDS[0]: (100, 500)}})
    verified = verified_publications(
        [world.write("A"), world.write("B")], load_national_trust(world.trust)
    )
    inputs = region_inputs(verified)
    # Noise as a DP release would state it: a numerator SD and a rate SD per region.
    from dataclasses import replace

    from national.combine import combine

    noisy = [
        replace(
            r,
            aggregate=replace(
                r.aggregate,
                figures={
                    IDS[0]: replace(r.aggregate.figures[IDS[0]], noise_sd=30.0, rate_noise_sd=0.03)
                },
            ),
        )
        for r in inputs
    ]
    first = verified[0][1]
    nation = combine(noisy, first.manifest.manifest, first.manifest_hash).nation
    figure = nation.figures[IDS[0]]
    assert figure.noise_sd == pytest.approx(math.sqrt(2) * 30.0, abs=1e-3)
    expected = math.sqrt((0.03 * 1000) ** 2 + (0.03 * 500) ** 2) / 1500
    assert figure.rate_noise_sd == pytest.approx(expected, abs=1e-6)


def test_one_region_twice_is_refused(tmp_path, monkeypatch):
    in_english(monkeypatch)
    world = build_world(tmp_path, {"A": {IDS[0]: (300, 1000)}})
    path = world.write("A")
    copy = tmp_path / "copy.json"
    copy.write_bytes(path.read_bytes())
    with pytest.raises(CombineError, match="also published by"):
        national_figures([path, copy], load_national_trust(world.trust))


def test_a_hidden_regional_figure_hides_the_country_figure(tmp_path):
    world = build_world(tmp_path, {"A": {IDS[0]: (300, 1000)}, "B": {IDS[1]: (1, 10)}})
    national = national_figures(
        [world.write("A"), world.write("B")], load_national_trust(world.trust)
    )
    figure = national.nation.figures[IDS[0]]
    assert figure.rate is None and figure.suppressed == {"rate": "region_withheld"}
