"""The mapping rules: each FHIR resource becomes extract rows, or a counted reason why not.

The rules are binding for EPJ vendors and are documented, with the reasons
they exist, in docs/fhir.md ("Mapping rules"); `tests/test_fhir_rules.py`
proves each one gives the numbers the same facts give through a CSV extract.

Rows are stored column by column in compact arrays (interned codes, days as
integers) while the input streams past; nothing per resource is kept. What
cannot be decided while streaming (which Patient a reference names, whether
that patient is on the list, which Medication a reference names) is settled
in `client.extract.fhir_import` once everything is read.
"""

from __future__ import annotations

import functools
import math
import re
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from client.extract.fhir_codes import (
    Thresholds,
    condition_code,
    is_atc,
    is_service,
    lab_code,
    most_specific,
)
from client.extract.fhir_dates import (
    BAD,
    NO_ZONE,
    PARTIAL,
    PARTIAL_DATE,
    DanishDays,
    iso_day,
    last_day,
)
from client.extract.fhir_messages import text
from client.extract.fhir_model import CodeableConcept, Coding, Period, Resource
from client.extract.fhir_survey import Answers, Rejected, person_reference, read_response
from client.extract.issues import Effect, IssueLog
from common.cpr import has_cpr, mask_cpr
from indicator_defs.fhir_extensions import DDD, LIST_MEMBERSHIP
from indicator_defs.fhir_measure import ATC_SYSTEM, OK22_SERVICE_SYSTEM

LIST_MEMBERSHIP_EXT = LIST_MEMBERSHIP.url
DDD_EXT = DDD.url

NONE = -2_000_000_000  # an absent day, code or reference in the integer columns


class Outcome(Enum):
    KEPT = "kept"
    ALTERED = "altered"
    DROPPED = "dropped"


_OUTCOME_SLOT = {Outcome.KEPT: 1, Outcome.ALTERED: 2, Outcome.DROPPED: 3}
_COUNTED_LATER = frozenset({"Patient", "Group", "Medication"})  # counted by their own handlers


# --- status rules (docs/fhir.md, "Status") ------------------------------------------------

CONDITION_DROPPED_VERIFICATION = frozenset(
    {"entered-in-error", "refuted", "unconfirmed", "provisional", "differential"}
)
CONDITION_ENDED = frozenset({"inactive", "remission", "resolved"})
REQUEST_KEPT_STATUS = frozenset({"active", "completed", "on-hold", "stopped", "unknown"})
REQUEST_KEPT_INTENT = frozenset(
    {"order", "original-order", "reflex-order", "filler-order", "instance-order"}
)
STATEMENT_KEPT_STATUS = frozenset({"active", "completed", "stopped", "on-hold", "unknown"})
OBSERVATION_KEPT_STATUS = frozenset({"final", "amended", "corrected", "preliminary", "unknown"})
ENCOUNTER_DROPPED_STATUS = frozenset({"planned", "cancelled", "entered-in-error"})
USED_TYPES = frozenset(
    {
        "Patient",
        "Condition",
        "MedicationRequest",
        "MedicationStatement",
        "Observation",
        "Encounter",
        "Medication",
        "Group",
        "QuestionnaireResponse",
    }
)
_VALUE_TEXT = re.compile(r"^\s*(<=|>=|<|>)?\s*([+-]?\d+(?:[.,]\d+)?)\s*$")


@dataclass
class Strings:
    """Interned text: each distinct code or unit is stored once and referred to by number."""

    index: dict[str, int] = field(default_factory=dict)
    values: list[str] = field(default_factory=list)

    def id(self, value: str) -> int:
        found = self.index.get(value)
        if found is None:
            found = self.index[value] = len(self.values)
            self.values.append(value)
        return found


@dataclass
class Events:
    """One event table's columns (the table's own columns plus where each row came from)."""

    ref: array = field(default_factory=lambda: array("i"))  # interned subject reference
    day: array = field(default_factory=lambda: array("i"))  # date / start_date
    end: array = field(default_factory=lambda: array("i"))  # conditions: end_date
    system: array = field(default_factory=lambda: array("b"))  # conditions and labs
    code: array = field(default_factory=lambda: array("i"))  # code / atc / service_code
    value: array = field(default_factory=lambda: array("d"))  # labs: value; prescriptions: ddd
    supply: array = field(default_factory=lambda: array("d"))  # prescriptions: days_supply
    unit: array = field(default_factory=lambda: array("i"))
    rtype: array = field(default_factory=lambda: array("b"))  # prescriptions: index in RTYPES
    where: array = field(default_factory=lambda: array("q"))  # source << 32 | entry or line
    altered_rows: list[int] = field(default_factory=list)  # rows of resources already altered

    def __len__(self) -> int:
        return len(self.ref)


_DAYS_PER_UNIT = {"d": 1.0, "wk": 7.0}  # UCUM codes a supply duration may use
RTYPES = ("Condition", "MedicationRequest", "MedicationStatement", "Observation", "Encounter")
_RTYPE = {name: i for i, name in enumerate(RTYPES)}
CONDITION_SYSTEMS = ("ICPC2", "ICD10")
LAB_SYSTEMS = ("NPU", "DNK", "LOCAL")
_LAB_SYSTEM_INDEX = {name: i for i, name in enumerate(LAB_SYSTEMS)}


@dataclass
class PatientRecord:
    """One Patient as read; list membership is settled once every Group has been seen."""

    id: str
    keys: tuple[str, ...]  # every reference that names it ('Patient/id', its fullUrl)
    birth: int
    sex: str
    death: int
    ext_start: int
    ext_end: int
    has_extension: bool
    source: int
    line: int
    problem: tuple[str, str, Callable[[], str]] | None = None  # (element, kind, message)
    altered: bool = False

    def same_facts(self, other: PatientRecord) -> bool:
        return (self.birth, self.sex, self.death, self.ext_start, self.ext_end) == (
            other.birth,
            other.sex,
            other.death,
            other.ext_start,
            other.ext_end,
        )


@dataclass(frozen=True)
class MemberPeriod:
    start: int
    end: int
    inactive: bool
    source: int
    line: int
    problem: tuple[str, str, Callable[[], str]] | None = None  # a period that names no day


class Mapper:
    """Applies the mapping rules to resources as they stream past."""

    def __init__(self, sources: list[str], log: IssueLog, thresholds: Thresholds) -> None:
        self.sources = sources
        self.log = log
        self.thresholds = thresholds
        self.days = DanishDays()
        self._plain_days = self.days.cache
        self._timed_days = self.days.timed
        self.codes = Strings()
        self.units = Strings()
        self.refs = Strings()
        self._ref_ids: dict[str, int] = {}  # references as written -> interned reference_key
        self.conditions = Events()
        self.prescriptions = Events()
        self.lab_results = Events()
        self.encounters = Events()
        self.answers = Answers()  # survey answers (client.extract.fhir_survey)
        self.patients: list[PatientRecord] = []
        self.patient_by_id: dict[str, int] = {}
        self.groups: dict[str, list[tuple[str, MemberPeriod]]] = {}
        self.medications: dict[str, str | None] = {}  # 'Medication/id' -> ATC (None: conflict)
        self.pending_medications: dict[int, str] = {}  # prescription row -> its reference
        self.counts: dict[str, list[int]] = {}  # type -> [read, kept, altered, dropped]
        self.outcomes: dict[tuple[str, str], Outcome] = {}  # (element path, kind) -> outcome
        self.cpr_like_ids = 0
        self.patient_totals: dict[str, int] = {}  # set once the list is settled
        # the resource being mapped
        self._type = ""
        self._id: str | None = None
        self._altered = False

    # --- bookkeeping -----------------------------------------------------------------------

    def note(
        self,
        element: str,
        kind: str,
        outcome: Outcome,
        message: Callable[[], str],
        *,
        rtype: str | None = None,
        source: int | None = None,
        line: int | None = None,
        label: str | None = None,
        count: int = 1,
    ) -> None:
        """Count one reason for the current resource (or the one named) with a lazy example."""
        rtype = rtype or self._type
        shown = label if label is not None else self._label()
        column = f"{rtype}.{element}" if element else rtype
        self.outcomes[(column, kind)] = outcome
        self.log.add(
            self.sources[self._src if source is None else source],
            kind,
            lambda: mask_cpr(f"{shown}: {message()}" if shown else message()),
            Effect.IGNORED,
            line=self._line if line is None else line,
            column=column,
            count=count,
        )
        if outcome is Outcome.ALTERED:
            self._altered = True

    @property
    def _src(self) -> int:
        return self._where >> 32

    @property
    def _line(self) -> int:
        return self._where & 0xFFFFFFFF

    def _label(self) -> str:
        return f"{self._type}/{self._id}" if self._id else self._type

    def count(self, rtype: str, outcome: Outcome) -> None:
        """Count one resource of `rtype` with its final outcome."""
        counts = self.counts.get(rtype)
        if counts is None:
            counts = self.counts[rtype] = [0, 0, 0, 0]
        counts[0] += 1
        counts[_OUTCOME_SLOT[outcome]] += 1

    def _known_day(self, value: str) -> int | None:
        """The day of a date or zoned dateTime already seen (the common case), else None."""
        if len(value) == 10:
            return self._plain_days.get(value)
        day = self._timed_days.get(value[:13] + ("Z" if value[-1] == "Z" else value[-6:]))
        return day if day is not None and BAD < day < NO_ZONE else None

    def _day(self, value: str | None, element: str, *, patient: bool = False) -> int | None:
        """The Danish day of a date/dateTime; None (and a counted reason) when it names no day."""
        if value is None:
            return None
        day = self._known_day(value)
        if day is not None:
            return day
        day = self.days.day(value)
        if day >= NO_ZONE:
            self.note(
                element, "no_zone", Outcome.ALTERED, lambda: text("no_zone", value=repr(value))
            )
            return day - NO_ZONE
        if day in (BAD, PARTIAL):
            consequence = "patient_skipped_consequence" if patient else "dropped_consequence"
            kind = "bad_date" if day == BAD else "partial_date"
            raise _Rejected(
                element,
                kind,
                lambda: text(kind, value=repr(value), consequence=text(consequence)),
            )
        return day

    # --- entry point -----------------------------------------------------------------------

    def resource(self, res: Resource, source: int, line: int, full_url: str | None) -> None:
        rtype = res.resourceType or "?"
        self._type, self._id = rtype, res.id
        self._where = (source << 32) | line
        self._altered = False
        handler = _HANDLERS.get(rtype)
        if handler is None:
            self.note(
                "",
                "not_used",
                Outcome.DROPPED,
                lambda: text("not_used", value=repr(rtype)),
                label="",
            )
            self.count(rtype, Outcome.DROPPED)
            return
        try:
            handler(self, res, full_url)
        except _Rejected as rejected:
            if rtype == "Patient" and res.id and rejected.skip_patient:
                self._skip_patient(res, full_url, rejected)
                return
            self.note(rejected.element, rejected.kind, Outcome.DROPPED, rejected.message)
            self.count(rtype, Outcome.DROPPED)
            return
        if rtype not in _COUNTED_LATER:
            counts = self.counts.get(rtype)
            if counts is None:
                counts = self.counts[rtype] = [0, 0, 0, 0]
            counts[0] += 1
            counts[2 if self._altered else 1] += 1

    def malformed(self, rtype: str | None, rid: str | None, path: str, problem: str) -> None:
        """A resource msgspec could not read as FHIR: dropped, or its patient skipped."""
        self._type, self._id = rtype or "?", rid
        self._altered = False
        consequence = "patient_skipped_consequence" if rtype == "Patient" else "dropped_consequence"

        def message() -> str:
            return text("malformed", problem=problem, path=path, consequence=text(consequence))

        if rtype == "Patient" and rid:
            self._skip_patient(None, None, _Rejected(path, "malformed", message), rid=rid)
            return
        self.note(path, "malformed", Outcome.DROPPED, message)
        self.count(self._type, Outcome.DROPPED)

    def no_resource(self, method: str | None) -> None:
        self._type, self._id = "Bundle.entry", None
        self.note(
            "", "no_resource", Outcome.DROPPED, lambda: text("no_resource", value=repr(method))
        )
        self.count("Bundle.entry", Outcome.DROPPED)

    def export_error(self, source: int, line: int, shown: str) -> None:
        """An OperationOutcome from a Bulk Data error file: data the server could not export."""
        self.set_position(source, line)
        self._type, self._id = "OperationOutcome", None
        self.note("", "export_error", Outcome.DROPPED, lambda: text("export_error", value=shown))

    def set_position(self, source: int, line: int) -> None:
        self._where = (source << 32) | line

    # --- Patient ---------------------------------------------------------------------------

    def _patient(self, res: Resource, full_url: str | None) -> None:
        if not res.id:
            raise _Rejected("id", "no_id", lambda: text("no_id"))
        if res.active is False:
            raise _Rejected("active", "inactive_record", lambda: text("inactive_record"), skip=True)
        gender = res.gender
        sex = "F" if gender == "female" else "M" if gender == "male" else None
        if sex is None:
            raise _Rejected(
                "gender", "gender", lambda: text("gender", value=repr(gender)), skip=True
            )
        if res.birthDate is None:
            raise _Rejected("birthDate", "no_birth_date", lambda: text("no_birth_date"), skip=True)
        birth = self._day(res.birthDate, "birthDate", patient=True)
        death = self._day(res.deceasedDateTime, "deceasedDateTime", patient=True)
        if death is None and res.deceasedBoolean:
            raise _Rejected(
                "deceasedBoolean",
                "death_without_date",
                lambda: text("death_without_date"),
                skip=True,
            )
        start = end = NONE
        has_extension = False
        for ext in res.extension or ():
            if ext.url == LIST_MEMBERSHIP_EXT and ext.valuePeriod is not None:
                has_extension = True
                first = self._day(
                    ext.valuePeriod.start, "extension.valuePeriod.start", patient=True
                )
                start = NONE if first is None else first
                last = self._day(ext.valuePeriod.end, "extension.valuePeriod.end", patient=True)
                end = NONE if last is None else last
        record = PatientRecord(
            res.id,
            _patient_keys(res.id, full_url),
            birth if birth is not None else NONE,
            sex,
            NONE if death is None else death,
            start,
            end,
            has_extension,
            self._src,
            self._line,
            altered=self._altered,
        )
        self._add_patient(record)

    def _add_patient(self, record: PatientRecord) -> None:
        known = self.patient_by_id.get(record.id)
        if known is not None:
            first = self.patients[known]
            if first.problem is None and first.same_facts(record):
                self.note(
                    "id", "duplicate_resource", Outcome.DROPPED, lambda: text("duplicate_resource")
                )
                self.count("Patient", Outcome.DROPPED)
                return
            if first.problem is None:
                first.problem = ("id", "duplicate_patient", lambda: text("duplicate_patient"))
            first.keys = tuple(dict.fromkeys(first.keys + record.keys))
            self.note("id", "duplicate_patient", Outcome.DROPPED, lambda: text("duplicate_patient"))
            self.count("Patient", Outcome.DROPPED)
            return
        if has_cpr(record.id):
            self.cpr_like_ids += 1
            self.note("id", "cpr_like_id", Outcome.KEPT, lambda: text("cpr_like_id"))
        self.patient_by_id[record.id] = len(self.patients)
        self.patients.append(record)

    def _skip_patient(
        self,
        res: Resource | None,
        full_url: str | None,
        rejected: _Rejected,
        *,
        rid: str | None = None,
    ) -> None:
        """Keep a bad Patient's identity, so its events are dropped for that reason."""
        pid = rid if res is None else res.id
        assert pid is not None
        record = PatientRecord(
            pid,
            _patient_keys(pid, full_url),
            NONE,
            "",
            NONE,
            NONE,
            NONE,
            False,
            self._src,
            self._line,
            problem=(rejected.element, rejected.kind, rejected.message),
        )
        known = self.patient_by_id.get(pid)
        if known is not None:
            self.patients[known].problem = record.problem
            self.patients[known].keys = tuple(
                dict.fromkeys(self.patients[known].keys + record.keys)
            )
            self.count("Patient", Outcome.DROPPED)
            self.note(rejected.element, rejected.kind, Outcome.DROPPED, rejected.message)
            return
        if has_cpr(pid):
            self.cpr_like_ids += 1
        self.patient_by_id[pid] = len(self.patients)
        self.patients.append(record)

    # --- Group and Medication ----------------------------------------------------------------

    def _group(self, res: Resource, full_url: str | None) -> None:
        members: list[tuple[str, MemberPeriod]] = []
        for member in res.member or ():
            ref = member.entity.reference if member.entity is not None else None
            if not ref:
                continue
            period = member.period or Period()
            problem = None
            try:
                start = self._day(period.start, "member.period.start", patient=True)
                end = self._day(period.end, "member.period.end", patient=True)
            except _Rejected as rejected:
                start = end = None
                problem = (rejected.element, rejected.kind, rejected.message)
            members.append(
                (
                    reference_key(ref),
                    MemberPeriod(
                        NONE if start is None else start,
                        NONE if end is None else end,
                        bool(member.inactive),
                        self._src,
                        self._line,
                        problem,
                    ),
                )
            )
        name = res.id or f"#{len(self.groups) + 1}"
        self.groups[name] = members
        self.count("Group", Outcome.KEPT)

    def _medication(self, res: Resource, full_url: str | None) -> None:
        atc = self._atc(res.code, "code", required=False)
        if res.id:
            self.medications[f"Medication/{res.id}"] = atc
        if full_url:
            self.medications[full_url] = atc
        self.count("Medication", Outcome.KEPT)

    # --- events --------------------------------------------------------------------------------

    def _subject(self, res: Resource) -> int:
        ref = res.subject.reference if res.subject is not None else None
        if not ref:
            raise _Rejected(
                "subject", "unresolved_subject", lambda: text("unresolved_subject", value="None")
            )
        found = self._ref_ids.get(ref)
        if found is None:
            found = self._ref_ids[ref] = self.refs.id(reference_key(ref))
        return found

    def _condition(self, res: Resource, full_url: str | None) -> None:
        verification = _status_code(res.verificationStatus)
        if verification in CONDITION_DROPPED_VERIFICATION:
            raise _status("verificationStatus", verification)
        subject = self._subject(res)
        rows: list[tuple[int, str]] = []
        found: list[str] = []
        for coding in _codings(res.code):
            if not coding.code:
                continue
            mapped = condition_code(coding.system, coding.code)
            if isinstance(mapped, tuple):
                kind, code = mapped
                pair = (CONDITION_SYSTEMS.index(kind), code)
                if pair not in rows:
                    rows.append(pair)
            else:
                found.append(repr(coding.system))
        if not rows:
            raise _no_code("code", found)
        start = self._onset(res.onsetDateTime)
        if start is None and res.onsetPeriod is not None:
            start = self._day(res.onsetPeriod.start, "onsetPeriod.start")
        if start is None and res.recordedDate is not None:
            start = self._day(res.recordedDate, "recordedDate")
            recorded = res.recordedDate
            if start is not None:
                self.note(
                    "recordedDate",
                    "onset_from_recorded",
                    Outcome.ALTERED,
                    lambda: text("onset_from_recorded", value=repr(recorded)),
                )
        if start is None:
            raise _Rejected("onset[x]", "no_date", lambda: text("no_date", element="onset[x]"))
        end = self._day(res.abatementDateTime, "abatementDateTime")
        if end is None and res.abatementPeriod is not None:
            period = res.abatementPeriod
            end = self._day(period.end or period.start, "abatementPeriod")
        clinical = _status_code(res.clinicalStatus)
        if end is None and clinical in CONDITION_ENDED:
            self.note(
                "clinicalStatus",
                "ended_without_date",
                Outcome.ALTERED,
                lambda: text("ended_without_date", value=repr(clinical)),
            )
            end = start
        if end is not None and end < start:
            shown_end, shown_start = iso_day(end), iso_day(start)
            raise _Rejected(
                "abatement[x]",
                "end_before_start",
                lambda: text("end_before_start", value=shown_end, other=shown_start),
            )
        table = self.conditions
        for system, code in rows:
            table.ref.append(subject)
            table.day.append(start)
            table.end.append(NONE if end is None else end)
            table.system.append(system)
            table.code.append(self.codes.id(code))
        self._origin(table, len(rows))

    def _onset(self, value: str | None) -> int | None:
        """A problem list often knows only the year: a partial onset counts from its last day."""
        if value is None or not PARTIAL_DATE.match(value):
            return self._day(value, "onsetDateTime")
        day = last_day(value)
        shown = iso_day(day)
        self.note(
            "onsetDateTime",
            "onset_partial",
            Outcome.ALTERED,
            lambda: text("onset_partial", value=repr(value), day=shown),
        )
        return day

    def _medication_request(self, res: Resource, full_url: str | None) -> None:
        status = res.status
        if status not in REQUEST_KEPT_STATUS and status is not None:
            raise _status("status", status)
        if res.intent not in REQUEST_KEPT_INTENT and res.intent is not None:
            raise _status("intent", res.intent)
        if res.doNotPerform:
            raise _status("doNotPerform", "true")
        subject = self._subject(res)
        if res.authoredOn is None:
            raise _Rejected("authoredOn", "no_date", lambda: text("no_date", element="authoredOn"))
        day = self._day(res.authoredOn, "authoredOn")
        self._prescription(res, subject, day)  # type: ignore[arg-type]

    def _medication_statement(self, res: Resource, full_url: str | None) -> None:
        status = res.status
        if status not in STATEMENT_KEPT_STATUS and status is not None:
            raise _status("status", status)
        subject = self._subject(res)
        raw, element = res.effectiveDateTime, "effectiveDateTime"
        if raw is None and res.effectivePeriod is not None:
            raw, element = res.effectivePeriod.start, "effectivePeriod.start"
        if raw is None:
            raise _Rejected(
                "effective[x]", "no_date", lambda: text("no_date", element="effective[x]")
            )
        self._prescription(res, subject, self._day(raw, element))  # type: ignore[arg-type]

    def _prescription(self, res: Resource, subject: int, day: int) -> None:
        code = NONE
        pending = None
        if res.medicationCodeableConcept is not None:
            atc = self._atc(res.medicationCodeableConcept, "medicationCodeableConcept")
            code = self.codes.id(atc)  # type: ignore[arg-type]
        else:
            ref = res.medicationReference.reference if res.medicationReference else None
            if not ref:
                raise _no_code("medication[x]", [])
            if ref.startswith("#"):
                contained = next((c for c in res.contained or () if c.id == ref[1:]), None)
                if contained is None:
                    raise _Rejected(
                        "medicationReference",
                        "unresolved_medication",
                        lambda: text("unresolved_medication", value=repr(ref)),
                    )
                atc = self._atc(contained.code, "contained.code")
                code = self.codes.id(atc)  # type: ignore[arg-type]
            else:
                pending = reference_key(ref)
        ddd = math.nan
        for ext in res.extension or ():
            if ext.url == DDD_EXT and ext.valueDecimal is not None:
                ddd = float(ext.valueDecimal)
        table = self.prescriptions
        if pending is not None:
            self.pending_medications[len(table)] = pending
        table.ref.append(subject)
        table.day.append(day)
        table.code.append(code)
        table.value.append(ddd)
        table.supply.append(
            self._supply_days(res) if self._type == "MedicationRequest" else math.nan
        )
        table.rtype.append(_RTYPE[self._type])
        table.where.append(self._where)
        if self._altered:
            table.altered_rows.append(len(table.where) - 1)

    def _supply_days(self, res: Resource) -> float:
        """dispenseRequest.expectedSupplyDuration in days: the extract's days_supply.

        A duration that names no number of days leaves the cell empty, as a bad
        `days_supply` cell does in a CSV extract; the indicators then use the DDD stand-in.
        """
        request = res.dispenseRequest
        duration = request.expectedSupplyDuration if request is not None else None
        if duration is None:
            return math.nan
        unit = duration.code or duration.unit
        per_unit = _DAYS_PER_UNIT.get(unit) if unit is not None else None
        if duration.value is not None and per_unit is not None and duration.value > 0:
            return float(duration.value) * per_unit
        shown = f"{duration.value!r} {unit!r}"
        self.note(
            "dispenseRequest.expectedSupplyDuration",
            "supply_not_days",
            Outcome.ALTERED,
            lambda: text("supply_not_days", value=shown),
        )
        return math.nan

    def _atc(
        self, concept: CodeableConcept | None, element: str, *, required: bool = True
    ) -> str | None:
        codings = concept.coding if concept is not None else None
        if codings and len(codings) == 1 and codings[0].system == ATC_SYSTEM and codings[0].code:
            return codings[0].code  # the usual case: one ATC coding
        codes = [c.code for c in _codings(concept) if is_atc(c.system) and c.code]
        if not codes:
            if not required:
                return None
            raise _no_code(element, [repr(c.system) for c in _codings(concept)])
        atc = most_specific(dict.fromkeys(codes))
        if atc is None and required:
            shown = ", ".join(dict.fromkeys(codes))
            raise _Rejected(
                element, "conflicting_codes", lambda: text("conflicting_codes", value=shown)
            )
        return atc

    def _observation(self, res: Resource, full_url: str | None) -> None:
        status = res.status
        if status not in OBSERVATION_KEPT_STATUS and status is not None:
            raise _status("status", status)
        subject = self._subject(res)
        rows: list[tuple[int, str, float, int]] = []
        found: list[str] = []
        keys = _lab_keys(res.code, found)
        if keys:
            value, unit = self._value(res, "value[x]", keys)
            for key in keys:
                rows.append((_LAB_SYSTEM_INDEX[key[0]], key[1], value, unit))
        for i, component in enumerate(res.component or ()):
            keys = _lab_keys(component.code, found)
            if keys:
                c_value, c_unit = self._value(component, f"component[{i}].value[x]", keys)
                for key in keys:
                    rows.append((_LAB_SYSTEM_INDEX[key[0]], key[1], c_value, c_unit))
        if not rows:
            raise _no_code("code", found)
        raw, element = res.effectiveDateTime, "effectiveDateTime"
        if raw is None and res.effectivePeriod is not None:
            raw, element = res.effectivePeriod.start, "effectivePeriod.start"
        if raw is None and res.effectiveInstant is not None:
            raw, element = res.effectiveInstant, "effectiveInstant"
        if raw is None:
            raise _Rejected(
                "effective[x]", "no_date", lambda: text("no_date", element="effective[x]")
            )
        day = self._known_day(raw)
        if day is None:
            day = self._day(raw, element)
        if len(rows) > 1:  # a code and its components may repeat one analysis: first wins
            first: dict[tuple[int, str], tuple[int, str, float, int]] = {}
            for row in rows:
                first.setdefault((row[0], row[1]), row)
            rows = list(first.values())
        table = self.lab_results
        index = self.codes.index
        where = self._where
        for system, code, row_value, row_unit in rows:
            table.ref.append(subject)
            table.day.append(day)
            table.system.append(system)
            found_code = index.get(code)
            table.code.append(self.codes.id(code) if found_code is None else found_code)
            table.value.append(row_value)
            table.unit.append(row_unit)
            table.where.append(where)
        if self._altered:
            n = len(table.where)
            table.altered_rows.extend(range(n - len(rows), n))

    def _value(
        self, holder: object, element: str, keys: list[tuple[str, str]]
    ) -> tuple[float, int]:
        """(value, interned unit) of an Observation or component, comparators resolved."""
        quantity = getattr(holder, "valueQuantity", None)
        comparator: str | None = None
        if quantity is not None:
            unit_text = quantity.unit or quantity.code
            unit = NONE if unit_text is None else self.units.id(unit_text)
            if quantity.value is None:
                return math.nan, unit
            value = float(quantity.value)
            comparator = quantity.comparator
        else:
            raw = getattr(holder, "valueString", None)
            if raw is None:
                return math.nan, NONE
            match = _VALUE_TEXT.match(raw)
            if match is None:
                return math.nan, NONE
            value = float(match.group(2).replace(",", "."))
            comparator = match.group(1)
            unit = NONE
            self.note(
                element.replace("value[x]", "valueString"),
                "value_from_text",
                Outcome.ALTERED,
                lambda: text("value_from_text", value=repr(raw)),
            )
        if comparator is None:
            return value, unit
        shown = f"{comparator}{value:g}"
        stands = [
            self.thresholds.resolve(key, comparator, value)
            if comparator in ("<", "<=", ">", ">=")
            else None  # 'ad' and anything else: never decided
            for key in keys
        ]
        if any(s is None for s in stands) or len(set(stands)) != 1:
            self.note(
                element,
                "comparator_undecided",
                Outcome.ALTERED,
                lambda: text("comparator_undecided", value=repr(shown)),
            )
            return math.nan, unit
        stored = stands[0]
        assert stored is not None  # every key resolved to this one value
        self.note(
            element,
            "comparator_resolved",
            Outcome.ALTERED,
            lambda: text("comparator_resolved", value=repr(shown), stored=_plain(stored)),
        )
        return stored, unit

    def _encounter(self, res: Resource, full_url: str | None) -> None:
        status = res.status
        if status in ENCOUNTER_DROPPED_STATUS:
            raise _status("status", status)
        subject = self._subject(res)
        codes: list[str] = []
        service = res.serviceType
        if service is not None and service.coding:
            for coding in service.coding:
                code = coding.code
                if coding.system == OK22_SERVICE_SYSTEM and code and code not in codes:
                    codes.append(code)
        if res.type is not None and isinstance(res.type, list):
            for concept in res.type:
                for coding in _codings(concept):
                    if is_service(coding.system) and coding.code and coding.code not in codes:
                        codes.append(coding.code)
        if not codes:
            raise _Rejected("serviceType", "no_service_code", lambda: text("no_service_code"))
        period = res.period
        start = period.start if period is not None else None
        if start is None:
            raise _Rejected(
                "period.start", "no_date", lambda: text("no_date", element="period.start")
            )
        day = self._known_day(start)
        if day is None:
            day = self._day(start, "period.start")
        table = self.encounters
        index = self.codes.index
        where = self._where
        for code in codes:
            table.ref.append(subject)
            table.day.append(day)
            found = index.get(code)
            table.code.append(self.codes.id(code) if found is None else found)
            table.where.append(where)
        if self._altered:
            n = len(table.where)
            table.altered_rows.extend(range(n - len(codes), n))

    def _questionnaire_response(self, res: Resource, full_url: str | None) -> None:
        person = person_reference(res)
        key = None if person is None else reference_key(person)
        try:
            notes = read_response(res, self._day, key, self._where, self.answers)
        except Rejected as rejected:
            message = rejected.message
            raise _Rejected(rejected.element, rejected.kind, lambda: message) from None
        for note in notes:
            self.note(
                note.element, note.kind, Outcome.ALTERED, functools.partial(str, note.message)
            )

    def _origin(self, table: Events, rows: int) -> None:
        """Where the last `rows` rows came from (one resource)."""
        where = self._where
        for _ in range(rows):
            table.where.append(where)
        if self._altered:
            n = len(table.where)
            table.altered_rows.extend(range(n - rows, n))


class _Rejected(Exception):
    """The current resource cannot become a row; the reason is counted, never raised further."""

    def __init__(
        self, element: str, kind: str, message: Callable[[], str], *, skip: bool = True
    ) -> None:
        self.element = element
        self.kind = kind
        self.message = message
        self.skip_patient = skip


def _status(element: str, value: str) -> _Rejected:
    return _Rejected(
        element,
        f"{element}:{value}",
        lambda: text("status", element=element, value=repr(value)),
    )


def _no_code(element: str, found: list[str]) -> _Rejected:
    shown = ", ".join(dict.fromkeys(found)) or "-"
    return _Rejected(element, "no_known_code", lambda: text("no_known_code", found=shown))


def _codings(concept: object) -> list[Coding]:
    if isinstance(concept, CodeableConcept):
        return concept.coding or []
    if isinstance(concept, dict):  # Encounter.type, read loosely
        return [
            Coding(c.get("system"), c.get("code"))
            for c in concept.get("coding") or ()
            if isinstance(c, dict) and isinstance(c.get("code"), str)
        ]
    return []


def _lab_keys(
    concept: CodeableConcept | None, found: list[str] | None = None
) -> list[tuple[str, str]]:
    codings = concept.coding if concept is not None else None
    if codings and len(codings) == 1 and codings[0].code:  # the usual case
        key = lab_code(codings[0].system, codings[0].code)
        if key is not None:
            return [key]
    keys: list[tuple[str, str]] = []
    for coding in _codings(concept):
        if not coding.code:
            continue
        key = lab_code(coding.system, coding.code)
        if key is None:
            if found is not None:
                found.append(repr(coding.system))
        elif key not in keys:
            keys.append(key)
    return keys


def _status_code(concept: CodeableConcept | None) -> str | None:
    for coding in _codings(concept):
        if coding.code:
            return coding.code
    return None


def _patient_keys(pid: str, full_url: str | None) -> tuple[str, ...]:
    keys = [f"Patient/{pid}"]
    if full_url:
        keys.append(reference_key(full_url))
    return tuple(dict.fromkeys(keys))


def reference_key(ref: str) -> str:
    """One spelling per target: 'Patient/x' for relative, absolute or versioned references."""
    if ref.startswith(("urn:", "#")):
        return ref
    if "/_history/" in ref:
        ref = ref.split("/_history/", 1)[0]
    if "://" in ref:
        parts = ref.rstrip("/").rsplit("/", 2)
        if len(parts) == 3:
            return f"{parts[1]}/{parts[2]}"
    return ref


_HANDLERS: dict[str, Callable[[Mapper, Resource, str | None], None]] = {
    "Patient": Mapper._patient,
    "Condition": Mapper._condition,
    "MedicationRequest": Mapper._medication_request,
    "MedicationStatement": Mapper._medication_statement,
    "Observation": Mapper._observation,
    "Encounter": Mapper._encounter,
    "Medication": Mapper._medication,
    "Group": Mapper._group,
    "QuestionnaireResponse": Mapper._questionnaire_response,
}


def _plain(value: float) -> str:
    """A stored value as the extract writes it (six decimals at most, no exponent)."""
    return f"{value:.6f}".rstrip("0").rstrip(".")
