"""Write an in-memory extract as schema v1 files (CSV or Parquet).

Output rules, so that two writes of the same extract are byte-identical and
any schema-v1 reader gets exactly the values that were written:

- columns in schema order, nothing else; UTF-8, `\\n` line ends, a header row;
- dates as ISO `YYYY-MM-DD`; an empty cell for a missing value;
- decimals in plain positional notation, rounded to at most 6 decimals, with
  trailing zeros and a trailing point removed: 48.0 -> `48`, 7.50 -> `7.5`,
  0.1 + 0.2 -> `0.3`, never `1e-07`. Parquet stores the same rounded numbers
  as float64, dates as date32 and text as UTF-8 strings;
- CSV fields are quoted only when a text value contains a comma, quote or
  line break.

Every file is written to a hidden temporary name first and renamed into place
only when all tables have been written, so a crash never leaves a truncated
file under a real table name.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from client.extract.schema import OPTIONAL_TABLES, TABLES, ColumnKind, Table
from client.extract.tables import Extract
from common.errors import KlyngeError

Format = Literal["csv", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "parquet")
DECIMAL_PLACES = 6
_NEEDS_QUOTING = r'[,"\r\n]'


class ExtractWriteError(KlyngeError):
    """The extract cannot be written as schema v1 (wrong columns or values)."""


def extract_format(name: str) -> Format | None:
    """The format `name` names, or None if Klynge cannot write it."""
    return next((f for f in FORMATS if f == name), None)


def write_extract(extract: Extract, directory: Path, fmt: Format = "csv") -> None:
    """Write all five tables, and the optional ones present, into `directory` (created if needed).

    A file of the other format for the same table (say `patients.parquet`
    when writing CSV), and the file of an optional table the extract lacks,
    are removed, so the directory holds one unambiguous extract afterwards.
    """
    if fmt not in ("csv", "parquet"):
        raise ExtractWriteError(f"unknown extract format {fmt!r}: use 'csv' or 'parquet'")
    directory = Path(directory)
    present = [t for t in (*TABLES, *OPTIONAL_TABLES) if getattr(extract, t.name) is not None]
    tables = [(t, to_arrow(t, getattr(extract, t.name))) for t in present]
    directory.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    pending: list[tuple[Path, Path]] = []
    try:
        for table, data in tables:
            final = directory / f"{table.name}.{fmt}"
            temp = directory / f".{table.name}.{fmt}.{token}.tmp"
            pending.append((temp, final))
            if fmt == "csv":
                _write_csv(table, data, temp)
            else:
                _write_parquet(data, temp)
        for temp, final in pending:
            os.replace(temp, final)
    finally:
        for temp, _ in pending:
            temp.unlink(missing_ok=True)
    other = "parquet" if fmt == "csv" else "csv"
    for table in present:
        (directory / f"{table.name}.{other}").unlink(missing_ok=True)
    for table in OPTIONAL_TABLES:
        if table not in present:
            for stale in FORMATS:
                (directory / f"{table.name}.{stale}").unlink(missing_ok=True)
    _fsync_dir(directory)


def to_arrow(table: Table, frame: pd.DataFrame) -> pa.Table:
    """The frame as an Arrow table in schema-v1 types (text, date32, canonical float64)."""
    file = f"{table.name}"
    names = list(frame.columns)
    missing = [c for c in table.column_names if c not in names]
    extra = [c for c in names if c not in table.column_names]
    if missing or extra:
        problem = "; ".join(
            p
            for p in (
                f"missing column(s) {', '.join(missing)}" if missing else "",
                f"column(s) not in schema v1: {', '.join(map(str, extra))}" if extra else "",
            )
            if p
        )
        raise ExtractWriteError(f"{file}: {problem}")
    arrays: list[pa.Array] = []
    for col in table.columns:
        series = frame[col.name]
        where = f"{file}, column '{col.name}'"
        if col.kind is ColumnKind.DATE:
            arrays.append(_dates(series, where))
        elif col.kind is ColumnKind.DECIMAL:
            arrays.append(pa.array(_canonical_decimals(series, where), type=pa.float64()))
        else:
            arrays.append(_text(series, where))
    return pa.Table.from_arrays(arrays, names=list(table.column_names))


def format_decimals(values: np.ndarray) -> np.ndarray:
    """Canonical text for float64 values (see module docstring); NaN -> None."""
    out = np.full(values.shape, None, dtype=object)
    present = ~np.isnan(values)
    if present.any():
        uniq, inverse = np.unique(values[present], return_inverse=True)
        text = np.array([_format_one(v) for v in uniq.tolist()], dtype=object)
        out[present] = text[inverse]
    return out


def _format_one(v: float) -> str:
    s = np.format_float_positional(v, precision=DECIMAL_PLACES, unique=True, trim="-")
    return "0" if s == "-0" else s


def _canonical_decimals(series: pd.Series, where: str) -> np.ndarray:
    try:
        values = pd.to_numeric(series, errors="raise").to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError) as exc:
        raise ExtractWriteError(f"{where}: not a decimal column ({exc})") from None
    if np.isinf(values).any():
        row = int(np.flatnonzero(np.isinf(values))[0])
        raise ExtractWriteError(f"{where}, row {row + 1}: infinite value")
    return _reparse(values)


def _reparse(values: np.ndarray) -> np.ndarray:
    """Each value rounded to what its canonical text says (once per distinct value)."""
    out = np.full(values.shape, np.nan)
    present = ~np.isnan(values)
    if present.any():
        uniq, inverse = np.unique(values[present], return_inverse=True)
        out[present] = np.array([float(_format_one(v)) for v in uniq.tolist()])[inverse]
    return out


def _dates(series: pd.Series, where: str) -> pa.Array:
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        raise ExtractWriteError(f"{where}: expected dates, found {series.dtype}")
    days = series.to_numpy().astype("datetime64[D]")
    return pa.array(days, type=pa.date32())


def _text(series: pd.Series, where: str) -> pa.Array:
    try:
        array = pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise ExtractWriteError(f"{where}: not a text column ({exc})") from None
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        if pa.types.is_null(array.type):
            return pa.array([None] * len(series), type=pa.string())
        raise ExtractWriteError(f"{where}: expected text, found {series.dtype}")
    return array.cast(pa.string())


def _write_csv(table: Table, data: pa.Table, path: Path) -> None:
    columns = []
    for col, array in zip(table.columns, data.columns, strict=True):
        if col.kind is ColumnKind.DECIMAL:
            values = array.to_numpy(zero_copy_only=False)
            columns.append(pa.array(format_decimals(values), type=pa.string()))
        else:
            columns.append(array)
    text = pa.Table.from_arrays(columns, names=data.column_names)
    safe = all(
        not pc.any(pc.match_substring_regex(c, _NEEDS_QUOTING)).as_py()
        for c, col in zip(text.columns, table.columns, strict=True)
        if col.kind is ColumnKind.TEXT and len(c)
    )
    with open(path, "wb") as out:
        out.write((",".join(table.column_names) + "\n").encode())
        if safe:
            options = pacsv.WriteOptions(include_header=False, quoting_style="none")
            pacsv.write_csv(text, out, options)
        else:
            text.to_pandas().to_csv(out, header=False, index=False, lineterminator="\n")
        out.flush()
        os.fsync(out.fileno())


def _write_parquet(data: pa.Table, path: Path) -> None:
    with open(path, "wb") as out:
        pq.write_table(data, out, compression="zstd")
        out.flush()
        os.fsync(out.fileno())


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
