"""A FHIR R4 Bundle as an alternative extract input, and an extract as a Bundle.

The import maps each resource onto one schema-v1 row, writes the five
tables with `write_extract` into a temporary directory and loads them with
`load_extract`, so a Bundle passes exactly the validation a CSV extract
passes and yields the same dtypes. Loader problems are translated back to
the bundle entry (index, resource type/id) they came from.

Mapping (binding for EPJ vendors; docs/fhir.md):
- Patient: id -> patient_id; birthDate; gender female/male -> F/M;
  deceasedDateTime -> death_date. List membership is required and comes
  from the extension LIST_MEMBERSHIP_EXT (valuePeriod start/end): FHIR has
  no standard element for "on this practice's list since", and guessing one
  would silently change every denominator.
- Condition: code.coding ICPC-2 or SKS-D (or plain ICD-10) -> system
  ICPC2/ICD10 (SKS 'DE11' -> 'E11'); onsetDateTime -> start_date;
  abatementDateTime -> end_date.
- MedicationRequest (authoredOn) / MedicationStatement (effectiveDateTime or
  effectivePeriod.start): medicationCodeableConcept ATC -> atc; DDD from the
  extension DDD_EXT (valueDecimal), optional.
- Observation: code.coding NPU (either URI), DNK or local lab system;
  effectiveDateTime -> date; valueQuantity.value/unit -> value/unit.
- Encounter: period.start -> date; every OK22 coding in serviceType or type
  -> one encounters row.
A dateTime contributes its calendar date as written (no time-zone shift).
Resource types outside these five are an error, so nothing is silently
dropped.
"""

from __future__ import annotations

import dataclasses
import json
import re
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from client.extract.errors import ExtractError
from client.extract.loader import load_extract
from client.extract.schema import TABLES, ColumnKind
from client.extract.tables import Extract, ExtractIssue
from client.extract.writer import write_extract
from common.errors import KlyngeError
from indicator_defs.fhir_measure import (
    ATC_SYSTEM,
    CANONICAL_BASE,
    DNK_LAB_SYSTEM,
    ICD10_SYSTEM,
    ICPC2_SYSTEM,
    LOCAL_LAB_SYSTEM,
    NPU_LEGACY_SYSTEM,
    NPU_SYSTEM,
    OK22_SERVICE_SYSTEM,
    SKS_D_SYSTEM,
    sks_code,
)

LIST_MEMBERSHIP_EXT = f"{CANONICAL_BASE}/StructureDefinition/list-membership"
DDD_EXT = f"{CANONICAL_BASE}/StructureDefinition/ddd"

CONDITION_SYSTEMS = {ICPC2_SYSTEM: "ICPC2", SKS_D_SYSTEM: "ICD10", ICD10_SYSTEM: "ICD10"}
LAB_SYSTEMS = {
    NPU_SYSTEM: "NPU",
    NPU_LEGACY_SYSTEM: "NPU",
    DNK_LAB_SYSTEM: "DNK",
    LOCAL_LAB_SYSTEM: "LOCAL",
}
_LAB_URI_OUT = {"NPU": NPU_SYSTEM, "DNK": DNK_LAB_SYSTEM, "LOCAL": LOCAL_LAB_SYSTEM}
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(T.*)?$")
_SKS_D = re.compile(r"^D[A-Z]\d")
_ROW_OF = {
    "Patient": "patients",
    "Condition": "conditions",
    "MedicationRequest": "prescriptions",
    "MedicationStatement": "prescriptions",
    "Observation": "lab_results",
    "Encounter": "encounters",
}


class FhirBundleError(KlyngeError):
    """A Bundle that cannot become an extract; the message names the entry and field."""


@dataclasses.dataclass(frozen=True)
class _Where:
    """Where a row came from, for error messages."""

    file: str
    index: int | None
    resource_type: str
    resource_id: str | None

    def __str__(self) -> str:
        if self.index is None:
            return self.file
        rid = f"/{self.resource_id}" if self.resource_id else ""
        return f"{self.file}: entry {self.index} ({self.resource_type}{rid})"

    def fail(self, field: str, problem: str) -> FhirBundleError:
        return FhirBundleError(f"{self}, field {field}: {problem}")


# --- import -------------------------------------------------------------------


def load_fhir_bundle(path: Path | str, *, strict: bool = False) -> Extract:
    """Read a FHIR R4 Bundle (JSON, type collection or transaction) as a validated Extract."""
    path = Path(path)
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FhirBundleError(f"{path}: cannot read ({exc.strerror})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FhirBundleError(f"{path}: not a JSON document ({exc})") from None
    return bundle_to_extract(bundle, name=path.name, source=path, strict=strict)


def bundle_to_extract(
    bundle: Any, *, name: str = "bundle", source: Path | None = None, strict: bool = False
) -> Extract:
    """The pure part of `load_fhir_bundle`: a parsed Bundle to a validated Extract."""
    top = _Where(name, None, "Bundle", None)
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        found = bundle.get("resourceType") if isinstance(bundle, dict) else type(bundle).__name__
        raise top.fail("resourceType", f"expected 'Bundle', found {found!r}")
    if bundle.get("type") not in ("collection", "transaction"):
        raise top.fail(
            "type", f"expected 'collection' or 'transaction', found {bundle.get('type')!r}"
        )
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        raise top.fail("entry", "must be a list")

    resources = list(_resources(entries, name))
    patient_refs = _patient_references(resources)
    rows: dict[str, list[dict[str, Any]]] = {t.name: [] for t in TABLES}
    origins: dict[str, list[_Where]] = {t.name: [] for t in TABLES}
    for where, _entry_json, resource in resources:
        table = _ROW_OF[where.resource_type]
        if table == "patients":
            new = [_patient_row(resource, where)]
        else:
            patient = _subject(resource, where, patient_refs)
            new = [{"patient_id": patient, **r} for r in _event_rows(resource, where)]
        rows[table].extend(new)
        origins[table].extend([where] * len(new))
    extract = _validated(rows, origins, name, strict)
    return dataclasses.replace(extract, source=source)


def _resources(entries: list[Any], name: str) -> Iterator[tuple[_Where, Any, dict[str, Any]]]:
    for index, entry in enumerate(entries):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise _Where(name, index, "?", None).fail("resource", "missing or not an object")
        rtype = resource.get("resourceType")
        rid = resource.get("id")
        where = _Where(name, index, str(rtype), rid if isinstance(rid, str) else None)
        if rtype not in _ROW_OF:
            raise where.fail(
                "resourceType",
                f"unsupported {rtype!r}; expected one of {', '.join(sorted(set(_ROW_OF)))}",
            )
        yield where, entry, resource


def _patient_references(
    resources: list[tuple[_Where, Any, dict[str, Any]]],
) -> dict[str, str]:
    """Every way an event may point at a patient ('Patient/id' or the entry's fullUrl) -> id."""
    refs: dict[str, str] = {}
    for where, entry, resource in resources:
        if where.resource_type != "Patient":
            continue
        pid = resource.get("id")
        if not isinstance(pid, str) or not pid:
            raise where.fail("id", "a Patient needs an id (the practice-local pseudonym)")
        if f"Patient/{pid}" in refs:
            raise where.fail("id", f"patient {pid!r} appears twice")
        refs[f"Patient/{pid}"] = pid
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str) and full_url:
            refs[full_url] = pid
    return refs


def _subject(resource: dict[str, Any], where: _Where, refs: dict[str, str]) -> str:
    subject = resource.get("subject")
    ref = subject.get("reference") if isinstance(subject, dict) else None
    if not isinstance(ref, str):
        raise where.fail("subject", "missing subject.reference to a Patient in the bundle")
    if ref not in refs:
        raise where.fail("subject.reference", f"{ref!r} is not a Patient in this bundle")
    return refs[ref]


def _date(value: Any, where: _Where, field: str, *, required: bool) -> date | None:
    if value is None:
        if required:
            raise where.fail(field, "missing")
        return None
    match = _DATE.match(value) if isinstance(value, str) else None
    if not match:
        raise where.fail(field, f"{value!r} is not a full date (YYYY-MM-DD[Thh:mm:ss...])")
    try:
        return date.fromisoformat(match.group(1))
    except ValueError:
        raise where.fail(field, f"{value!r} is not a calendar date") from None


def _patient_row(resource: dict[str, Any], where: _Where) -> dict[str, Any]:
    gender = resource.get("gender")
    sex = {"female": "F", "male": "M"}.get(gender) if isinstance(gender, str) else None
    if sex is None:
        raise where.fail("gender", f"{gender!r}: Klynge's strata need 'female' or 'male'")
    if resource.get("deceasedBoolean") is True:
        raise where.fail("deceasedBoolean", "true without a date: give deceasedDateTime")
    membership = _extension(resource, LIST_MEMBERSHIP_EXT)
    if membership is None:
        raise where.fail(
            "extension", f"missing list membership extension {LIST_MEMBERSHIP_EXT} (valuePeriod)"
        )
    period = membership.get("valuePeriod")
    if not isinstance(period, dict):
        raise where.fail("extension.valuePeriod", "list membership needs a valuePeriod")
    return {
        "patient_id": resource["id"],
        "birth_date": _date(resource.get("birthDate"), where, "birthDate", required=True),
        "sex": sex,
        "list_start": _date(
            period.get("start"), where, "extension.valuePeriod.start", required=True
        ),
        "list_end": _date(period.get("end"), where, "extension.valuePeriod.end", required=False),
        "death_date": _date(
            resource.get("deceasedDateTime"), where, "deceasedDateTime", required=False
        ),
    }


def _extension(resource: dict[str, Any], url: str) -> dict[str, Any] | None:
    for ext in resource.get("extension", []) or []:
        if isinstance(ext, dict) and ext.get("url") == url:
            return ext
    return None


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding", []) or [] if isinstance(c, dict)]


def _pick(concept: Any, systems: dict[str, str], where: _Where, field: str) -> tuple[str, str, str]:
    """(Klynge system, code, URI) of the first coding in a known system; errors name the rest."""
    codings = _codings(concept)
    for coding in codings:
        if coding.get("system") in systems:
            code = coding.get("code")
            if not isinstance(code, str) or not code.strip():
                raise where.fail(f"{field}.coding.code", "missing code")
            return systems[coding["system"]], code.strip(), coding["system"]
    found = ", ".join(repr(c.get("system")) for c in codings) or "no coding"
    raise where.fail(
        f"{field}.coding", f"no code in a known system (found {found}); use {', '.join(systems)}"
    )


def _event_rows(resource: dict[str, Any], where: _Where) -> list[dict[str, Any]]:
    rtype = where.resource_type
    if rtype == "Condition":
        system, code, uri = _pick(resource.get("code"), CONDITION_SYSTEMS, where, "code")
        if uri == SKS_D_SYSTEM:
            if not _SKS_D.match(code):
                raise where.fail("code.coding.code", f"{code!r} is not an SKS diagnosis like DE11")
            code = code[1:]
        return [
            {
                "system": system,
                "code": code,
                "start_date": _date(
                    resource.get("onsetDateTime"), where, "onsetDateTime", required=True
                ),
                "end_date": _date(
                    resource.get("abatementDateTime"), where, "abatementDateTime", required=False
                ),
            }
        ]
    if rtype in ("MedicationRequest", "MedicationStatement"):
        _, atc, _ = _pick(
            resource.get("medicationCodeableConcept"),
            {ATC_SYSTEM: "ATC"},
            where,
            "medicationCodeableConcept",
        )
        if rtype == "MedicationRequest":
            when = _date(resource.get("authoredOn"), where, "authoredOn", required=True)
        else:
            raw = resource.get("effectiveDateTime")
            field = "effectiveDateTime"
            if raw is None and isinstance(resource.get("effectivePeriod"), dict):
                raw, field = resource["effectivePeriod"].get("start"), "effectivePeriod.start"
            when = _date(raw, where, field, required=True)
        return [{"date": when, "atc": atc, "ddd": _ddd(resource, where)}]
    if rtype == "Observation":
        system, code, _ = _pick(resource.get("code"), LAB_SYSTEMS, where, "code")
        quantity = resource.get("valueQuantity")
        value, unit = np.nan, None
        if quantity is not None:
            if not isinstance(quantity, dict):
                raise where.fail("valueQuantity", "must be an object")
            raw = quantity.get("value")
            if raw is not None:
                if isinstance(raw, bool) or not isinstance(raw, (int, float)):
                    raise where.fail("valueQuantity.value", f"{raw!r} is not a number")
                value = float(raw)
            unit = quantity.get("unit", quantity.get("code"))
            if unit is not None and not isinstance(unit, str):
                raise where.fail("valueQuantity.unit", f"{unit!r} is not text")
        return [
            {
                "date": _date(
                    resource.get("effectiveDateTime"), where, "effectiveDateTime", required=True
                ),
                "system": system,
                "code": code,
                "value": value,
                "unit": unit,
            }
        ]
    # Encounter
    period = resource.get("period")
    start = period.get("start") if isinstance(period, dict) else None
    when = _date(start, where, "period.start", required=True)
    concepts = [resource.get("serviceType"), *(resource.get("type") or [])]
    codes = [
        c.get("code")
        for concept in concepts
        for c in _codings(concept)
        if c.get("system") == OK22_SERVICE_SYSTEM
    ]
    if not codes:
        raise where.fail(
            "serviceType",
            f"no OK22 service code (system {OK22_SERVICE_SYSTEM}) in serviceType/type",
        )
    bad = [c for c in codes if not isinstance(c, str) or not c]
    if bad:
        raise where.fail("serviceType.coding.code", "missing code")
    return [{"date": when, "service_code": c} for c in dict.fromkeys(codes)]


def _ddd(resource: dict[str, Any], where: _Where) -> float:
    ext = _extension(resource, DDD_EXT)
    if ext is None:
        return np.nan
    value = ext.get("valueDecimal")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise where.fail("extension(ddd).valueDecimal", f"{value!r} is not a number")
    return float(value)


def _frame(table_name: str, rows: list[dict[str, Any]]) -> pd.DataFrame:
    spec = next(t for t in TABLES if t.name == table_name)
    columns: dict[str, Any] = {}
    for col in spec.columns:
        values = [r.get(col.name) for r in rows]
        if col.kind is ColumnKind.DATE:
            columns[col.name] = pd.Series(
                [np.datetime64("NaT") if v is None else np.datetime64(v, "D") for v in values],
                dtype="datetime64[us]",
            )
        elif col.kind is ColumnKind.DECIMAL:
            columns[col.name] = pd.Series(values, dtype="float64")
        else:
            columns[col.name] = pd.Series(values, dtype="str" if values else "object")
    return pd.DataFrame(columns, columns=list(spec.column_names))


def _validated(
    rows: dict[str, list[dict[str, Any]]],
    origins: dict[str, list[_Where]],
    name: str,
    strict: bool,
) -> Extract:
    """Reuse the CSV loader's validation; map its line numbers back to bundle entries."""
    frames: dict[str, Any] = {t: _frame(t, r) for t, r in rows.items()}
    draft = Extract(**frames)
    with tempfile.TemporaryDirectory(prefix="klynge-fhir-") as tmp:
        write_extract(draft, Path(tmp), "csv")
        try:
            extract = load_extract(tmp, strict=strict)
        except ExtractError as exc:
            lines = [_translate(i, origins, name) for i in exc.issues]
            raise FhirBundleError(
                f"{name}: {exc.problem_count} problem(s):\n" + "\n".join(f"  {s}" for s in lines)
            ) from None
    warnings = tuple(
        dataclasses.replace(w, file=name, line=None, message=_translate(w, origins, name))
        for w in extract.warnings
    )
    return dataclasses.replace(extract, warnings=warnings)


def _translate(issue: ExtractIssue, origins: dict[str, list[_Where]], name: str) -> str:
    table = issue.file.rsplit(".", 1)[0]
    where: object = name
    if issue.line is not None and table in origins and 2 <= issue.line <= len(origins[table]) + 1:
        where = origins[table][issue.line - 2]
    column = f", column {issue.column}" if issue.column else ""
    return f"{where} ({table}{column}): {issue.message}"


# --- export -------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    return None if pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    key = f"{resource['resourceType']}/{resource['id']}"
    return {"fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, key)}", "resource": resource}


def extract_to_bundle(extract: Extract) -> dict[str, Any]:
    """The extract as a FHIR R4 collection Bundle that `load_fhir_bundle` reads back unchanged.

    For tests and for EPJ vendors who want a worked example of the mapping.
    Patient ids must already be valid FHIR ids (the pseudonyms are hex).
    """
    entries: list[dict[str, Any]] = []
    for row in extract.rows("patients"):
        period = {"start": _iso(row.list_start)}
        if _iso(row.list_end):
            period["end"] = _iso(row.list_end)
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": row.patient_id,
            "extension": [{"url": LIST_MEMBERSHIP_EXT, "valuePeriod": period}],
            "gender": "female" if row.sex == "F" else "male",
            "birthDate": _iso(row.birth_date),
        }
        if _iso(row.death_date):
            patient["deceasedDateTime"] = _iso(row.death_date)
        entries.append(_entry(patient))
    for i, row in enumerate(extract.rows("conditions")):
        if row.system == "ICPC2":
            coding = {"system": ICPC2_SYSTEM, "code": row.code}
        else:
            coding = {"system": SKS_D_SYSTEM, "code": sks_code(row.code)}
        condition: dict[str, Any] = {
            "resourceType": "Condition",
            "id": f"condition-{i}",
            "subject": {"reference": f"Patient/{row.patient_id}"},
            "code": {"coding": [coding]},
            "onsetDateTime": _iso(row.start_date),
        }
        if _iso(row.end_date):
            condition["abatementDateTime"] = _iso(row.end_date)
        entries.append(_entry(condition))
    for i, row in enumerate(extract.rows("prescriptions")):
        request: dict[str, Any] = {
            "resourceType": "MedicationRequest",
            "id": f"prescription-{i}",
            "status": "completed",
            "intent": "order",
            "subject": {"reference": f"Patient/{row.patient_id}"},
            "medicationCodeableConcept": {"coding": [{"system": ATC_SYSTEM, "code": row.atc}]},
            "authoredOn": _iso(row.date),
        }
        if not pd.isna(row.ddd):
            request["extension"] = [{"url": DDD_EXT, "valueDecimal": float(row.ddd)}]
        entries.append(_entry(request))
    for i, row in enumerate(extract.rows("lab_results")):
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "id": f"lab-{i}",
            "status": "final",
            "code": {"coding": [{"system": _LAB_URI_OUT[row.system], "code": row.code}]},
            "subject": {"reference": f"Patient/{row.patient_id}"},
            "effectiveDateTime": _iso(row.date),
        }
        quantity: dict[str, Any] = {}
        if not pd.isna(row.value):
            quantity["value"] = float(row.value)
        if isinstance(row.unit, str):
            quantity["unit"] = row.unit
        if quantity:
            observation["valueQuantity"] = quantity
        entries.append(_entry(observation))
    for i, row in enumerate(extract.rows("encounters")):
        entries.append(
            _entry(
                {
                    "resourceType": "Encounter",
                    "id": f"encounter-{i}",
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                    },
                    "serviceType": {
                        "coding": [{"system": OK22_SERVICE_SYSTEM, "code": row.service_code}]
                    },
                    "subject": {"reference": f"Patient/{row.patient_id}"},
                    "period": {"start": _iso(row.date), "end": _iso(row.date)},
                }
            )
        )
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}
