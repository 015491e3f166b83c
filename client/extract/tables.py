"""The in-memory form of a validated extract, shared by both indicator engines."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from client.extract.messages import text
from client.extract.schema import TABLES


@dataclass(frozen=True)
class ExtractIssue:
    """One problem found in an extract, pointing at the exact cell.

    `line` is the 1-based line number in a CSV file (the header is line 1) or
    the 1-based row number in a Parquet file; None for file-level problems.
    `kind` names the rule that was broken (see `client.extract.messages`), so
    callers can count or filter issues without parsing translated text.
    """

    file: str
    line: int | None
    column: str | None
    message: str
    fatal: bool
    kind: str = ""

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += ", " + location(self.file, self.line)
        if self.column is not None:
            kind = "where_element" if is_fhir(self.file) else "where_column"
            where += ", " + text(kind, name=self.column)
        return f"{where}: {self.message}"


def location(file: str, line: int) -> str:
    """'line 3' for CSV and NDJSON, 'row 3' for Parquet, 'entry 3' for a FHIR Bundle."""
    if file.endswith(".parquet"):
        return text("where_row", n=line)
    if file.endswith(".json"):
        return text("where_entry", n=line)
    return text("where_line", n=line)


def is_fhir(file: str) -> bool:
    """Issues in FHIR files name elements, not columns."""
    return file.endswith((".json", ".ndjson"))


@dataclass(frozen=True)
class IssueCount:
    """How often one rule was broken in one column of one file (all rows, not only shown ones)."""

    file: str
    column: str | None
    kind: str
    fatal: bool
    count: int


@dataclass(frozen=True)
class Extract:
    """A validated extract.

    Invariants the loader guarantees, so engines need not re-check them:
    - every table has exactly the schema's columns, in schema order, and a
      fresh RangeIndex; rows keep their file order;
    - `patient_id` values in `patients` are unique, and every event row refers
      to one of them;
    - date columns are pandas datetime64[us] (NaT where the cell was empty);
      decimal columns are float64 (NaN where empty); text columns are str
      (NaN only in optional text columns, where the cell was empty);
    - required columns (schema `required=True`) have no missing values;
    - closed vocabularies (sex, systems) hold only allowed values;
    - `list_end`, condition `end_date` are never before their start, and
      `death_date` is never before `birth_date`.

    `warnings` holds the first examples of each problem plus one summary line
    per problem with the number of further rows; `warning_counts` has exact
    totals and `skipped_rows` the number of event rows dropped per table.
    """

    patients: pd.DataFrame
    conditions: pd.DataFrame
    prescriptions: pd.DataFrame
    lab_results: pd.DataFrame
    encounters: pd.DataFrame
    source: Path | None = None
    warnings: tuple[ExtractIssue, ...] = field(default=())
    warning_counts: tuple[IssueCount, ...] = field(default=())
    skipped_rows: Mapping[str, int] = field(default_factory=dict)
    # Patient-experience answers (`docs/survey-plan.md`): respondent, survey, version, item,
    # answer, date, text, patient. None when the practice runs no survey.
    survey_responses: pd.DataFrame | None = None

    def table(self, name: str) -> pd.DataFrame:
        frame: pd.DataFrame = getattr(self, name)
        return frame

    def rows(self, name: str) -> Iterator[Any]:
        """Table `name` row by row, one attribute per column.

        Typed Any: pandas types a cell as any scalar, while the invariants
        above say what each column holds.
        """
        return self.table(name).itertuples(index=False)

    def same_data(self, other: Extract) -> bool:
        """True if every table has identical values, dtypes and order.

        The generated `==` cannot compare DataFrames, so use this instead.
        """
        return all(self.table(t.name).equals(other.table(t.name)) for t in TABLES) and all(
            self.table(t.name).dtypes.equals(other.table(t.name).dtypes) for t in TABLES
        )
