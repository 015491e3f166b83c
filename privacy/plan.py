"""From a manifest to its mechanism and its planned privacy cost.

This is the one place that turns manifest parameters into a Release: the
agent's noise, the ledger's charge and the audit report's figures all come
from `manifest_release`. `validate_plan` refuses a manifest whose own schedule
would overspend its yearly budget, because such a manifest could not be run
as signed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from privacy.errors import ManifestError, MechanismError
from privacy.layout import ReleaseLayout, RoundScope
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
from privacy.sensitivity import Sensitivity, vector_sensitivity
from protocols.params import RoundParams, default_params


def manifest_sensitivity(manifest: Manifest, scope: RoundScope = RoundScope.CLUSTER) -> Sensitivity:
    """Sensitivity of the vector a round of this scope releases under the manifest."""
    return vector_sensitivity(ReleaseLayout.for_round(manifest, scope).contributions())


@lru_cache(maxsize=64)
def _skellam_mu(sensitivity: Sensitivity, epsilon: float, delta: float) -> float:
    return calibrate_skellam_mu(sensitivity, epsilon, delta)


@lru_cache(maxsize=64)
def _local_scale(
    mechanism: str, dimension: int, sensitivity: Sensitivity, epsilon: float, delta: float
) -> float:
    return calibrate_local_scale(mechanism, dimension, sensitivity, epsilon, delta)


def manifest_release(manifest: Manifest, scope: RoundScope = RoundScope.CLUSTER) -> Release:
    """The release mechanism of a round of `scope`, with μ or scale calibrated to its target ε."""
    sensitivity = manifest_sensitivity(manifest, scope)
    dp = manifest.dp
    if manifest.mechanism == NO_NOISE or dp is None:
        return NoNoiseRelease(sensitivity)
    key = "dp"
    epsilon = dp.epsilon_per_release
    if scope is RoundScope.REGION:
        if manifest.region_round is None:
            raise ManifestError(None, "region_round", "this manifest has no region-wide round")
        key, epsilon = "region_round", manifest.region_round.epsilon_per_release
    try:
        if manifest.mechanism == DISTRIBUTED_SKELLAM:
            mu = dp.mu if scope is RoundScope.CLUSTER else None
            if mu is None:
                assert epsilon is not None
                mu = _skellam_mu(sensitivity, epsilon, dp.delta)
            return SkellamRelease(mu, manifest.secagg.min_survivors, sensitivity, dp.delta)
        dimension = ReleaseLayout.for_round(manifest, scope).length
        scale = dp.scale if scope is RoundScope.CLUSTER else None
        if scale is None:
            assert epsilon is not None
            scale = _local_scale(manifest.mechanism, dimension, sensitivity, epsilon, dp.delta)
        cls = LocalLaplaceRelease if manifest.mechanism == _LOCAL_LAPLACE else LocalGaussianRelease
        return cls(scale, dimension, sensitivity, dp.delta)
    except MechanismError as exc:
        raise ManifestError(None, key, str(exc)) from None


def round_release(
    manifest: Manifest, min_survivors: int, scope: RoundScope = RoundScope.CLUSTER
) -> Release:
    """The mechanism as every agent of a round with this survivor floor applies it.

    The agent draws its noise from it and charges its ledger with it; the
    coordinator states the noise of the round's sum from it. A distributed
    share is sized for the floor, which changes λ but not the cost.
    """
    return manifest_release(manifest, scope).with_min_survivors(min_survivors)


def round_min_survivors(manifest: Manifest, participants: int) -> int:
    """The survivor floor for a round: the manifest's minimum, raised by the design dropout.

    Each practice's share is λ = μ / (2·(floor − 1)), so a higher floor means less
    noise per practice for the same guarantee; the round must abort below it.
    Without noise (kind none) there is no share to shrink, so the floor is the
    manifest's minimum and a round tolerates as many dropouts as it allows.
    """
    if manifest.dp is None:
        return manifest.secagg.min_survivors
    designed = math.floor(participants * (1 - manifest.dp.design_dropout))
    return max(manifest.secagg.min_survivors, designed)


def round_params(
    manifest: Manifest, participants: int, scope: RoundScope = RoundScope.CLUSTER
) -> RoundParams:
    """Neighbours k, threshold t and survivor floor of a round of `participants` practices.

    k and t are `protocols.params.default_params`' for a cluster round (a
    complete graph at any realistic cluster size). A region-wide round of more
    practices than the manifest's `[secagg] neighbours` + 1 uses the manifest's
    neighbours and threshold: how many practices hold shares of each secret is
    the authority's signed choice, and the agents check it. The floor is the
    larger of the defaults' (abort odds), t + 1 and `round_min_survivors`
    (noise sizing). Raises ParameterError for a round that cannot be safe.
    """
    base = default_params(participants)
    k, t = base.k, base.threshold
    secagg = manifest.secagg
    if scope is RoundScope.REGION and participants - 1 > secagg.neighbours:
        k, t = secagg.neighbours, secagg.threshold
    minimum = max(base.min_survivors, t + 1, round_min_survivors(manifest, participants))
    params = RoundParams(k, t, minimum)
    params.check_for(participants)
    return params


@dataclass(frozen=True)
class YearPlan:
    year: int
    releases: int  # cluster rounds scheduled
    region_releases: int  # region-wide rounds scheduled
    epsilon: float  # of the scheduled releases, composed
    epsilon_with_retry: float  # the same plus one aborted and retried round of the costlier kind
    delta: float


@dataclass(frozen=True)
class PrivacyPlan:
    release: Release  # a cluster round's
    per_release: PrivacyCost
    years: tuple[YearPlan, ...]
    releases_within_budget: int  # how many cluster releases alone the yearly budget admits
    region_release: Release | None = None
    region_per_release: PrivacyCost | None = None

    @property
    def worst_year(self) -> YearPlan:
        return max(self.years, key=lambda y: y.epsilon_with_retry)


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
    """What the manifest's schedule costs a practice, year by year.

    A year composes its cluster releases and its region-wide releases (RDP
    curves add), and is checked with room for one more round of the costlier
    kind: an aborted round is charged, and its period is retried with fresh
    noise, which is charged again.
    """
    release = manifest_release(manifest)
    cost = release.cost()
    region_release = region_cost = None
    region_dates: tuple[date, ...] = ()
    if manifest.region_round is not None:
        region_release = manifest_release(manifest, RoundScope.REGION)
        region_cost = region_release.cost()
        region_dates = manifest.region_round.reference_dates
    budget = manifest.budget
    retry = cost.curve
    if region_cost is not None and region_cost.epsilon > cost.epsilon:
        retry = region_cost.curve
    years = []
    for year in manifest.schedule.years():
        count = len(manifest.schedule.dates_in_year(year))
        regions = sum(1 for d in region_dates if d.year == year)
        curve = cost.curve.repeated(count)
        if region_cost is not None:
            curve = curve + region_cost.curve.repeated(regions)
        eps = to_approx_dp(curve, budget.delta_per_year).epsilon
        eps_retry = to_approx_dp(curve + retry, budget.delta_per_year).epsilon
        years.append(YearPlan(year, count, regions, eps, eps_retry, budget.delta_per_year))
    fit = releases_within_budget(release, budget.epsilon_per_year, budget.delta_per_year)
    return PrivacyPlan(release, cost, tuple(years), fit, region_release, region_cost)


def validate_plan(manifest: Manifest, path: str | None = None) -> PrivacyPlan:
    """Refuse a manifest whose schedule, with one retried round, exceeds its yearly budget."""
    try:
        plan = privacy_plan(manifest)
    except ManifestError as exc:
        raise ManifestError(path or exc.path, exc.key, exc.message, line=exc.line) from None
    budget = manifest.budget.epsilon_per_year
    worst = max(plan.years, key=lambda y: y.epsilon)
    what = f"the {worst.releases} cluster releases"
    if worst.region_releases:
        what += f" and {worst.region_releases} region-wide releases"
    if worst.epsilon > budget:
        raise ManifestError(
            path,
            "budget.epsilon_per_year",
            f"{what} scheduled in {worst.year} cost ε = {worst.epsilon:.3f} at "
            f"δ = {worst.delta:g}, above the yearly budget {budget:g}",
        )
    worst = plan.worst_year
    if worst.epsilon_with_retry > budget:
        raise ManifestError(
            path,
            "budget.epsilon_per_year",
            f"the releases scheduled in {worst.year} leave no room to retry one aborted round: "
            f"with one retry they cost ε = {worst.epsilon_with_retry:.3f} at δ = {worst.delta:g}, "
            f"above the yearly budget {budget:g}",
        )
    return plan
