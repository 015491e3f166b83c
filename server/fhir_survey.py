"""A released survey measure as a FHIR R4 `MeasureReport` (type summary), beside the indicators'.

A top-box share is a Measure of proportion scoring: initial population and
denominator are the (noisy) respondents, the score is the share. Its
numerator is not a count of people (each respondent adds the share of their
answered items in the top box), so it is absent with the data-absent-reason
"not-applicable", never a made-up count. A mean score is continuous-variable
scoring: initial population and measure population are the respondents, the
score is the mean on the answer scale. The interval, the uncertain label,
the period of the answers and the mechanism travel in the same extensions as
an indicator's (`server.fhir_report`).
"""

from __future__ import annotations

from typing import Any

from common import formatting as fmt
from common.i18n import Lang, register, t
from indicator_defs.fhir_measure import CANONICAL_BASE, MEASURE_POPULATION, fhir_id, measure_url
from indicator_defs.survey_model import Survey
from reporting.release_document import ReleaseDocument, SurveyMeasureFigure
from server.fhir_common import (
    DATA_ABSENT_REASON,
    INTERVAL_EXT,
    NOISE_SD_EXT,
    RELEASE_ID_SYSTEM,
    UNCERTAIN_EXT,
    FhirReportError,
    narrative,
    release_extensions,
    reporter,
)

register(
    {
        "fhir.err.survey_measure": {
            "da": "{where}: ikke et udgivet mål i spørgeskemaet {survey}",
            "en": "{where}: not a released measure of survey {survey}",
        },
        "fhir.err.survey_other": {
            "da": "{where}: udgivet for spørgeskemaet {released}, ikke {survey}",
            "en": "{where}: released for survey {released}, not {survey}",
        },
        "fhir.survey.value": {
            "da": "{title}, {level} {unit}, svar {start} til {end}: {value} (95 %-interval "
            "{interval}, {respondents} svarpersoner)",
            "en": "{title}, {level} {unit}, answers {start} to {end}: {value} (95 % interval "
            "{interval}, {respondents} respondents)",
        },
        "fhir.survey.none": {
            "da": "{title}, {level} {unit}: ingen svar udgivet",
            "en": "{title}, {level} {unit}: no answers released",
        },
    }
)


def _population(code: str, count: int | None) -> dict[str, Any]:
    pop: dict[str, Any] = {"code": {"coding": [{"system": MEASURE_POPULATION, "code": code}]}}
    if count is None:  # not a count of people for this scoring
        pop["_count"] = {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "not-applicable"}]}
    else:
        pop["count"] = count
    return pop


def _group(figure: SurveyMeasureFigure, title: str) -> dict[str, Any]:
    respondents = figure.respondents
    if figure.kind == "top_box":
        populations = [
            _population("initial-population", respondents),
            _population("denominator", respondents),
            _population("numerator", None),
        ]
    else:
        populations = [
            _population("initial-population", respondents),
            _population("measure-population", respondents),
        ]
    group: dict[str, Any] = {
        "code": {"text": title},
        "extension": [{"url": NOISE_SD_EXT, "valueDecimal": float(figure.value_noise_sd or 0.0)}],
        "population": populations,
    }
    if figure.value is None:
        absent = {"url": DATA_ABSENT_REASON, "valueCode": "not-applicable"}
        group["measureScore"] = {"extension": [absent]}
    else:
        group["measureScore"] = {"value": float(figure.value)}
    if figure.interval is not None:
        group["extension"].append(
            {
                "url": INTERVAL_EXT,
                "extension": [
                    {"url": "low", "valueDecimal": float(figure.interval[0])},
                    {"url": "high", "valueDecimal": float(figure.interval[1])},
                    {"url": "level", "valueDecimal": 0.95},
                    {"url": "source", "valueCode": "released"},
                ],
            }
        )
    if figure.uncertain:
        group["extension"].append({"url": UNCERTAIN_EXT, "valueBoolean": True})
    return group


def _narrative(
    release: ReleaseDocument, figure: SurveyMeasureFigure, title: str, lang: Lang
) -> dict[str, Any]:
    words = {"title": title, "level": t(f"fhir.level.{release.level}", lang), "unit": release.unit}
    if figure.value is None or figure.interval is None or figure.period is None:
        lines = [t("fhir.survey.none", lang, **words)]
    else:
        top = figure.kind == "top_box"

        def shown(v: float) -> str:
            return fmt.percent(v, 1, lang) if top else fmt.number(v, 2, lang)

        lines = [
            t(
                "fhir.survey.value",
                lang,
                start=fmt.day(figure.period[0], lang),
                end=fmt.day(figure.period[1], lang),
                value=shown(figure.value),
                interval=f"{shown(figure.interval[0])}–{shown(figure.interval[1])}",
                respondents=fmt.integer(figure.respondents, lang),
                **words,
            )
        ]
        if figure.uncertain:
            lines.append(t("fhir.narrative.uncertain", lang))
    return narrative(lines, lang)


def survey_measure_report(
    release: ReleaseDocument,
    survey: Survey,
    measure_id: str,
    *,
    canonical_base: str = CANONICAL_BASE,
    lang: Lang = "da",
) -> dict[str, Any]:
    """One survey measure of one release as a summary MeasureReport."""
    where = f"release {release.release_id} ({release.level} {release.unit}), {measure_id}"
    figure = release.surveys.get(measure_id)
    measure = survey.measures.get(measure_id)
    if figure is None or measure is None:
        raise FhirReportError(t("fhir.err.survey_measure", where=where, survey=survey.id))
    if figure.survey_id != survey.id:
        raise FhirReportError(
            t("fhir.err.survey_other", where=where, released=figure.survey_id, survey=survey.id)
        )
    reference = release.reference_date
    start, end = figure.period or (reference, reference)
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": fhir_id(f"{release.level}-{release.unit}-{measure_id}-{reference.isoformat()}"),
        "language": lang,
        "text": _narrative(release, figure, measure.title[lang], lang),
        "extension": release_extensions(release),
        "identifier": [{"system": RELEASE_ID_SYSTEM, "value": f"{release.release_id}"}],
        "status": "complete",
        "type": "summary",
        "measure": f"{measure_url(measure_id, canonical_base)}|{survey.version}",
        "date": release.created_at or reference.isoformat(),
        "reporter": reporter(release),
        "period": {"start": start.isoformat(), "end": end.isoformat()},
        "group": [_group(figure, measure.title["en"])],
    }
    if not report["extension"]:
        del report["extension"]
    return report
