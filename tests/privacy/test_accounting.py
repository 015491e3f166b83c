"""RDP accounting: the Skellam curve, composition, conversion to (ε, δ), calibration."""

from __future__ import annotations

import math

import opendp.prelude as dp
import pytest

from privacy.errors import MechanismError
from privacy.layout import ReleaseLayout, RoundScope
from privacy.plan import manifest_release, manifest_sensitivity, releases_within_budget
from privacy.rdp import (
    PureDpTerm,
    RdpCurve,
    SkellamTerm,
    ZcdpTerm,
    compose,
    term_from_spec,
    to_approx_dp,
)
from privacy.release import (
    LocalGaussianRelease,
    LocalLaplaceRelease,
    SkellamRelease,
    calibrate_skellam_mu,
)
from privacy.sensitivity import (
    LIST_SIZE,
    Contribution,
    cells_contribution,
    vector_sensitivity,
)
from tests.privacy.builders import STRATA, indicator, make_manifest

dp.enable_features("contrib")


def _opendp_gaussian_epsilon(rho: float, delta: float) -> float:
    """OpenDP's own zCDP → approx-DP conversion for a Gaussian of ρ-zCDP."""
    scale = math.sqrt(1 / (2 * rho))
    gaussian = dp.m.make_gaussian(
        dp.atom_domain(T=float, nan=False), dp.absolute_distance(T=float), scale=scale
    )
    return dp.c.make_zCDP_to_approxDP(gaussian).map(1.0).epsilon(delta)


@pytest.mark.parametrize("rho", [1e-4, 0.01, 0.0845, 0.5, 2.0])
@pytest.mark.parametrize("delta", [1e-5, 1e-6, 1e-9])
def test_rdp_to_approx_dp_matches_opendp_on_gaussian(rho, delta):
    ours = to_approx_dp(RdpCurve((ZcdpTerm(rho),)), delta).epsilon
    theirs = _opendp_gaussian_epsilon(rho, delta)
    assert ours == pytest.approx(theirs, rel=1e-6)
    assert ours >= theirs - 1e-9  # never claim more privacy than OpenDP certifies


def test_skellam_curve_is_the_published_formula():
    term = SkellamTerm(mu=500.0, l1=7, l2_squared=11)
    for alpha in (1.5, 2.0, 10.0, 300.0):
        expected = alpha * 11 / (2 * 500) + min(
            ((2 * alpha - 1) * 11 + 6 * 7) / (4 * 500**2), 3 * 7 / (2 * 500)
        )
        assert term.epsilon(alpha) == pytest.approx(expected, rel=1e-12)


def test_skellam_approaches_gaussian_of_the_same_variance():
    mu, l2sq = 1e6, 50
    skellam = to_approx_dp(RdpCurve((SkellamTerm(mu, 10, l2sq),)), 1e-6).epsilon
    gaussian = to_approx_dp(RdpCurve((ZcdpTerm(l2sq / (2 * mu)),)), 1e-6).epsilon
    assert skellam == pytest.approx(gaussian, rel=1e-3)
    assert skellam > gaussian  # the discrete correction only adds


def test_composition_adds_curves_and_beats_adding_epsilons():
    one = RdpCurve((SkellamTerm(946.0, 102, 762),))
    four = compose([one] * 4)
    for alpha in (2.0, 17.0):
        assert four.epsilon(alpha) == pytest.approx(4 * one.epsilon(alpha))
    assert four.epsilon(3.0) == one.repeated(4).epsilon(3.0)
    per_release = to_approx_dp(one, 1e-6).epsilon
    yearly = to_approx_dp(four, 1e-6).epsilon
    assert per_release < yearly < 4 * per_release


def test_pure_dp_terms_use_basic_composition_when_tighter():
    curve = RdpCurve((PureDpTerm(0.1),) * 3)
    assert to_approx_dp(curve, 1e-6).epsilon == pytest.approx(0.3)
    many = RdpCurve((PureDpTerm(0.1),) * 400)
    assert to_approx_dp(many, 1e-6).epsilon < 40.0  # advanced composition via RDP


def test_terms_round_trip_through_their_specs():
    for term in (SkellamTerm(12.5, 3, 5), ZcdpTerm(0.25), PureDpTerm(0.5)):
        assert term_from_spec(term.spec()) == term
    with pytest.raises(MechanismError, match="unknown RDP term"):
        term_from_spec({"term": "laplace"})
    with pytest.raises(MechanismError, match="incomplete"):
        term_from_spec({"term": "skellam", "mu": 1.0})


def test_sensitivity_is_computed_from_the_indicator_set():
    """One patient lands in one cell per indicator: m patient-level indicators cost m + 1."""
    patients = [cells_contribution(f"P{i}", 1, 2) for i in range(20)]
    s = vector_sensitivity([*patients, LIST_SIZE])
    assert (s.l1, s.l2_squared) == (20 + 1, 20 + 1)
    events = cells_contribution("AB-01", 4, 2, noise_weight=16, listed=True)
    s2 = vector_sensitivity([*patients, events, LIST_SIZE])
    assert (s2.l1, s2.l2_squared) == (21 + 5, 21 + 17)
    assert s2.dimension == 21 * 2 + 1
    histogram = Contribution("histogram:DM-01", l1=2, l2_squared=2, coordinates=10)
    s3 = vector_sensitivity([*patients, LIST_SIZE, histogram])
    assert s3.l1 == s.l1 + 2 and s3.dimension == s.dimension + 10
    with pytest.raises(MechanismError, match="listed twice"):
        vector_sensitivity([LIST_SIZE, LIST_SIZE])


def test_manifest_sensitivity_follows_its_indicators():
    manifest = make_manifest(
        indicators=(
            indicator("A"),
            indicator("B"),
            indicator("C", unit="events", cap=3, den_events=True),
        )
    )
    s = manifest_sensitivity(manifest)
    assert s.l1 == 1 + 1 + 3 + 1
    assert s.l2_squared == 1 + 1 + 9 + 1
    assert s.dimension == ReleaseLayout.for_round(manifest, RoundScope.CLUSTER).length == 7
    region = manifest_sensitivity(
        make_manifest(indicators=manifest.indicators, region_round=True), RoundScope.REGION
    )
    # Strata spread a patient over no more cells: the same sensitivity over 4× the cells.
    assert (region.l1, region.l2_squared) == (s.l1, s.l2_squared)
    assert region.dimension == 3 * 2 * len(STRATA) + 1


def test_calibrated_mu_meets_the_target_and_is_tight():
    sensitivity = vector_sensitivity([cells_contribution("A", 1, 2), LIST_SIZE])
    mu = calibrate_skellam_mu(sensitivity, 1.0, 1e-6)
    assert mu == int(mu)
    assert SkellamRelease(mu, 5, sensitivity, 1e-6).cost().epsilon <= 1.0
    assert SkellamRelease(mu - 1, 5, sensitivity, 1e-6).cost().epsilon > 1.0


def test_noise_weights_make_each_capped_block_cost_like_a_patient_block():
    patient = cells_contribution("P", 1, 2)
    capped = cells_contribution("E", 12, 2, noise_weight=144)
    release = SkellamRelease(1000.0, 5, vector_sensitivity([patient, capped]), 1e-6)
    terms = release.curve().terms
    assert terms[0].epsilon(2.0) == pytest.approx(terms[1].epsilon(2.0), rel=1e-2)


def test_release_cost_is_computed_from_its_own_parameters():
    manifest = make_manifest(mu=2000.0)
    release = manifest_release(manifest)
    assert isinstance(release, SkellamRelease)
    assert release.mu == 2000.0 and release.n_min == manifest.secagg.min_survivors
    # Sized against a fellow practice: any n_min − 1 shares carry the full μ.
    assert release.lam == pytest.approx(2000.0 / (2 * (release.n_min - 1)))
    more_noise = SkellamRelease(4000.0, release.n_min, release.sensitivity, release.delta)
    assert more_noise.cost().epsilon < release.cost().epsilon
    # A higher survivor floor lowers each share but keeps the guarantee.
    floor = release.with_min_survivors(12)
    assert floor.lam < release.lam and floor.cost() == release.cost()
    with pytest.raises(MechanismError, match="below the manifest"):
        release.with_min_survivors(3)


def test_local_mechanisms_take_their_cost_from_opendp():
    manifest = make_manifest(mechanism="local_discrete_laplace", epsilon=1.0, budget_epsilon=5.0)
    laplace = manifest_release(manifest)
    assert isinstance(laplace, LocalLaplaceRelease)
    assert laplace.cost().epsilon <= 1.0 + 1e-9
    assert laplace.scale == pytest.approx(laplace.sensitivity.l1 / 1.0, rel=1e-6)
    gauss = manifest_release(
        make_manifest(mechanism="local_discrete_gaussian", scale=20.0, budget_epsilon=50.0)
    )
    assert isinstance(gauss, LocalGaussianRelease)
    rho = gauss.curve().terms[0].rho
    assert rho == pytest.approx(gauss.sensitivity.l2_squared / (2 * 20.0**2), rel=1e-6)


def test_budget_headroom_counts_whole_releases():
    release = manifest_release(make_manifest())
    fit = releases_within_budget(release, 3.0, 1e-6)
    curve = release.curve()
    assert to_approx_dp(curve.repeated(fit), 1e-6).epsilon <= 3.0
    assert to_approx_dp(curve.repeated(fit + 1), 1e-6).epsilon > 3.0


def test_invalid_parameters_are_refused():
    with pytest.raises(MechanismError):
        SkellamTerm(0.0, 1, 1)
    with pytest.raises(MechanismError):
        to_approx_dp(RdpCurve((ZcdpTerm(1.0),)), 0.0)
    with pytest.raises(MechanismError):
        RdpCurve((ZcdpTerm(1.0),)).epsilon(1.0)
