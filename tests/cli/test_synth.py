"""`klynge synth` through the real CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from client.extract.loader import load_extract
from client.synth.output import SynthOutputError
from common.federation import load_federation
from common.i18n import set_lang
from klynge.cli import root

SMALL = ["--practices", "5", "--clusters", "2", "--patients", "250", "--years", "2"]


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLYNGE_LANG", "en")


def test_synth_writes_federation_and_summary(tmp_path: Path) -> None:
    out = tmp_path / "fed"
    result = CliRunner().invoke(root, ["synth", "--out", str(out), "--seed", "4", *SMALL])
    assert result.exit_code == 0, result.output
    fed = load_federation(out / "federation.toml")
    assert [p.id for p in fed.practices] == ["P0001", "P0002", "P0003", "P0004", "P0005"]
    assert [(c.id, c.region) for c in fed.clusters] == [
        ("K01", "Hovedstaden"),
        ("K02", "Midtjylland"),
    ]
    assert all(fed.extract_dir(p).joinpath("patients.csv").is_file() for p in fed.practices)
    assert fed.synthetic is not None
    assert (fed.synthetic.seed, fed.synthetic.years, str(fed.synthetic.as_of)) == (
        4,
        2,
        "2026-09-30",
    )
    assert "Synthetic federation: 5 practices in 2 clusters" in result.output
    assert "1,250" in result.output  # total listed patients
    assert "only 2 practices" in result.output  # K02 is below the secure-aggregation minimum
    assert str(out / "federation.toml") in result.output


def test_parquet_and_as_of(tmp_path: Path) -> None:
    out = tmp_path / "fed"
    args = ["synth", "--out", str(out), "--format", "parquet", "--as-of", "2025-01-31", *SMALL]
    result = CliRunner().invoke(root, args)
    assert result.exit_code == 0, result.output
    fed = load_federation(out / "federation.toml")
    assert fed.synthetic is not None and str(fed.synthetic.as_of) == "2025-01-31"
    assert sorted(p.name for p in fed.extract_dir(fed.practices[0]).iterdir()) == [
        "conditions.parquet", "encounters.parquet", "lab_results.parquet",
        "patients.parquet", "prescriptions.parquet", "survey_responses.parquet",
    ]  # fmt: skip


def test_survey_errors_adds_one_bad_answer_per_rule(tmp_path: Path) -> None:
    out = tmp_path / "fed"
    result = CliRunner().invoke(root, ["synth", "--out", str(out), "--survey-errors", *SMALL])
    assert result.exit_code == 0, result.output
    assert "survey_responses" in result.output
    fed = load_federation(out / "federation.toml")
    kinds = {c.kind for c in load_extract(fed.extract_dir(fed.practices[0])).warning_counts}
    assert kinds == {"unknown_item", "out_of_scale", "duplicate_answer", "duplicate_respondent"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2026-02-30"], "not a date of the form YYYY-MM-DD"),
        (["--format", "xlsx"], "csv"),
        (["--practices", "1", "--clusters", "2"], "must be at least --clusters"),
        (["--years", "0"], "--years"),
    ],
)
def test_bad_options_are_refused(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(root, ["synth", "--out", str(tmp_path / "x"), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not (tmp_path / "x").exists()


def test_refuses_a_foreign_directory_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("keep")
    result = CliRunner().invoke(root, ["synth", "--out", str(tmp_path), *SMALL])
    assert result.exit_code == SynthOutputError.exit_code
    assert result.output == (
        f"klynge: {tmp_path}: the directory is not empty and is not output of 'klynge synth' "
        "(found 'keep.txt'); choose an empty or new directory\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_danish_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KLYNGE_LANG")
    (tmp_path / "keep.txt").write_text("keep")
    result = CliRunner().invoke(root, ["synth", "--out", str(tmp_path), *SMALL])
    assert "mappen er ikke tom" in result.output


def test_the_danish_summary_writes_danish_numbers(tmp_path: Path, monkeypatch) -> None:
    """Row counts with a thousands dot and timings with a decimal comma ("12,000" is twelve)."""
    monkeypatch.delenv("KLYNGE_LANG", raising=False)
    set_lang(None)
    result = CliRunner().invoke(root, ["synth", "--out", str(tmp_path / "f"), *SMALL])
    assert result.exit_code == 0, result.output
    summary = [line for line in result.output.splitlines() if line.startswith(("Rækker", "Tid"))]
    assert len(summary) == 2, result.output
    assert not re.search(r"\d,\d{3}\b|\d\.\d\b", " ".join(summary)), summary
