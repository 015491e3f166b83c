"""The extract's rules: which cells and rows are valid, and what a bad one costs.

The policy (documented for users in docs/extract-schema.md):
- `patients` defines the population, so any problem in it is fatal: without a
  trustworthy birth date, sex or list period, no denominator can be computed.
  The one exception, list_start before birth_date, is a warning; the row is
  used as written, because listing semantics do not depend on birth.
- In event tables a bad row is skipped with a warning: one wrong lab row must
  not stop a practice from reporting, and skipping is visible in the counts.
  A bad decimal (`value`, `ddd`) only blanks that cell, as the row's date and
  code are still valid facts.
- In `survey_responses` a bad `answer` or `version` skips the row (a blank
  answer would mean "not applicable", which the respondent did not say); a
  `patient` link to nobody in `patients` is blanked, as the answer stands
  without it; then the survey rules of `client.extract.survey_rules`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from client.extract.cells import TEXT, ParsedColumn, parse
from client.extract.issues import Effect, IssueLog
from client.extract.messages import text
from client.extract.schema import PATIENTS, SURVEY_RESPONSES, ColumnKind, Table
from client.extract.sources import RawTable
from client.extract.survey_rules import NEEDED, Broken, survey_rules
from client.extract.tables import location
from indicator_defs.survey_model import Survey

# (later column, earlier column, effect in this table): later must not be before earlier.
ORDER_RULES: dict[str, tuple[tuple[str, str, Effect], ...]] = {
    "patients": (
        ("list_end", "list_start", Effect.FATAL),
        ("death_date", "birth_date", Effect.FATAL),
        ("list_start", "birth_date", Effect.NOTE),
    ),
    "conditions": (("end_date", "start_date", Effect.SKIP_ROW),),
}

_BAD_KIND = {ColumnKind.DATE: "bad_date", ColumnKind.DECIMAL: "bad_decimal"}


def validate_table(
    raw: RawTable,
    log: IssueLog,
    known_patients: pa.Array | None,
    patients_file: str,
    *,
    surveys: Mapping[str, Survey] | None = None,
) -> tuple[pd.DataFrame, int]:
    """The table in its Extract form, and how many of its rows were skipped.

    `known_patients` are the patient ids of `patients` (None if that file
    could not be read, in which case references are not checked); `surveys`
    the definitions `survey_responses` rows are checked against.
    """
    spec = raw.spec
    in_patients = spec is PATIENTS
    in_survey = spec is SURVEY_RESPONSES
    row_effect = Effect.FATAL if in_patients else Effect.SKIP_ROW
    parsed = {
        c.name: parse(c.kind, raw.columns[c.name]) for c in spec.columns if c.name in raw.columns
    }
    skip = np.zeros(raw.n_rows, dtype=bool)

    def report(
        column: str, kind: str, effect: Effect, mask: np.ndarray, render: Callable[[int], str]
    ) -> None:
        nonlocal skip
        if not mask.any():
            return
        log.add_rows(raw.file, column, kind, effect, np.flatnonzero(mask), raw.lines, render)
        if effect is Effect.SKIP_ROW:
            skip |= mask

    for column in spec.columns:
        cells = parsed.get(column.name)
        if cells is None:
            continue
        if column.required:
            empty = _fixed("empty_required")
            report(column.name, "empty_required", row_effect, cells.missing, empty)
        if column.kind in _BAD_KIND:
            decimal_in_events = column.kind is ColumnKind.DECIMAL and not (in_patients or in_survey)
            effect = Effect.BLANK_VALUE if decimal_in_events else row_effect
            kind = _BAD_KIND[column.kind]
            report(column.name, kind, effect, cells.bad, _with_value(kind, cells))
        if column.allowed is not None:
            allowed = pa.array(sorted(column.allowed), TEXT)
            outside = ~cells.missing & ~_np(pc.is_in(cells.values, value_set=allowed))
            listing = ", ".join(sorted(column.allowed))
            report(
                column.name,
                "not_allowed",
                row_effect,
                outside,
                _with_value("not_allowed", cells, allowed=listing),
            )

    for later, earlier, effect in ORDER_RULES.get(spec.name, ()):
        if later in parsed and earlier in parsed:
            a, b = parsed[later], parsed[earlier]
            before = a.values < b.values  # NaT compares False: missing cells pass
            report(later, "before", effect, before, _before(a, earlier, b))

    ids = parsed.get("patient_id")
    if ids is not None and in_patients:
        first_seen = pd.Series(ids.text.to_numpy(zero_copy_only=False)).duplicated()
        repeated = first_seen.to_numpy() & ~ids.missing
        report("patient_id", "duplicate_patient", Effect.FATAL, repeated, _duplicate(raw, ids))
    elif ids is not None and known_patients is not None:
        unknown = ~ids.missing & ~_np(pc.is_in(ids.values, value_set=known_patients))
        render = _with_value("unknown_patient", ids, patients=patients_file)
        report("patient_id", "unknown_patient", Effect.SKIP_ROW, unknown, render)

    if in_survey:
        _survey_checks(raw, parsed, skip, known_patients, patients_file, surveys or {}, report)

    return _frame(spec, parsed, ~skip), int(skip.sum()) + raw.dropped_rows


def _survey_checks(
    raw: RawTable,
    parsed: dict[str, ParsedColumn],
    skip: np.ndarray,
    known_patients: pa.Array | None,
    patients_file: str,
    surveys: Mapping[str, Survey],
    report: Callable[[str, str, Effect, np.ndarray, Callable[[int], str]], None],
) -> None:
    """The patient link (blanked when unknown) and the survey rules on the rows still kept."""
    link = parsed.get("patient")
    if link is not None and known_patients is not None:
        unknown = ~link.missing & ~_np(pc.is_in(link.values, value_set=known_patients))
        render = _with_value("unknown_patient", link, patients=patients_file)
        report("patient", "unknown_patient", Effect.BLANK_VALUE, unknown, render)
        if unknown.any():
            blank = pc.if_else(pa.array(unknown), pa.scalar(None, TEXT), link.text)
            parsed["patient"] = ParsedColumn(blank, link.missing | unknown, link.bad, link.shown)
    if not all(name in parsed for name in NEEDED):
        return  # a missing column is already fatal

    def where(row: int) -> str:
        return location(raw.file, int(raw.lines(np.array([row]))[0]))

    for broken in survey_rules(parsed, ~skip, surveys, where):
        effect = Effect.NOTE if broken.kind == "duplicate_respondent" else Effect.SKIP_ROW
        report(broken.column, broken.kind, effect, broken.rows, _rule_message(broken))


def known_patient_ids(frame: pd.DataFrame) -> pa.Array:
    ids = frame["patient_id"].dropna().unique()
    return pa.array(ids, TEXT)


def _frame(spec: Table, parsed: dict[str, ParsedColumn], keep: np.ndarray) -> pd.DataFrame:
    """The Extract form of a table; all-or-nothing, so partial tables never escape a load."""
    everything = bool(keep.all())
    keep_arrow = pa.array(keep)
    arrays, names = [], []
    n_rows = int(keep.sum())
    for column in spec.columns:
        cells = parsed.get(column.name)
        if cells is None:
            if not column.may_be_omitted:
                continue
            arrays.append(_empty(column.kind, n_rows))  # left out of the file: all cells empty
            names.append(column.name)
            continue
        if column.kind is ColumnKind.TEXT:
            arrays.append(cells.text if everything else cells.text.filter(keep_arrow))
        else:
            values = cells.values if everything else cells.values[keep]
            if column.kind is ColumnKind.DATE:
                values = values.astype("datetime64[us]")
            arrays.append(pa.array(values))
        names.append(column.name)
    return pa.table(arrays, names=names).to_pandas()


def _empty(kind: ColumnKind, n: int) -> pa.Array:
    if kind is ColumnKind.DATE:
        return pa.array(np.full(n, np.datetime64("NaT"), dtype="datetime64[us]"))
    if kind is ColumnKind.DECIMAL:
        return pa.array(np.full(n, np.nan))
    return pa.nulls(n, TEXT)


def _np(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=bool)


def _fixed(kind: str) -> Callable[[int], str]:
    message = text(kind)
    return lambda _row: message


def _with_value(kind: str, cells: ParsedColumn, **values: object) -> Callable[[int], str]:
    return lambda row: text(kind, value=cells.shown(row), **values)


def _rule_message(broken: Broken) -> Callable[[int], str]:
    return lambda row: text(broken.kind, **broken.values(row))


def _before(later: ParsedColumn, earlier_name: str, earlier: ParsedColumn) -> Callable[[int], str]:
    return lambda row: text(
        "before", value=later.shown(row), other_column=earlier_name, other=earlier.shown(row)
    )


def _duplicate(raw: RawTable, ids: ParsedColumn) -> Callable[[int], str]:
    values = ids.values

    def render(row: int) -> str:
        first = int(_np(pc.equal(values, values[row])).argmax())
        where = location(raw.file, int(raw.lines(np.array([first]))[0]))
        return text("duplicate_patient", value=ids.shown(row), where=where)

    return render
