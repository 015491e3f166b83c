"""Finding and reading the files of an extract, before any cell is interpreted.

Everything is read as it is stored (CSV: every cell a string; Parquet: its
own column types) and handed on unchanged; structural problems (missing or
ambiguous files, unreadable bytes, missing or duplicated columns, rows with
the wrong number of fields) are logged here, cell problems later.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from client.extract.cells import TEXT, accepts, expected_types
from client.extract.csv_lines import LineMap
from client.extract.issues import Effect, IssueLog, LineLookup
from client.extract.messages import text
from client.extract.schema import PATIENTS, Table

_BOM = b"\xef\xbb\xbf"
_HEADER_MAX = 1 << 20  # a header longer than this is not an extract header


@dataclass(frozen=True)
class RawTable:
    """One table as stored. `columns` holds the schema columns that were found."""

    spec: Table
    file: str
    columns: Mapping[str, pa.ChunkedArray]
    n_rows: int
    lines: LineLookup
    dropped_rows: int  # rows the reader could not split into the header's fields


def read_table(
    directory: Path, spec: Table, log: IssueLog, *, optional: bool = False
) -> RawTable | None:
    """The table `spec` from `directory`, or None if it cannot be read at all.

    An `optional` table (see `schema.OPTIONAL_TABLES`) that has no file is
    simply absent: None, and nothing is logged.
    """
    csv_path = directory / f"{spec.name}.csv"
    parquet_path = directory / f"{spec.name}.parquet"
    if csv_path.exists() and parquet_path.exists():
        log.add(
            csv_path.name,
            "ambiguous_file",
            text("ambiguous_file", csv=csv_path.name, parquet=parquet_path.name),
            Effect.FATAL,
        )
        return None
    if parquet_path.exists():
        return read_parquet(parquet_path, spec, log)
    if csv_path.exists():
        return read_csv(csv_path, spec, log)
    if optional:
        return None
    log.add(
        csv_path.name,
        "missing_file",
        text("missing_file", csv=csv_path.name, parquet=parquet_path.name),
        Effect.FATAL,
    )
    return None


def read_csv(path: Path, spec: Table, log: IssueLog) -> RawTable | None:
    file = path.name
    try:
        data = path.read_bytes()
    except OSError as exc:
        log.add(file, "unreadable", text("unreadable", reason=exc.strerror or exc), Effect.FATAL)
        return None
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    try:
        header = _header(data)
    except UnicodeDecodeError as exc:
        _not_utf8(file, data, exc, log)
        return None
    if header is None:
        log.add(file, "empty_file", text("empty_file"), Effect.FATAL, line=1)
        return None
    separator = _other_separator(header)
    if separator is not None:
        message = text("wrong_separator", separator=separator)
        log.add(file, "wrong_separator", message, Effect.FATAL, line=1)
        return None
    names = [name.strip() for name in header]
    wanted = _check_header(file, spec, names, log, header_line=1)
    if wanted is None:
        return None
    # Read only the schema's columns, all as strings, keeping empty cells as "".
    raw_names = {names[i]: header[i] for i in range(len(header))}
    dropped: list[int] = []

    def on_invalid_row(row: pacsv.InvalidRow) -> str:
        dropped.append(row.actual_columns)
        return "skip"

    try:
        table = pacsv.read_csv(
            pa.py_buffer(data),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=on_invalid_row
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={raw_names[n]: TEXT for n in wanted},
                include_columns=[raw_names[n] for n in wanted],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowException as exc:
        try:  # the reader checks UTF-8 but cannot say where it failed
            data.decode("utf-8")
        except UnicodeDecodeError as decode_error:
            _not_utf8(file, data, decode_error, log)
            return None
        reason = str(exc).splitlines()[0]
        log.add(file, "unreadable", text("unreadable", reason=reason), Effect.FATAL)
        return None
    lines = LineMap(data, len(header), table.num_rows, len(dropped))
    row_effect = Effect.FATAL if spec is PATIENTS else Effect.SKIP_ROW
    if dropped:
        for line, n_fields in lines.scan().ragged:
            message = text("ragged_row", actual=n_fields, expected=len(header))
            log.add(file, "ragged_row", message, row_effect, line=line)
    if b'"' in data and data.count(b'"') % 2 == 1:
        # An unclosed quote swallows the rest of the file into one cell.
        start = lines.scan().last_start
        log.add(file, "unclosed_quote", text("unclosed_quote"), Effect.FATAL, line=start)
    columns = {n: table.column(raw_names[n]) for n in wanted}
    return RawTable(spec, file, columns, table.num_rows, lines, len(dropped))


def read_parquet(path: Path, spec: Table, log: IssueLog) -> RawTable | None:
    file = path.name
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
    except (OSError, pa.ArrowException) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        log.add(file, "unreadable", text("unreadable", reason=reason), Effect.FATAL)
        return None
    wanted = _check_header(file, spec, list(schema.names), log, header_line=None)
    if wanted is None:
        return None
    kinds = {c.name: c.kind for c in spec.columns}
    usable = []
    for name in wanted:
        type_ = schema.field(name).type
        if accepts(kinds[name], type_):
            usable.append(name)
        else:
            message = text("bad_column_type", actual=type_, expected=expected_types(kinds[name]))
            log.add(file, "bad_column_type", message, Effect.FATAL, column=name)
    try:
        table = parquet.read(columns=usable)
    except (OSError, pa.ArrowException) as exc:
        log.add(file, "unreadable", text("unreadable", reason=str(exc)), Effect.FATAL)
        return None
    columns = {n: table.column(n) for n in usable}

    def rows(indices: np.ndarray) -> np.ndarray:
        return np.asarray(indices, dtype=np.int64) + 1

    return RawTable(spec, file, columns, table.num_rows, rows, 0)


def _header(data: bytes) -> list[str] | None:
    """The first non-blank record, parsed as CSV (names may be quoted).

    Only the start of the file is decoded here; the reader itself rejects
    invalid UTF-8 in the columns it reads, and `_not_utf8` then locates it.
    """
    start = codecs.getincrementaldecoder("utf-8")().decode(data[:_HEADER_MAX], final=False)
    for record in csv.reader(io.StringIO(start, newline="")):
        if record and "".join(record).strip():
            return record
    return None


def _other_separator(header: list[str]) -> str | None:
    """The separator a one-column header was evidently written with (Danish Excel uses ';')."""
    if len(header) != 1:
        return None
    for separator, shown in ((";", "';'"), ("\t", "tab")):
        if separator in header[0]:
            return shown
    return None


def _not_utf8(file: str, data: bytes, exc: UnicodeDecodeError, log: IssueLog) -> None:
    line = data.count(b"\n", 0, exc.start) + 1
    log.add(file, "not_utf8", text("not_utf8", offset=exc.start), Effect.FATAL, line=line)


def _check_header(
    file: str, spec: Table, names: list[str], log: IssueLog, header_line: int | None
) -> list[str] | None:
    """The schema columns present, in schema order; None if the header is unusable."""
    repeated = {n: c for n, c in Counter(names).items() if c > 1}
    for name, count in repeated.items():
        message = text("duplicate_column", count=count)
        log.add(file, "duplicate_column", message, Effect.FATAL, line=header_line, column=name)
    if repeated:
        return None
    expected = ", ".join(c.name for c in spec.columns if not c.may_be_omitted)
    for name in (c.name for c in spec.columns if not c.may_be_omitted):
        if name not in names:
            message = text("missing_column", columns=expected)
            log.add(file, "missing_column", message, Effect.FATAL, line=header_line, column=name)
    for name in names:
        if name not in spec.column_names:
            message = text("extra_column")
            log.add(file, "extra_column", message, Effect.IGNORED, line=header_line, column=name)
    return [n for n in spec.column_names if n in names]
