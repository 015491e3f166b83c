"""The slow, obvious evaluation of survey measures: one row at a time with Fractions.

It exists to be read and to be compared with `client.engine.survey` (a
Hypothesis test checks they agree), never to be fast.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction
from typing import Any

import pandas as pd

from client.engine.survey import SKIP_KINDS, SurveyCount, SurveyResult
from indicator_defs.survey_model import ItemKind, MeasureKind, Survey


def reference_survey(answers: pd.DataFrame, survey: Survey, start: date, end: date) -> SurveyResult:
    skipped = dict.fromkeys(SKIP_KINDS, 0)
    valid: list[Any] = []
    table: list[Any] = list(answers.itertuples(index=False))  # one attribute per column
    for row in table:
        if not start <= row.date.date() <= end:
            continue
        item = survey.items.get(row.item)
        if row.survey != survey.id or row.version != survey.version or item is None:
            skipped["unknown_item"] += 1
            continue
        if item.kind is ItemKind.FREE_TEXT or pd.isna(row.answer):
            continue
        assert item.scale is not None
        if row.answer != int(row.answer) or not item.scale.holds(int(row.answer)):
            skipped["out_of_scale"] += 1
            continue
        valid.append(row)
    first_date: dict[str, date] = {}
    for row in valid:
        day = row.date.date()
        first_date[row.respondent] = min(day, first_date.get(row.respondent, day))
    kept: dict[str, dict[str, int]] = {}
    for row in valid:
        if row.date.date() != first_date[row.respondent]:
            skipped["duplicate_respondent"] += 1
            continue
        mine = kept.setdefault(row.respondent, {})
        if row.item in mine:
            skipped["duplicate_answer"] += 1
            continue
        mine[row.item] = int(row.answer)
    counts = []
    for measure in survey.measures.values():
        total, respondents = Fraction(0), 0
        for mine in kept.values():
            values = []
            for item_id in measure.items:
                if item_id not in mine:
                    continue
                scale = survey.items[item_id].scale
                assert scale is not None
                answer = mine[item_id]
                if measure.kind is MeasureKind.TOP_BOX:
                    values.append(Fraction(1 if answer >= scale.top_box else 0))
                else:
                    clipped = min(max(answer, measure.low), measure.high)
                    values.append(Fraction(clipped) - Fraction(measure.low))
            if values:
                respondents += 1
                total += sum(values, Fraction(0)) / len(values)
        units = total * measure.resolution
        assert units.denominator == 1
        counts.append(SurveyCount(measure.id, int(units), respondents, measure.resolution))
    return SurveyResult(survey.id, survey.version, len(kept), tuple(counts), skipped)
