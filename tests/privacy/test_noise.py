"""Noise sampling: CSPRNG sources, the Poisson sampler, Skellam shares and OpenDP local noise."""

from __future__ import annotations

import math

import numpy as np
import pytest

from privacy.errors import MechanismError
from privacy.randomness import OsEntropy, SeededStream, system_source, uniform_open01
from privacy.release import LocalGaussianRelease, LocalLaplaceRelease, SkellamRelease
from privacy.sensitivity import LIST_SIZE, cells_contribution, vector_sensitivity
from privacy.skellam import sample_poisson, share_lambda, skellam_share


def test_production_source_is_the_operating_system_csprng():
    source = system_source()
    assert isinstance(source, OsEntropy)
    assert source.random_bytes(32) != source.random_bytes(32)


def test_seeded_stream_is_reproducible_and_seed_sensitive():
    assert SeededStream(7).random_bytes(64) == SeededStream(7).random_bytes(64)
    assert SeededStream(7).random_bytes(64) != SeededStream(8).random_bytes(64)
    stream = SeededStream("x")
    assert stream.random_bytes(16) != stream.random_bytes(16)


def test_uniforms_lie_strictly_inside_the_unit_interval():
    u = uniform_open01(SeededStream(1), 100_000)
    assert u.min() > 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005


def _poisson_pmf(lam: float, k: np.ndarray) -> np.ndarray:
    return np.exp(-lam + k * math.log(lam) - np.array([math.lgamma(x + 1) for x in k]))


@pytest.mark.parametrize("lam", [0.4, 3.0, 9.99, 10.0, 47.3, 2500.0])
def test_poisson_sampler_matches_the_distribution(lam):
    n = 60_000
    x = sample_poisson(SeededStream(int(lam * 1000)), lam, n)
    assert x.dtype == np.int64 and x.min() >= 0
    # Mean and variance within 5 standard errors.
    assert abs(x.mean() - lam) < 5 * math.sqrt(lam / n)
    assert abs(x.var() - lam) < 5 * lam * math.sqrt(2 / n) + 5 * math.sqrt(lam / n)
    # Chi-square over the central mass: catches a wrong shape with the right moments.
    lo, hi = max(0, int(lam - 3 * math.sqrt(lam))), int(lam + 3 * math.sqrt(lam)) + 1
    ks = np.arange(lo, hi + 1)
    expected = _poisson_pmf(lam, ks) * n
    keep = expected >= 20
    observed = np.array([(x == k).sum() for k in ks])[keep]
    chi2 = float((((observed - expected[keep]) ** 2) / expected[keep]).sum())
    dof = int(keep.sum())
    assert chi2 < dof + 6 * math.sqrt(2 * dof), (chi2, dof)


def test_skellam_sum_a_fellow_practice_cannot_remove_has_variance_mu():
    """A fellow participant subtracts its own share: the other n_min − 1 must carry μ."""
    mu, n_min, coords = 946.0, 5, 40_000
    lam = share_lambda(mu, n_min)
    source = SeededStream(2026)
    total = sum(skellam_share(source, lam, coords) for _ in range(n_min - 1))
    # Var of the sample variance ≈ 2μ²/n (Skellam excess kurtosis 1/μ is negligible).
    se = mu * math.sqrt(2 / coords)
    assert abs(total.var() - mu) < 5 * se
    assert abs(total.mean()) < 5 * math.sqrt(mu / coords)
    assert np.all(total == np.round(total))


def test_more_survivors_only_add_noise():
    mu, coords = 400.0, 20_000
    lam = share_lambda(mu, 5)
    source = SeededStream(3)
    total = sum(skellam_share(source, lam, coords) for _ in range(12))
    expected = 2 * lam * 12
    assert abs(total.var() - expected) < 5 * expected * math.sqrt(2 / coords)


def test_release_shares_follow_block_noise_weights():
    blocks = [
        cells_contribution("P", 1, 1000),
        cells_contribution("E", 4, 1000, noise_weight=16),
        LIST_SIZE,
    ]
    release = SkellamRelease(200.0, 5, vector_sensitivity(blocks), 1e-6)
    source = SeededStream(11)
    shares = np.stack([release.noise_share(source) for _ in range(4)])  # a fellow's view
    total = shares.sum(axis=0)
    assert total.shape == (release.dimension,)
    patient, events = total[:1000], total[1000:2000]
    assert abs(patient.var() - 200.0) < 5 * 200.0 * math.sqrt(2 / 1000)
    assert abs(events.var() - 3200.0) < 5 * 3200.0 * math.sqrt(2 / 1000)
    assert np.allclose(release.sum_variance(4)[:1000], 200.0)
    assert np.allclose(release.sum_variance(4)[1000:2000], 3200.0)
    assert np.allclose(release.sum_variance(5)[:1000], 250.0)  # the coordinator's view


def test_local_laplace_noise_comes_from_opendp_with_the_stated_variance():
    sensitivity = vector_sensitivity([cells_contribution("P", 1, 2000), LIST_SIZE])
    release = LocalLaplaceRelease(3.0, sensitivity.dimension, sensitivity, 1e-6)
    vector = np.full(sensitivity.dimension, 50, dtype=np.int64)
    noisy = release.apply(vector)
    assert noisy.dtype == np.int64
    noise = noisy - vector
    expected = release.noise_variance()
    assert abs(noise.var() - expected) < 6 * expected * math.sqrt(5 / noise.size)
    assert release.cost().epsilon == pytest.approx(sensitivity.l1 / 3.0, rel=1e-9)


def test_local_gaussian_noise_comes_from_opendp():
    sensitivity = vector_sensitivity([cells_contribution("P", 1, 2000), LIST_SIZE])
    release = LocalGaussianRelease(10.0, sensitivity.dimension, sensitivity, 1e-6)
    vector = np.zeros(sensitivity.dimension, dtype=np.int64)
    noise = release.apply(vector)
    assert abs(noise.var() - 100.0) < 5 * 100.0 * math.sqrt(2 / noise.size)
    with pytest.raises(MechanismError, match="shape"):
        release.apply(np.zeros(3, dtype=np.int64))
