"""Rényi-DP accounting: per-mechanism curves, composition, conversion to (ε, δ).

A curve is kept as the list of analytic terms that produced it, not as
numbers on a grid, so it can be evaluated at any order α. Composition of
mechanisms on the same data adds their RDP curves (Mironov 2017, Prop. 1);
the sum is only converted to (ε, δ) at the end, which is much tighter than
adding per-release ε's.

Sources:
- Skellam: Agarwal, Kairouz, Liu, "The Skellam Mechanism for Differentially
  Private Federated Learning", NeurIPS 2021, Thm 3.5. μ is the variance of the
  symmetric Skellam noise in the released sum (Poisson(μ/2) − Poisson(μ/2)).
- Gaussian / zCDP: ρ-zCDP is (α, ρα)-RDP for every α > 1 (Bun, Steinke 2016).
- Pure ε-DP implies (α, min(ε, αε²/2))-RDP (Bun, Steinke 2016, Prop. 3.3).
- RDP → (ε, δ): Canonne, Kamath, Steinke 2020, Prop. 12 (also Asoodeh et al.).
- No noise: an exact release of a patient-dependent value satisfies no finite
  (α, ε)-RDP, so its curve is ε(α) = ∞ and everything composed with it is ∞.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from privacy.errors import MechanismError

# α − 1 from 1e-3 to 1e5, log-spaced; the optimum is refined between grid points.
_GRID_POINTS = 321
ALPHA_GRID: np.ndarray = 1.0 + 10.0 ** np.linspace(-3.0, 5.0, _GRID_POINTS)

# Terms evaluate ε(α) for a float α or elementwise for an array of orders.
Alpha = Any


class RdpTerm(Protocol):
    def epsilon(self, alpha: Alpha) -> Alpha: ...

    def spec(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class SkellamTerm:
    """Skellam noise of variance μ on an integer vector with sensitivities Δ₁, Δ₂²."""

    mu: float
    l1: int
    l2_squared: int

    def __post_init__(self) -> None:
        if not (self.mu > 0 and math.isfinite(self.mu)):
            raise MechanismError(f"Skellam variance μ must be positive, got {self.mu}")
        if self.l1 < 0 or self.l2_squared < 0:
            raise MechanismError("Skellam sensitivities must be non-negative")

    def epsilon(self, alpha: Alpha) -> Alpha:
        mu, d1, d2 = self.mu, self.l1, self.l2_squared
        gaussian_part = alpha * d2 / (2 * mu)
        correction = np.minimum(((2 * alpha - 1) * d2 + 6 * d1) / (4 * mu * mu), 3 * d1 / (2 * mu))
        return gaussian_part + correction

    def spec(self) -> dict[str, Any]:
        return {"term": "skellam", "mu": self.mu, "l1": self.l1, "l2_squared": self.l2_squared}


@dataclass(frozen=True)
class ZcdpTerm:
    """ρ-zCDP, e.g. the (discrete) Gaussian mechanism: ρ = Δ₂² / (2σ²)."""

    rho: float

    def __post_init__(self) -> None:
        if not (self.rho >= 0 and math.isfinite(self.rho)):
            raise MechanismError(f"zCDP ρ must be finite and ≥ 0, got {self.rho}")

    def epsilon(self, alpha: Alpha) -> Alpha:
        return self.rho * alpha

    def spec(self) -> dict[str, Any]:
        return {"term": "zcdp", "rho": self.rho}


@dataclass(frozen=True)
class PureDpTerm:
    """A pure ε-DP mechanism, e.g. the discrete Laplace mechanism: ε = Δ₁ / scale."""

    eps: float

    def __post_init__(self) -> None:
        if not (self.eps >= 0 and math.isfinite(self.eps)):
            raise MechanismError(f"pure-DP ε must be finite and ≥ 0, got {self.eps}")

    def epsilon(self, alpha: Alpha) -> Alpha:
        return np.minimum(self.eps, alpha * self.eps * self.eps / 2)

    def spec(self) -> dict[str, Any]:
        return {"term": "pure", "epsilon": self.eps}


@dataclass(frozen=True)
class UnboundedTerm:
    """A release without noise (verification only): no finite RDP bound holds at any α."""

    def epsilon(self, alpha: Alpha) -> Alpha:
        return np.full_like(np.asarray(alpha, dtype=np.float64), math.inf)

    def spec(self) -> dict[str, Any]:
        return {"term": "unbounded"}


def term_from_spec(spec: Mapping[str, Any]) -> RdpTerm:
    """Rebuild a term from its stored spec (as kept in ledger entries)."""
    kind = spec.get("term")
    try:
        if kind == "skellam":
            return SkellamTerm(float(spec["mu"]), int(spec["l1"]), int(spec["l2_squared"]))
        if kind == "zcdp":
            return ZcdpTerm(float(spec["rho"]))
        if kind == "pure":
            return PureDpTerm(float(spec["epsilon"]))
        if kind == "unbounded":
            if set(spec) != {"term"}:
                raise MechanismError(f"RDP term {dict(spec)!r} has unexpected fields")
            return UnboundedTerm()
    except (KeyError, TypeError, ValueError) as exc:
        raise MechanismError(f"RDP term {dict(spec)!r} is incomplete: {exc}") from None
    raise MechanismError(f"unknown RDP term kind {kind!r}")


@dataclass(frozen=True)
class RdpCurve:
    """ε(α) of a composition: the sum of its terms."""

    terms: tuple[RdpTerm, ...] = ()

    def epsilon(self, alpha: Alpha) -> Alpha:
        if np.any(np.asarray(alpha) <= 1):
            raise MechanismError(f"Rényi order α must exceed 1, got {alpha}")
        # Repeated releases repeat identical terms; evaluate each distinct term once.
        return sum(n * term.epsilon(alpha) for term, n in Counter(self.terms).items())

    def __add__(self, other: RdpCurve) -> RdpCurve:
        return RdpCurve(self.terms + other.terms)

    def repeated(self, times: int) -> RdpCurve:
        return RdpCurve(self.terms * times)

    def specs(self) -> list[dict[str, Any]]:
        return [t.spec() for t in self.terms]

    @property
    def unbounded(self) -> bool:
        """True if any composed release had no noise: the composition then guarantees nothing."""
        return any(isinstance(t, UnboundedTerm) for t in self.terms)


def compose(curves: Iterable[RdpCurve]) -> RdpCurve:
    total = RdpCurve()
    for curve in curves:
        total = total + curve
    return total


def _approx_eps_at(curve: RdpCurve, alpha: Alpha, log_inv_delta: float) -> Alpha:
    """CKS20 Prop. 12: (α, τ)-RDP ⇒ (ε, δ)-DP with this ε."""
    return (
        curve.epsilon(alpha)
        + log_inv_delta / (alpha - 1)
        + np.log1p(-1 / alpha)
        - np.log(alpha) / (alpha - 1)
    )


@dataclass(frozen=True)
class ApproxDp:
    epsilon: float
    delta: float
    alpha: float  # the order at which the bound was attained


@lru_cache(maxsize=1024)
def to_approx_dp(curve: RdpCurve, delta: float) -> ApproxDp:
    """The smallest ε (over α) that CKS20 certifies for this curve at δ.

    Any α gives a valid bound, so the search only tightens it: a coarse
    log-spaced grid, then golden-section refinement around the best point.
    A pure function of two immutable values, so it is computed once per pair
    (about 10 ms each): an agent asks for the same year's spend when it
    checks a round and again when it charges it, and a region-wide round's
    hundreds of practices in one process ask alike.
    """
    if not 0 < delta < 1:
        raise MechanismError(f"δ must be in (0, 1), got {delta}")
    if not curve.terms:
        return ApproxDp(0.0, delta, math.inf)
    if curve.unbounded:
        return ApproxDp(math.inf, delta, math.inf)
    log_inv = math.log(1 / delta)
    values = _approx_eps_at(curve, ALPHA_GRID, log_inv)
    best = int(np.argmin(values))
    lo = float(ALPHA_GRID[max(best - 1, 0)])
    hi = float(ALPHA_GRID[min(best + 1, len(ALPHA_GRID) - 1)])
    best_alpha, best_eps = float(ALPHA_GRID[best]), float(values[best])
    ratio = (math.sqrt(5) - 1) / 2
    a, b = lo, hi
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = _approx_eps_at(curve, c, log_inv), _approx_eps_at(curve, d, log_inv)
    for _ in range(60):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = _approx_eps_at(curve, c, log_inv)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = _approx_eps_at(curve, d, log_inv)
    for alpha, eps in ((c, fc), (d, fd)):
        if eps < best_eps:
            best_alpha, best_eps = alpha, float(eps)
    if all(isinstance(t, PureDpTerm) for t in curve.terms):
        # Basic composition of pure ε-DP terms can beat the RDP route (δ is then unused).
        pure_total = sum(t.eps for t in curve.terms if isinstance(t, PureDpTerm))
        if pure_total <= best_eps:
            return ApproxDp(pure_total, delta, math.inf)
    return ApproxDp(max(best_eps, 0.0), delta, best_alpha)


def calibrate(
    curve_for: Callable[[float], RdpCurve],
    target_epsilon: float,
    delta: float,
    *,
    low: float,
    high: float,
    integer: bool = False,
) -> float:
    """Smallest parameter p in [low, high] whose curve meets ε ≤ target at δ.

    `curve_for` must give a cost that falls as p grows (more noise). With
    `integer`, p is rounded up, which can only lower the cost.
    """
    if target_epsilon <= 0:
        raise MechanismError(f"target ε must be positive, got {target_epsilon}")

    def cost(p: float) -> float:
        return to_approx_dp(curve_for(p), delta).epsilon

    if cost(high) > target_epsilon:
        raise MechanismError(
            f"even the largest allowed noise parameter {high:g} gives ε above {target_epsilon}"
        )
    if cost(low) <= target_epsilon:
        return math.ceil(low) if integer else low
    lo, hi = low, high
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if cost(mid) <= target_epsilon:
            hi = mid
        else:
            lo = mid
        if hi / lo < 1 + 1e-9:
            break
    return float(math.ceil(hi)) if integer else hi
