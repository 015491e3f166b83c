"""Release mechanisms that carry their parameters and their computed privacy cost.

As in OpenDP, a mechanism's cost is not a comment: `cost()` is computed from
the same fields that drive the noise (`add_noise`). The ledger charges
`curve()`, the coordinator states `sum_variance()`, and the audit report
prints `cost()` and the noise from the very same object, so the report, the
ledger and the noise cannot disagree.

Every mechanism implements the `Release` protocol; callers ask it, never
which mechanism it is, so a new mechanism is one new class here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

import privacy.release_text  # noqa: F401  (registers the mechanisms' names for people)
from common.formatting import number
from common.i18n import Lang, t
from privacy import localdp
from privacy.errors import MechanismError
from privacy.randomness import RandomSource
from privacy.rdp import (
    PureDpTerm,
    RdpCurve,
    SkellamTerm,
    UnboundedTerm,
    ZcdpTerm,
    calibrate,
    to_approx_dp,
)
from privacy.report_model import Para, Table
from privacy.sensitivity import Sensitivity
from privacy.skellam import share_lambda, skellam_share

DISTRIBUTED_SKELLAM = "distributed_skellam"
LOCAL_LAPLACE = "local_discrete_laplace"
LOCAL_GAUSSIAN = "local_discrete_gaussian"
NO_NOISE = "none"  # verification on synthetic data only: no DP guarantee at all
MECHANISMS: tuple[str, ...] = (DISTRIBUTED_SKELLAM, LOCAL_LAPLACE, LOCAL_GAUSSIAN, NO_NOISE)
LOCAL_MECHANISMS: tuple[str, ...] = (LOCAL_LAPLACE, LOCAL_GAUSSIAN)
DP_MECHANISMS: tuple[str, ...] = (DISTRIBUTED_SKELLAM, LOCAL_LAPLACE, LOCAL_GAUSSIAN)

__all__ = [
    "DISTRIBUTED_SKELLAM",
    "DP_MECHANISMS",
    "LOCAL_GAUSSIAN",
    "LOCAL_LAPLACE",
    "LOCAL_MECHANISMS",
    "MECHANISMS",
    "NO_NOISE",
    "LocalGaussianRelease",
    "LocalLaplaceRelease",
    "NoNoiseRelease",
    "PrivacyCost",
    "Release",
    "SkellamRelease",
    "calibrate_local_scale",
    "calibrate_skellam_mu",
    "release_from_parameters",
]


@dataclass(frozen=True)
class PrivacyCost:
    """(ε, δ) of one release, and the RDP curve it adds to the yearly composition."""

    epsilon: float
    delta: float
    curve: RdpCurve

    def as_dict(self) -> dict[str, Any]:
        return {"epsilon": self.epsilon, "delta": self.delta, "rdp_terms": self.curve.specs()}


class Release(Protocol):
    """What every release mechanism states and does; all its answers come from one set of fields.

    Like an OpenDP measurement it carries its input (the vector's sensitivity),
    its output measure and privacy map (`curve`, `cost`) and the noise those
    describe (`add_noise`, `coordinate_variance`, `sum_variance`).
    """

    name: ClassVar[str]  # the mechanism's id in manifests, ledger entries and receipts

    @property
    def sensitivity(self) -> Sensitivity: ...

    @property
    def dimension(self) -> int: ...

    def title(self, lang: Lang | None = None) -> str:
        """The mechanism's name for people."""
        ...

    def parameters(self) -> dict[str, Any]:
        """The parameters as a JSON-safe document (ledger entries, receipts, releases).

        Complete: `release_from_parameters(name, parameters())` rebuilds this very
        mechanism, so a receipt alone says what it cost (the ledger recomputes it).
        """
        ...

    def parameter_rows(self, lang: Lang | None = None) -> tuple[tuple[str, str], ...]:
        """The parameters for people: (label, value) rows."""
        ...

    def curve(self) -> RdpCurve:
        """The RDP curve one release adds to the yearly composition."""
        ...

    def cost(self) -> PrivacyCost:
        """(ε, δ) of one release, from `curve()`."""
        ...

    def with_min_survivors(self, n_min: int) -> Release:
        """The mechanism as a round that aborts below `n_min` survivors applies it."""
        ...

    def add_noise(self, vector: np.ndarray, source: RandomSource) -> np.ndarray:
        """One practice's bounded `vector` with its noise (its share, for distributed noise)."""
        ...

    def coordinate_variance(self) -> np.ndarray:
        """Variance of one practice's noise on each coordinate."""
        ...

    def sum_variance(self, survivors: int) -> np.ndarray:
        """Per-coordinate noise variance of the sum of `survivors` practices' vectors."""
        ...

    def sum_sd(self, weight: int, survivors: int, floor: int) -> float:
        """Noise SD on a coordinate of noise weight `weight` in a sum of `survivors` vectors,
        each noised for a round whose survivor floor is `floor`."""
        ...

    def noise_summary(self, survivors: int, floor: int, lang: Lang | None = None) -> Para | Table:
        """How much noise a reader of a typical cluster's sum should expect."""
        ...

    def colluders_epsilon(self, colluders: int) -> float | None:
        """ε left against `colluders` practices who pool their own noise shares.

        None when no other practice's noise protects a practice's values (local
        noise is each practice's own; without noise there is nothing to lose).
        """
        ...


def _check_delta(delta: float) -> None:
    if not 0 < delta < 1:
        raise MechanismError(f"δ must be in (0, 1), got {delta}")


@dataclass(frozen=True)
class SkellamRelease:
    """Distributed Skellam noise: any n_min − 1 shares have variance ≥ weight·μ per coordinate.

    Each sensitivity block gets its own Skellam term (independent noise on
    disjoint coordinates composes by adding RDP curves), with variance
    μ × the block's noise weight. The guarantee needs at least `n_min` honest
    survivors in the unmasked sum; the SecAgg round must abort below that.
    It holds against the coordinator (which faces n_min shares) and against
    a fellow participant who subtracts its own share (n_min − 1 shares).
    """

    mu: float
    n_min: int
    sensitivity: Sensitivity
    delta: float
    name: ClassVar[str] = DISTRIBUTED_SKELLAM

    def __post_init__(self) -> None:
        share_lambda(self.mu, self.n_min)  # validates μ and n_min
        _check_delta(self.delta)

    @property
    def lam(self) -> float:
        """Per-practice Poisson rate on a coordinate of noise weight 1."""
        return share_lambda(self.mu, self.n_min)

    @property
    def dimension(self) -> int:
        return self.sensitivity.dimension

    def coordinate_weights(self) -> np.ndarray:
        return np.repeat(
            np.array([b.noise_weight for b in self.sensitivity.blocks], dtype=np.int64),
            [b.coordinates for b in self.sensitivity.blocks],
        )

    def curve(self) -> RdpCurve:
        return RdpCurve(
            tuple(
                SkellamTerm(self.mu * b.noise_weight, b.l1, b.l2_squared)
                for b in self.sensitivity.blocks
            )
        )

    def cost(self) -> PrivacyCost:
        curve = self.curve()
        return PrivacyCost(to_approx_dp(curve, self.delta).epsilon, self.delta, curve)

    def with_min_survivors(self, n_min: int) -> SkellamRelease:
        """The same guarantee for a round that aborts below `n_min` survivors.

        Raising the round's survivor floor (from the design dropout) lowers each
        practice's share without weakening the sum's variance μ; lowering it below
        the manifest's floor would, so that is refused.
        """
        if n_min < self.n_min:
            raise MechanismError(
                f"round minimum of {n_min} survivors is below the manifest's {self.n_min}"
            )
        return SkellamRelease(self.mu, n_min, self.sensitivity, self.delta)

    def noise_share(self, source: RandomSource) -> np.ndarray:
        """This practice's share: Sk(λ·w, λ·w) on each coordinate of weight w, as int64."""
        weights = self.coordinate_weights()
        out = np.zeros(weights.size, dtype=np.int64)
        for weight in np.unique(weights):
            where = np.flatnonzero(weights == weight)
            lam = share_lambda(self.mu * float(weight), self.n_min)
            out[where] = skellam_share(source, lam, where.size)
        return out

    def sum_variance(self, survivors: int) -> np.ndarray:
        """Per-coordinate noise variance of the unmasked sum of `survivors` shares."""
        return 2 * self.lam * survivors * self.coordinate_weights().astype(np.float64)

    def parameters(self) -> dict[str, Any]:
        return {
            "mu": self.mu,
            "n_min": self.n_min,
            "lambda": self.lam,
            "delta": self.delta,
            "sensitivity": self.sensitivity.as_dict(),
        }

    def title(self, lang: Lang | None = None) -> str:
        return _title(self.name, lang)

    def parameter_rows(self, lang: Lang | None = None) -> tuple[tuple[str, str], ...]:
        return (
            (t("release.mu", lang=lang), number(self.mu, 0, lang)),
            (t("release.lambda", lang=lang, n=self.n_min), number(self.lam, 2, lang)),
        )

    def add_noise(self, vector: np.ndarray, source: RandomSource) -> np.ndarray:
        noisy: np.ndarray = vector + self.noise_share(source)
        return noisy

    def coordinate_variance(self) -> np.ndarray:
        return 2 * self.lam * self.coordinate_weights().astype(np.float64)

    def sum_sd(self, weight: int, survivors: int, floor: int) -> float:
        typical = self.with_min_survivors(floor)
        return math.sqrt(2 * typical.lam * weight * survivors)

    def noise_summary(self, survivors: int, floor: int, lang: Lang | None = None) -> Para | Table:
        """Per noise weight: the SD the guarantee needs (μ·w) and that of a typical cluster."""
        blocks = self.sensitivity.blocks
        rows = []
        for w in sorted({b.noise_weight for b in blocks}):
            names = [_block_name(b.block, lang) for b in blocks if b.noise_weight == w]
            rows.append(
                (
                    f"{t('release.noise.weight', lang=lang, w=w)}: {', '.join(names)}",
                    number(math.sqrt(self.mu * w), 1, lang),
                    number(self.sum_sd(w, survivors, floor), 1, lang),
                )
            )
        return Table(
            (
                t("release.noise.header_block", lang=lang),
                t("release.noise.header_sd", lang=lang),
                t("release.noise.header_typical", lang=lang, n=survivors),
            ),
            tuple(rows),
        )

    def colluders_epsilon(self, colluders: int) -> float | None:
        """The sum keeps only the other practices' shares: variance μ·(n − c)/(n − 1) at floor n.

        c = 0 is the coordinator's view (more noise than charged), c = 1 a fellow
        participant's (exactly the charged ε).
        """
        n = self.n_min
        if colluders >= n:
            return math.inf
        remaining = self.mu * (n - colluders) / (n - 1)
        return SkellamRelease(remaining, n, self.sensitivity, self.delta).cost().epsilon


@dataclass(frozen=True)
class _LocalRelease:
    """A practice releases its own vector with an OpenDP measurement (local DP).

    Subclasses build the measurement and read its privacy map; cost, noise and
    parameters then come from that one object, as in OpenDP itself.
    """

    scale: float
    dimension: int
    sensitivity: Sensitivity
    delta: float
    measurement: Any = field(init=False, repr=False, compare=False)
    name: ClassVar[str]

    def __post_init__(self) -> None:
        _check_delta(self.delta)
        object.__setattr__(self, "measurement", self._build())

    def _build(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def curve(self) -> RdpCurve:  # pragma: no cover - abstract
        raise NotImplementedError

    def cost(self) -> PrivacyCost:
        curve = self.curve()
        return PrivacyCost(to_approx_dp(curve, self.delta).epsilon, self.delta, curve)

    def apply(self, vector: np.ndarray) -> np.ndarray:
        return localdp.apply(self.measurement, vector, self.dimension)

    def noise_variance(self) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def parameters(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "dimension": self.dimension,
            "delta": self.delta,
            "sensitivity": self.sensitivity.as_dict(),
        }

    def title(self, lang: Lang | None = None) -> str:
        return _title(self.name, lang)

    def parameter_rows(self, lang: Lang | None = None) -> tuple[tuple[str, str], ...]:
        return ((t("release.scale", lang=lang), f"{self.scale:.4g}"),)

    def with_min_survivors(self, n_min: int) -> _LocalRelease:
        """Local noise protects each vector on its own, so the survivor floor changes nothing."""
        return self

    def add_noise(self, vector: np.ndarray, source: RandomSource) -> np.ndarray:
        """OpenDP draws the noise from its own CSPRNG, so `source` is not used."""
        return self.apply(vector)

    def coordinate_variance(self) -> np.ndarray:
        return np.full(self.dimension, self.noise_variance(), dtype=np.float64)

    def sum_variance(self, survivors: int) -> np.ndarray:
        """Each survivor's vector carries its own independent noise."""
        return survivors * self.coordinate_variance()

    def sum_sd(self, weight: int, survivors: int, floor: int) -> float:
        """Local noise is the same on every coordinate and does not depend on the floor."""
        return math.sqrt(survivors * self.noise_variance())

    def noise_summary(self, survivors: int, floor: int, lang: Lang | None = None) -> Para | Table:
        sd = math.sqrt(self.noise_variance())
        return Para(t("release.noise.local", lang=lang, sd=number(sd, 1, lang)))

    def colluders_epsilon(self, colluders: int) -> float | None:
        return None


@dataclass(frozen=True)
class LocalLaplaceRelease(_LocalRelease):
    """Each practice releases its vector with OpenDP discrete Laplace noise: ε = Δ₁ / scale."""

    name: ClassVar[str] = LOCAL_LAPLACE

    def _build(self) -> Any:
        return localdp.discrete_laplace(self.dimension, self.scale)

    def curve(self) -> RdpCurve:
        eps = localdp.laplace_epsilon(self.measurement, self.sensitivity.l1)
        return RdpCurve((PureDpTerm(eps),))

    def noise_variance(self) -> float:
        q = math.exp(-1 / self.scale)
        return 2 * q / (1 - q) ** 2


@dataclass(frozen=True)
class LocalGaussianRelease(_LocalRelease):
    """Each practice releases its vector with OpenDP discrete Gaussian noise: ρ = Δ₂² / (2σ²)."""

    name: ClassVar[str] = LOCAL_GAUSSIAN

    def _build(self) -> Any:
        return localdp.discrete_gaussian(self.dimension, self.scale)

    def curve(self) -> RdpCurve:
        rho = localdp.gaussian_rho(self.measurement, self.sensitivity.l2)
        return RdpCurve((ZcdpTerm(rho),))

    def noise_variance(self) -> float:
        return self.scale**2  # the discrete Gaussian's variance is at most σ²


@dataclass(frozen=True)
class NoNoiseRelease:
    """The exact vector, with no noise: for verifying the federation on synthetic data only.

    Its cost is ε = ∞ (no differential-privacy guarantee whatsoever), stated by
    its RDP curve, so the ledger, the receipts and the audit report say so as
    they do for every other mechanism. δ is 1: (∞, 1) is the vacuous statement
    every mechanism satisfies. Only a manifest of kind `none`, marked
    `purpose = "verification"` and with an unlimited yearly budget, yields one.
    """

    sensitivity: Sensitivity
    name: ClassVar[str] = NO_NOISE

    @property
    def dimension(self) -> int:
        return self.sensitivity.dimension

    def curve(self) -> RdpCurve:
        return RdpCurve((UnboundedTerm(),))

    def cost(self) -> PrivacyCost:
        return PrivacyCost(math.inf, 1.0, self.curve())

    def with_min_survivors(self, n_min: int) -> NoNoiseRelease:
        """No noise share depends on the survivor floor, so any floor gives the same release."""
        if n_min < 1:
            raise MechanismError(f"a round needs at least one survivor, got {n_min}")
        return self

    def noise_share(self, source: RandomSource) -> np.ndarray:
        """This practice's share of the noise: zero on every coordinate (`source` is unused)."""
        return np.zeros(self.dimension, dtype=np.int64)

    def apply(self, vector: np.ndarray) -> np.ndarray:
        return np.asarray(vector, dtype=np.int64).copy()

    def add_noise(self, vector: np.ndarray, source: RandomSource) -> np.ndarray:
        """The exact vector (`source` is unused)."""
        return self.apply(vector)

    def noise_variance(self) -> float:
        return 0.0

    def coordinate_variance(self) -> np.ndarray:
        return np.zeros(self.dimension, dtype=np.float64)

    def sum_variance(self, survivors: int) -> np.ndarray:
        """The released sum is exact: zero variance on every coordinate."""
        return np.zeros(self.dimension, dtype=np.float64)

    def sum_sd(self, weight: int, survivors: int, floor: int) -> float:
        return 0.0

    def noise_summary(self, survivors: int, floor: int, lang: Lang | None = None) -> Para | Table:
        return Para(t("release.noise.none", lang=lang))

    def colluders_epsilon(self, colluders: int) -> float | None:
        return None

    def parameters(self) -> dict[str, Any]:
        # JSON-safe (receipts and the ledger refuse non-finite numbers): ε = ∞ spelt "inf".
        return {
            "noise": "none",
            "differential_privacy": False,
            "epsilon": "inf",
            "sensitivity": self.sensitivity.as_dict(),
        }

    def title(self, lang: Lang | None = None) -> str:
        return _title(self.name, lang)

    def parameter_rows(self, lang: Lang | None = None) -> tuple[tuple[str, str], ...]:
        return ()


def release_from_parameters(name: str, parameters: Mapping[str, Any]) -> Release:
    """The mechanism a receipt names, rebuilt from its own parameters (and validated again).

    The ledger charges `curve()` of this object, never a number stored beside
    it, so an ε or RDP term edited in a ledger file cannot lower the spend.
    """

    def number(key: str) -> float:
        value = parameters.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise MechanismError(f"{name} parameter {key} must be a number")
        return float(value)

    def count(key: str) -> int:
        value = parameters.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise MechanismError(f"{name} parameter {key} must be an integer")
        return value

    def expect(keys: set[str]) -> Sensitivity:
        if set(parameters) != keys:
            raise MechanismError(f"{name} parameters must be exactly {', '.join(sorted(keys))}")
        return Sensitivity.from_dict(parameters["sensitivity"])

    if name == DISTRIBUTED_SKELLAM:
        sensitivity = expect({"mu", "n_min", "lambda", "delta", "sensitivity"})
        release = SkellamRelease(number("mu"), count("n_min"), sensitivity, number("delta"))
        if not math.isclose(number("lambda"), release.lam, rel_tol=1e-12):
            raise MechanismError(f"{name}: λ does not follow from its own μ and n_min")
        return release
    if name in LOCAL_MECHANISMS:
        sensitivity = expect({"scale", "dimension", "delta", "sensitivity"})
        local = LocalLaplaceRelease if name == LOCAL_LAPLACE else LocalGaussianRelease
        return local(number("scale"), count("dimension"), sensitivity, number("delta"))
    if name == NO_NOISE:
        sensitivity = expect({"noise", "differential_privacy", "epsilon", "sensitivity"})
        none = NoNoiseRelease(sensitivity)
        if {k: v for k, v in parameters.items() if k != "sensitivity"} != {
            k: v for k, v in none.parameters().items() if k != "sensitivity"
        }:
            raise MechanismError(f"{name} parameters do not describe a release without noise")
        return none
    raise MechanismError(f"unknown mechanism {name!r}")


def _title(name: str, lang: Lang | None) -> str:
    return t(f"release.mech.{name}", lang=lang)


_MAX_NOISE = 1e12


def calibrate_skellam_mu(sensitivity: Sensitivity, epsilon: float, delta: float) -> float:
    """Smallest integer μ whose Skellam release costs at most ε at δ."""

    def curve(mu: float) -> RdpCurve:
        return SkellamRelease(mu, 2, sensitivity, delta).curve()  # n_min is not in the curve

    return calibrate(curve, epsilon, delta, low=1.0, high=_MAX_NOISE, integer=True)


def calibrate_local_scale(
    mechanism: str, dimension: int, sensitivity: Sensitivity, epsilon: float, delta: float
) -> float:
    """Smallest OpenDP scale (to 1e-9 relative) whose local release costs at most ε at δ."""

    def curve(scale: float) -> RdpCurve:
        if mechanism == LOCAL_LAPLACE:
            return LocalLaplaceRelease(scale, dimension, sensitivity, delta).curve()
        if mechanism == LOCAL_GAUSSIAN:
            return LocalGaussianRelease(scale, dimension, sensitivity, delta).curve()
        raise MechanismError(f"{mechanism!r} is not a local mechanism")

    return calibrate(curve, epsilon, delta, low=1e-3, high=_MAX_NOISE)


def _block_name(block: str, lang: Lang | None) -> str:
    """A noise block for a reader: its indicator id, or the list size in words (not a code)."""
    name = block.split(":", 1)[-1]
    try:
        return t(f"release.noise.block.{name}", lang=lang)
    except KeyError:
        return name
