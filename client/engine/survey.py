"""Survey answers: the count-and-skip rules and the fast computation of the measures.

Rules (documented in docs/survey-plan.md, later docs/extract-schema.md), applied
to the answers dated within one period, in this order, each skipped row counted
under its kind:
- `unknown_item`: the survey, its version or the item is not in the definition;
- `out_of_scale`: a rated item's answer is not a whole number on its scale
  (an empty answer is "not applicable" and simply does not count);
- `duplicate_respondent`: a respondent answered on more than one date in the
  period; the first date's response is kept, the later ones are skipped, so
  one respondent contributes one response per period (the contribution bound);
- `duplicate_answer`: an item answered twice in the kept response; the first
  row in file order counts.
Free-text rows are kept for the practice's own page and never counted.

Measures are exact integers, as the privacy layer needs: a respondent's value
(see `indicator_defs.survey_model`) minus the measure's low bound, times the
measure's `resolution` (lcm of 1..number of items, so every mean of item values
is a whole number of units), summed over respondents.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from indicator_defs.survey_model import ItemKind, Measure, MeasureKind, Survey

SKIP_KINDS = ("unknown_item", "out_of_scale", "duplicate_respondent", "duplicate_answer")


@dataclass(frozen=True)
class SurveyCount:
    measure_id: str
    numerator: int  # sum over respondents of (value - low) * resolution
    denominator: int  # respondents who answered at least one of its items
    resolution: int

    def estimate(self, low: float) -> float | None:
        """The measure itself (share or mean score), None without respondents."""
        if not self.denominator:
            return None
        return low + self.numerator / self.resolution / self.denominator


@dataclass(frozen=True)
class SurveyResult:
    survey_id: str
    version: int
    respondents: int
    measures: tuple[SurveyCount, ...]  # in definition order
    skipped: dict[str, int]  # rows per skip kind, every kind present


def clean_answers(
    answers: pd.DataFrame, survey: Survey, start: date, end: date
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The counted rated answers of the period [start, end] and the rows skipped per rule.

    `answers` has the `survey_responses` columns: respondent, survey, version,
    item, answer (float, NaN when empty), date (datetime64), text, patient.
    """
    skipped = dict.fromkeys(SKIP_KINDS, 0)
    after_end = pd.Timestamp(end) + pd.Timedelta(days=1)
    frame = answers[(answers["date"] >= pd.Timestamp(start)) & (answers["date"] < after_end)]
    rated = {i.id: i for i in survey.items.values() if i.kind is ItemKind.SCALE}
    free = {i.id for i in survey.items.values() if i.kind is ItemKind.FREE_TEXT}
    known = (
        (frame["survey"] == survey.id)
        & (frame["version"] == survey.version)
        & frame["item"].isin(list(rated) + list(free))
    )
    skipped["unknown_item"] = int((~known).sum())
    frame = frame[known & frame["item"].isin(list(rated))]
    frame = frame[frame["answer"].notna()]
    low = frame["item"].map({k: i.scale.low for k, i in rated.items() if i.scale}).astype(float)
    high = frame["item"].map({k: i.scale.high for k, i in rated.items() if i.scale}).astype(float)
    whole = frame["answer"] == np.floor(frame["answer"])
    inside = whole & (frame["answer"] >= low) & (frame["answer"] <= high)
    skipped["out_of_scale"] = int((~inside).sum())
    frame = frame[inside]
    first = frame.groupby("respondent")["date"].transform("min")
    later = (frame["date"] != first) if len(frame) else pd.Series(False, index=frame.index)
    skipped["duplicate_respondent"] = int(later.sum())
    frame = frame[~later]
    repeated = frame.duplicated(["respondent", "item"])
    skipped["duplicate_answer"] = int(repeated.sum())
    return frame[~repeated], skipped


def compute_survey(answers: pd.DataFrame, survey: Survey, start: date, end: date) -> SurveyResult:
    """The measures of one practice's answers in one period (vectorised)."""
    frame, skipped = clean_answers(answers, survey, start, end)
    counts = []
    for measure in survey.measures.values():
        units = _units(frame, survey, measure)
        counts.append(SurveyCount(measure.id, int(units.sum()), len(units), measure.resolution))
    return SurveyResult(
        survey.id, survey.version, int(frame["respondent"].nunique()), tuple(counts), skipped
    )


def respondent_values(
    answers: pd.DataFrame, survey: Survey, start: date, end: date
) -> dict[str, np.ndarray]:
    """Per measure, each respondent's value (share or score) in the period, by respondent.

    The same values `compute_survey` sums; for the practice's own sampling
    intervals, which need their spread and not only their sum.
    """
    frame, _ = clean_answers(answers, survey, start, end)
    out = {}
    for measure in survey.measures.values():
        units = _units(frame, survey, measure)
        values = measure.low + units.to_numpy(dtype=np.float64) / measure.resolution
        out[measure.id] = values
    return out


def _units(frame: pd.DataFrame, survey: Survey, measure: Measure) -> pd.Series:
    """Each respondent's value minus the low bound, in whole units of 1/resolution."""
    rows = frame[frame["item"].isin(measure.items)]
    scale = survey.items[measure.items[0]].scale
    assert scale is not None  # the loader refuses measures over free text
    if measure.kind is MeasureKind.TOP_BOX:
        points = (rows["answer"] >= scale.top_box).astype(np.int64)
    else:
        points = rows["answer"].clip(measure.low, measure.high) - measure.low
    per = points.groupby(rows["respondent"]).agg(["sum", "count"])
    q = measure.resolution
    # sum/count * q is whole: q is a multiple of every count, and sums are whole
    # (top-box) or whole after clipping to whole bounds (mean).
    units: pd.Series = (per["sum"] * q / per["count"]).round().astype(np.int64)
    return units


def survey_cells(
    answers: pd.DataFrame | None,
    surveys: Mapping[str, Survey],
    wanted: Mapping[str, tuple[int, tuple[date, date]]],
) -> dict[str, tuple[int, int]]:
    """(units, respondents) per measure of the surveys `wanted` (id → (version, (first, last
    day of the answers counted))).

    `surveys` are the definitions (`installed_surveys()` in an agent).
    A practice without answers gets zeros for every measure: it still takes
    part, and its zeros are as protected as anyone's counts. Free text is
    never read here.
    """
    out: dict[str, tuple[int, int]] = {}
    for survey_id, (version, (start, end)) in wanted.items():
        survey = surveys.get(survey_id)
        if survey is None or survey.version != version:
            raise ValueError(f"survey {survey_id} version {version} is not installed")
        if answers is None:
            out.update({m: (0, 0) for m in survey.measures})
            continue
        result = compute_survey(answers, survey, start, end)
        out.update({c.measure_id: (c.numerator, c.denominator) for c in result.measures})
    return out
