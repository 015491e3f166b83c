"""Skellam noise shares for distributed DP over secure aggregation.

Each surviving practice adds Poisson(λ) − Poisson(λ) independently to every
coordinate. Skellam distributions are closed under addition, so the sum of
S ≥ n_min shares is symmetric Skellam with variance 2λS. A practice that
receives its cluster's release knows its own share and can subtract it, so
the shares are sized against a fellow participant: λ = μ / (2·(n_min − 1)),
and the n_min − 1 shares a fellow cannot remove still carry variance μ. The
coordinator, which knows no share, faces μ·n_min/(n_min − 1). Nobody ever
sees a single share un-masked: the coordinator only learns the sum, whose
noise alone carries the guarantee in `rdp.py`.
Integer noise also keeps the masked arithmetic exact (mod 2^64) in SecAgg.

Poisson variates are drawn from a CSPRNG (`randomness.py`) rather than from
numpy's generators: inversion of the CDF for λ < 10, and Hörmann's
transformed rejection with squeeze (PTRS; W. Hörmann, "The transformed
rejection method for generating Poisson random variables", Insurance:
Mathematics and Economics 12, 1993) for λ ≥ 10. Both are exact up to double
precision arithmetic.
"""

from __future__ import annotations

import math

import numpy as np

from privacy.errors import MechanismError
from privacy.randomness import RandomSource, uniform_open01

_INVERSION_LIMIT = 10.0


def share_lambda(mu: float, n_min: int) -> float:
    """Per-practice Poisson rate so that any n_min − 1 shares together have variance μ.

    One share fewer than the round's floor: a fellow participant who removes
    its own share from the release still faces the full μ.
    """
    if not (mu > 0 and math.isfinite(mu)):
        raise MechanismError(f"Skellam variance μ must be positive, got {mu}")
    if n_min < 2:
        raise MechanismError(
            f"minimum number of survivors must be ≥ 2 (a fellow practice must face the "
            f"others' noise), got {n_min}"
        )
    return mu / (2 * (n_min - 1))


def _poisson_inversion(source: RandomSource, lam: float, size: int) -> np.ndarray:
    u = uniform_open01(source, size)
    k = np.zeros(size, dtype=np.int64)
    p = np.full(size, math.exp(-lam))
    cdf = p.copy()
    active = u > cdf
    # The tail beyond λ + 40√λ + 60 has probability far below 2^-53.
    max_steps = int(lam + 40 * math.sqrt(lam) + 60)
    step = 0
    while active.any():
        step += 1
        if step > max_steps:
            # u lay above the floating-point CDF's limit: a rounding artefact. Redraw those.
            k[active] = _poisson_inversion(source, lam, int(active.sum()))
            break
        k[active] += 1
        p[active] *= lam / k[active]
        cdf[active] += p[active]
        active &= u > cdf
    return k


def _poisson_ptrs(source: RandomSource, lam: float, size: int) -> np.ndarray:
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    v_r = 0.9277 - 3.6224 / (b - 2)
    out = np.empty(size, dtype=np.int64)
    pending = np.arange(size)
    lgamma = np.vectorize(math.lgamma, otypes=[np.float64])
    while pending.size:
        n = pending.size
        uv = uniform_open01(source, 2 * n)
        u = uv[:n] - 0.5
        v = uv[n:]
        us = 0.5 - np.abs(u)
        k = np.floor((2 * a / us + b) * u + lam + 0.43)
        quick = (us >= 0.07) & (v <= v_r)
        accepted = quick.copy()
        slow = ~quick & (k >= 0) & ~((us < 0.013) & (v > us))
        if slow.any():
            ks, uss, vs = k[slow], us[slow], v[slow]
            lhs = np.log(vs * inv_alpha / (a / (uss * uss) + b))
            rhs = -lam + ks * loglam - lgamma(ks + 1)
            accepted[np.flatnonzero(slow)[lhs <= rhs]] = True
        out[pending[accepted]] = k[accepted].astype(np.int64)
        pending = pending[~accepted]
    return out


def sample_poisson(source: RandomSource, lam: float, size: int) -> np.ndarray:
    """`size` independent Poisson(λ) variates as int64."""
    if not (lam >= 0 and math.isfinite(lam)):
        raise MechanismError(f"Poisson rate must be finite and ≥ 0, got {lam}")
    if size < 0:
        raise MechanismError(f"sample size must be ≥ 0, got {size}")
    if lam == 0 or size == 0:
        return np.zeros(size, dtype=np.int64)
    if lam < _INVERSION_LIMIT:
        return _poisson_inversion(source, lam, size)
    return _poisson_ptrs(source, lam, size)


def skellam_share(source: RandomSource, lam: float, size: int) -> np.ndarray:
    """One practice's noise share: Poisson(λ) − Poisson(λ) per coordinate, int64."""
    share: np.ndarray = sample_poisson(source, lam, size) - sample_poisson(source, lam, size)
    return share
