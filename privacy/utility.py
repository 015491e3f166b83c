"""What a manifest's releases are worth: expected precision at a cluster, a region, the nation.

A manifest signs a privacy cost; this module states the other side of the
bargain from the same objects. For a unit of a given size it builds the
cells an average unit of that size would release (from the manifest's
planning figures), runs them through the very estimator the coordinator
uses (`privacy.estimation.estimate_release`) with the noise variances the
release mechanism states, and reports each indicator's 95 % half-width from
noise and from chance. The audit prints these tables, `benchmarks/utility.py`
prints and checks them, and a test refuses a shipped manifest that misses
the goal, so precision is a property of the manifest like its ε.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from privacy.errors import ManifestError
from privacy.estimation import Z95, combined, estimate_release, sampling_variance
from privacy.layout import FAILED, LISTED, PASSED, ReleaseLayout, RoundScope
from privacy.manifest import PASS_FAIL, IndicatorEntry, Manifest
from privacy.plan import round_min_survivors, round_release
from privacy.survey_release import expected_half_widths

GOAL_CLUSTER_HALF_WIDTH = 0.02  # ±2 percentage points, 95 %, at a median cluster
GOAL_REGION_HALF_WIDTH = 0.005  # ±0.5 percentage points at a region


@dataclass(frozen=True)
class UnitSize:
    """A benchmark unit: how many listed patients, in how many practices, in how many clusters."""

    name: str
    listed: int
    practices: int
    clusters: int = 1  # a region or the nation sums its clusters' releases


# Danish quality clusters run from 17,000 to 110,000 listed patients (VIVE: 114
# clusters); a median cluster has about 45,000 in 15 practices. A region such as
# Midtjylland lists 1.3 M in 27 clusters; the nation 5.9 M in 114.
SMALL_CLUSTER = UnitSize("small_cluster", 17_000, 6)
MEDIAN_CLUSTER = UnitSize("median_cluster", 45_000, 15)
LARGE_CLUSTER = UnitSize("large_cluster", 110_000, 40)
REGION = UnitSize("region", 1_300_000, 405, 27)
NATION = UnitSize("nation", 5_900_000, 1_710, 114)
SIZES: tuple[UnitSize, ...] = (SMALL_CLUSTER, MEDIAN_CLUSTER, LARGE_CLUSTER, REGION, NATION)


@dataclass(frozen=True)
class Precision:
    """One indicator's expected 95 % half-widths at one unit size, in rate units."""

    indicator_id: str
    headline: bool
    denominator: float  # expected
    rate: float  # planning figure
    noise_half_width: float
    sampling_half_width: float
    proportion: bool

    @property
    def total_half_width(self) -> float:
        return math.hypot(self.noise_half_width, self.sampling_half_width)


def expected_cells(
    manifest: Manifest, layout: ReleaseLayout, listed: float
) -> tuple[np.ndarray, dict[str, tuple[float, float]]]:
    """The cells an average unit with `listed` patients releases, and each (rate, denominator).

    Region-wide layouts spread each indicator evenly over its strata; only
    the totals matter for the precision of the totals.
    """
    values = np.zeros(layout.length, dtype=np.float64)
    planning = {}
    for block in layout.blocks:
        entry = block.entry
        denominator = listed * entry.expected_denominator_per_1000 / 1000
        planning[entry.id] = (entry.expected_rate, denominator)
        share = 1 / len(block.groups)
        for g in range(len(block.groups)):
            if entry.cells == PASS_FAIL:
                values[block.index(g, PASSED)] = entry.expected_rate * denominator * share
                values[block.index(g, FAILED)] = (1 - entry.expected_rate) * denominator * share
            else:
                values[block.index(g, block.fields[0])] = entry.expected_rate * listed * share
                values[block.index(g, LISTED)] = listed * share
    values[layout.list_size_index] = listed
    return values, planning


def precision(
    manifest: Manifest, size: UnitSize, scope: RoundScope = RoundScope.CLUSTER
) -> tuple[Precision, ...]:
    """Expected half-widths of every indicator's released total for a unit of `size`.

    A cluster (or, for `size.clusters` > 1, each of the region's clusters)
    runs one round with all its practices surviving; its noise is what the
    round's mechanism states for that survivor floor. A region or nation sums
    its clusters' releases, as the coordinator does.
    """
    if scope is RoundScope.REGION and manifest.region_round is None:
        raise ManifestError(None, "region_round", "this manifest has no region-wide round")
    layout = ReleaseLayout.for_round(manifest, scope)
    per_unit = size.practices // size.clusters if scope is RoundScope.CLUSTER else size.practices
    rounds = size.clusters if scope is RoundScope.CLUSTER else 1
    floor = round_min_survivors(manifest, per_unit)
    release = round_release(manifest, floor, scope)
    variance = np.asarray(release.sum_variance(per_unit), dtype=np.float64) * rounds
    values, planning = expected_cells(manifest, layout, size.listed)
    estimates = estimate_release(layout, values, variance)
    out = []
    for block in layout.blocks:
        entry = block.entry
        parts = [estimates[entry.id, g] for g in block.groups]
        total = combined(entry.id, "total", parts) if len(parts) > 1 else parts[0]
        noise_var = total.rate_noise_variance
        rate, denominator = planning[entry.id]
        proportion = entry.cells == PASS_FAIL
        sampling = sampling_variance(rate, denominator, proportion=proportion)
        out.append(
            Precision(
                entry.id,
                entry.headline,
                denominator,
                rate,
                Z95 * math.sqrt(noise_var),
                Z95 * math.sqrt(sampling),
                proportion,
            )
        )
    return tuple(out)


# Planning figures for a survey: about 80 % of residents are adults (18+; Statistics Denmark,
# FOLK1A), 10 % of them answer in a period (issue 16), and a measure's normalised mean is 0.8
# (four in five answers in the top box; a mean score of 4.2 on 1–5).
ADULT_SHARE = 0.8
RESPONSE_RATE = 0.10
EXPECTED_SHARE = 0.8


@dataclass(frozen=True)
class SurveyPrecision:
    """One survey measure's expected 95 % half-widths at one unit size, in its own scale."""

    measure_id: str
    kind: str
    respondents: float
    noise_half_width: float
    sampling_half_width: float


def survey_precision(
    manifest: Manifest,
    size: UnitSize,
    response_rate: float = RESPONSE_RATE,
    share: float = EXPECTED_SHARE,
) -> tuple[SurveyPrecision, ...]:
    """Expected half-widths of every survey measure at a unit of `size` (cluster rounds, summed
    over the unit's clusters as the coordinator sums a region's)."""
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    per_unit = size.practices // size.clusters
    release = round_release(manifest, round_min_survivors(manifest, per_unit))
    variance = np.asarray(release.sum_variance(per_unit), dtype=np.float64) * size.clusters
    respondents = size.listed * ADULT_SHARE * response_rate
    out = []
    for block in layout.surveys:
        cells = tuple(float(variance[block.index(f)]) for f in block.fields)
        noise, chance = expected_half_widths(
            block.survey, block.measure, respondents, share, (cells[0], cells[1])
        )
        out.append(
            SurveyPrecision(block.measure_id, block.measure.kind, respondents, noise, chance)
        )
    return tuple(out)


def headline_misses(
    manifest: Manifest, size: UnitSize = MEDIAN_CLUSTER, goal: float = GOAL_CLUSTER_HALF_WIDTH
) -> list[Precision]:
    """Headline indicators whose noise half-width at `size` exceeds `goal` (in rate units).

    For a rate per listed patient the goal is read per 100 patients, as for a
    percentage: ±2 pp is ±20 per 1,000.
    """
    return [p for p in precision(manifest, size) if p.headline and p.noise_half_width > goal]


def budget_shares(manifest: Manifest, scope: RoundScope = RoundScope.CLUSTER) -> dict[str, float]:
    """Each block's share of a release's privacy cost: its Δ₂² / (noise weight), normalised.

    In the Gaussian regime of Skellam's RDP curve a block costs α·Δ₂²/(2·w·μ),
    so these shares are how one ε is divided among the indicators.
    """
    layout = ReleaseLayout.for_round(manifest, scope)
    costs = {c.block: c.l2_squared / c.noise_weight for c in layout.contributions()}
    total = sum(costs.values())
    return {name: cost / total for name, cost in costs.items()}


def noise_target(entry: IndicatorEntry) -> float:
    """The 95 % noise half-width an indicator should reach at a median cluster, in rate units.

    Headline indicators: 90 % of the ±2 pp goal, leaving room for rounding
    and dropouts. Others: ±5 pp, or half the expected rate where that is
    smaller, but not below ±1 pp: a rare outcome is not drowned by a noise
    meant for common ones, nor does it buy precision the headline indicators
    then lack. A rate per listed patient reads its goal per 100 patients,
    like a percentage.
    """
    if entry.headline:
        return 0.9 * GOAL_CLUSTER_HALF_WIDTH
    return min(0.05, max(0.01, entry.expected_rate / 2))


def suggest_weights(manifest: Manifest, size: UnitSize = MEDIAN_CLUSTER) -> dict[str, int]:
    """Noise weights per indicator (and "list_size") that spend one ε on each `noise_target`.

    A block costs about Δ₂²/(w·μ) of the budget and has variance w·μ. More
    variance is always cheaper, so the least ε that meets every target gives
    each block exactly the variance its target allows: weights proportional
    to those allowed cell variances (scaled so the smallest is 1). The
    allowance ignores the gain from shared denominators, so it is cautious.
    """
    allowed = {}
    for entry in manifest.indicators:
        target = noise_target(entry) / Z95
        if entry.cells == PASS_FAIL:
            d = size.listed * entry.expected_denominator_per_1000 / 1000
            p = entry.expected_rate
            allowed[entry.id] = (target * d) ** 2 / ((1 - p) ** 2 + p**2)
        else:
            r = entry.expected_rate
            allowed[entry.id] = (target * size.listed) ** 2 / (1 + r * r)
    # The list size serves the rates per listed patient: as precise as their events.
    counts = [allowed[e.id] for e in manifest.indicators if e.cells != PASS_FAIL]
    allowed["list_size"] = min(counts) if counts else max(allowed.values())
    smallest = min(allowed.values())
    return {k: max(1, round(v / smallest)) for k, v in allowed.items()}
