"""`klynge compute` on small extracts: JSON contract, table, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from klynge.cli import root

HEADERS = {
    "patients": "patient_id,birth_date,sex,list_start,list_end,death_date",
    "conditions": "patient_id,system,code,start_date,end_date",
    "prescriptions": "patient_id,date,atc,ddd",
    "lab_results": "patient_id,date,system,code,value,unit",
    "encounters": "patient_id,date,service_code",
}


def write_extract(root_dir: Path, **rows: list[str]) -> Path:
    root_dir.mkdir(parents=True, exist_ok=True)
    for name, header in HEADERS.items():
        lines = [header, *rows.get(name, [])]
        (root_dir / f"{name}.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root_dir


@pytest.fixture
def extract_dir(tmp_path: Path) -> Path:
    return write_extract(
        tmp_path / "x",
        patients=["a,1960-01-01,F,2010-01-01,,", "b,1950-05-05,M,2010-01-01,,"],
        conditions=["a,ICPC2,T90,2015-01-01,"],
        lab_results=["a,2025-03-01,NPU,NPU27300,50,mmol/mol"],
        prescriptions=["b,2025-01-01,N05CF01,10"],
    )


@pytest.fixture
def runner(monkeypatch) -> CliRunner:
    monkeypatch.setenv("KLYNGE_LANG", "en")
    return CliRunner()


def test_json_output_is_one_object_with_the_contract(runner, extract_dir):
    result = runner.invoke(root, ["compute", str(extract_dir), "--as-of", "2025-06-30", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    by_id = {i["id"]: i for i in data["indicators"]}
    assert (by_id["DM-01"]["numerator"], by_id["DM-01"]["denominator"]) == (1, 1)
    assert (by_id["BZ-02"]["numerator"], by_id["BZ-02"]["denominator"]) == (1, 2)  # a is 65 too
    assert data["list_size"] == 2
    for ind in data["indicators"]:
        assert sum(s["numerator"] for s in ind["strata"]) == ind["numerator"]
        assert sum(s["denominator"] for s in ind["strata"]) == ind["denominator"]


def test_table_output_and_subset(runner, extract_dir):
    result = runner.invoke(
        root, ["compute", str(extract_dir), "--as-of", "2025-06-30", "-i", "dm-01"]
    )
    assert result.exit_code == 0, result.output
    assert "HbA1c measured" in result.stdout and "100.0%" in result.stdout
    assert "BZ-02" not in result.stdout
    assert "Nothing has left the practice" in result.stdout


def test_danish_is_the_default(extract_dir):
    result = CliRunner().invoke(root, ["compute", str(extract_dir), "--as-of", "2025-06-30"])
    assert result.exit_code == 0
    assert "HbA1c målt" in result.stdout and "Intet er sendt fra praksis" in result.stdout


def test_bad_extract_is_one_clear_message_not_a_traceback(runner, tmp_path):
    bad = write_extract(tmp_path / "bad", patients=["a,1960-13-01,F,2010-01-01,,"])
    result = runner.invoke(root, ["compute", str(bad), "--as-of", "2025-06-30", "--json"])
    assert result.exit_code != 0
    assert result.stdout == ""  # nothing partial on stdout
    assert "patients.csv, line 2, column 'birth_date'" in result.stderr
    assert "Traceback" not in result.output


def test_missing_directory_and_bad_date(runner, tmp_path, extract_dir):
    result = runner.invoke(root, ["compute", str(tmp_path / "nope"), "--as-of", "2025-06-30"])
    assert result.exit_code != 0 and "nope" in result.stderr
    result = runner.invoke(root, ["compute", str(extract_dir), "--as-of", "30-06-2025"])
    assert result.exit_code != 0 and "YYYY-MM-DD" in result.stderr
    result = runner.invoke(
        root, ["compute", str(extract_dir), "--as-of", "2025-06-30", "-i", "XX-99"]
    )
    assert result.exit_code != 0 and "XX-99" in result.stderr


def test_warnings_go_to_stderr_and_json_stays_clean(runner, tmp_path):
    d = write_extract(
        tmp_path / "warn",
        patients=["a,1960-01-01,F,2010-01-01,,"],
        prescriptions=["ghost,2025-01-01,N05CF01,10"],
    )
    result = runner.invoke(root, ["compute", str(d), "--as-of", "2025-06-30", "--json"])
    assert result.exit_code == 0
    json.loads(result.stdout)
    assert "prescriptions.csv, line 2" in result.stderr
    strict = runner.invoke(root, ["compute", str(d), "--as-of", "2025-06-30", "--strict"])
    assert strict.exit_code != 0 and "prescriptions.csv, line 2" in strict.stderr


@pytest.mark.parametrize("as_of", ["2031-01-01", "1990-01-01"])
def test_a_reference_date_outside_the_data_is_a_warning_naming_the_range(
    runner, extract_dir, as_of
):
    result = runner.invoke(root, ["compute", str(extract_dir), "--as-of", as_of, "--json"])
    assert "outside the extract's data" in result.stderr
    assert "1 January 2010 to 1 March 2025" in result.stderr or "2010" in result.stderr
    if as_of.startswith("2031"):
        assert result.exit_code == 0  # a warning, not an error


def test_a_date_inside_the_data_gives_no_warning(runner, extract_dir):
    result = runner.invoke(root, ["compute", str(extract_dir), "--as-of", "2024-12-31"])
    assert result.exit_code == 0 and "outside" not in result.stderr


def test_an_extract_with_no_listed_patients_is_an_error_naming_the_file(runner, tmp_path):
    empty = write_extract(tmp_path / "empty")
    result = runner.invoke(root, ["compute", str(empty), "--as-of", "2025-06-30"])
    assert result.exit_code != 0
    assert "patients.csv" in result.stderr and "no patients listed" in result.stderr
