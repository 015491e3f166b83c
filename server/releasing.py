"""From an unmasked noisy sum to what the coordinator publishes.

The release path is one function per aggregate, applied in one place:
plausibility (a buggy practice shows as an impossible sum), then disclosure
control (`privacy.disclosure`), then the store's records. The noise
standard deviation is computed from the same release object whose
parameters drew the agents' noise, so what is published about the noise
cannot disagree with the noise.

A regional aggregate is the sum of the same period's cluster sums: it adds
no information beyond them and costs no further privacy budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

from privacy.disclosure import DisclosedRelease, apply_disclosure_control
from privacy.distribution import deciles, released_histogram
from privacy.intervals import rate_interval
from privacy.layout import VectorLayout
from privacy.manifest import Manifest
from privacy.plan import round_release
from privacy.plausibility import Flag, check_plausibility
from privacy.release import Release as Mechanism
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


@dataclass(frozen=True)
class ReleaseOutcome:
    release: StoredRelease | None  # None when withheld
    disclosed: DisclosedRelease | None
    flags: tuple[Flag, ...]
    withheld_reason: str | None


def cluster_sum(
    manifest: Manifest,
    *,
    cluster: str,
    round_id: str,
    reference_date: date,
    vector: np.ndarray,
    contributors: int,
    min_survivors: int,
) -> NoisySum:
    variance = round_release(manifest, min_survivors).sum_variance(contributors)
    return NoisySum(
        Level.CLUSTER,
        cluster,
        (round_id,),
        reference_date,
        np.asarray(vector, dtype=np.int64),
        contributors,
        np.asarray(variance, dtype=np.float64),
        min_survivors,
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
    )


def _indicator_sd(layout: VectorLayout, variance: np.ndarray) -> dict[tuple[str, str], float]:
    """Noise SD of each released numerator (per stratum, and of the indicator total)."""
    sd = {}
    for ind in layout.indicators:
        total = 0.0
        for s, label in enumerate(ind.strata):
            v = float(variance[ind.numerator_index(s)])
            sd[ind.indicator_id, label] = v**0.5
            total += v
        sd[ind.indicator_id, "total"] = total**0.5
    return sd


def build_release(
    manifest: Manifest, layout: VectorLayout, noisy: NoisySum, mechanism: Mechanism
) -> ReleaseOutcome:
    """Apply plausibility and disclosure control; return the store's release or why not."""
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
    disclosed = apply_disclosure_control(
        noisy.vector,
        layout,
        manifest.disclosure,
        aggregate=noisy.unit,
        level=noisy.level.value,
        contributors=noisy.contributors,
    )
    if not disclosed.indicators:
        return ReleaseOutcome(None, disclosed, (), "too few contributing practices")
    sds = _indicator_sd(layout, noisy.variance)
    cells: list[ReleasedCell] = []
    suppressed: list[SuppressedCell] = []
    bounds = {ind.indicator_id: ind.ratio_bound for ind in layout.indicators}
    for ind in disclosed.indicators:
        for cell in (*ind.strata, ind.total):
            sd = sds[ind.indicator_id, cell.stratum]
            cells.append(
                ReleasedCell(
                    ind.indicator_id,
                    cell.stratum,
                    cell.numerator,
                    cell.denominator,
                    round(sd, 3),
                    noisy.contributors,
                    {
                        "rate": cell.rate,
                        "interval": _interval(
                            cell.rate, cell.denominator, sd, bounds[ind.indicator_id]
                        ),
                    },
                )
            )
    for s in disclosed.suppressed:
        if s.field in ("numerator", "denominator", "rate") and s.indicator_id:
            suppressed.append(SuppressedCell(s.indicator_id, s.stratum, s.field, s.reason))
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
            "contributors": noisy.contributors,
            "list_size": disclosed.list_size,
            "list_size_suppressed": disclosed.list_size is None,
            "mechanism": mechanism.name,
            "parameters": mechanism.parameters(),
            "epsilon_per_release": _finite(cost.epsilon),
            "delta_per_release": cost.delta,
            **_distributions(layout, noisy),
        },
    )
    return ReleaseOutcome(release, disclosed, (), None)


def _interval(
    rate: float | None, denominator: int | None, noise_sd: float, ratio_bound: float
) -> list[float] | None:
    """95 % interval with sampling and noise; proportions are clamped to [0, 1]."""
    if rate is None or not denominator:
        return None
    proportion = ratio_bound <= 1
    i = rate_interval(
        rate,
        denominator,
        noise_sd,
        proportion=proportion,
        upper=1.0 if proportion else math.inf,
    )
    return [round(i.low, 6), round(i.high, 6)]


def _distributions(layout: VectorLayout, noisy: NoisySum) -> dict[str, object]:
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


def _finite(value: float) -> float | str:
    return value if np.isfinite(value) else "inf"
