"""A synthetic practice as the FHIR an EPJ would export: DK Core/MedCom-style resources.

Written for the import's tests and its scale benchmark, and as a worked
example for EPJ vendors of what `klynge fhir import` reads best: a Group
naming the listed patients with their list periods, conditions coded in
ICPC-2 or SKS-D with clinical and verification status, prescriptions with
status and intent, lab results with DNK codes under the NPU system as DK
Core does, survey answers as one completed QuestionnaireResponse per
respondent and day (free text included: it stays in the practice), and
timestamps in Danish local time with their UTC offset.

Every fact of the extract survives the trip: importing the output gives the
same extract back (`tests/client/extract/test_fhir_import.py`). Output is streamed, so a
20,000-patient practice never exists as one Python document.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pandas as pd

from client.extract.fhir_dates import DANISH_TIME
from client.extract.fhir_map import DDD_EXT, LIST_MEMBERSHIP_EXT
from client.extract.tables import Extract
from common.atomic import atomic_write
from indicator_defs.fhir_measure import (
    ATC_SYSTEM,
    ICPC2_SYSTEM,
    LOCAL_LAB_SYSTEM,
    NPU_SYSTEM,
    OK22_SERVICE_SYSTEM,
    SKS_D_SYSTEM,
    SURVEY_RESPONDENT_SYSTEM,
    questionnaire_url,
    sks_code,
)

GROUP_ID = "listed"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

_LAB_URI = {"NPU": NPU_SYSTEM, "DNK": NPU_SYSTEM, "LOCAL": LOCAL_LAB_SYSTEM}
_ENCODER = msgspec.json.Encoder()


def fhir_resources(extract: Extract, *, group: bool = True) -> Iterator[dict[str, Any]]:
    """Every resource of the practice: the list Group (or per-patient extensions), then the rest."""
    patients = extract.patients
    if group:
        yield _group(patients)
    for row in patients.itertuples(index=False):
        yield _patient(row, with_extension=not group)
    for i, row in enumerate(extract.conditions.itertuples(index=False)):
        yield _condition(i, row)
    for i, row in enumerate(extract.prescriptions.itertuples(index=False)):
        yield _prescription(i, row)
    for i, row in enumerate(extract.lab_results.itertuples(index=False)):
        yield _observation(i, row)
    for i, row in enumerate(extract.encounters.itertuples(index=False)):
        yield _encounter(i, row)
    if extract.survey_responses is not None:
        yield from _questionnaire_responses(extract.survey_responses)


def extract_to_bundle(extract: Extract, *, group: bool = True) -> dict[str, Any]:
    """The practice as one collection Bundle in memory (for small tests and examples)."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [_entry(r) for r in fhir_resources(extract, group=group)],
    }


def write_bundle(extract: Extract, path: Path, *, group: bool = True) -> None:
    """The practice as one collection Bundle file, written entry by entry."""
    temp = path.with_name(f".{path.name}.tmp")
    with open(temp, "wb") as out:
        out.write(b'{"resourceType":"Bundle","type":"collection","entry":[')
        for n, resource in enumerate(fhir_resources(extract, group=group)):
            if n:
                out.write(b",\n")
            out.write(_ENCODER.encode(_entry(resource)))
        out.write(b"]}\n")
    temp.replace(path)


def write_bulk_export(
    extract: Extract, directory: Path, *, when: str = "2026-10-01T06:00:00+02:00"
) -> None:
    """The practice as a Bulk Data group `$export` folder: NDJSON per type and manifest.json."""
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, Any] = {}
    try:
        for resource in fhir_resources(extract, group=True):
            rtype = resource["resourceType"]
            if rtype not in files:
                files[rtype] = open(directory / f"{rtype}.ndjson", "wb")  # noqa: SIM115
            files[rtype].write(_ENCODER.encode(resource) + b"\n")
    finally:
        for handle in files.values():
            handle.close()
    base = f"https://epj.example/fhir/Group/{GROUP_ID}/$export"
    manifest = {
        "transactionTime": when,
        "request": base,
        "requiresAccessToken": True,
        "output": [
            {"type": rtype, "url": f"https://epj.example/files/{rtype}.ndjson"} for rtype in files
        ],
        "error": [],
    }
    atomic_write(directory / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())


# --- one resource per row ------------------------------------------------------------------


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {
        "fullUrl": f"urn:klynge:{resource['resourceType']}/{resource['id']}",
        "resource": resource,
    }


def _day(value: Any) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()


_OFFSETS: dict[date, str] = {}


def _moment(value: Any, minute_of_day: int) -> str:
    """A Danish local time on that day, written with its UTC offset as an EPJ would."""
    day = pd.Timestamp(value).date()
    local = datetime.combine(day, time(8)) + timedelta(minutes=minute_of_day % 480)
    offset = _OFFSETS.get(day)
    if offset is None:
        delta = datetime.combine(day, time(12), DANISH_TIME).utcoffset() or timedelta()
        hours = int(delta.total_seconds() // 3600)
        offset = _OFFSETS[day] = f"+{hours:02d}:00"
    return local.isoformat(timespec="seconds") + offset


def _group(patients: pd.DataFrame) -> dict[str, Any]:
    members = []
    for row in patients.itertuples(index=False):
        period = {"start": _day(row.list_start)}
        if _day(row.list_end):
            period["end"] = _day(row.list_end)
        members.append({"entity": {"reference": f"Patient/{row.patient_id}"}, "period": period})
    return {
        "resourceType": "Group",
        "id": GROUP_ID,
        "type": "person",
        "actual": True,
        "name": "Tilmeldte patienter",
        "member": members,
    }


def _patient(row: Any, *, with_extension: bool) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": row.patient_id,
        "gender": "female" if row.sex == "F" else "male",
        "birthDate": _day(row.birth_date),
    }
    if with_extension:
        period = {"start": _day(row.list_start)}
        if _day(row.list_end):
            period["end"] = _day(row.list_end)
        patient["extension"] = [{"url": LIST_MEMBERSHIP_EXT, "valuePeriod": period}]
    if _day(row.death_date):
        patient["deceasedDateTime"] = _day(row.death_date)
    return patient


def _condition(i: int, row: Any) -> dict[str, Any]:
    if row.system == "ICPC2":
        coding = {"system": ICPC2_SYSTEM, "code": row.code}
    else:
        coding = {"system": SKS_D_SYSTEM, "code": sks_code(row.code)}
    ended = _day(row.end_date)
    condition: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"condition-{i}",
        "clinicalStatus": {
            "coding": [{"system": CLINICAL, "code": "resolved" if ended else "active"}]
        },
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
        "code": {"coding": [coding]},
        "subject": {"reference": f"Patient/{row.patient_id}"},
        "onsetDateTime": _day(row.start_date),
    }
    if ended:
        condition["abatementDateTime"] = ended
    return condition


def _prescription(i: int, row: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "id": f"prescription-{i}",
        "status": "completed",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": ATC_SYSTEM, "code": row.atc}]},
        "subject": {"reference": f"Patient/{row.patient_id}"},
        "authoredOn": _moment(row.date, i * 7),
    }
    if not pd.isna(row.ddd):
        request["extension"] = [{"url": DDD_EXT, "valueDecimal": float(row.ddd)}]
    if not pd.isna(row.days_supply):
        duration = {"value": float(row.days_supply), "unit": "d", "code": "d"}
        duration["system"] = "http://unitsofmeasure.org"
        request["dispenseRequest"] = {"expectedSupplyDuration": duration}
    return request


def _observation(i: int, row: Any) -> dict[str, Any]:
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"lab-{i}",
        "status": "final",
        "code": {"coding": [{"system": _LAB_URI[row.system], "code": row.code}]},
        "subject": {"reference": f"Patient/{row.patient_id}"},
        "effectiveDateTime": _moment(row.date, i * 11),
    }
    quantity: dict[str, Any] = {}
    if not pd.isna(row.value):
        quantity["value"] = float(row.value)
    if isinstance(row.unit, str):
        quantity["unit"] = row.unit
    if quantity:
        observation["valueQuantity"] = quantity
    return observation


def _encounter(i: int, row: Any) -> dict[str, Any]:
    start = _moment(row.date, i * 13)
    return {
        "resourceType": "Encounter",
        "id": f"encounter-{i}",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "serviceType": {"coding": [{"system": OK22_SERVICE_SYSTEM, "code": row.service_code}]},
        "subject": {"reference": f"Patient/{row.patient_id}"},
        "period": {"start": start},
    }


def _questionnaire_responses(answers: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """One completed response per run of rows of one respondent, survey and day, in order.

    The respondent pseudonym travels as the response's identifier, so the
    import gives back the same `respondent`; a row with neither an answer nor
    text ("not applicable") is no answer and is not written.
    """
    runs: list[tuple[Any, list[dict[str, Any]]]] = []
    key: tuple[Any, ...] | None = None
    rows: Iterator[Any] = iter(answers.itertuples(index=False))
    for row in rows:
        if (row.respondent, row.survey, row.version, row.date) != key:
            key = (row.respondent, row.survey, row.version, row.date)
            runs.append((row, []))
        if isinstance(row.text, str) and row.text:
            runs[-1][1].append({"linkId": row.item, "answer": [{"valueString": row.text}]})
        elif not pd.isna(row.answer):
            answer = {"valueInteger": int(row.answer)}
            runs[-1][1].append({"linkId": row.item, "answer": [answer]})
    for n, (first, items) in enumerate(run for run in runs if run[1]):
        response: dict[str, Any] = {
            "resourceType": "QuestionnaireResponse",
            "id": f"survey-response-{n}",
            "identifier": {"system": SURVEY_RESPONDENT_SYSTEM, "value": first.respondent},
            "questionnaire": questionnaire_url(first.survey, int(first.version)),
            "status": "completed",
            "authored": _moment(first.date, n * 17),
            "item": items,
        }
        if isinstance(first.patient, str) and first.patient:
            patient = {"reference": f"Patient/{first.patient}"}
            response["subject"] = patient
            response["source"] = patient
        yield response
