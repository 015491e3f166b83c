"""The distribution of practice rates, released without revealing any practice.

Each practice adds its own rate of each listed indicator to a histogram of
fixed bins, in the same SecAgg+ vector as its counts; only the cluster's
sum of histograms (plus noise) is ever seen.

Why not a plain one-hot bin: the privacy unit is one patient, and one patient
can push a practice across a bin edge, moving a whole practice from one bin to
the next (Δ₂² = 2 per indicator). In a cluster of 6-15 practices the noise
that this demands drowns the histogram. So the encoding is made Lipschitz in
the patient, and both steps are public in the manifest:

- *linear binning*: a practice's mass is split between the two bin centres
  nearest its rate, so a small change of rate moves only a little mass
  (‖Δφ‖₂ ≤ √2·|Δr| / h for bin width h);
- *partial weight*: a practice whose denominator d is below
  `full_weight_denominator` (d_min) counts as d / d_min of a practice, so a
  patient in a tiny denominator cannot swing a whole practice.

One patient changes n and d by at most c (its cap; 1 for patient-level
indicators), so |Δr| ≤ c / max(d, d') and |Δm| ≤ c / d_min, which gives per
indicator (Klynge's privacy design note has the derivation):

    Δ₂ ≤ c·(1 + √2/h) / d_min        Δ₁ ≤ c·(1 + 2/h) / d_min

The block is carried in fixed point (`scale` units per practice); rounding
adds at most 3 units to either norm, which the stated sensitivity includes.
The histogram is computed from the agent's *bounded* counts, so the bound
holds whatever the engine produced.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from privacy.errors import MechanismError
from privacy.sensitivity import Contribution

DISTRIBUTION_BLOCK = "distribution"
ROUNDING_SLACK = 3  # fixed-point units; see the module docstring
MIN_PRACTICES_FOR_DECILES = 10


@dataclass(frozen=True)
class DistributionSpec:
    """The manifest's `[distribution]` table."""

    indicators: tuple[str, ...]
    bins: int  # equal-width bins over [0, 1]
    full_weight_denominator: int  # d_min
    scale: int  # fixed-point units per practice
    noise_weight: int  # Skellam variance on each bin is noise_weight × μ

    @property
    def width(self) -> float:
        return 1.0 / self.bins

    @property
    def coordinates(self) -> int:
        return len(self.indicators) * self.bins

    def edges(self) -> np.ndarray:
        return np.linspace(0.0, 1.0, self.bins + 1)


def bin_weights(rate: float, bins: int) -> tuple[int, int, float]:
    """(low bin, high bin, share of the high bin) of linear binning at `rate` in [0, 1]."""
    position = min(max(rate, 0.0), 1.0) * bins - 0.5  # in units of bin centres
    if position <= 0:
        return 0, 0, 0.0
    if position >= bins - 1:
        return bins - 1, bins - 1, 0.0
    low = math.floor(position)
    return low, low + 1, position - low


def practice_mass(denominator: int, full_weight_denominator: int) -> float:
    """How much of one practice this practice counts as, for one indicator."""
    return min(1.0, max(denominator, 0) / full_weight_denominator)


def encode_rate(numerator: int, denominator: int, spec: DistributionSpec) -> np.ndarray:
    """One practice's histogram of one indicator, in fixed point (int64, sums to round(S·m))."""
    out = np.zeros(spec.bins, dtype=np.int64)
    if denominator <= 0:
        return out
    total = round(spec.scale * practice_mass(denominator, spec.full_weight_denominator))
    low, high, share = bin_weights(numerator / denominator, spec.bins)
    upper = round(total * share)
    out[high] += upper
    out[low] += total - upper
    return out


def encode_practice(totals: Sequence[tuple[int, int]], spec: DistributionSpec) -> np.ndarray:
    """The whole distribution block from each listed indicator's (numerator, denominator)."""
    if len(totals) != len(spec.indicators):
        raise MechanismError(
            f"distribution needs {len(spec.indicators)} indicator totals, got {len(totals)}"
        )
    if not totals:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate([encode_rate(n, d, spec) for n, d in totals])


def patient_l2_units(spec: DistributionSpec, cap: int = 1) -> float:
    """Δ₂ of one indicator's bins in fixed-point units, rounding included (see the docstring)."""
    per_patient = cap / spec.full_weight_denominator
    return spec.scale * per_patient * (1 + math.sqrt(2) / spec.width) + ROUNDING_SLACK


def distribution_contribution(spec: DistributionSpec, caps: Sequence[int]) -> Contribution:
    """The block's sensitivity to one patient; `caps[i]` bounds how far one patient moves n, d."""
    if len(caps) != len(spec.indicators):
        raise MechanismError("one cap per distribution indicator is needed")
    l1 = l2_squared = 0
    for cap in caps:
        per_patient = cap / spec.full_weight_denominator
        l1 += math.ceil(spec.scale * per_patient * (1 + 2 / spec.width)) + ROUNDING_SLACK
        l2_squared += math.ceil(patient_l2_units(spec, cap) ** 2)
    return Contribution(
        block=DISTRIBUTION_BLOCK,
        l1=l1,
        l2_squared=min(l2_squared, l1 * l1),
        coordinates=spec.coordinates,
        noise_weight=spec.noise_weight,
    )


# ---------------------------------------------------------------------------
# Reading a released (summed, noisy) histogram


@dataclass(frozen=True)
class Deciles:
    values: tuple[float, ...] | None  # the 1st..9th decile as rates, or None with a reason
    reason: str | None


def released_histogram(block: np.ndarray, spec: DistributionSpec) -> np.ndarray:
    """Fixed-point sums → practices per bin, shape (indicators, bins); noise can make a bin < 0."""
    values = np.asarray(block, dtype=np.float64).reshape(len(spec.indicators), spec.bins)
    return values / spec.scale


def histogram_cdf(counts: Sequence[float]) -> np.ndarray:
    """Cumulative practices at each bin edge (clamped at 0: a post-processing step)."""
    clean = np.clip(np.asarray(counts, dtype=np.float64), 0.0, None)
    return np.concatenate([[0.0], np.cumsum(clean)])


def deciles(
    counts: Sequence[float],
    bin_sd: float,
    practices: int,
    min_practices: int = MIN_PRACTICES_FOR_DECILES,
) -> Deciles:
    """Deciles by linear interpolation in the released histogram, or why they are not given.

    They are withheld when fewer than `min_practices` practices contributed
    (a decile of 6 practices is not a decile), or when the noise in the
    cumulative count at the middle bin exceeds one decile's worth of practices.
    """
    if practices < min_practices:
        return Deciles(None, "too_few_practices")
    bins = len(counts)
    if bin_sd * math.sqrt(bins / 2) > practices / 10:
        return Deciles(None, "too_noisy")
    cdf = histogram_cdf(counts)
    total = cdf[-1]
    if total <= 0:
        return Deciles(None, "empty")
    edges = np.linspace(0.0, 1.0, bins + 1)
    values = []
    for k in range(1, 10):
        target = total * k / 10
        i = int(np.searchsorted(cdf, target, side="left"))
        i = min(max(i, 1), bins)
        lo, hi = cdf[i - 1], cdf[i]
        frac = 0.0 if hi <= lo else (target - lo) / (hi - lo)
        values.append(float(edges[i - 1] + frac * (edges[i] - edges[i - 1])))
    return Deciles(tuple(values), None)


def share_below(counts: Sequence[float], rate: float) -> float | None:
    """Share of the released practice mass with a rate below `rate` (interpolated in its bin)."""
    cdf = histogram_cdf(counts)
    total = cdf[-1]
    if total <= 0:
        return None
    bins = len(counts)
    position = min(max(rate, 0.0), 1.0) * bins
    i = min(int(position), bins - 1)
    below = cdf[i] + (cdf[i + 1] - cdf[i]) * (position - i)
    return float(min(max(below / total, 0.0), 1.0))


def decile_of(share: float) -> int:
    """1 (lowest tenth) … 10 (highest tenth)."""
    return min(10, max(1, math.ceil(share * 10)))
