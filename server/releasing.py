"""From an unmasked noisy sum to what the coordinator publishes.

The release path is one function per aggregate, applied in one place:
plausibility (a buggy practice shows as an impossible sum), then the
figures, then the store's records. With DP, every cell the manifest lays
out is published as it came out of the round, together with least-squares
estimates of each indicator's numerator and denominator
(`privacy.estimation`) and a 95 % interval covering chance and noise;
nothing is hidden by its noisy value, and a figure whose interval is too
wide to use is marked uncertain. Without DP (verification on synthetic data)
the conventional disclosure control applies (`privacy.disclosure`). The
noise variances come from the same release object whose parameters drew the
agents' noise, so what is published about the noise cannot disagree with it.

A regional aggregate is the sum of the same period's cluster sums: it adds
no information beyond them and costs no further privacy budget. A
region-wide round (scope region: every practice of the region in one round,
charged on its own) is released on its own, with its strata and practice-rate
histograms; when it summed exactly the practices the cluster rounds summed,
the regional aggregate's totals are one least-squares estimate from both
(`privacy.estimation.estimate_region_totals`), otherwise the aggregate says
why they come from the cluster sums alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from privacy.disclosure import DisclosedRelease, apply_disclosure_control, too_uncertain
from privacy.distribution import deciles, released_histogram
from privacy.estimation import (
    GroupEstimate,
    combined,
    estimate_region_totals,
    estimate_release,
    rate_interval,
)
from privacy.layout import TOTAL, ReleaseLayout, RoundScope
from privacy.manifest import PASS_FAIL, Disclosure, Manifest
from privacy.plan import round_release
from privacy.plausibility import Flag, check_plausibility
from privacy.release import Release as Mechanism
from privacy.survey_release import survey_figure
from server.store import Level, ReleasedCell, SuppressedCell
from server.store import Release as StoredRelease


@dataclass(frozen=True)
class NoisySum:
    """An unmasked aggregate, kept in memory only (never stored before disclosure control)."""

    level: Level
    unit: str  # cluster id or region
    round_ids: tuple[str, ...]
    reference_date: date
    vector: np.ndarray  # int64
    contributors: int
    variance: np.ndarray  # per coordinate
    min_survivors: int  # the survivor floor the agents sized their noise for (lowest, for a region)
    scope: RoundScope = RoundScope.CLUSTER  # the layout of `vector`
    # Who contributed, in memory only (never stored): to tell whether a region-wide round
    # summed exactly the practices the cluster rounds did.
    practices: frozenset[str] = frozenset()


# Why a regional aggregate's totals do (or do not) use the period's region-wide round.
SAME_CONTRIBUTORS = "same_contributors"  # combined in one least-squares estimate
CONTRIBUTORS_DIFFER = "contributors_differ"
NOT_RELEASED = "region_round_not_released"  # aborted, or withheld
EXACT = "exact"  # no noise: the cluster sums are the totals


@dataclass(frozen=True)
class RegionRoundUse:
    """The period's region-wide round, as the regional aggregate of the same region sees it."""

    round_id: str
    noisy: NoisySum | None  # None: the round released nothing

    def reason(self, aggregate: NoisySum, has_dp: bool) -> str:
        if self.noisy is None:
            return NOT_RELEASED
        if not aggregate.practices or self.noisy.practices != aggregate.practices:
            return CONTRIBUTORS_DIFFER
        return SAME_CONTRIBUTORS if has_dp else EXACT


@dataclass(frozen=True)
class ReleaseOutcome:
    release: StoredRelease | None  # None when withheld
    disclosed: DisclosedRelease | None
    flags: tuple[Flag, ...]
    withheld_reason: str | None


def round_sum(
    manifest: Manifest,
    *,
    scope: RoundScope,
    unit: str,
    round_id: str,
    reference_date: date,
    vector: np.ndarray,
    contributors: int,
    min_survivors: int,
    practices: frozenset[str] = frozenset(),
) -> NoisySum:
    """One round's unmasked sum: a cluster's (cluster level), or a region-wide round's (region
    level, laid out for the region scope), with the noise variance its agents added."""
    variance = round_release(manifest, min_survivors, scope).sum_variance(contributors)
    return NoisySum(
        Level.REGION if scope is RoundScope.REGION else Level.CLUSTER,
        unit,
        (round_id,),
        reference_date,
        np.asarray(vector, dtype=np.int64),
        contributors,
        np.asarray(variance, dtype=np.float64),
        min_survivors,
        scope,
        practices,
    )


def regional_sum(region: str, clusters: list[NoisySum]) -> NoisySum:
    """The sum of one period's released cluster sums of a region."""
    dates = {c.reference_date for c in clusters}
    if len(dates) != 1 or any(c.level is not Level.CLUSTER for c in clusters):
        raise ValueError("a regional sum adds cluster sums of one reference date")
    return NoisySum(
        Level.REGION,
        region,
        tuple(r for c in clusters for r in c.round_ids),
        dates.pop(),
        np.asarray(np.sum([c.vector for c in clusters], axis=0, dtype=np.int64)),
        sum(c.contributors for c in clusters),
        np.sum([c.variance for c in clusters], axis=0),
        min(c.min_survivors for c in clusters),
        practices=frozenset().union(*(c.practices for c in clusters)),
    )


def build_release(
    manifest: Manifest,
    layout: ReleaseLayout,
    noisy: NoisySum,
    mechanism: Mechanism,
    region_round: RegionRoundUse | None = None,
) -> ReleaseOutcome:
    """Check plausibility, then publish the figures (or say why nothing is published).

    `region_round`, for a regional aggregate: the period's region-wide round,
    whose cells join the totals' estimate when it summed the same practices.
    """
    flags = check_plausibility(
        noisy.vector,
        layout,
        contributors=noisy.contributors,
        noise_sd=np.sqrt(noisy.variance),
        max_list_size=manifest.bounding.max_list_size,
    )
    if flags:
        first = flags[0]
        reason = (
            f"implausible sum ({len(flags)} flags; first: {first.indicator_id} {first.stratum} "
            f"{first.field}: {first.reason})"
        )
        return ReleaseOutcome(None, None, flags, reason)
    if noisy.contributors < manifest.disclosure.min_practices:
        return ReleaseOutcome(None, None, (), "too few contributing practices")
    note: dict[str, object] = {}
    joint = None
    same_round: NoisySum | None = None  # the region-wide round over the same practices
    if region_round is not None:
        reason = region_round.reason(noisy, manifest.has_dp)
        note = {"region_round": {"round_id": region_round.round_id, "totals": reason}}
        if reason == SAME_CONTRIBUTORS and region_round.noisy is not None:
            joint = _joint_totals(manifest, layout, noisy, region_round.noisy)
            same_round = region_round.noisy
    if manifest.has_dp:
        cells = _dp_cells(manifest.disclosure, layout, noisy, joint)
        suppressed: list[SuppressedCell] = []
        list_size: int | None = int(noisy.vector[layout.list_size_index])
        disclosed = None
    else:
        disclosed = apply_disclosure_control(
            noisy.vector,
            layout,
            manifest.disclosure,
            aggregate=noisy.unit,
            level=noisy.level.value,
            contributors=noisy.contributors,
        )
        cells, suppressed = _exact_cells(layout, noisy, disclosed)
        list_size = disclosed.list_size
    cost = mechanism.cost()
    release = StoredRelease(
        level=noisy.level,
        unit=noisy.unit,
        round_ids=noisy.round_ids,
        reference_date=noisy.reference_date,
        manifest_hash=manifest.hash(),
        cells=tuple(cells),
        suppressed=tuple(suppressed),
        extras={
            "scope": noisy.scope.value,
            "contributors": noisy.contributors,
            "list_size": list_size,
            "list_size_suppressed": list_size is None,
            "mechanism": mechanism.name,
            "parameters": mechanism.parameters(),
            "epsilon_per_release": _finite(cost.epsilon),
            "delta_per_release": cost.delta,
            "definitions": definitions(manifest),
            **_distributions(layout, noisy),
            **_surveys(manifest, layout, noisy, same_round),
            **note,
        },
    )
    return ReleaseOutcome(release, disclosed, (), None)


def definitions(manifest: Manifest) -> dict[str, dict[str, object]]:
    """Each indicator's pinned definition (hash, and version where pinned): what was computed."""
    out: dict[str, dict[str, object]] = {}
    for entry in manifest.indicators:
        pinned: dict[str, object] = {"content_hash": entry.content_hash}
        if entry.version is not None:
            pinned["version"] = entry.version
        out[entry.id] = pinned
    return out


def _joint_totals(
    manifest: Manifest, layout: ReleaseLayout, aggregate: NoisySum, region_round: NoisySum
) -> dict[str, GroupEstimate]:
    """Regional totals from the cluster sums and the same practices' region-wide round."""
    region = ReleaseLayout.for_round(manifest, RoundScope.REGION)
    return estimate_region_totals(
        layout,
        aggregate.vector,
        aggregate.variance,
        region,
        region_round.vector,
        region_round.variance,
    )


def _dp_cells(
    rules: Disclosure,
    layout: ReleaseLayout,
    noisy: NoisySum,
    totals: dict[str, GroupEstimate] | None = None,
) -> list[ReleasedCell]:
    """Every group of every indicator: its raw noisy cells and the least-squares figure.

    `totals` replaces the totals' figures (a regional aggregate estimated
    jointly with its region-wide round); the raw cells stay the aggregate's.
    """
    estimates = estimate_release(layout, noisy.vector, noisy.variance)
    out = []
    for block in layout.blocks:
        parts = []
        for g, group in enumerate(block.groups):
            est = estimates[block.indicator_id, group]
            if totals is not None and group == TOTAL:
                est = totals[block.indicator_id]
            parts.append(est)
            raw = {f: int(noisy.vector[block.index(g, f)]) for f in block.fields}
            sd = {
                f: round(float(np.sqrt(noisy.variance[block.index(g, f)])), 3) for f in block.fields
            }
            out.append(_figure_cell(rules, est, noisy.contributors, raw, sd))
        if block.groups != (TOTAL,):  # a region-wide round: the total over its strata too
            total = combined(block.indicator_id, TOTAL, parts)
            out.append(_figure_cell(rules, total, noisy.contributors, {}, {}))
    return out


def _figure_cell(
    rules: Disclosure,
    est: GroupEstimate,
    contributors: int,
    raw: dict[str, int],
    sd: dict[str, float],
) -> ReleasedCell:
    interval = None
    uncertain = True
    rate: float | None = None
    if est.denominator > 0 and np.isfinite(est.rate):
        upper = 1.0 if est.proportion else math.inf
        rate = min(max(est.rate, 0.0), upper)
        i = rate_interval(rate, est.denominator, est.rate_noise_variance, proportion=est.proportion)
        interval = [round(i.low, 6), round(i.high, 6)]
        uncertain = too_uncertain(rules, i.half_width, rate, proportion=est.proportion)
    return ReleasedCell(
        est.indicator_id,
        est.group,
        max(round(est.numerator), 0),
        max(round(est.denominator), 0),
        round(float(np.sqrt(est.numerator_variance)), 3),
        contributors,
        {
            "rate": rate,
            "interval": interval,
            "uncertain": uncertain,
            "rate_noise_sd": round(float(np.sqrt(est.rate_noise_variance)), 6)
            if np.isfinite(est.rate_noise_variance)
            else None,
            "cells": raw,
            "cell_noise_sd": sd,
        },
    )


def _exact_cells(
    layout: ReleaseLayout, noisy: NoisySum, disclosed: DisclosedRelease
) -> tuple[list[ReleasedCell], list[SuppressedCell]]:
    """A release without noise: the disclosed counts, exact rates, nothing uncertain."""
    cells: list[ReleasedCell] = []
    for ind in disclosed.indicators:
        proportion = layout.block(ind.indicator_id).entry.cells == PASS_FAIL
        for cell in (*ind.strata, ind.total):
            cells.append(
                ReleasedCell(
                    ind.indicator_id,
                    cell.stratum,
                    cell.numerator,
                    cell.denominator,
                    0.0,
                    noisy.contributors,
                    {
                        "rate": cell.rate,
                        "interval": _exact_interval(cell.rate, cell.denominator, proportion),
                        "uncertain": False,
                    },
                )
            )
    suppressed = [
        SuppressedCell(s.indicator_id, s.stratum, s.field, s.reason)
        for s in disclosed.suppressed
        if s.field in ("numerator", "denominator", "rate") and s.indicator_id
    ]
    return cells, suppressed


def _exact_interval(
    rate: float | None, denominator: int | None, proportion: bool
) -> list[float] | None:
    """Without noise, the interval covers chance alone."""
    if rate is None or not denominator:
        return None
    i = rate_interval(rate, denominator, 0.0, proportion=proportion)
    return [round(i.low, 6), round(i.high, 6)]


def _distributions(layout: ReleaseLayout, noisy: NoisySum) -> dict[str, object]:
    """The released practice-rate histograms, in practices per bin, with their noise and deciles.

    Negative noisy bins are shown as 0 (post-processing costs no privacy); the
    noise SD is stated so a reader knows how rough the shape is.
    """
    d = layout.distribution
    if d is None:
        return {}
    spec = d.spec
    hist = released_histogram(d.block(noisy.vector), spec)
    sd = np.sqrt(d.block(noisy.variance)).reshape(len(spec.indicators), spec.bins) / spec.scale
    out = {}
    for k, name in enumerate(spec.indicators):
        bin_sd = float(sd[k].max())
        dec = deciles(hist[k], bin_sd, noisy.contributors)
        out[name] = {
            "bins": [round(max(float(v), 0.0), 2) for v in hist[k]],
            "edges": [round(float(e), 6) for e in spec.edges()],
            "bin_noise_sd": round(bin_sd, 3),
            "practices": noisy.contributors,
            "full_weight_denominator": spec.full_weight_denominator,
            "deciles": None if dec.values is None else [round(v, 4) for v in dec.values],
            "deciles_withheld": dec.reason,
        }
    return {"distributions": out}


def _surveys(
    manifest: Manifest,
    layout: ReleaseLayout,
    noisy: NoisySum,
    same_round: NoisySum | None = None,
) -> dict[str, object]:
    """Each survey measure's figure (value, interval, uncertainty) and its raw noisy cells.

    A region's aggregate sums its clusters' cells, so its figure comes from the
    summed cells and their summed variances, like an indicator's. When the
    region-wide round summed the same practices (`same_round`), its survey
    cells measure the same counts with independent noise: the figure uses the
    inverse-variance mean of both (post-processing; the raw cells stay the
    aggregate's).
    """
    if not layout.surveys:
        return {}
    region = None
    if same_round is not None:
        region = ReleaseLayout.for_round(manifest, RoundScope.REGION)
    out: dict[str, object] = {}
    for block in layout.surveys:
        cells = block.counts(noisy.vector)
        variances = tuple(float(noisy.variance[block.index(f)]) for f in block.fields)
        measured = [(float(c), v) for c, v in zip(cells, variances, strict=True)]
        if region is not None and same_round is not None:
            other = region.survey_block(block.measure_id)
            measured = [
                _inverse_variance(m, (float(same_round.vector[i]), float(same_round.variance[i])))
                for m, i in zip(measured, (other.index(f) for f in other.fields), strict=True)
            ]
        figure = survey_figure(
            block.survey,
            block.measure,
            (measured[0][0], measured[1][0]),
            (measured[0][1], measured[1][1]),
            manifest.disclosure,
            noisy.level.value,
        )
        start, end = block.survey.period(noisy.reference_date)
        out[block.measure_id] = {
            "survey": figure.survey_id,
            "kind": figure.kind,
            "period": [start.isoformat(), end.isoformat()],
            "value": None if figure.value is None else round(figure.value, 6),
            "interval": None
            if figure.interval is None
            else [round(figure.interval[0], 6), round(figure.interval[1], 6)],
            "respondents": figure.respondents,
            "value_noise_sd": None
            if figure.value_noise_sd is None
            else round(figure.value_noise_sd, 6),
            "uncertain": figure.uncertain,
            "reason": figure.reason,
            "cells": dict(zip(block.fields, cells, strict=True)),
            "cell_noise_sd": {
                f: round(v**0.5, 3) for f, v in zip(block.fields, variances, strict=True)
            },
        }
    return {"surveys": out}


def _inverse_variance(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float]:
    """Two independent measurements (value, variance) of one count, combined; exact ones win."""
    (x, u), (y, v) = a, b
    if u == 0 or v == 0:
        return a if u == 0 else b
    w = (1 / u) / (1 / u + 1 / v)
    return w * x + (1 - w) * y, 1 / (1 / u + 1 / v)


def _finite(value: float) -> float | str:
    return value if np.isfinite(value) else "inf"
