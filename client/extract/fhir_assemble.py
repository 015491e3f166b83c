"""Settling what needs the whole import: who is listed, whom references name, the tables.

Runs once every input has streamed through the mapping rules. The list
comes from the chosen Group, or from each Patient's list-membership
extension; bad patients are skipped with a counted reason (docs/fhir.md,
"Bad patients"); events whose patient was skipped, is not listed or is not
in the import are dropped and counted per resource. Each table is then built
from the compact columns and passed through the CSV loader's own
`validate_table`, largest first, so the engines get exactly what a CSV
extract gives them and the peak memory is one table's worth.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from client.extract.cells import TEXT
from client.extract.fhir_dates import iso_day
from client.extract.fhir_map import (
    CONDITION_SYSTEMS,
    LAB_SYSTEMS,
    NONE,
    RTYPES,
    Events,
    Mapper,
    MemberPeriod,
    Outcome,
    PatientRecord,
)
from client.extract.fhir_messages import text
from client.extract.fhir_survey import survey_table
from client.extract.issues import IssueLog
from client.extract.schema import SURVEY_RESPONSES, TABLES, Table
from client.extract.sources import RawTable
from client.extract.tables import Extract
from client.extract.validate import known_patient_ids, validate_table
from indicator_defs.survey_loader import installed_surveys

MIN_SKIPPED_ALLOWED = 5
EXAMPLES = 3


_KEPT, _SKIPPED, _NOT_LISTED, _UNKNOWN = 0, 1, 2, 3


@dataclass
class _Patients:
    ids: list[str]
    birth: list[int]
    sex: list[str]
    start: list[int]
    end: list[int]
    death: list[int]


def assemble(
    mapper: Mapper, group_id: str | None, max_skipped: float, fatal: list[str]
) -> Extract | None:
    members = _chosen_group(mapper, group_id, fatal)
    if fatal:
        return None
    kept = _Patients([], [], [], [], [], [])
    status_of_key: dict[str, tuple[int, int]] = {}
    skipped = not_listed = 0
    for record in mapper.patients:
        status, final = _settle(mapper, record, members, kept)
        skipped += status == _SKIPPED
        not_listed += status == _NOT_LISTED
        for key in record.keys:
            status_of_key[key] = (status, final)
    considered = len(mapper.patients) - not_listed
    allowed = max(MIN_SKIPPED_ALLOWED, math.floor(max_skipped * considered))
    mapper.patient_totals = {
        "read": len(mapper.patients),
        "listed": len(kept.ids),
        "skipped": skipped,
        "not_listed": not_listed,
        "cpr_like_ids": mapper.cpr_like_ids,
    }
    if skipped > allowed:
        fatal.append(text("too_many_skipped", skipped=skipped, read=considered, allowed=allowed))
    if not kept.ids:
        fatal.append(text("no_patients"))
    if fatal:
        return None

    ref_status = np.full((len(mapper.refs.values), 2), (_UNKNOWN, 0), dtype=np.int64)
    for i, key in enumerate(mapper.refs.values):
        if key in status_of_key:
            ref_status[i] = status_of_key[key]
    medication_codes = _resolve_medications(mapper)
    guard = IssueLog()
    patients = _patients_table(kept)
    ids = patients.column("patient_id").combine_chunks()
    frames = {"patients": _frame(TABLES[0], patients, guard, None)}
    known = known_patient_ids(frames["patients"])
    # Largest first: its transient columns then coexist with the fewest finished frames.
    for spec in sorted(TABLES[1:], key=lambda t: -len(getattr(mapper, t.name))):
        attribute = spec.name
        events = getattr(mapper, attribute)
        rows = _settled_rows(mapper, spec, events, ref_status, medication_codes)
        table = _event_table(mapper, spec, events, rows, ref_status, ids)
        setattr(mapper, attribute, Events())  # the columns live on in `table` only
        del events, rows
        frames[spec.name] = _frame(spec, table, guard, known)
        del table
        pa.default_memory_pool().release_unused()  # keep the peak to one table's worth
    answers = None
    if "QuestionnaireResponse" in mapper.counts:
        patient_of = {
            key: kept.ids[final]
            for key, (status, final) in status_of_key.items()
            if status == _KEPT
        }
        answers = _frame(
            SURVEY_RESPONSES, _survey_rows(mapper, patient_of, status_of_key), guard, known
        )
    problems = [
        str(issue)
        for issue in (*guard.report().fatal, *guard.report().warnings)
        if not (issue.kind == "before" and issue.column == "list_start")
        and issue.kind != "duplicate_respondent"  # noted per response by `_survey_rows`
    ]
    if problems:
        fatal.extend(f"internal: {p}" for p in problems[:EXAMPLES])
        return None
    return Extract(
        patients=frames["patients"],
        conditions=frames["conditions"],
        prescriptions=frames["prescriptions"],
        lab_results=frames["lab_results"],
        encounters=frames["encounters"],
        survey_responses=answers,
    )


def _survey_rows(
    mapper: Mapper, patient_of: dict[str, str], status_of_key: dict[str, tuple[int, int]]
) -> pa.Table:
    """The survey table, after counting the responses settled only now (docs/fhir.md)."""
    settled = survey_table(mapper.answers, patient_of)
    responses = mapper.answers.responses
    counts = mapper.counts["QuestionnaireResponse"]

    def note(i: int, element: str, kind: str, outcome: Outcome, message: Any) -> None:
        where = responses[i].where
        mapper.note(
            element,
            kind,
            outcome,
            message,
            rtype="QuestionnaireResponse",
            source=where >> 32,
            line=where & 0xFFFFFFFF,
            label=responses[i].key,
        )

    for i in settled.dropped:
        counts[2 if responses[i].altered else 1] -= 1
        counts[3] += 1
        day = iso_day(responses[i].day)
        note(
            i,
            "authored",
            "duplicate_response",
            Outcome.DROPPED,
            partial(text, "duplicate_response", value=day),
        )
    for i, first_day in settled.later:
        first = iso_day(first_day)
        note(
            i,
            "authored",
            "duplicate_respondent",
            Outcome.KEPT,
            partial(text, "duplicate_respondent", first=first),
        )
    dropped = set(settled.dropped)
    for i, response in enumerate(responses):
        person = response.person
        if i in dropped or not person or person in patient_of:
            continue
        if person in status_of_key or person.startswith("Patient/"):
            if not response.altered:
                counts[1] -= 1
                counts[2] += 1
            shown = repr(person)
            note(
                i,
                "source",
                "patient_link_blanked",
                Outcome.ALTERED,
                partial(text, "patient_link_blanked", value=shown),
            )
    return settled.table


def _chosen_group(
    mapper: Mapper, group_id: str | None, fatal: list[str]
) -> dict[str, list[MemberPeriod]] | None:
    if group_id is not None:
        if group_id not in mapper.groups:
            fatal.append(text("group_not_found", value=repr(group_id)))
            return None
        chosen = mapper.groups[group_id]
    elif len(mapper.groups) > 1:
        names = ", ".join(sorted(mapper.groups))
        fatal.append(text("groups", count=len(mapper.groups), value=names))
        return None
    elif mapper.groups:
        chosen = next(iter(mapper.groups.values()))
    else:
        return None
    by_key: dict[str, list[MemberPeriod]] = {}
    for key, period in chosen:
        by_key.setdefault(key, []).append(period)
    return by_key


def _settle(
    mapper: Mapper,
    record: PatientRecord,
    members: dict[str, list[MemberPeriod]] | None,
    kept: _Patients,
) -> tuple[int, int]:
    """(status, index in the extract) of one Patient, counting its outcome and reasons."""

    def skip(element: str, kind: str, message: Any) -> tuple[int, int]:
        mapper.note(
            element,
            kind,
            Outcome.DROPPED,
            message,
            rtype="Patient",
            source=record.source,
            line=record.line,
            label=f"Patient/{record.id}",
        )
        mapper.count("Patient", Outcome.DROPPED)
        return _SKIPPED, 0

    def tell(element: str, kind: str, outcome: Outcome, message: Any) -> None:
        mapper.note(
            element,
            kind,
            outcome,
            message,
            rtype="Patient",
            source=record.source,
            line=record.line,
            label=f"Patient/{record.id}",
        )

    if record.problem is not None:
        return skip(*record.problem)
    altered = record.altered
    if members is not None:
        periods = [p for key in record.keys for p in members.get(key, ())]
        if not periods:
            tell("", "not_listed", Outcome.DROPPED, lambda: text("not_listed"))
            mapper.count("Patient", Outcome.DROPPED)
            return _NOT_LISTED, 0
        good = [p for p in periods if p.problem is None]
        if not good:
            return skip(*periods[0].problem)  # type: ignore[misc]
        period = max(good, key=lambda p: p.start)
        if len(periods) > 1:
            n = len(periods)
            tell(
                "member",
                "several_list_periods",
                Outcome.ALTERED,
                lambda: text("several_list_periods", count=n),
            )
            altered = True
        if period.start == NONE:
            return skip("member.period.start", "no_list_start", lambda: text("no_list_start"))
        if period.inactive and period.end == NONE:
            return skip("member.inactive", "member_inactive", lambda: text("member_inactive"))
        start, end = period.start, period.end
    else:
        if not record.has_extension:
            return skip("extension", "no_list_membership", lambda: text("no_list_membership"))
        if record.ext_start == NONE:
            return skip(
                "extension.valuePeriod.start", "no_list_start", lambda: text("no_list_start")
            )
        start, end = record.ext_start, record.ext_end
    for later, later_name, earlier, earlier_name, fatal in (
        (end, "list_end", start, "list_start", True),
        (record.death, "deceasedDateTime", record.birth, "birthDate", True),
        (start, "list_start", record.birth, "birthDate", False),
    ):
        if later != NONE and earlier != NONE and later < earlier:
            consequence = "patient_skipped_consequence" if fatal else "kept_consequence"
            a, b = iso_day(later), iso_day(earlier)
            message = partial(_before, later_name, a, earlier_name, b, consequence)
            if fatal:
                return skip(later_name, "before", message)
            tell(later_name, "before", Outcome.KEPT, message)
    mapper.count("Patient", Outcome.ALTERED if altered else Outcome.KEPT)
    kept.ids.append(record.id)
    kept.birth.append(record.birth)
    kept.sex.append(record.sex)
    kept.start.append(start)
    kept.end.append(end)
    kept.death.append(record.death)
    return _KEPT, len(kept.ids) - 1


def _before(later: str, a: str, earlier: str, b: str, consequence: str) -> str:
    return text(
        "before", later=later, value=a, earlier=earlier, other=b, consequence=text(consequence)
    )


def _resolve_medications(mapper: Mapper) -> dict[int, int]:
    """Prescription row -> interned ATC code (NONE when the reference names nothing usable)."""
    out: dict[int, int] = {}
    for row, ref in mapper.pending_medications.items():
        atc = mapper.medications.get(ref)
        out[row] = NONE if atc is None else mapper.codes.id(atc)
    return out


_DEFERRED = (
    (_UNKNOWN, "subject", "unresolved_subject"),
    (_SKIPPED, "subject", "patient_skipped"),
    (_NOT_LISTED, "subject", "patient_not_listed"),
)


def _settled_rows(
    mapper: Mapper,
    spec: Table,
    events: Events,
    ref_status: np.ndarray,
    medication_codes: dict[int, int],
) -> np.ndarray:
    """Indices of the rows that stay, after counting every deferred reason for the rest."""
    n = len(events)
    refs = np.frombuffer(events.ref, dtype=np.int32) if n else np.zeros(0, np.int32)
    status = ref_status[refs, 0] if n else np.zeros(0, np.int64)
    drop = np.zeros(n, dtype=bool)
    reasons: list[tuple[str, str, np.ndarray, Any]] = []
    for code, element, kind in _DEFERRED:
        mask = status == code
        if mask.any():
            reasons.append((element, kind, mask, None))
    if medication_codes and spec.name == "prescriptions":
        code_column = events.code
        for row, atc in medication_codes.items():
            code_column[row] = atc
        unresolved = np.zeros(n, dtype=bool)
        rows = np.fromiter(medication_codes, dtype=np.int64)
        unresolved[rows] = np.frombuffer(code_column, dtype=np.int32)[rows] == NONE
        unresolved &= status == _KEPT
        if unresolved.any():
            reasons.append(("medicationReference", "unresolved_medication", unresolved, None))
    for element, kind, mask, _ in reasons:
        mask = mask & ~drop
        drop |= mask
        _count_deferred(mapper, spec, events, element, kind, mask)
    return np.flatnonzero(~drop)


_TABLE_TYPE = {"conditions": "Condition", "lab_results": "Observation", "encounters": "Encounter"}


def _count_deferred(
    mapper: Mapper, spec: Table, events: Events, element: str, kind: str, mask: np.ndarray
) -> None:
    """Move resources dropped after reading from kept/altered to dropped, with examples."""
    rows = np.flatnonzero(mask)
    if not len(rows):
        return
    where = np.frombuffer(events.where, dtype=np.int64)
    if spec.name == "prescriptions":
        rtype = np.frombuffer(events.rtype, dtype=np.int8)[rows]
    else:
        rtype = np.full(len(rows), RTYPES.index(_TABLE_TYPE[spec.name]), dtype=np.int8)
    altered = np.zeros(len(events), dtype=np.int8)
    altered[events.altered_rows] = 1
    altered = altered[rows]
    resource = where[rows]
    _, first = np.unique(resource, return_index=True)
    first.sort()
    for t in np.unique(rtype[first]).tolist():
        of_type = first[rtype[first] == t]
        name = RTYPES[t]
        counts = mapper.counts[name]
        n_altered = int(altered[of_type].sum())
        counts[1] -= len(of_type) - n_altered
        counts[2] -= n_altered
        counts[3] += len(of_type)
        refs = mapper.refs.values
        for i, row in enumerate(rows[of_type[:EXAMPLES]].tolist()):
            ref = refs[events.ref[row]]
            mapper.note(
                element,
                kind,
                Outcome.DROPPED,
                functools.partial(_dropped_text, kind, ref),
                rtype=name,
                source=events.where[row] >> 32,
                line=events.where[row] & 0xFFFFFFFF,
                label="",
                count=len(of_type) if i == 0 else 0,
            )


# --- building the tables -----------------------------------------------------------------


def _dates(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype(np.int32), type=pa.date32(), mask=days == NONE)


def _patients_table(kept: _Patients) -> pa.Table:
    return pa.table(
        {
            "patient_id": pa.array(kept.ids, TEXT),
            "birth_date": _dates(np.asarray(kept.birth, dtype=np.int64)),
            "sex": pa.array(kept.sex, TEXT),
            "list_start": _dates(np.asarray(kept.start, dtype=np.int64)),
            "list_end": _dates(np.asarray(kept.end, dtype=np.int64)),
            "death_date": _dates(np.asarray(kept.death, dtype=np.int64)),
        }
    )


def _event_table(
    mapper: Mapper,
    spec: Table,
    events: Events,
    rows: np.ndarray,
    ref_status: np.ndarray,
    ids: pa.Array,
) -> pa.Table:
    def column(values: Any, dtype: Any) -> np.ndarray:
        if not len(values):
            return np.zeros(0, dtype)
        return np.frombuffer(values, dtype=dtype)[rows]

    patient = ref_status[column(events.ref, np.int32), 1]
    codes = pa.array(mapper.codes.values, TEXT)
    out: dict[str, pa.Array] = {"patient_id": ids.take(pa.array(patient))}
    code_index = pa.array(column(events.code, np.int32))
    if spec.name == "conditions":
        out["system"] = pa.array(CONDITION_SYSTEMS, TEXT).take(
            pa.array(column(events.system, np.int8))
        )
        out["code"] = codes.take(code_index)
        out["start_date"] = _dates(column(events.day, np.int32).astype(np.int64))
        out["end_date"] = _dates(column(events.end, np.int32).astype(np.int64))
    elif spec.name == "prescriptions":
        out["date"] = _dates(column(events.day, np.int32).astype(np.int64))
        out["atc"] = codes.take(code_index)
        out["ddd"] = pa.array(column(events.value, np.float64))
        out["days_supply"] = pa.array(column(events.supply, np.float64))
    elif spec.name == "lab_results":
        out["date"] = _dates(column(events.day, np.int32).astype(np.int64))
        out["system"] = pa.array(LAB_SYSTEMS, TEXT).take(pa.array(column(events.system, np.int8)))
        out["code"] = codes.take(code_index)
        out["value"] = pa.array(column(events.value, np.float64))
        unit = column(events.unit, np.int32)
        units = pa.array(mapper.units.values, TEXT)
        out["unit"] = units.take(pa.array(np.where(unit == NONE, 0, unit), mask=unit == NONE))
    else:
        out["date"] = _dates(column(events.day, np.int32).astype(np.int64))
        out["service_code"] = codes.take(code_index)
    return pa.table(out)


def _frame(spec: Table, table: pa.Table, guard: IssueLog, known: pa.Array | None) -> pd.DataFrame:
    """The CSV loader's own validation builds the frame: same dtypes, same invariants.

    Every rule it checks was already applied (and counted) by the mapping, so
    any problem it still finds in `guard` is a bug in the import, reported as such.
    """
    raw = RawTable(
        spec,
        f"{spec.name}.parquet",
        {c: table.column(c) for c in spec.column_names},
        table.num_rows,
        lambda rows: np.asarray(rows, dtype=np.int64) + 1,
        0,
    )
    surveys = installed_surveys() if spec is SURVEY_RESPONSES else None
    frame, _ = validate_table(raw, guard, known, "patients.parquet", surveys=surveys)
    return frame


def _dropped_text(kind: str, ref: object) -> str:
    return text(kind, value=repr(ref))
