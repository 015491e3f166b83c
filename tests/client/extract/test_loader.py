"""The extract loader: good extracts load identically from CSV and Parquet, and every
bad-extract case stops (or warns) with a message naming the file, line and column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from client.extract.errors import ExtractError
from client.extract.loader import load_extract
from client.extract.schema import TABLES, ColumnKind
from client.extract.tables import Extract, ExtractIssue
from common.errors import KlyngeError
from tests.client.extract.builders import GOOD, write


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLYNGE_LANG", "en")


def replace_line(table: str, line: int, new: str) -> str:
    lines = GOOD[table].splitlines(keepends=True)
    lines[line - 1] = new + "\n"
    return "".join(lines)


def add_line(table: str, new: str) -> str:
    return GOOD[table] + new + "\n"


def fatal(directory: Path, **kwargs: object) -> ExtractError:
    with pytest.raises(ExtractError) as caught:
        load_extract(directory, **kwargs)
    return caught.value


def only(issues: tuple[ExtractIssue, ...], kind: str) -> ExtractIssue:
    found = [i for i in issues if i.kind == kind]
    assert len(found) == 1, issues
    return found[0]


# --- good extracts ---------------------------------------------------------------------


def test_good_csv_extract_loads_with_schema_types(tmp_path: Path) -> None:
    extract = load_extract(write(tmp_path))
    assert extract.warnings == ()
    assert extract.source == tmp_path
    for table in TABLES:
        frame = extract.table(table.name)
        assert list(frame.columns) == list(table.column_names)
        assert isinstance(frame.index, pd.RangeIndex)
        for column in table.columns:
            dtype = frame[column.name].dtype
            if column.kind is ColumnKind.DATE:
                assert dtype == np.dtype("datetime64[us]")
            elif column.kind is ColumnKind.DECIMAL:
                assert dtype == np.float64
            else:
                assert dtype == "str"
    patients = extract.patients
    assert patients["patient_id"].tolist() == ["P1", "P2", "P3"]
    assert patients["birth_date"][2] == pd.Timestamp("1940-02-29")
    assert pd.isna(patients["list_end"][0]) and pd.isna(patients["death_date"][1])
    assert np.isnan(extract.prescriptions["ddd"][1])
    assert extract.lab_results["value"].tolist()[::2] == [48.0, 7.5]
    assert pd.isna(extract.lab_results["unit"][2])
    assert extract.encounters["service_code"].tolist() == ["0101", "0120"]  # no int coercion
    assert dict(extract.skipped_rows) == {t.name: 0 for t in TABLES}


def _to_parquet(csv_dir: Path, parquet_dir: Path, *, typed: bool) -> None:
    """Parquet twins of the CSV files: all-string columns, or native date/float types."""
    parquet_dir.mkdir()
    kinds = {t.name: {c.name: c.kind for c in t.columns} for t in TABLES}
    for name in GOOD:
        frame = pd.read_csv(csv_dir / f"{name}.csv", dtype=str, keep_default_na=False)
        arrays = {}
        for column, values in frame.items():
            cells = [v if v != "" else None for v in values]
            kind = kinds[name][column]
            if typed and kind is ColumnKind.DATE:
                arrays[column] = pa.array(pd.to_datetime(pd.Series(cells)).dt.date, pa.date32())
            elif typed and kind is ColumnKind.DECIMAL:
                arrays[column] = pa.array(pd.to_numeric(pd.Series(cells)), pa.float64())
            else:
                arrays[column] = pa.array(cells, pa.string())
        pq.write_table(pa.table(arrays), parquet_dir / f"{name}.parquet")


@pytest.mark.parametrize("typed", [False, True], ids=["string-columns", "typed-columns"])
def test_csv_and_parquet_give_the_same_extract(tmp_path: Path, typed: bool) -> None:
    from_csv = load_extract(write(tmp_path / "csv"))
    _to_parquet(tmp_path / "csv", tmp_path / "parquet", typed=typed)
    from_parquet = load_extract(tmp_path / "parquet")
    assert from_parquet.same_data(from_csv)
    for table in TABLES:
        pd.testing.assert_frame_equal(from_parquet.table(table.name), from_csv.table(table.name))


def test_same_data_detects_a_difference(tmp_path: Path) -> None:
    a = load_extract(write(tmp_path / "a"))
    b = load_extract(write(tmp_path / "b", encounters=add_line("encounters", "P3,2020-01-01,0101")))
    assert not a.same_data(b)


def test_whitespace_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    patients = GOOD["patients"].replace("P2,1980-06-15,M,", " P2 ,\t1980-06-15 , M ,")
    (tmp_path / "x").mkdir()
    write(tmp_path / "x", patients=None)
    data = "\ufeff" + patients.replace("\n", "\r\n")
    (tmp_path / "x" / "patients.csv").write_bytes(data.encode("utf-8"))
    extract = load_extract(tmp_path / "x")
    assert extract.patients["patient_id"].tolist() == ["P1", "P2", "P3"]
    assert extract.patients["sex"].tolist() == ["F", "M", "F"]


def test_columns_may_come_in_any_order(tmp_path: Path) -> None:
    swapped = "code,system,patient_id,end_date,start_date\nT90,ICPC2,P1,,2015-01-01\n"
    extract = load_extract(write(tmp_path, conditions=swapped))
    assert list(extract.conditions.columns) == list(TABLES[1].column_names)
    assert extract.conditions["code"].tolist() == ["T90"]


def test_progress_is_reported_per_table(tmp_path: Path) -> None:
    seen: list[tuple[str, int]] = []
    load_extract(write(tmp_path), progress=lambda name, rows: seen.append((name, rows)))
    assert seen == [
        ("patients", 3),
        ("conditions", 2),
        ("prescriptions", 2),
        ("lab_results", 3),
        ("encounters", 2),
    ]


def test_extract_error_is_a_klynge_error_and_starts_with_the_count(tmp_path: Path) -> None:
    patients = replace_line("patients", 3, "P2,1980-06-15,X,2010-01-01,2020-13-01,")
    error = fatal(write(tmp_path, patients=patients))
    assert isinstance(error, KlyngeError)
    message = str(error)
    assert message.startswith("2 problems in the extract")
    assert "patients.csv, line 3, column 'sex': 'X' is not allowed; use one of F, M" in message
    assert "patients.csv, line 3, column 'list_end': '2020-13-01' is not a date" in message
    assert len(message.splitlines()) == 3


def test_messages_are_danish_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KLYNGE_LANG")
    error = fatal(
        write(tmp_path, patients=replace_line("patients", 2, "P1,1950-01-01,K,2000-01-01,,"))
    )
    assert str(error).startswith("1 fejl i udtrækket")
    assert "patients.csv, linje 2, kolonne 'sex': 'K' er ikke tilladt; brug en af F, M" in str(
        error
    )


def test_not_a_directory(tmp_path: Path) -> None:
    error = fatal(tmp_path / "nowhere")
    assert str(tmp_path / "nowhere") in str(error)
    assert error.issues[0].kind == "not_a_directory"


# --- files and columns -----------------------------------------------------------------


def test_missing_file_is_fatal(tmp_path: Path) -> None:
    error = fatal(write(tmp_path, encounters=None))
    issue = only(error.issues, "missing_file")
    assert (issue.file, issue.line, issue.column) == ("encounters.csv", None, None)
    assert str(issue) == (
        "encounters.csv: file is missing; the extract needs encounters.csv or encounters.parquet"
    )


def test_csv_and_parquet_of_one_table_is_ambiguous(tmp_path: Path) -> None:
    directory = write(tmp_path)
    pq.write_table(pa.table({"patient_id": ["P1"]}), directory / "encounters.parquet")
    issue = only(fatal(directory).issues, "ambiguous_file")
    assert issue.file == "encounters.csv"
    assert "encounters.csv" in issue.message and "encounters.parquet" in issue.message


def test_missing_column_is_fatal(tmp_path: Path) -> None:
    labs = GOOD["lab_results"].replace(",unit\n", "\n", 1).replace(",mmol/mol\n", "\n")
    labs = labs.replace("7.5,\n", "7.5\n")
    issue = only(fatal(write(tmp_path, lab_results=labs)).issues, "missing_column")
    assert (issue.file, issue.line, issue.column) == ("lab_results.csv", 1, "unit")
    assert str(issue).startswith("lab_results.csv, line 1, column 'unit': column is missing")


def test_duplicate_column_is_fatal(tmp_path: Path) -> None:
    encounters = "patient_id,date,service_code,date\nP1,2023-01-01,0101,2023-01-01\n"
    issue = only(fatal(write(tmp_path, encounters=encounters)).issues, "duplicate_column")
    assert (issue.file, issue.line, issue.column) == ("encounters.csv", 1, "date")


def test_extra_column_is_a_warning_and_ignored(tmp_path: Path) -> None:
    encounters = "patient_id,date,service_code,note\nP1,2023-01-01,0101,hello\n"
    extract = load_extract(write(tmp_path, encounters=encounters))
    issue = only(extract.warnings, "extra_column")
    assert (issue.file, issue.line, issue.column, issue.fatal) == (
        "encounters.csv",
        1,
        "note",
        False,
    )
    assert list(extract.encounters.columns) == ["patient_id", "date", "service_code"]


def test_empty_file_is_fatal(tmp_path: Path) -> None:
    issue = only(fatal(write(tmp_path, conditions="")).issues, "empty_file")
    assert (issue.file, issue.line) == ("conditions.csv", 1)


def test_header_only_file_is_an_empty_table(tmp_path: Path) -> None:
    extract = load_extract(write(tmp_path, encounters="patient_id,date,service_code\n"))
    assert len(extract.encounters) == 0
    assert extract.encounters["date"].dtype == np.dtype("datetime64[us]")


def test_invalid_utf8_is_fatal_with_its_line(tmp_path: Path) -> None:
    directory = write(tmp_path, encounters=None)
    content = GOOD["encounters"].encode() + "P3,2020-01-01,Kø\n".encode("latin-1")
    (directory / "encounters.csv").write_bytes(content)
    issue = only(fatal(directory).issues, "not_utf8")
    assert (issue.file, issue.line) == ("encounters.csv", 4)
    assert "UTF-8" in issue.message


def test_unclosed_quote_is_fatal(tmp_path: Path) -> None:
    encounters = add_line("encounters", 'P1,"2020-01-01,0101') + "P2,2020-01-02,0101\n"
    issue = only(fatal(write(tmp_path, encounters=encounters)).issues, "unclosed_quote")
    assert (issue.file, issue.line) == ("encounters.csv", 4)


def test_ragged_row_is_fatal_in_patients(tmp_path: Path) -> None:
    patients = add_line("patients", "P4,1950-01-01,F,2000-01-01,")
    issue = only(fatal(write(tmp_path, patients=patients)).issues, "ragged_row")
    assert (issue.file, issue.line) == ("patients.csv", 5)
    assert issue.message == "row has 5 fields but the header has 6"


def test_ragged_row_is_skipped_in_events(tmp_path: Path) -> None:
    prescriptions = add_line("prescriptions", "P1,2023-01-01,N05CD08,7,5")
    extract = load_extract(write(tmp_path, prescriptions=prescriptions))
    issue = only(extract.warnings, "ragged_row")
    assert (issue.file, issue.line) == ("prescriptions.csv", 4)
    assert issue.message.endswith("row skipped")
    assert len(extract.prescriptions) == 2
    assert extract.skipped_rows["prescriptions"] == 1


# --- patients: fatal problems ----------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    ["1950-02-30", "1950-2-1", "01-02-1950", "1950-01-01T00:00", "1950-01-01 00:00:00", "x"],
)
def test_bad_birth_date_is_fatal(tmp_path: Path, bad: str) -> None:
    patients = replace_line("patients", 3, f"P2,{bad},M,2010-01-01,2020-01-01,")
    issue = only(fatal(write(tmp_path, patients=patients)).issues, "bad_date")
    assert (issue.file, issue.line, issue.column) == ("patients.csv", 3, "birth_date")
    assert issue.message == f"'{bad}' is not a date; expected YYYY-MM-DD, e.g. 2024-03-31"


def test_bad_optional_date_in_patients_is_fatal(tmp_path: Path) -> None:
    patients = replace_line("patients", 2, "P1,1950-01-01,F,2000-01-01,,2023-02-29")
    issue = only(fatal(write(tmp_path, patients=patients)).issues, "bad_date")
    assert (issue.line, issue.column) == (2, "death_date")


@pytest.mark.parametrize("bad", ["f", "K", "Female", "U"])
def test_bad_sex_is_fatal_and_lists_allowed_values(tmp_path: Path, bad: str) -> None:
    patients = replace_line("patients", 4, f"P3,1940-02-29,{bad},1990-01-01,,2022-03-01")
    issue = only(fatal(write(tmp_path, patients=patients)).issues, "not_allowed")
    assert (
        str(issue) == f"patients.csv, line 4, column 'sex': '{bad}' is not allowed; use one of F, M"
    )


def test_duplicate_patient_is_fatal_and_names_the_first_line(tmp_path: Path) -> None:
    patients = add_line("patients", "P2,1980-06-15,M,2010-01-01,,")
    issue = only(fatal(write(tmp_path, patients=patients)).issues, "duplicate_patient")
    assert str(issue) == (
        "patients.csv, line 5, column 'patient_id': patient 'P2' already appears on line 3"
    )


def test_empty_patient_id_is_fatal_in_patients(tmp_path: Path) -> None:
    patients = add_line("patients", " ,1980-06-15,M,2010-01-01,,")
    issue = only(fatal(write(tmp_path, patients=patients)).issues, "empty_required")
    assert str(issue) == "patients.csv, line 5, column 'patient_id': is empty; a value is required"


def test_empty_required_date_is_fatal_in_patients(tmp_path: Path) -> None:
    patients = add_line("patients", "P4,1980-06-15,M,,,")
    issue = only(fatal(write(tmp_path, patients=patients)).issues, "empty_required")
    assert (issue.line, issue.column) == (5, "list_start")


def test_list_end_before_list_start_is_fatal(tmp_path: Path) -> None:
    patients = replace_line("patients", 3, "P2,1980-06-15,M,2010-01-01,2009-12-31,")
    issue = only(fatal(write(tmp_path, patients=patients)).issues, "before")
    assert str(issue) == (
        "patients.csv, line 3, column 'list_end': '2009-12-31' is before list_start '2010-01-01'"
    )


def test_death_before_birth_is_fatal(tmp_path: Path) -> None:
    patients = replace_line("patients", 4, "P3,1940-02-29,F,1990-01-01,,1940-02-28")
    issue = only(fatal(write(tmp_path, patients=patients)).issues, "before")
    assert (issue.line, issue.column) == (4, "death_date")
    assert "before birth_date '1940-02-29'" in issue.message


def test_list_start_before_birth_is_a_warning_and_kept(tmp_path: Path) -> None:
    patients = replace_line("patients", 2, "P1,1950-01-01,F,1949-12-31,,")
    extract = load_extract(write(tmp_path, patients=patients))
    issue = only(extract.warnings, "before")
    assert str(issue) == (
        "patients.csv, line 2, column 'list_start': '1949-12-31' is before birth_date "
        "'1950-01-01'; row kept"
    )
    assert extract.patients["list_start"][0] == pd.Timestamp("1949-12-31")


def test_all_fatal_problems_are_reported_together(tmp_path: Path) -> None:
    patients = add_line("patients", "P1,1950-01-01,X,2000-01-01,,")
    error = fatal(write(tmp_path, patients=patients, encounters=None))
    assert {i.kind for i in error.issues} == {"missing_file", "not_allowed", "duplicate_patient"}
    assert str(error).startswith("3 problems")
    # files are reported in schema order, patients first
    assert error.issues[0].file == "patients.csv"


# --- event tables: warnings, row skipped -----------------------------------------------


def test_bad_event_date_skips_the_row(tmp_path: Path) -> None:
    labs = add_line("lab_results", "P1,2023-02-30,NPU,NPU27300,50,mmol/mol")
    extract = load_extract(write(tmp_path, lab_results=labs))
    issue = only(extract.warnings, "bad_date")
    assert str(issue) == (
        "lab_results.csv, line 5, column 'date': '2023-02-30' is not a date; expected "
        "YYYY-MM-DD, e.g. 2024-03-31; row skipped"
    )
    assert len(extract.lab_results) == 3
    assert extract.skipped_rows["lab_results"] == 1


def test_unknown_system_skips_the_row(tmp_path: Path) -> None:
    conditions = add_line("conditions", "P1,ICPC-2,K86,2016-01-01,")
    extract = load_extract(write(tmp_path, conditions=conditions))
    issue = only(extract.warnings, "not_allowed")
    assert str(issue) == (
        "conditions.csv, line 4, column 'system': 'ICPC-2' is not allowed; use one of "
        "ICD10, ICPC2; row skipped"
    )
    assert extract.conditions["code"].tolist() == ["T90", "E11"]


def test_unknown_lab_system_lists_lab_systems(tmp_path: Path) -> None:
    labs = add_line("lab_results", "P1,2023-02-01,npu,NPU27300,48,mmol/mol")
    issue = only(load_extract(write(tmp_path, lab_results=labs)).warnings, "not_allowed")
    assert (issue.file, issue.line, issue.column) == ("lab_results.csv", 5, "system")
    assert "use one of DNK, LOCAL, NPU" in issue.message


def test_row_for_unknown_patient_is_skipped(tmp_path: Path) -> None:
    encounters = add_line("encounters", "P9,2023-01-01,0101")
    extract = load_extract(write(tmp_path, encounters=encounters))
    issue = only(extract.warnings, "unknown_patient")
    assert str(issue) == (
        "encounters.csv, line 4, column 'patient_id': patient 'P9' is not in patients.csv; "
        "row skipped"
    )
    assert set(extract.encounters["patient_id"]) == {"P1", "P2"}


def test_condition_end_before_start_is_skipped(tmp_path: Path) -> None:
    conditions = add_line("conditions", "P3,ICPC2,K86,2016-01-02,2016-01-01")
    extract = load_extract(write(tmp_path, conditions=conditions))
    issue = only(extract.warnings, "before")
    assert str(issue) == (
        "conditions.csv, line 4, column 'end_date': '2016-01-01' is before start_date "
        "'2016-01-02'; row skipped"
    )
    assert len(extract.conditions) == 2


def test_non_numeric_value_is_treated_as_missing(tmp_path: Path) -> None:
    labs = add_line("lab_results", "P2,2023-02-01,NPU,NPU27300,7,5,mmol/mol")  # ragged
    labs = add_line("lab_results", 'P2,2023-02-01,NPU,NPU27300,"7,5",mmol/mol')
    labs += "P2,2023-02-02,NPU,NPU27300,<5,mmol/mol\n"
    extract = load_extract(write(tmp_path, lab_results=labs))
    issues = [i for i in extract.warnings if i.kind == "bad_decimal"]
    assert [str(i) for i in issues] == [
        "lab_results.csv, line 5, column 'value': '7,5' is not a decimal number; use '.' as "
        "decimal separator, e.g. 7.5; treated as missing",
        "lab_results.csv, line 6, column 'value': '<5' is not a decimal number; use '.' as "
        "decimal separator, e.g. 7.5; treated as missing",
    ]
    assert len(extract.lab_results) == 5  # rows kept
    assert extract.lab_results["value"].isna().tolist() == [False, True, False, True, True]


def test_non_numeric_ddd_is_treated_as_missing(tmp_path: Path) -> None:
    prescriptions = add_line("prescriptions", "P1,2023-01-01,N05CD08,nan")
    extract = load_extract(write(tmp_path, prescriptions=prescriptions))
    issue = only(extract.warnings, "bad_decimal")
    assert (issue.file, issue.line, issue.column) == ("prescriptions.csv", 4, "ddd")
    assert np.isnan(extract.prescriptions["ddd"][2])


def test_an_extract_without_days_supply_loads_with_the_column_empty(tmp_path: Path) -> None:
    # GOOD predates days_supply: an existing export must keep loading, in both formats
    from_csv = load_extract(write(tmp_path / "csv"))
    assert list(from_csv.prescriptions.columns) == [
        "patient_id",
        "date",
        "atc",
        "ddd",
        "days_supply",
    ]
    assert from_csv.prescriptions["days_supply"].dtype == np.float64
    assert from_csv.prescriptions["days_supply"].isna().all()
    assert not any(i.kind == "missing_column" for i in from_csv.warnings)
    _to_parquet(tmp_path / "csv", tmp_path / "parquet", typed=True)
    assert load_extract(tmp_path / "parquet").same_data(from_csv)


def test_days_supply_is_read_and_a_bad_one_only_blanks_the_cell(tmp_path: Path) -> None:
    prescriptions = (
        "patient_id,date,atc,ddd,days_supply\n"
        "P1,2023-01-01,N02AX02,30,45\n"
        "P1,2023-02-01,N02AX02,30,\n"
        "P3,2021-05-05,N02AX02,,30 days\n"
    )
    extract = load_extract(write(tmp_path, prescriptions=prescriptions))
    issue = only(extract.warnings, "bad_decimal")
    assert (issue.file, issue.line, issue.column) == ("prescriptions.csv", 4, "days_supply")
    supply = extract.prescriptions["days_supply"]
    assert supply[0] == 45.0 and np.isnan(supply[1]) and np.isnan(supply[2])
    assert len(extract.prescriptions) == 3


def test_missing_required_column_message_names_only_required_columns(tmp_path: Path) -> None:
    error = fatal(write(tmp_path, prescriptions="patient_id,date,ddd\nP1,2023-01-01,30\n"))
    issue = only(error.issues, "missing_column")
    assert issue.column == "atc"
    assert "patient_id, date, atc, ddd" in issue.message and "days_supply" not in issue.message


def test_empty_patient_id_in_events_skips_the_row(tmp_path: Path) -> None:
    encounters = add_line("encounters", ",2023-01-01,0101")
    extract = load_extract(write(tmp_path, encounters=encounters))
    issue = only(extract.warnings, "empty_required")
    assert str(issue) == (
        "encounters.csv, line 4, column 'patient_id': is empty; a value is required; row skipped"
    )
    assert len(extract.encounters) == 2


def test_empty_required_code_in_events_skips_the_row(tmp_path: Path) -> None:
    prescriptions = add_line("prescriptions", "P1,2023-01-01,,1")
    extract = load_extract(write(tmp_path, prescriptions=prescriptions))
    issue = only(extract.warnings, "empty_required")
    assert (issue.line, issue.column) == (4, "atc")
    assert extract.skipped_rows["prescriptions"] == 1


def test_strict_mode_makes_a_warning_fatal(tmp_path: Path) -> None:
    directory = write(tmp_path, encounters=add_line("encounters", "P9,2023-01-01,0101"))
    assert len(load_extract(directory).warnings) == 1
    error = fatal(directory, strict=True)
    issue = only(error.issues, "unknown_patient")
    assert issue.fatal
    assert str(issue) == (
        "encounters.csv, line 4, column 'patient_id': patient 'P9' is not in patients.csv"
    )
    assert str(error).startswith("1 problem in the extract")


def test_error_mentions_warnings_too(tmp_path: Path) -> None:
    error = fatal(
        write(tmp_path, encounters=add_line("encounters", "P9,2023-01-01,0101"), conditions=None)
    )
    assert len(error.warnings) == 1
    assert str(error).splitlines()[-1] == "There are also 1 warnings (errors in strict mode)."


# --- line numbers ----------------------------------------------------------------------


def test_line_numbers_count_quoted_line_breaks_and_blank_lines(tmp_path: Path) -> None:
    labs = (
        "patient_id,date,system,code,value,unit\n"  # 1
        'P1,2023-02-01,NPU,NPU27300,48,"mmol/\nmol"\n'  # 2-3
        "\n"  # 4
        "P1,2023-02-01,NPU,NPU27300,48,mmol/mol\n"  # 5
        "P1,2023-02-31,NPU,NPU27300,48,mmol/mol\n"  # 6
    )
    extract = load_extract(write(tmp_path, lab_results=labs))
    assert only(extract.warnings, "bad_date").line == 6
    assert extract.lab_results["unit"][0] == "mmol/\nmol"


def test_line_numbers_after_a_skipped_ragged_row(tmp_path: Path) -> None:
    encounters = (
        "patient_id,date,service_code\n"
        "P1,2023-01-01,0101,extra\n"  # 2: ragged
        "P1,2023-01-01\n"  # 3: ragged
        "P9,2023-01-01,0101\n"  # 4: unknown patient
    )
    extract = load_extract(write(tmp_path, encounters=encounters))
    assert [(i.kind, i.line) for i in extract.warnings] == [
        ("ragged_row", 2),
        ("ragged_row", 3),
        ("unknown_patient", 4),
    ]
    assert extract.skipped_rows["encounters"] == 3


# --- many problems ---------------------------------------------------------------------


def test_many_warnings_are_summarised_not_listed(tmp_path: Path) -> None:
    rows = "".join(f"P9,2023-01-01,0{i:03d}\n" for i in range(5000))
    rows += "".join(f"P1,2023-13-01,0{i:03d}\n" for i in range(300))
    encounters = GOOD["encounters"] + rows
    extract = load_extract(write(tmp_path, encounters=encounters), cap=20)
    examples = [i for i in extract.warnings if i.line is not None]
    summaries = [i for i in extract.warnings if i.line is None]
    assert len(examples) == 20
    assert {i.kind for i in examples} == {"unknown_patient", "bad_date"}  # one of each at least
    counts = {c.kind: c.count for c in extract.warning_counts}
    assert counts == {"unknown_patient": 5000, "bad_date": 300}
    shown = {k: sum(1 for i in examples if i.kind == k) for k in counts}
    assert sorted(str(i) for i in summaries) == sorted(
        [
            f"encounters.csv, column 'date': {300 - shown['bad_date']} more rows with the same "
            "problem as line 5004",
            f"encounters.csv, column 'patient_id': {5000 - shown['unknown_patient']} more rows "
            "with the same problem as line 4",
        ]
    )
    assert extract.skipped_rows["encounters"] == 5300
    assert len(extract.encounters) == 2


def test_error_count_includes_rows_beyond_the_examples(tmp_path: Path) -> None:
    patients = GOOD["patients"] + "".join(f"Q{i},1950-01-01,X,2000-01-01,,\n" for i in range(120))
    error = fatal(write(tmp_path, patients=patients))
    assert str(error).startswith("120 problems")
    assert len(error.issues) == 51  # 50 examples and one summary
    assert error.issues[-1].message == "70 more rows with the same problem as line 5"


# --- Parquet specifics -----------------------------------------------------------------


def _good_parquet(directory: Path) -> Path:
    csv_dir = write(directory.parent / (directory.name + "-csv"))
    _to_parquet(csv_dir, directory, typed=True)
    return directory


def test_parquet_issues_name_the_row(tmp_path: Path) -> None:
    directory = _good_parquet(tmp_path / "pq")
    stamps = pa.array([pd.Timestamp("2023-01-01"), pd.Timestamp("2023-01-02 10:30")])
    table = pa.table(
        {
            "patient_id": ["P1", "P1"],
            "date": stamps,
            "service_code": ["0101", "0101"],
        }
    )
    pq.write_table(table, directory / "encounters.parquet")
    extract = load_extract(directory)
    issue = only(extract.warnings, "bad_date")
    assert str(issue) == (
        "encounters.parquet, row 2, column 'date': '2023-01-02 10:30:00' is not a date; "
        "expected YYYY-MM-DD, e.g. 2024-03-31; row skipped"
    )
    assert extract.encounters["date"].tolist() == [pd.Timestamp("2023-01-01")]


def test_parquet_text_column_with_numbers_is_fatal(tmp_path: Path) -> None:
    directory = _good_parquet(tmp_path / "pq")
    table = pa.table({"patient_id": ["P1"], "date": ["2023-01-01"], "service_code": [101]})
    pq.write_table(table, directory / "encounters.parquet")
    issue = only(fatal(directory).issues, "bad_column_type")
    assert str(issue) == (
        "encounters.parquet, column 'service_code': has Parquet type int64; expected string"
    )


def test_parquet_missing_column_is_fatal(tmp_path: Path) -> None:
    directory = _good_parquet(tmp_path / "pq")
    pq.write_table(
        pa.table({"patient_id": ["P1"], "date": ["2023-01-01"]}), directory / "encounters.parquet"
    )
    issue = only(fatal(directory).issues, "missing_column")
    assert (issue.file, issue.line, issue.column) == ("encounters.parquet", None, "service_code")


def test_not_a_parquet_file_is_fatal(tmp_path: Path) -> None:
    directory = _good_parquet(tmp_path / "pq")
    (directory / "encounters.parquet").write_bytes(b"patient_id,date\n")
    issue = only(fatal(directory).issues, "unreadable")
    assert issue.file == "encounters.parquet"


def test_extract_dataclass_is_what_engines_expect(tmp_path: Path) -> None:
    extract = load_extract(write(tmp_path))
    assert isinstance(extract, Extract)
    # every event row refers to a listed patient id
    ids = set(extract.patients["patient_id"])
    for table in TABLES[1:]:
        assert set(extract.table(table.name)["patient_id"]) <= ids


def test_parquet_written_by_pandas_round_trips(tmp_path: Path) -> None:
    """The usual way to produce Parquet: DataFrames with datetime64 (timestamp) columns."""
    from_csv = load_extract(write(tmp_path / "csv"))
    (tmp_path / "pq").mkdir()
    for table in TABLES:
        frame = from_csv.table(table.name)
        frame.to_parquet(tmp_path / "pq" / f"{table.name}.parquet", index=False)
    assert load_extract(tmp_path / "pq").same_data(from_csv)


def test_parquet_dictionary_and_null_columns_are_text(tmp_path: Path) -> None:
    directory = _good_parquet(tmp_path / "pq")
    table = pa.table(
        {
            "patient_id": pa.array(["P1", "P2"]).dictionary_encode(),
            "date": pa.array(["2023-01-01", "2023-01-02"], pa.large_string()),
            "system": ["NPU", "NPU"],
            "code": ["NPU27300", "NPU27300"],
            "value": pa.array([None, None], pa.null()),
            "unit": pa.array([None, None], pa.null()),
        }
    )
    pq.write_table(table, directory / "lab_results.parquet")
    labs = load_extract(directory).lab_results
    assert labs["patient_id"].tolist() == ["P1", "P2"]
    assert labs["value"].isna().all() and labs["unit"].isna().all()
    assert labs["unit"].dtype == "str"


@pytest.mark.parametrize(("separator", "shown"), [(";", "';'"), ("\t", "tab")])
def test_semicolon_or_tab_separated_file_is_explained(
    tmp_path: Path, separator: str, shown: str
) -> None:
    encounters = GOOD["encounters"].replace(",", separator)
    issue = only(fatal(write(tmp_path, encounters=encounters)).issues, "wrong_separator")
    assert str(issue) == (
        f"encounters.csv, line 1: columns are separated by {shown}; an extract uses commas (,)"
    )
