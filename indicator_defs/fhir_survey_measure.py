"""Each survey measure as a FHIR R4 `Measure`, so the survey MeasureReports' `measure` resolves.

The canonical is `<base>/Measure/<measure id>` at the survey's version, the
reference `server.fhir_survey` writes (`…/Measure/PX-ACCESS|1`). A top-box
share is `proportion` scoring, a mean score `continuous-variable`, as the
MeasureReports are. The populations' criteria are FHIRPath over one
QuestionnaireResponse of the survey (the one response per respondent per
period the engines count, `indicator_defs.survey_model`): a respondent is in
the measure when they answered at least one of its rated items; the numerator
of a share is the part of their answered items in the top box (so it is not a
count of people, and the MeasureReports leave it absent); the observation of
a mean score is the mean of their answers. Generated from the same survey
definition the engines read, so the two cannot drift.
"""

from __future__ import annotations

from typing import Any

from indicator_defs.fhir_extensions import CANONICAL_BASE
from indicator_defs.fhir_measure import (
    IMPROVEMENT_NOTATION,
    MEASURE_POPULATION,
    MEASURE_SCORING,
    measure_head,
    questionnaire_url,
)
from indicator_defs.survey_model import Measure, MeasureKind, Survey

SCORING = {MeasureKind.TOP_BOX: "proportion", MeasureKind.MEAN: "continuous-variable"}


def _answers(measure: Measure) -> str:
    """The respondent's whole-number answers to the measure's items (valueInteger or a coded
    answer's code, as the import reads them)."""
    ids = " | ".join(f"'{i}'" for i in measure.items)
    return (
        f"item.descendants().where(linkId in ({ids})).answer.value"
        ".select(iif($this is Coding, code.toInteger(), $this))"
    )


def _population(code: str, description: str, expression: str) -> dict[str, Any]:
    return {
        "code": {"coding": [{"system": MEASURE_POPULATION, "code": code}]},
        "description": description,
        "criteria": {"language": "text/fhirpath", "expression": expression},
    }


def _populations(survey: Survey, measure: Measure) -> list[dict[str, Any]]:
    answers = _answers(measure)
    url = questionnaire_url(survey.id, survey.version)  # as EPJs name it, whatever the base
    respondent = f"questionnaire = '{url}' and {answers}.exists()"
    who = (
        "En besvarelse af spørgeskemaet med mindst ét svar på målets spørgsmål (én pr. "
        "svarperson pr. periode)\n\n(en)\nA response to the survey answering at least one of "
        "the measure's questions (one per respondent per period)"
    )
    if measure.kind is MeasureKind.TOP_BOX:
        top = min(s.top_box for i in measure.items if (s := survey.items[i].scale) is not None)
        counted, observed = "denominator", "numerator"
        words = (
            f"Andelen af svarpersonens besvarede spørgsmål med svar {top} eller højere (ikke "
            f"et antal personer)\n\n(en)\nThe share of the respondent's answered questions "
            f"answered {top} or higher (not a count of people)"
        )
        value = f"{answers}.where($this >= {top}).count() / {answers}.count()"
    else:
        counted, observed = "measure-population", "measure-observation"
        words = "Gennemsnittet af svarpersonens svar\n\n(en)\nThe mean of the respondent's answers"
        value = f"{answers}.aggregate($total + $this, 0) / {answers}.count()"
    return [
        _population("initial-population", who, respondent),
        _population(counted, who, respondent),
        _population(observed, words, value),
    ]


def survey_measure_resource(
    survey: Survey, measure: Measure, *, canonical_base: str = CANONICAL_BASE
) -> dict[str, Any]:
    """One survey measure as an R4 Measure at the survey's version."""
    base = canonical_base.rstrip("/")
    items = ", ".join(measure.items)
    description = (
        f"**{measure.title['da']}**\n\n{measure.description['da']}\n\n"
        f"Spørgeskemaet {survey.title['da']} ({survey.id}, version {survey.version}), "
        f"spørgsmål {items}.\n\n---\n\n"
        f"**{measure.title['en']}** (English)\n\n{measure.description['en']}\n\n"
        f"The {survey.title['en']} survey ({survey.id}, version {survey.version}), questions "
        f"{items}. Content hash {survey.content_hash}."
    )
    resource: dict[str, Any] = {
        **measure_head(measure.id, survey.version, measure.title, description, base),
        "topic": [{"text": survey.title["da"]}],
        "relatedArtifact": [
            {"type": "citation", "citation": survey.source},
            {
                "type": "depends-on",
                "display": survey.title["da"],
                "resource": questionnaire_url(survey.id, survey.version),
            },
        ],
        "scoring": {"coding": [{"system": MEASURE_SCORING, "code": SCORING[measure.kind]}]},
        "improvementNotation": {
            "coding": [
                {
                    "system": IMPROVEMENT_NOTATION,
                    "code": "increase" if measure.direction == "higher" else "decrease",
                }
            ]
        },
        "group": [{"population": _populations(survey, measure)}],
    }
    return resource


def survey_measures(
    surveys: dict[str, Survey], *, canonical_base: str = CANONICAL_BASE
) -> dict[str, dict[str, Any]]:
    """Every measure of every installed survey, by measure id, in the surveys' order."""
    return {
        measure.id: survey_measure_resource(survey, measure, canonical_base=canonical_base)
        for survey in surveys.values()
        for measure in survey.measures.values()
    }
