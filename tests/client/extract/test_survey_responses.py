"""The optional `survey_responses` table: absent means None, present loads typed from CSV
and Parquet, a bad cell names file, line and column, and the survey rules skip and count."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from client.extract.loader import load_extract
from client.extract.writer import write_extract
from tests.client.extract.builders import write

HEADER = "respondent,survey,version,item,answer,date,text,patient\n"
ROWS = (
    "R1,PX,1,Q01,5,2024-03-01,,P1\n"
    "R1,PX,1,Q08,,2024-03-01,,P1\n"  # not applicable
    'R1,PX,1,Q11,,2024-03-01,"Søde sekretærer, lang ventetid",P1\n'
    "R2,PX,1,Q01,2,2024-03-02,,\n"
)


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLYNGE_LANG", "en")


def load(tmp_path: Path, rows: str) -> object:
    return load_extract(write(tmp_path / "x", survey_responses=HEADER + rows))


def messages(extract: object, kind: str) -> list[str]:
    return [str(w) for w in extract.warnings if w.kind == kind]  # type: ignore[attr-defined]


def counts(extract: object) -> dict[str, int]:
    return {c.kind: c.count for c in extract.warning_counts}  # type: ignore[attr-defined]


def test_a_practice_without_a_survey_loads_as_before(tmp_path):
    extract = load_extract(write(tmp_path / "x"))
    assert extract.survey_responses is None
    assert "survey_responses" not in extract.present_tables()


def test_answers_load_typed_with_not_applicable_and_free_text_kept(tmp_path):
    frame = load(tmp_path, ROWS).survey_responses
    assert list(frame.columns) == [
        "respondent", "survey", "version", "item", "answer", "date", "text", "patient",
    ]  # fmt: skip
    assert str(frame["date"].dtype) == "datetime64[us]"
    assert frame["version"].tolist() == [1.0] * 4
    assert frame["answer"].isna().tolist() == [False, True, True, False]
    assert frame["text"].iloc[2] == "Søde sekretærer, lang ventetid"
    assert frame["patient"].isna().tolist() == [False, False, False, True]


def test_parquet_loads_the_same_as_csv_and_the_writer_round_trips(tmp_path):
    from_csv = load(tmp_path, ROWS)
    write_extract(from_csv, tmp_path / "pq", "parquet")
    assert pq.read_schema(tmp_path / "pq" / "survey_responses.parquet").names[0] == "respondent"
    assert load_extract(tmp_path / "pq").same_data(from_csv)
    write_extract(from_csv, tmp_path / "csv", "csv")
    assert load_extract(tmp_path / "csv").same_data(from_csv)


def test_writing_an_extract_without_answers_removes_a_stale_answers_file(tmp_path):
    target = write(tmp_path / "x", survey_responses=HEADER + ROWS)
    without = load_extract(write(tmp_path / "y"))
    write_extract(without, target, "csv")
    assert not (target / "survey_responses.csv").exists()
    assert load_extract(target).survey_responses is None


@pytest.mark.parametrize(
    ("row", "column", "kind"),
    [
        ("R3,PX,1,Q01,5,2024-13-01,,", "date", "bad_date"),
        ("R3,PX,1,Q01,fem,2024-03-01,,", "answer", "bad_decimal"),
        ("R3,PX,one,Q01,5,2024-03-01,,", "version", "bad_decimal"),
        (",PX,1,Q01,5,2024-03-01,,", "respondent", "empty_required"),
        ("R3,PX,1,Q99,5,2024-03-01,,", "item", "unknown_item"),
        ("R3,PY,1,Q01,5,2024-03-01,,", "item", "unknown_item"),
        ("R3,PX,2,Q01,5,2024-03-01,,", "item", "unknown_item"),
        ("R3,PX,1,Q01,6,2024-03-01,,", "answer", "out_of_scale"),
        ("R3,PX,1,Q01,4.5,2024-03-01,,", "answer", "out_of_scale"),
        ("R2,PX,1,Q01,4,2024-03-02,,", "item", "duplicate_answer"),
    ],
)
def test_a_bad_row_is_skipped_and_named_by_file_line_and_column(tmp_path, row, column, kind):
    extract = load(tmp_path, ROWS + row + "\n")
    assert len(extract.survey_responses) == 4
    assert extract.skipped_rows["survey_responses"] == 1
    assert counts(extract) == {kind: 1}
    (message,) = messages(extract, kind)
    assert message.startswith(f"survey_responses.csv, line 6, column '{column}': ")
    assert message.endswith("; row skipped")


def test_a_duplicate_answer_points_at_the_row_that_counts(tmp_path):
    extract = load(tmp_path, ROWS + "R2,PX,1,Q01,4,2024-03-02,,\n")
    (message,) = messages(extract, "duplicate_answer")
    assert "respondent 'R2' already answered 'Q01' that day on line 5" in message
    assert extract.survey_responses["answer"].tolist()[-1] == 2.0


def test_a_second_response_is_kept_and_noted_for_the_period_rule(tmp_path):
    extract = load(tmp_path, ROWS + "R2,PX,1,Q02,4,2024-05-02,,\n")
    assert len(extract.survey_responses) == 5
    (message,) = messages(extract, "duplicate_respondent")
    assert "line 6, column 'date'" in message
    assert "answered first on 2024-03-02" in message and message.endswith("row kept")


def test_a_link_to_an_unlisted_patient_is_blanked_and_the_answer_kept(tmp_path):
    extract = load(tmp_path, ROWS + "R3,PX,1,Q01,4,2024-03-03,,P404\n")
    assert len(extract.survey_responses) == 5
    assert extract.survey_responses["patient"].isna().iloc[-1]
    (message,) = messages(extract, "unknown_patient")
    assert message == (
        "survey_responses.csv, line 6, column 'patient': "
        "patient 'P404' is not in patients.csv; treated as missing"
    )


def test_strict_mode_makes_a_skipped_answer_fatal(tmp_path):
    from client.extract.errors import ExtractError

    with pytest.raises(ExtractError, match="Q99"):
        load_extract(
            write(tmp_path / "x", survey_responses=HEADER + ROWS + "R3,PX,1,Q99,5,2024-03-01,,\n"),
            strict=True,
        )


def test_danish_messages_by_default(tmp_path, monkeypatch):
    monkeypatch.delenv("KLYNGE_LANG")
    extract = load(tmp_path, ROWS + "R3,PX,1,Q01,6,2024-03-01,,\n")
    (message,) = messages(extract, "out_of_scale")
    assert "linje 6, kolonne 'answer'" in message
    assert "er ikke et svar på 'Q01'; forventede et helt tal 1–5; rækken springes over" in message


def test_a_parquet_row_is_named_by_row_number(tmp_path):
    directory = write(tmp_path / "x")
    table = pacsv.read_csv(
        pa.BufferReader((HEADER + ROWS + "R3,PX,1,Q01,6,2024-03-01,,\n").encode()),
        convert_options=pacsv.ConvertOptions(
            column_types={"version": pa.float64(), "answer": pa.float64(), "date": pa.date32()}
        ),
    )
    pq.write_table(table, directory / "survey_responses.parquet")
    (message,) = messages(load_extract(directory), "out_of_scale")
    assert message.startswith("survey_responses.parquet, row 5, column 'answer'")
