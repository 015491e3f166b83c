"""Extract schema v1: the contract between an EPJ export and the Klynge agent.

The schema is deliberately small. It names only the fields the indicator
catalogue needs (GDPR Art. 5(1)(c), data minimisation), and it has no CPR
number: `patient_id` is a practice-local pseudonym.

Columns added after version 1 was published may be left out of a file, so
every existing export keeps loading; the loader then fills them with empty
cells and the indicators use their documented stand-ins.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

SCHEMA_VERSION = 1


class ColumnKind(Enum):
    TEXT = "text"
    DATE = "date"
    DECIMAL = "decimal"


@dataclass(frozen=True)
class Column:
    name: str
    kind: ColumnKind
    required: bool  # a value must be present (not an empty cell)
    allowed: frozenset[str] | None = None  # closed vocabulary, if any
    may_be_omitted: bool = False  # a later, optional addition: the file may lack the column


@dataclass(frozen=True)
class Table:
    name: str  # file stem: patients -> patients.csv / patients.parquet
    columns: tuple[Column, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


SEXES = frozenset({"F", "M"})
CONDITION_SYSTEMS = frozenset({"ICPC2", "ICD10"})
LAB_SYSTEMS = frozenset({"NPU", "DNK", "LOCAL"})

T, D, N = ColumnKind.TEXT, ColumnKind.DATE, ColumnKind.DECIMAL

PATIENTS = Table(
    "patients",
    (
        Column("patient_id", T, True),
        Column("birth_date", D, True),
        Column("sex", T, True, SEXES),
        Column("list_start", D, True),
        Column("list_end", D, False),
        Column("death_date", D, False),
    ),
)
CONDITIONS = Table(
    "conditions",
    (
        Column("patient_id", T, True),
        Column("system", T, True, CONDITION_SYSTEMS),
        Column("code", T, True),
        Column("start_date", D, True),
        Column("end_date", D, False),
    ),
)
PRESCRIPTIONS = Table(
    "prescriptions",
    (
        Column("patient_id", T, True),
        Column("date", D, True),
        Column("atc", T, True),
        Column("ddd", N, False),
        # days the prescribed quantity lasts at the prescribed dose (FHIR
        # dispenseRequest.expectedSupplyDuration); added for days covered (OP-01, OP-02)
        Column("days_supply", N, False, may_be_omitted=True),
    ),
)
LAB_RESULTS = Table(
    "lab_results",
    (
        Column("patient_id", T, True),
        Column("date", D, True),
        Column("system", T, True, LAB_SYSTEMS),
        Column("code", T, True),
        Column("value", N, False),
        Column("unit", T, False),
    ),
)
ENCOUNTERS = Table(
    "encounters",
    (
        Column("patient_id", T, True),
        Column("date", D, True),
        Column("service_code", T, True),
    ),
)

TABLES: tuple[Table, ...] = (PATIENTS, CONDITIONS, PRESCRIPTIONS, LAB_RESULTS, ENCOUNTERS)

# Patient-experience answers (issue 16): one row per answered item. Optional:
# a practice without a survey has no such file and loads as before. `answer`
# empty means "not applicable" (the item does not count); `text` holds the
# free-text answer and is read only by the practice's own report; `patient`
# is an optional link to a listed patient (blanked when not in `patients`).
SURVEY_RESPONSES = Table(
    "survey_responses",
    (
        Column("respondent", T, True),
        Column("survey", T, True),
        Column("version", N, True),
        Column("item", T, True),
        Column("answer", N, False),
        Column("date", D, True),
        Column("text", T, False),
        Column("patient", T, False),
    ),
)

OPTIONAL_TABLES: tuple[Table, ...] = (SURVEY_RESPONSES,)
"""Tables an extract may lack; the `Extract` field is then None."""
