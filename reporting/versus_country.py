"""Region against the country: which differences the figures support, all comparisons counted.

A region is part of the country, so its rate is compared with the rest of
the country (the country minus the region), which is independent of it:
r_region − r_country = (D_rest/D)·(r_region − r_rest), with variance
(D_rest/D)²·(v_region + v_rest), each v the rate's sampling plus noise
variance. With R regions and I indicators in one report, R·I differences are
read at once; a Bonferroni bound keeps the chance of any false "higher" or
"lower" below 5 % (the practice report's verdicts do the same for its
indicators). A figure that is hidden or labelled too uncertain gets no
verdict.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

from privacy.estimation import Z998
from reporting.release_document import IndicatorFigure

Verdict = Literal["higher", "lower", "same", "none"]
FAMILY_ALPHA = 0.05


@dataclass(frozen=True)
class Comparison:
    region: str
    indicator_id: str
    verdict: Verdict
    difference: float | None  # region minus country, on the rate scale


def _variance(f: IndicatorFigure, proportion: bool) -> float:
    r, d = f.rate or 0.0, f.denominator or 0
    sampling = (r * (1 - min(r, 1.0)) if proportion else r) / d
    return sampling + (f.rate_noise_sd or 0.0) ** 2


def critical_z(comparisons: int) -> float:
    """Two-sided, Bonferroni over `comparisons`: 1.96 for one, 2.81 for ten."""
    return NormalDist().inv_cdf(1 - FAMILY_ALPHA / (2 * max(comparisons, 1)))


def page_limit(comparisons: int) -> float:
    """The practice page's limit for above or below: the funnel plot's 99.8 % limits (z 3.09,
    a 5 % chance of any false verdict on a page of ~23), Bonferroni's beyond that many.

    >>> round(page_limit(5), 2), round(page_limit(23), 2), round(page_limit(33), 2)
    (3.09, 3.09, 3.17)
    """
    return max(Z998, critical_z(comparisons))


def limit_level(z: float) -> float:
    """The two-sided coverage of ±z limits: 0.998 for 3.09."""
    return 2 * NormalDist().cdf(z) - 1


def compare(
    region: str,
    figure: IndicatorFigure | None,
    country: IndicatorFigure | None,
    proportion: bool,
    z: float,
) -> Comparison:
    """One region's verdict on one indicator against the country."""
    iid = country.indicator_id if country is not None else (figure.indicator_id if figure else "")
    usable = [f for f in (figure, country) if f is not None and f.rate is not None]
    if figure is None or country is None or len(usable) < 2 or figure.uncertain:
        return Comparison(region, iid, "none", None)
    d, d_all = figure.denominator or 0, country.denominator or 0
    if d <= 0 or d_all <= d:
        return Comparison(region, iid, "none", None)
    assert figure.rate is not None and country.rate is not None
    diff = figure.rate - country.rate
    v_region = _variance(figure, proportion)
    share = d / d_all
    # v_country ≈ share²·v_region + (1 − share)²·v_rest
    v_rest = max(_variance(country, proportion) - share**2 * v_region, 0.0) / (1 - share) ** 2
    sd = (1 - share) * math.sqrt(v_region + v_rest)
    if sd <= 0:
        return Comparison(region, iid, "same" if diff == 0 else _sign(diff), diff)
    if abs(diff) / sd <= z:
        return Comparison(region, iid, "same", diff)
    return Comparison(region, iid, _sign(diff), diff)


def _sign(diff: float) -> Verdict:
    return "higher" if diff > 0 else "lower"
