"""From a manifest to its mechanism and its planned privacy cost.

This is the one place that turns manifest parameters into a Release: the
agent's noise, the ledger's charge and the audit report's figures all come
from `manifest_release`. `validate_plan` refuses a manifest whose own schedule
would overspend its yearly budget, because such a manifest could not be run
as signed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from privacy.distribution import distribution_contribution
from privacy.errors import ManifestError, MechanismError
from privacy.manifest import Manifest
from privacy.rdp import to_approx_dp
from privacy.release import (
    DISTRIBUTED_SKELLAM,
    NO_NOISE,
    LocalGaussianRelease,
    LocalLaplaceRelease,
    NoNoiseRelease,
    PrivacyCost,
    Release,
    SkellamRelease,
    calibrate_local_scale,
    calibrate_skellam_mu,
)
from privacy.release import LOCAL_LAPLACE as _LOCAL_LAPLACE
from privacy.sensitivity import (
    LIST_SIZE,
    Contribution,
    Sensitivity,
    indicator_contribution,
    vector_sensitivity,
)


def manifest_sensitivity(manifest: Manifest, extra: Iterable[Contribution] = ()) -> Sensitivity:
    """Sensitivity of the vector the manifest prescribes, plus any extra blocks."""
    blocks = [
        indicator_contribution(
            i.id, i.max_numerator, i.max_denominator, len(i.strata), i.noise_weight
        )
        for i in manifest.indicators
    ]
    blocks.append(LIST_SIZE)
    spec = manifest.distribution
    if spec is not None:
        caps = {i.id: i.max_denominator for i in manifest.indicators}
        blocks.append(distribution_contribution(spec, [caps[name] for name in spec.indicators]))
    blocks.extend(extra)
    return vector_sensitivity(blocks)


@lru_cache(maxsize=64)
def _skellam_mu(sensitivity: Sensitivity, epsilon: float, delta: float) -> float:
    return calibrate_skellam_mu(sensitivity, epsilon, delta)


@lru_cache(maxsize=64)
def _local_scale(
    mechanism: str, dimension: int, sensitivity: Sensitivity, epsilon: float, delta: float
) -> float:
    return calibrate_local_scale(mechanism, dimension, sensitivity, epsilon, delta)


def manifest_release(manifest: Manifest, extra: Iterable[Contribution] = ()) -> Release:
    """The release mechanism, with μ or scale calibrated if the manifest gives a target ε."""
    sensitivity = manifest_sensitivity(manifest, extra)
    dp = manifest.dp
    if manifest.mechanism == NO_NOISE or dp is None:
        return NoNoiseRelease(sensitivity)
    try:
        if manifest.mechanism == DISTRIBUTED_SKELLAM:
            mu = dp.mu
            if mu is None:
                assert dp.epsilon_per_release is not None
                mu = _skellam_mu(sensitivity, dp.epsilon_per_release, dp.delta)
            return SkellamRelease(mu, manifest.secagg.min_survivors, sensitivity, dp.delta)
        scale = dp.scale
        if scale is None:
            assert dp.epsilon_per_release is not None
            scale = _local_scale(
                manifest.mechanism,
                manifest.vector_length,
                sensitivity,
                dp.epsilon_per_release,
                dp.delta,
            )
        cls = LocalLaplaceRelease if manifest.mechanism == _LOCAL_LAPLACE else LocalGaussianRelease
        return cls(scale, manifest.vector_length, sensitivity, dp.delta)
    except MechanismError as exc:
        raise ManifestError(None, "dp", str(exc)) from None


def round_release(manifest: Manifest, min_survivors: int) -> Release:
    """The mechanism as every agent of a round with this survivor floor applies it.

    The agent draws its noise from it and charges its ledger with it; the
    coordinator states the noise of the round's sum from it. A distributed
    share is sized for the floor, which changes λ but not the cost.
    """
    return manifest_release(manifest).with_min_survivors(min_survivors)


def round_min_survivors(manifest: Manifest, participants: int) -> int:
    """The survivor floor for a round: the manifest's minimum, raised by the design dropout.

    Each practice's share is λ = μ / (2·floor), so a higher floor means less
    noise per practice for the same guarantee; the round must abort below it.
    Without noise (kind none) there is no share to shrink, so the floor is the
    manifest's minimum and a round tolerates as many dropouts as it allows.
    """
    if manifest.dp is None:
        return manifest.secagg.min_survivors
    designed = math.floor(participants * (1 - manifest.dp.design_dropout))
    return max(manifest.secagg.min_survivors, designed)


@dataclass(frozen=True)
class YearPlan:
    year: int
    releases: int
    epsilon: float
    delta: float


@dataclass(frozen=True)
class PrivacyPlan:
    release: Release
    per_release: PrivacyCost
    years: tuple[YearPlan, ...]
    releases_within_budget: int  # how many such releases the yearly budget admits

    @property
    def worst_year(self) -> YearPlan:
        return max(self.years, key=lambda y: y.epsilon)


_MAX_COUNTED_RELEASES = 1000


def releases_within_budget(release: Release, epsilon: float, delta: float) -> int:
    """Largest k such that k compositions of `release` cost at most ε at δ (capped at 1000).

    An unlimited budget (verification without DP) admits any number: the cap.
    """
    if math.isinf(epsilon):
        return _MAX_COUNTED_RELEASES
    curve = release.curve()

    def fits(k: int) -> bool:
        return to_approx_dp(curve.repeated(k), delta).epsilon <= epsilon

    if not fits(1):
        return 0
    lo, hi = 1, 2
    while hi <= _MAX_COUNTED_RELEASES and fits(hi):
        lo, hi = hi, hi * 2
    if hi > _MAX_COUNTED_RELEASES:
        return _MAX_COUNTED_RELEASES
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


def privacy_plan(manifest: Manifest) -> PrivacyPlan:
    release = manifest_release(manifest)
    cost = release.cost()
    budget = manifest.budget
    years = []
    for year in manifest.schedule.years():
        count = len(manifest.schedule.dates_in_year(year))
        eps = to_approx_dp(cost.curve.repeated(count), budget.delta_per_year).epsilon
        years.append(YearPlan(year, count, eps, budget.delta_per_year))
    fit = releases_within_budget(release, budget.epsilon_per_year, budget.delta_per_year)
    return PrivacyPlan(release, cost, tuple(years), fit)


def validate_plan(manifest: Manifest, path: str | None = None) -> PrivacyPlan:
    """Refuse a manifest whose scheduled releases alone exceed its yearly budget."""
    try:
        plan = privacy_plan(manifest)
    except ManifestError as exc:
        raise ManifestError(path or exc.path, exc.key, exc.message, line=exc.line) from None
    worst = plan.worst_year
    if worst.epsilon > manifest.budget.epsilon_per_year:
        raise ManifestError(
            path,
            "budget.epsilon_per_year",
            f"the {worst.releases} releases scheduled in {worst.year} cost ε = {worst.epsilon:.3f} "
            f"at δ = {worst.delta:g}, above the yearly budget {manifest.budget.epsilon_per_year:g}",
        )
    return plan
