"""The patient-experience section of the cluster and region reports.

Each survey measure is shown as released (`ReleaseDocument.surveys`): its
value, its 95 % interval (noise and chance) and its respondents, with the
verdict against the region in words by the page's rule for indicators: a
difference counts only beyond the 99.8 % limits (the multiple-comparison
allowance for a page of ~23 verdicts), between 95 % and 99.8 % it "may be
chance". A figure the release calls too uncertain gets no verdict. The
cluster's variance for the verdict is its released noise plus the chance
bound the coordinator used (q(1 − q)/R on the measure's [0, 1] scale).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from common.formatting import integer, number, percent
from common.i18n import Lang, register, t
from indicator_defs.survey_model import Measure, MeasureKind, Survey
from privacy.estimation import Z95, Z998
from reporting import words
from reporting.release_document import ReleaseDocument, SurveyMeasureFigure

register(
    {
        "report.survey.title": {
            "da": "Patientoplevet kvalitet",
            "en": "Patient experience",
        },
        "report.survey.measure": {"da": "Mål", "en": "Measure"},
        "report.survey.respondents": {"da": "Svarpersoner", "en": "Respondents"},
        "report.survey.legend": {
            "da": "Spørgeskemaet {survey}: andelen af positive svar (4–5 på skalaen 1–5) og "
            "den gennemsnitlige score, med 95 %-interval for støj og tilfældighed. Fritekst "
            "forlader aldrig praksis. Vurderingen mod regionen følger sidens regel: kun uden "
            "for 99,8 %-grænserne er forskellen større, end tilfældighed og støj kan forklare.",
            "en": "The {survey} survey: the share of positive answers (4–5 on the scale 1–5) "
            "and the mean score, with a 95% interval for noise and chance. Free text never "
            "leaves the practice. The verdict against the region follows the page's rule: "
            "only outside the 99.8% limits is the difference larger than chance and noise "
            "explain.",
        },
        "report.survey.none": {
            "da": "ingen svar i perioden",
            "en": "no answers in the period",
        },
    }
)


@dataclass(frozen=True)
class SurveyRow:
    """One measure of one unit, in words and numbers for the table."""

    measure_id: str
    title: str
    value: str
    interval: str
    respondents: str
    region: str
    verdict: str
    verdict_class: str  # "better", "worse" or ""


def value_text(figure: SurveyMeasureFigure | None, lang: Lang) -> str:
    if figure is None or figure.value is None:
        return "–"
    return _on_scale(figure.value, figure.kind, lang)


def interval_text(figure: SurveyMeasureFigure | None, lang: Lang) -> str:
    if figure is None or figure.interval is None:
        return ""
    low, high = (_on_scale(v, figure.kind, lang) for v in figure.interval)
    return f"{low}–{high}"


def _on_scale(value: float, kind: str, lang: Lang) -> str:
    return percent(value, 1, lang) if kind == MeasureKind.TOP_BOX.value else number(value, 2, lang)


def verdict(
    own: SurveyMeasureFigure | None,
    region: SurveyMeasureFigure | None,
    measure: Measure,
    lang: Lang,
) -> tuple[str, str]:
    """The verdict against the region in words, and "better"/"worse" beyond the outer limits."""
    if own is None or own.value is None:
        return t("report.verdict.none", lang, why=t("report.survey.none", lang)), ""
    if own.uncertain:
        return words.word("uncertain", lang), ""
    if region is None or region.value is None or region.uncertain:
        return t("report.verdict.none", lang, why=words.reason("missing", lang)), ""
    span = measure.high - measure.low
    q = (own.value - measure.low) / span
    chance = span * span * q * (1 - q) / max(own.respondents, 1)
    sd = math.sqrt((own.value_noise_sd or 0.0) ** 2 + chance)
    z = (own.value - region.value) / sd if sd > 0 else 0.0
    if abs(z) <= Z95:
        return t("report.verdict.inside", lang), ""
    d = words.word("higher" if z > 0 else "lower", lang)
    if abs(z) <= Z998:
        return t("report.verdict.warning", lang, d=d), ""
    better = (z > 0) == (measure.direction == "higher")
    kind = "better" if better else "worse"
    return t("report.verdict.outside", lang, d=d) + t(f"report.verdict.{kind}", lang), kind


def survey_rows(
    doc: ReleaseDocument | None,
    region: ReleaseDocument | None,
    surveys: Mapping[str, Survey],
    lang: Lang,
) -> tuple[SurveyRow, ...]:
    """One row per released measure of `doc`, beside `region` (None: no comparison)."""
    if doc is None:
        return ()
    rows = []
    for measure_id, figure in doc.surveys.items():
        survey = surveys.get(figure.survey_id)
        measure = None if survey is None else survey.measures.get(measure_id)
        if survey is None or measure is None:
            continue  # a measure this installation does not define cannot be named
        theirs = None if region is None else region.surveys.get(measure_id)
        said, kind = ("", "")
        if region is not None and region is not doc:
            said, kind = verdict(figure, theirs, measure, lang)
        rows.append(
            SurveyRow(
                measure_id,
                measure.title[lang],
                value_text(figure, lang),
                interval_text(figure, lang),
                integer(figure.respondents, lang),
                value_text(theirs, lang) if region is not None else "",
                said,
                kind,
            )
        )
    return tuple(rows)
