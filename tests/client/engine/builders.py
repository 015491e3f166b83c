"""Build in-memory extracts for tests without going through files."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from client.extract.schema import TABLES, ColumnKind
from client.extract.tables import Extract


def frame(table_name: str, rows: Iterable[Sequence[object]]) -> pd.DataFrame:
    """A DataFrame with the schema's columns and dtypes, from positional rows.

    A row may stop before trailing columns an extract may omit (days_supply),
    which are then empty, as the loader fills them.
    """
    table = next(t for t in TABLES if t.name == table_name)
    width = len(table.columns)
    optional = sum(1 for _ in _trailing_omittable(table))
    padded = []
    for row in rows:
        row = tuple(row)
        if not width - optional <= len(row) <= width:
            raise ValueError(f"{table_name}: a row needs {width - optional}-{width} values: {row}")
        padded.append(row + (None,) * (width - len(row)))
    df = pd.DataFrame(padded, columns=list(table.column_names), dtype=object)
    for col in table.columns:
        if col.kind is ColumnKind.DATE:
            df[col.name] = pd.to_datetime(df[col.name], format="%Y-%m-%d")
        elif col.kind is ColumnKind.DECIMAL:
            df[col.name] = pd.to_numeric(df[col.name]).astype("float64")
        else:
            df[col.name] = df[col.name].astype(str)
    return df


def _trailing_omittable(table):
    for col in reversed(table.columns):
        if not col.may_be_omitted:
            return
        yield col


def make_extract(
    patients: Iterable[Sequence[object]],
    conditions: Iterable[Sequence[object]] = (),
    prescriptions: Iterable[Sequence[object]] = (),
    lab_results: Iterable[Sequence[object]] = (),
    encounters: Iterable[Sequence[object]] = (),
) -> Extract:
    """Rows are tuples in schema column order; dates as 'YYYY-MM-DD' or None."""
    return Extract(
        patients=frame("patients", patients),
        conditions=frame("conditions", conditions),
        prescriptions=frame("prescriptions", prescriptions),
        lab_results=frame("lab_results", lab_results),
        encounters=frame("encounters", encounters),
    )
