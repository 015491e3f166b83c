"""What range an indicator's rate can take, and its interval where a release gave none.

A proportion (a share of patients) lies in [0, 1]; events per patient are
unbounded. Axes, funnel limits and recomputed intervals are clamped to that
range, so a 97 % cluster never shows an upper bound of 110 %.
"""

from __future__ import annotations

import math

from indicator_defs.model import Indicator
from privacy.intervals import rate_interval_from_sd
from reporting.release_document import IndicatorFigure, StratumFigure


def is_proportion(indicator: Indicator) -> bool:
    """A share of patients (bounded by 1), as opposed to events per patient (unbounded)."""
    numerator, denominator = indicator.max_contribution
    return denominator > 0 and numerator <= denominator


def upper_bound(indicator: Indicator) -> float:
    return 1.0 if is_proportion(indicator) else math.inf


def sampling_interval(
    figure: IndicatorFigure | StratumFigure | None, indicator: Indicator
) -> tuple[float, float] | None:
    """The released 95 % interval (sampling and noise); recomputed alike for older releases.

    The coordinator's own formula, from a figure's noise SD
    (`privacy.intervals.rate_interval_from_sd`), gives the
    same interval it would have released, so a benchmark report of an older
    period draws what a newer one would.
    """
    if figure is None or figure.rate is None:
        return None
    if figure.released_interval is not None:
        return figure.released_interval
    if not figure.denominator:
        return None
    i = rate_interval_from_sd(
        figure.rate,
        figure.denominator,
        figure.noise_sd or 0.0,
        proportion=is_proportion(indicator),
        upper=upper_bound(indicator),
    )
    return i.low, i.high
