"""Every release mechanism answers the same questions, each from its own parameters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from privacy.audit import build_report
from privacy.distribution import DistributionSpec
from privacy.layout import RoundScope
from privacy.manifest import SignedManifest
from privacy.plan import round_min_survivors, round_release
from privacy.randomness import SeededStream
from privacy.release import (
    LocalGaussianRelease,
    LocalLaplaceRelease,
    NoNoiseRelease,
    Release,
    SkellamRelease,
)
from privacy.report_model import render_markdown
from privacy.sensitivity import LIST_SIZE, cells_contribution, vector_sensitivity
from privacy.utility import REGION
from tests.privacy.builders import indicator, make_manifest

SENSITIVITY = vector_sensitivity(
    [
        cells_contribution("A", 1, 8),
        cells_contribution("B", 4, 4, noise_weight=16),
        LIST_SIZE,
    ]
)
DIM = SENSITIVITY.dimension


def mechanisms() -> list[Release]:
    return [
        SkellamRelease(5000.0, 6, SENSITIVITY, 1e-6),
        LocalLaplaceRelease(40.0, DIM, SENSITIVITY, 1e-6),
        LocalGaussianRelease(40.0, DIM, SENSITIVITY, 1e-6),
        NoNoiseRelease(SENSITIVITY),
    ]


@pytest.mark.parametrize("release", mechanisms(), ids=lambda r: r.name)
def test_the_sum_carries_each_survivors_noise(release: Release) -> None:
    assert release.coordinate_variance().shape == (DIM,)
    np.testing.assert_allclose(release.sum_variance(9), 9 * release.coordinate_variance())


@pytest.mark.parametrize("release", mechanisms(), ids=lambda r: r.name)
def test_the_stated_sd_is_that_of_the_round_s_sum(release: Release) -> None:
    weights = np.repeat([b.noise_weight for b in SENSITIVITY.blocks], [4 * 2, 2 * 2, 1])
    variance = release.with_min_survivors(8).sum_variance(10)
    for weight in (1, 16):
        where = int(np.flatnonzero(weights == weight)[0])
        assert release.sum_sd(weight, 10, 8) == pytest.approx(math.sqrt(variance[where]))


@pytest.mark.parametrize("release", mechanisms(), ids=lambda r: r.name)
def test_a_practice_s_vector_gets_its_noise_as_integers(release: Release) -> None:
    vector = np.full(DIM, 40, dtype=np.int64)
    noisy = np.asarray(release.add_noise(vector, SeededStream(1)))
    assert noisy.shape == (DIM,) and noisy.dtype == np.int64
    assert (noisy == vector).all() == (release.name == "none")


@pytest.mark.parametrize("release", mechanisms(), ids=lambda r: r.name)
def test_each_mechanism_names_itself_in_both_languages(release: Release) -> None:
    assert release.title("da") != release.title("en")
    rows = {lang: release.parameter_rows(lang) for lang in ("da", "en")}
    assert len(rows["da"]) == len(rows["en"]) == {"none": 0}.get(release.name, len(rows["da"]))
    # The same values, each in its reader's number format (1.234,5 against 1,234.5).
    swap = str.maketrans({",": ".", ".": ","})
    assert [v.translate(swap) for _, v in rows["da"]] == [v for _, v in rows["en"]]


def test_only_distributed_noise_weakens_when_practices_collude() -> None:
    skellam, laplace, gauss, none = mechanisms()
    charged = skellam.cost().epsilon
    coordinator = skellam.colluders_epsilon(0)
    one, two = skellam.colluders_epsilon(1), skellam.colluders_epsilon(2)
    assert coordinator is not None and one is not None and two is not None
    # Shares are sized so the charged ε holds against one fellow participant exactly.
    assert coordinator < charged and one == pytest.approx(charged, rel=1e-9) and one < two
    assert skellam.colluders_epsilon(6) == math.inf
    assert [m.colluders_epsilon(1) for m in (laplace, gauss, none)] == [None, None, None]


def test_local_noise_ignores_the_survivor_floor() -> None:
    local = LocalLaplaceRelease(40.0, DIM, SENSITIVITY, 1e-6)
    assert local.with_min_survivors(50) is local


def test_the_audit_states_the_histograms_local_noise() -> None:
    spec = DistributionSpec(("DM-01",), 10, 100, 1000, 1)
    manifest = make_manifest(
        indicators=(indicator("DM-01"),),
        mechanism="local_discrete_laplace",
        epsilon=1.0,
        budget_epsilon=5.0,
        distribution=spec,
    )
    text = render_markdown(build_report(SignedManifest(manifest, None), lang="en"))
    n = REGION.practices
    release = round_release(manifest, round_min_survivors(manifest, n), RoundScope.REGION)
    assert isinstance(release, LocalLaplaceRelease)
    sd = math.sqrt(REGION.practices * release.noise_variance()) / spec.scale
    assert sd > 0.1
    assert (
        f"its noise SD per bin in a region of {REGION.practices} practices is about {sd:.1f}"
        in text
    )
