"""A survey measure's released figure: its value with a 95 % interval covering noise and chance.

A measure's two cells are U, the sum over respondents of their value's units
above `low`, and R, the respondents. With M = `max_units` (what one
respondent can add), q = U / (M·R) is the measure on [0, 1] and the value is
low + (high − low)·q. Its noise variance follows by the delta method from
the cells' stated variances (independent noise on the two cells). Chance is
bounded without knowing the answers' spread: a value confined to [0, 1] with
mean q has variance at most q(1 − q) (Bhatia–Davis), so q(1 − q)/R covers the
respondents' own variation for a top-box share and a mean score alike.

Nothing is hidden by its noisy value: a figure with fewer respondents than
the manifest's `min_respondents` at its level, or whose interval is wider
than the manifest's `uncertain_half_width` (read on the [0, 1] scale), is
labelled too uncertain, as an indicator is. It is post-processing of the
released cells, so it costs no privacy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from privacy.estimation import Z95
from privacy.manifest import Disclosure, SurveyEntry, SurveyMeasureEntry

NO_RESPONDENTS = "no_respondents"
TOO_FEW_RESPONDENTS = "too_few_respondents"
TOO_WIDE = "too_wide"


@dataclass(frozen=True)
class SurveyFigure:
    """One survey measure at one level, as released."""

    measure_id: str
    survey_id: str
    kind: str
    value: float | None  # the share (0–1) or mean score; None without respondents
    interval: tuple[float, float] | None  # 95 %, noise and chance
    respondents: int  # the noisy respondents cell, shown ≥ 0
    value_noise_sd: float | None
    uncertain: bool
    reason: str | None  # why uncertain: NO_RESPONDENTS, TOO_FEW_RESPONDENTS or TOO_WIDE


def survey_figure(
    survey: SurveyEntry,
    measure: SurveyMeasureEntry,
    cells: tuple[float, float],
    variances: tuple[float, float],
    rules: Disclosure,
    level: str,
    z: float = Z95,
) -> SurveyFigure:
    """The released figure of one measure from its (units, respondents) cells and their noise."""
    units, respondents = cells
    var_units, var_respondents = variances
    shown = max(round(respondents), 0)
    if respondents < 1:
        return SurveyFigure(
            measure.id, survey.id, measure.kind, None, None, shown, None, True, NO_RESPONDENTS
        )
    m = measure.max_units
    q = min(max(units / (m * respondents), 0.0), 1.0)
    noise = (var_units / (m * m) + q * q * var_respondents) / (respondents * respondents)
    chance = q * (1 - q) / respondents
    half = z * math.sqrt(noise + chance)
    span = measure.high - measure.low
    low = measure.low + span * max(0.0, q - half)
    high = measure.low + span * min(1.0, q + half)
    reason = None
    if respondents < survey.min_respondents.at(level):
        reason = TOO_FEW_RESPONDENTS
    elif half > rules.uncertain_half_width:
        reason = TOO_WIDE
    return SurveyFigure(
        measure.id,
        survey.id,
        measure.kind,
        measure.low + span * q,
        (low, high),
        shown,
        span * math.sqrt(noise),
        reason is not None,
        reason,
    )


def expected_half_widths(
    survey: SurveyEntry,
    measure: SurveyMeasureEntry,
    respondents: float,
    share: float,
    noise_variances: tuple[float, float],
) -> tuple[float, float]:
    """(noise, chance) 95 % half-widths in the measure's own scale, for planning and the audit:
    `respondents` answering with a normalised mean of `share` (0–1)."""
    m = measure.max_units
    var_units, var_respondents = noise_variances
    noise = (var_units / (m * m) + share * share * var_respondents) / respondents**2
    chance = share * (1 - share) / respondents
    span = measure.high - measure.low
    return Z95 * span * math.sqrt(noise), Z95 * span * math.sqrt(chance)
