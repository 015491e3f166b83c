"""Intervals and control limits a clinician can trust: sampling uncertainty plus DP noise.

A released rate r = N/D is a ratio of two noisy counts (numerator noise SD
σ_N, denominator noise SD σ_D), and the patients behind it are themselves a
sample of what the practice population could have produced. By the delta
method its variance is

    Var(r) ≈ s²(r, D) / D  +  (σ_N² + r²·σ_D²) / D²

with s² = r(1 − r) for a proportion (binomial) and s² = r for an event rate
per patient (Poisson). Intervals are clamped to the range the rate can take,
since a 97 % cluster cannot have an upper bound of 110 %. All of this is
post-processing of released figures: it costs no privacy.

The coordinator computes the released intervals here, and the reports draw
their whiskers and funnel limits from the same constants, so a 95 % interval
means one thing everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # two-sided 95 % standard normal quantile
Z998 = 3.090232306167813  # two-sided 99.8 % standard normal quantile


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def rate_variance(
    rate: float,
    denominator: float,
    noise_sd: float,
    *,
    proportion: bool = True,
) -> float:
    """Sampling plus noise variance of a released rate (see the module docstring).

    An indicator's numerator and denominator share one noise weight, so σ_D = σ_N.
    """
    if denominator <= 0:
        return math.inf
    r = max(rate, 0.0)
    sampling = r * (1 - min(r, 1.0)) if proportion else r
    noise = noise_sd**2 * (1 + r**2) / denominator**2
    return sampling / denominator + noise


def rate_interval_from_sd(
    rate: float,
    denominator: float,
    noise_sd: float,
    *,
    proportion: bool = True,
    upper: float = 1.0,
    z: float = Z95,
) -> Interval:
    """A symmetric normal interval, clamped to [0, upper] (upper = ∞ for unbounded rates),
    from the numerator's noise SD (for releases that carry no interval of their own);
    `privacy.estimation.rate_interval` takes the rate's noise variance instead."""
    half = z * math.sqrt(rate_variance(rate, denominator, noise_sd, proportion=proportion))
    return Interval(max(0.0, rate - half), min(upper, rate + half))


def noise_interval(rate: float, denominator: float, noise_sd: float) -> Interval:
    """rate ± z·σ_N/D: the 95 % interval of the numerator's noise alone, unclamped.

    Narrower than `rate_interval_from_sd` because it leaves out the patients' own
    sampling variation; only for releases made before intervals were
    released, and a reader must say "noise only" beside it.
    """
    half = Z95 * noise_sd / denominator
    return Interval(rate - half, rate + half)


def noise_range(noise_sd: float) -> float:
    """Half the 95 % range of a count whose noise has SD `noise_sd` (a histogram bin's whisker)."""
    return Z95 * noise_sd


@dataclass(frozen=True)
class FunnelPoint:
    denominator: float
    low95: float
    high95: float
    low998: float
    high998: float


def funnel_limits(
    centre: float,
    denominators: list[float],
    noise_sd: float,
    *,
    proportion: bool = True,
    upper: float = 1.0,
) -> list[FunnelPoint]:
    """Control limits around `centre` for units of each denominator (Spiegelhalter's funnel).

    `noise_sd` is one unit's numerator noise SD; a unit inside the 99.8 % limits
    is consistent with the centre once chance and the privacy noise are allowed for.
    """
    out = []
    for d in denominators:
        sd = math.sqrt(rate_variance(centre, d, noise_sd, proportion=proportion))
        out.append(
            FunnelPoint(
                d,
                max(0.0, centre - Z95 * sd),
                min(upper, centre + Z95 * sd),
                max(0.0, centre - Z998 * sd),
                min(upper, centre + Z998 * sd),
            )
        )
    return out
