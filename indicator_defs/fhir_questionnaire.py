"""A patient-experience survey as a FHIR R4 `Questionnaire`: the canonical its responses name.

`<base>/Questionnaire/PX` at the survey's version is what a
QuestionnaireResponse's `questionnaire` names (`PX|1`, `fhir_measure.
questionnaire_url`) and what the survey Measures' criteria select. Each
rated item is a `choice` whose answer options are the scale's whole numbers
as codings (code "1".."5", the Danish label as display with the English
one as its translation), which is what the import reads from `valueCoding.code`;
the free-text item is `text`. Generated from the survey definition the engines
read, so an EPJ's form and Klynge's computation cannot disagree.
"""

from __future__ import annotations

from typing import Any

from indicator_defs.fhir_extensions import CANONICAL_BASE
from indicator_defs.fhir_measure import computable_name, fhir_id, translated
from indicator_defs.survey_model import Item, ItemKind, Scale, Survey


def scale_system(scale: Scale) -> str:
    """Klynge's own code system for a scale's answers (no standard one fits a survey's scale)."""
    return f"{CANONICAL_BASE}/CodeSystem/survey-scale-{scale.id}"


def _item(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {
        "linkId": item.id,
        "text": item.text["da"],
        "_text": translated(item.text["en"]),
    }
    if item.kind is ItemKind.FREE_TEXT or item.scale is None:
        return {**out, "type": "text"}
    scale = item.scale
    options = [
        {
            "valueCoding": {
                "system": scale_system(scale),
                "code": str(answer),
                "display": scale.labels["da"][answer - scale.low],
                "_display": translated(scale.labels["en"][answer - scale.low]),
            }
        }
        for answer in range(scale.low, scale.high + 1)
    ]
    return {**out, "type": "choice", "answerOption": options}


def questionnaire_resource(survey: Survey) -> dict[str, Any]:
    """The survey as an R4 Questionnaire, Danish with English translations."""
    return {
        "resourceType": "Questionnaire",
        "id": fhir_id(survey.id),
        "language": "da",
        "url": f"{CANONICAL_BASE}/Questionnaire/{survey.id}",
        "version": str(survey.version),
        "name": computable_name(survey.id),
        "title": survey.title["da"],
        "_title": translated(survey.title["en"]),
        "status": "active",
        "experimental": False,
        "subjectType": ["Patient"],
        "publisher": "Klynge",
        "description": (
            f"{survey.description['da']}\n\n(en)\n{survey.description['en']}\n\n"
            f"{survey.source}. Content hash {survey.content_hash}."
        ),
        "item": [_item(item) for item in survey.items.values()],
    }
