"""Cell parsing and CSV line numbers, checked against slow, obviously correct references."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from client.extract.cells import parse_dates, parse_decimals, parse_text
from client.extract.loader import load_extract

ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
DECIMAL = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")


def reference_date(cell: str) -> date | str | None:
    """None for an empty cell, 'bad' for an invalid one, else the date."""
    cell = cell.strip()
    if cell == "":
        return None
    if not ISO.fullmatch(cell):
        return "bad"
    try:
        return date(int(cell[:4]), int(cell[5:7]), int(cell[8:10]))
    except ValueError:
        return "bad"


date_like = st.one_of(
    st.dates().map(date.isoformat),
    st.text(alphabet="0123456789-", min_size=8, max_size=11),
    st.builds(
        lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}",
        st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
    ),
    st.sampled_from(["", " ", "2024-01-01T00:00", " 2024-01-01 ", "2024-1-01", "２０２４-01-01"]),
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(date_like, max_size=30))
def test_dates_match_the_reference(cells: list[str]) -> None:
    parsed = parse_dates(pa.array(cells, pa.string()))
    for i, cell in enumerate(cells):
        expected = reference_date(cell)
        assert parsed.missing[i] == (expected is None), cell
        assert parsed.bad[i] == (expected == "bad"), cell
        if isinstance(expected, date):
            assert parsed.values[i] == np.datetime64(expected, "D"), cell
        else:
            assert np.isnat(parsed.values[i])


@pytest.mark.slow
def test_every_day_of_the_calendar_round_trips() -> None:
    days = np.arange(np.datetime64("0001-01-01"), np.datetime64("9999-12-31"), 7)
    parsed = parse_dates(pa.array(days.astype(str)))
    assert not parsed.bad.any()
    assert (parsed.values == days).all()


def test_typed_dates() -> None:
    parsed = parse_dates(pa.array([date(2024, 2, 29), None], pa.date32()))
    assert parsed.values[0] == np.datetime64("2024-02-29")
    assert parsed.missing.tolist() == [False, True]
    stamps = pa.array(np.array(["2024-01-01T00:00", "2024-01-01T00:01"], dtype="datetime64[s]"))
    parsed = parse_dates(stamps.cast(pa.timestamp("ns")))
    assert parsed.bad.tolist() == [False, True]
    assert parsed.shown(1) == "'2024-01-01 00:01:00'"


decimal_like = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.integers().map(str),
    st.text(alphabet="0123456789.,eE+- ", max_size=8),
    st.sampled_from(["nan", "inf", "-Infinity", "1e999", "0x10", "1_000", "", "  "]),
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(decimal_like, max_size=30))
def test_decimals_match_the_reference(cells: list[str]) -> None:
    parsed = parse_decimals(pa.array(cells, pa.string()))
    for i, cell in enumerate(cells):
        stripped = cell.strip()
        if stripped == "":
            assert parsed.missing[i] and not parsed.bad[i]
            assert np.isnan(parsed.values[i])
            continue
        ok = bool(DECIMAL.fullmatch(stripped)) and np.isfinite(float(stripped))
        assert parsed.bad[i] == (not ok), cell
        if ok:
            assert parsed.values[i] == float(stripped)
        else:
            assert np.isnan(parsed.values[i])


def test_typed_decimals() -> None:
    parsed = parse_decimals(pa.array([1, None, 3], pa.int64()))
    assert parsed.missing.tolist() == [False, True, False]
    parsed = parse_decimals(pa.array([1.5, float("nan"), float("inf")]))
    assert parsed.missing.tolist() == [False, True, False]
    assert parsed.bad.tolist() == [False, False, True]


def test_text_strips_and_reads_empty_as_missing() -> None:
    parsed = parse_text(pa.array([" a ", "", "\t", None, "b\u00a0"]))
    assert parsed.values.to_pylist() == ["a", None, None, None, "b"]
    assert parsed.missing.tolist() == [False, True, True, True, False]


def test_long_values_are_shortened_in_messages() -> None:
    parsed = parse_dates(pa.array(["x" * 100]))
    assert len(parsed.shown(0)) == 42
    assert parsed.shown(0).endswith("…'")


# --- line numbers against a reference ---------------------------------------------------

HEADER = ["patient_id", "date", "service_code"]
PATIENTS = (
    "patient_id,birth_date,sex,list_start,list_end,death_date\nP1,1950-01-01,F,2000-01-01,,\n"
)
OTHERS = {
    "conditions": "patient_id,system,code,start_date,end_date\n",
    "prescriptions": "patient_id,date,atc,ddd\n",
    "lab_results": "patient_id,date,system,code,value,unit\n",
}

row = st.tuples(
    st.booleans(),  # is this row's date bad?
    st.sampled_from(["0101", "a\nb", "x\r\ny", 'say "hi"', "c,d", ""]),  # service code
    st.integers(0, 2),  # blank lines after the row
)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(row, min_size=1, max_size=15), crlf=st.booleans())
def test_reported_lines_are_physical_lines(tmp_path_factory, rows, crlf) -> None:
    directory: Path = tmp_path_factory.mktemp("x")
    (directory / "patients.csv").write_text(PATIENTS)
    for name, header in OTHERS.items():
        (directory / f"{name}.csv").write_text(header)
    newline = "\r\n" if crlf else "\n"
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=newline)
    writer.writerow(HEADER)
    expected_bad_lines = []
    line = 2
    for bad, code, blanks in rows:
        if bad:
            expected_bad_lines.append(line)
        before = out.tell()
        writer.writerow(["P1", "2024-02-30" if bad else "2024-02-28", code or "0101"])
        line += out.getvalue()[before:].count("\n")
        out.write(newline * blanks)
        line += blanks
    (directory / "encounters.csv").write_bytes(out.getvalue().encode())
    extract = load_extract(directory)
    reported = [i.line for i in extract.warnings if i.kind == "bad_date"]
    assert reported == expected_bad_lines
    assert len(extract.encounters) == sum(1 for bad, _, _ in rows if not bad)


@pytest.mark.parametrize("crlf", [False, True])
def test_simple_files_need_no_rescan(tmp_path: Path, crlf: bool) -> None:
    from client.extract.csv_lines import LineMap

    nl = b"\r\n" if crlf else b"\n"
    data = nl.join([b"a,b", b"1,2", b"3,4"]) + nl
    lines = LineMap(data, n_fields=2, n_rows=2, n_dropped=0)
    assert lines.simple
    assert lines(np.array([0, 1])).tolist() == [2, 3]
    assert lines._scan is None


def test_typed_dates_outside_years_1_to_9999_are_bad() -> None:
    parsed = parse_dates(pa.array([0, -800_000, 3_000_000, None], pa.date32()))
    assert parsed.bad.tolist() == [False, True, True, False]
    assert parsed.shown(2) == "'10183-09-21'"


def test_huge_integers_become_floats_not_errors() -> None:
    parsed = parse_decimals(pa.array([2**63 - 1], pa.int64()))
    assert parsed.values[0] == float(2**63 - 1)
