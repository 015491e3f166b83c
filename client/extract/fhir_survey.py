"""QuestionnaireResponse → `survey_responses` rows: the survey half of the FHIR import.

The rules (docs/fhir.md, "Survey answers") mirror the CSV table's
(`client.extract.survey_rules`), applied per resource while streaming, so
that what reaches the loader's validation is already clean:
- `questionnaire` is a canonical `<base>/Questionnaire/<survey>|<version>`; a
  survey and version Klynge does not define drops the response;
- only `status` completed counts; any other status drops it, by reason;
- `authored` is the date (a day in Denmark, as every FHIR date here);
- each `item.linkId` (groups nest; answers may nest items) names a question:
  a rated one takes `valueInteger` or `valueCoding.code` (a whole number on
  its scale), the free-text one `valueString` (the `text` column, which only
  the practice's own report reads); an unknown question, an answer off the
  scale or a second answer to one question is left out (the response is
  counted as altered);
- `source`, else `subject`, names who answered: a Patient of the import
  becomes the `patient` link;
- the respondent is the survey's own pseudonym when the response carries one
  (`identifier` under Klynge's survey-respondent system: the CSV's
  `respondent`, new each survey round), else the linked patient, so two
  responses of one patient meet the one-response-per-period rule, else the
  response itself. A CPR-like pseudonym is not one and is ignored.
Across responses, settled once everything is read (`survey_table`): a second
response of one respondent on the same day is dropped (`duplicate_response`),
one on another day is kept and noted (`duplicate_respondent`: the period
decides which counts).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from client.extract.cells import TEXT
from client.extract.fhir_messages import text
from client.extract.fhir_model import Resource
from common.cpr import has_cpr
from indicator_defs.fhir_measure import SURVEY_RESPONDENT_SYSTEM
from indicator_defs.survey_loader import installed_surveys
from indicator_defs.survey_model import ItemKind, Survey

KEPT_STATUS = "completed"


@dataclass
class Answers:
    """The survey rows read so far, one list per column, plus where each response came from."""

    response: list[int] = field(default_factory=list)  # index into `responses`
    item: list[str] = field(default_factory=list)
    answer: list[float] = field(default_factory=list)
    text: list[str | None] = field(default_factory=list)
    responses: list[Response] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.response)


@dataclass(frozen=True)
class Response:
    key: str  # 'QuestionnaireResponse/<id>': the respondent when nothing else names one
    person: str | None  # reference key of source/subject, settled against the patients
    pseudonym: str | None  # the survey's own name for the respondent, if sent
    survey: str
    version: int
    day: int
    where: int  # source << 32 | entry or line
    altered: bool


class Rejected(Exception):
    """The response cannot be used; `kind` and `element` name the reason in the report."""

    def __init__(self, element: str, kind: str, message: str) -> None:
        self.element, self.kind, self.message = element, kind, message


@dataclass(frozen=True)
class Note:
    """An answer left out of a kept response, with its reason."""

    element: str
    kind: str
    message: str


DayOf = Callable[[str | None, str], int | None]


def read_response(
    res: Resource, day_of: DayOf, person: str | None, where: int, answers: Answers
) -> list[Note]:
    """Add the rows of one QuestionnaireResponse; raises Rejected when none can count.

    `day_of(value, element)` is the import's Danish day of a dateTime (None when
    absent; it rejects a date that names no day itself).
    """
    if res.status != KEPT_STATUS:
        status = repr(res.status)
        raise Rejected(
            "status", f"status:{res.status}", text("status", element="status", value=status)
        )
    survey = _survey(res.questionnaire)
    day = day_of(res.authored, "authored")
    if day is None:
        raise Rejected("authored", "no_date", text("no_date", element="authored"))
    notes: list[Note] = []
    rows: list[tuple[str, float, str | None]] = []
    seen: set[str] = set()
    for link, answer in _answers(res.item):
        item = survey.items.get(link) if isinstance(link, str) else None
        if item is None:
            notes.append(
                Note("item.linkId", "unknown_item", text("unknown_item", value=repr(link)))
            )
            continue
        if item.id in seen:
            notes.append(
                Note("item.answer", "duplicate_answer", text("duplicate_answer", value=item.id))
            )
            continue
        if item.kind is ItemKind.FREE_TEXT:
            written = answer.get("valueString")
            if isinstance(written, str) and written.strip():
                seen.add(item.id)
                rows.append((item.id, math.nan, written.strip()))
            continue
        value = _rated(answer)
        scale = item.scale
        assert scale is not None  # rated items have a scale
        if value is None or not scale.holds(value):
            shown = repr(_shown(answer))
            notes.append(
                Note(
                    "item.answer",
                    "out_of_scale",
                    text("out_of_scale", value=shown, item=item.id, low=scale.low, high=scale.high),
                )
            )
            continue
        seen.add(item.id)
        rows.append((item.id, float(value), None))
    if not rows:
        raise Rejected("item", "no_answer", text("no_answer"))
    number = len(answers.responses)
    key = f"QuestionnaireResponse/{res.id}" if res.id else f"QuestionnaireResponse#{number}"
    pseudonym = respondent_pseudonym(res.identifier)
    answers.responses.append(
        Response(key, person, pseudonym, survey.id, survey.version, day, where, bool(notes))
    )
    for item_id, answered, written in rows:
        answers.response.append(number)
        answers.item.append(item_id)
        answers.answer.append(answered)
        answers.text.append(written)
    return notes


def respondent_pseudonym(identifier: Any) -> str | None:
    """The value of an identifier under Klynge's survey-respondent system, unless CPR-like."""
    for ident in identifier if isinstance(identifier, list) else (identifier,):
        if isinstance(ident, dict) and ident.get("system") == SURVEY_RESPONDENT_SYSTEM:
            value = ident.get("value")
            if isinstance(value, str) and value.strip() and not has_cpr(value):
                return value.strip()
    return None


def person_reference(res: Resource) -> str | None:
    """The reference of who answered: `source`, else `subject` (either may name a Patient)."""
    for ref in (res.source, res.subject):
        reference = (
            ref.get("reference") if isinstance(ref, dict) else getattr(ref, "reference", None)
        )
        if isinstance(reference, str) and reference:
            return reference
    return None


def _survey(canonical: str | None) -> Survey:
    if not canonical:
        raise Rejected("questionnaire", "no_questionnaire", text("no_questionnaire"))
    url, _, version = canonical.partition("|")
    name = url.rstrip("/").rsplit("/", 1)[-1]
    survey = installed_surveys().get(name)
    if survey is not None and not (version.isdigit() and int(version) == survey.version):
        survey = None
    if survey is None:
        known = ", ".join(f"{s.id}|{s.version}" for s in installed_surveys().values())
        raise Rejected(
            "questionnaire",
            "unknown_questionnaire",
            text("unknown_questionnaire", value=repr(canonical), known=known),
        )
    return survey


def _answers(items: Any) -> Iterator[tuple[object, dict[str, Any]]]:
    """(linkId, answer) for every answer in the item tree, in document order."""
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        for answer in item.get("answer") or ():
            if isinstance(answer, dict):
                yield item.get("linkId"), answer
                yield from _answers(answer.get("item"))
        yield from _answers(item.get("item"))


def _rated(answer: dict[str, Any]) -> int | None:
    value = answer.get("valueInteger")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    coding = answer.get("valueCoding")
    code = coding.get("code") if isinstance(coding, dict) else None
    if isinstance(code, str) and code.strip().isdigit():
        return int(code.strip())
    return None


def _shown(answer: dict[str, Any]) -> object:
    for key, value in answer.items():
        if key.startswith("value"):
            return value.get("code") if isinstance(value, dict) else value
    return None


# --- settling, once every input is read -------------------------------------------------


@dataclass(frozen=True)
class Settled:
    table: pa.Table  # the survey_responses columns
    dropped: list[int]  # responses dropped as a same-day second response
    later: list[tuple[int, int]]  # (response, first day): kept, the respondent answered before


def survey_table(answers: Answers, patient_of: Mapping[str, str]) -> Settled:
    """The rows as a `survey_responses` table; `patient_of` maps a reference to a listed patient.

    Responses are taken in import order; a respondent's second response on
    the same day is dropped whole, so no answer is ever doubled.
    """
    respondent: list[str] = []
    patient: list[str | None] = []
    first_day: dict[str, int] = {}
    seen: set[tuple[str, str, int, int]] = set()
    dropped, later = [], []
    keep_response = np.ones(len(answers.responses), dtype=bool)
    for i, response in enumerate(answers.responses):
        linked = patient_of.get(response.person) if response.person else None
        who = response.pseudonym or (linked if linked is not None else response.key)
        respondent.append(who)
        patient.append(linked)
        same_day = (who, response.survey, response.version, response.day)
        if same_day in seen:
            keep_response[i] = False
            dropped.append(i)
            continue
        seen.add(same_day)
        first = first_day.setdefault(
            f"{who}\x00{response.survey}\x00{response.version}", response.day
        )
        if first != response.day:
            later.append((i, first))
    response_of = np.asarray(answers.response, dtype=np.int64)
    kept = np.flatnonzero(keep_response[response_of]) if len(response_of) else response_of
    rows = response_of[kept]
    responses = answers.responses
    table = pa.table(
        {
            "respondent": pa.array([respondent[r] for r in rows.tolist()], TEXT),
            "survey": pa.array([responses[r].survey for r in rows.tolist()], TEXT),
            "version": pa.array([float(responses[r].version) for r in rows.tolist()], pa.float64()),
            "item": pa.array([answers.item[k] for k in kept.tolist()], TEXT),
            "answer": pa.array([answers.answer[k] for k in kept.tolist()], pa.float64()),
            "date": pa.array(
                np.asarray([responses[r].day for r in rows.tolist()], dtype=np.int32), pa.date32()
            ),
            "text": pa.array([answers.text[k] for k in kept.tolist()], TEXT),
            "patient": pa.array([patient[r] for r in rows.tolist()], TEXT),
        }
    )
    return Settled(table, dropped, later)
