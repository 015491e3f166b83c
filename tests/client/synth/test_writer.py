"""write_extract: exact schema-v1 files, canonical decimals, atomic replacement, round-trip."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import client.extract.writer as writer_module
from client.extract.loader import load_extract
from client.extract.schema import TABLES, ColumnKind
from client.extract.tables import Extract
from client.extract.writer import ExtractWriteError, format_decimals, write_extract
from client.synth.practice import synthesize_practice
from client.synth.quality import QualityProfile

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@pytest.fixture(scope="module")
def extract() -> Extract:
    return synthesize_practice(600, date(2026, 9, 30), 3, QualityProfile.typical(),
                               np.random.default_rng(8))  # fmt: skip


def _tiny() -> Extract:
    """A hand-made extract with awkward values."""
    dt = lambda *xs: pd.to_datetime(pd.Series(xs, dtype="object"))  # noqa: E731
    text = lambda *xs: pd.Series(xs, dtype="str")  # noqa: E731
    return Extract(
        patients=pd.DataFrame({
            "patient_id": text("a1", "b,2"),
            "birth_date": dt("1950-02-28", "2000-12-31"),
            "sex": text("F", "M"),
            "list_start": dt("2000-01-01", "2001-01-01"),
            "list_end": dt(None, "2020-05-05"),
            "death_date": dt(None, None),
        }),
        conditions=pd.DataFrame({
            "patient_id": text("a1"), "system": text("ICPC2"), "code": text("T90"),
            "start_date": dt("2010-01-01"), "end_date": dt(None),
        }),
        prescriptions=pd.DataFrame({
            "patient_id": text("a1", "a1", "b,2"), "date": dt("2020-01-01", "2020-02-01",
                                                              "2020-03-01"),
            "atc": text("J01CE02", "N05CF01", "C10AA05"),
            "ddd": pd.Series([48.0, 0.1 + 0.2, np.nan]),
            "days_supply": pd.Series([np.nan, 7.0, 1 / 3]),
        }),
        lab_results=pd.DataFrame({
            "patient_id": text("a1", "a1"), "date": dt("2020-01-01", "2020-01-02"),
            "system": text("NPU", "LOCAL"), "code": text("NPU27300", "AAB00092"),
            "value": pd.Series([1e-7, 123456.5]), "unit": text("mmol/mol", None),
        }),
        encounters=pd.DataFrame({
            "patient_id": text("b,2"), "date": dt("2020-01-01"), "service_code": text("0101"),
        }),
    )  # fmt: skip


def test_csv_has_schema_columns_iso_dates_and_empty_cells(extract: Extract, tmp_path: Path):
    write_extract(extract, tmp_path)
    for table in TABLES:
        lines = (tmp_path / f"{table.name}.csv").read_text(encoding="utf-8").split("\n")
        assert lines[0] == ",".join(table.column_names)
        assert lines[-1] == ""  # newline-terminated, no blank rows in between
        rows = [line.split(",") for line in lines[1:-1]]
        assert len(rows) == len(getattr(extract, table.name))
        for i, col in enumerate(table.columns):
            cells = {r[i] for r in rows}
            if col.kind is ColumnKind.DATE:
                assert all(ISO.match(c) for c in cells if c), col.name
            if col.kind is ColumnKind.DECIMAL:
                assert not any(c.endswith(".0") or "e" in c for c in cells), col.name
            if col.allowed is not None:
                assert cells <= col.allowed | ({""} if not col.required else set())


def test_awkward_values_are_written_canonically(tmp_path: Path) -> None:
    write_extract(_tiny(), tmp_path)
    assert (tmp_path / "prescriptions.csv").read_text() == (
        "patient_id,date,atc,ddd,days_supply\n"
        "a1,2020-01-01,J01CE02,48,\n"
        "a1,2020-02-01,N05CF01,0.3,7\n"
        '"b,2",2020-03-01,C10AA05,,0.333333\n'
    )
    assert (tmp_path / "lab_results.csv").read_text() == (
        "patient_id,date,system,code,value,unit\n"
        "a1,2020-01-01,NPU,NPU27300,0,mmol/mol\n"
        "a1,2020-01-02,LOCAL,AAB00092,123456.5,\n"
    )
    assert (tmp_path / "patients.csv").read_text() == (
        "patient_id,birth_date,sex,list_start,list_end,death_date\n"
        "a1,1950-02-28,F,2000-01-01,,\n"
        '"b,2",2000-12-31,M,2001-01-01,2020-05-05,\n'
    )


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
def test_decimal_text_is_plain_and_round_trips_to_6_places(x: float) -> None:
    (text,) = format_decimals(np.array([x]))
    assert re.fullmatch(r"-?\d+(\.\d{1,6})?", text), text
    assert not text.endswith("0") or "." not in text
    assert abs(float(text) - x) <= 5e-7 + 4 * np.spacing(abs(x))  # half a unit in place 6


def test_same_extract_gives_identical_bytes(extract: Extract, tmp_path: Path) -> None:
    for fmt in ("csv", "parquet"):
        write_extract(extract, tmp_path / f"a-{fmt}", fmt)
        write_extract(extract, tmp_path / f"b-{fmt}", fmt)
        for f in (tmp_path / f"a-{fmt}").iterdir():
            assert f.read_bytes() == (tmp_path / f"b-{fmt}" / f.name).read_bytes(), f.name


def test_parquet_types(extract: Extract, tmp_path: Path) -> None:
    write_extract(extract, tmp_path, "parquet")
    schema = pq.read_schema(tmp_path / "lab_results.parquet")
    assert schema.names == ["patient_id", "date", "system", "code", "value", "unit"]
    assert schema.field("date").type == pa.date32()
    assert schema.field("value").type == pa.float64()
    assert schema.field("code").type == pa.string()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_round_trip_through_the_loader(extract: Extract, tmp_path: Path, fmt: str) -> None:
    write_extract(extract, tmp_path, fmt)  # type: ignore[arg-type]
    loaded = load_extract(tmp_path)
    assert loaded.warnings == ()
    for table in TABLES:
        pd.testing.assert_frame_equal(
            getattr(loaded, table.name).reset_index(drop=True),
            getattr(extract, table.name).reset_index(drop=True),
        )


def test_switching_format_leaves_one_unambiguous_extract(extract: Extract, tmp_path: Path):
    write_extract(extract, tmp_path, "parquet")
    write_extract(extract, tmp_path, "csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{t.name}.csv" for t in TABLES)


def test_crash_midway_leaves_no_partial_files(
    extract: Extract, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_extract(extract, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    calls = {"n": 0}
    real = writer_module._write_csv

    def failing(table, data, path):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            path.write_text("half a file")
            raise OSError("disk full")
        real(table, data, path)

    monkeypatch.setattr(writer_module, "_write_csv", failing)
    changed = replace(extract, patients=extract.patients.iloc[:10])
    with pytest.raises(OSError, match="disk full"):
        write_extract(changed, tmp_path)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # old files intact, no temporary files left behind


def test_schema_violations_are_typed_errors(extract: Extract, tmp_path: Path) -> None:
    missing = replace(extract, encounters=extract.encounters.drop(columns=["service_code"]))
    with pytest.raises(ExtractWriteError, match=r"encounters: missing column.*service_code"):
        write_extract(missing, tmp_path)
    extra = replace(extract, patients=extract.patients.assign(cpr="0101011234"))
    with pytest.raises(ExtractWriteError, match=r"patients: column.*not in schema v1: cpr"):
        write_extract(extra, tmp_path)
    text_dates = replace(
        extract, encounters=extract.encounters.assign(date=extract.encounters.date.astype(str))
    )
    with pytest.raises(ExtractWriteError, match="encounters, column 'date': expected dates"):
        write_extract(text_dates, tmp_path)
    inf = extract.prescriptions.copy()
    inf.loc[inf.index[2], "ddd"] = np.inf
    with pytest.raises(ExtractWriteError, match="prescriptions, column 'ddd', row 3: infinite"):
        write_extract(replace(extract, prescriptions=inf), tmp_path)
    with pytest.raises(ExtractWriteError, match="format"):
        write_extract(extract, tmp_path, "xlsx")  # type: ignore[arg-type]
    assert not any(tmp_path.iterdir())  # nothing written by any failed call
