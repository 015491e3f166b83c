"""The practice's patient-experience section: its own answers' measures, locally.

The practice's own data, so no noise: each measure is exact, with a 95 %
sampling interval (`client.report.sampling`) because a year's respondents are
a sample of the practice's patients. Below `MIN_RESPONDENTS` a measure is
"too few answers" in words: with fewer than ten respondents one answer moves
a share by ten points or more, and the interval spans most of the scale. The
period is the one the manifest releases the survey over (so the practice is
compared with its cluster on the same answers' dates), else the year ending
at the report's date. Free-text comments are read
here, from the practice's own table, and shown in this report only.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

import pandas as pd

from client.engine.survey import compute_survey, respondent_values
from client.report.sampling import mean_interval, wilson
from indicator_defs.survey_model import ItemKind, MeasureKind, Survey
from reporting.practice_model import PracticeSurvey, SurveyComment, SurveyMeasureResult

MIN_RESPONDENTS = 10


def survey_period(as_of: date) -> tuple[date, date]:
    """The year ending at `as_of`: 1 October 2025 to 30 September 2026 for 30 September 2026."""
    try:
        year_before = as_of.replace(year=as_of.year - 1)
    except ValueError:  # 29 February
        year_before = as_of.replace(year=as_of.year - 1, day=28)
    return year_before + timedelta(days=1), as_of


def practice_surveys(
    answers: pd.DataFrame | None,
    surveys: Mapping[str, Survey],
    as_of: date,
    periods: Mapping[str, tuple[date, date]] | None = None,
) -> tuple[PracticeSurvey, ...]:
    """One section per defined survey the practice has answers to (none without a table);
    `periods` are the manifest's, by survey id."""
    if answers is None:
        return ()
    present = set(answers["survey"].unique())
    return tuple(
        practice_survey(answers, s, as_of, (periods or {}).get(s.id))
        for s in surveys.values()
        if s.id in present
    )


def practice_survey(
    answers: pd.DataFrame, survey: Survey, as_of: date, period: tuple[date, date] | None = None
) -> PracticeSurvey:
    start, end = period or survey_period(as_of)
    result = compute_survey(answers, survey, start, end)
    values = respondent_values(answers, survey, start, end)
    measures = []
    for count in result.measures:
        measure = survey.measures[count.measure_id]
        n = count.denominator
        value = count.estimate(measure.low)
        if value is None:
            interval = None
        elif measure.kind is MeasureKind.TOP_BOX:
            interval = wilson(value, n)
        else:
            interval = mean_interval(values[measure.id], measure.low, measure.high)
        measures.append(SurveyMeasureResult(measure, value, n, interval, n < MIN_RESPONDENTS))
    return PracticeSurvey(
        survey=survey,
        start=start,
        end=end,
        respondents=result.respondents,
        measures=tuple(measures),
        comments=_comments(answers, survey, start, end),
        skipped=dict(result.skipped),
        min_respondents=MIN_RESPONDENTS,
    )


def _comments(
    answers: pd.DataFrame, survey: Survey, start: date, end: date
) -> tuple[SurveyComment, ...]:
    free = [i.id for i in survey.items.values() if i.kind is ItemKind.FREE_TEXT]
    rows = answers[
        (answers["survey"] == survey.id)
        & (answers["version"] == survey.version)
        & answers["item"].isin(free)
        & answers["text"].notna()
        & (answers["date"] >= pd.Timestamp(start))
        & (answers["date"] <= pd.Timestamp(end))
    ].sort_values("date", kind="stable")
    return tuple(
        SurveyComment(d.date(), str(text))
        for d, text in zip(rows["date"], rows["text"], strict=True)
    )
