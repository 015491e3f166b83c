"""`klynge report region|cluster` from a real SQLite store."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from klynge.cli import root
from server.store import Level, Release, ReleasedCell, RoundState, Store, SuppressedCell

REF = date(2026, 9, 30)


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "coordinator.sqlite"
    store = Store.open(path)
    try:
        for cluster in ("K01", "K02"):
            store.create_round(
                f"r-{cluster}",
                cluster=cluster,
                region="Midtjylland",
                reference_date=REF,
                manifest_hash="ab" * 32,
            )
            store.set_round_state(f"r-{cluster}", RoundState.RUNNING)
            hidden = cluster == "K02"
            store.record_release(
                Release(
                    Level.CLUSTER,
                    cluster,
                    (f"r-{cluster}",),
                    REF,
                    "ab" * 32,
                    (
                        ReleasedCell(
                            "DM-01",
                            "total",
                            None if hidden else 850,
                            1000,
                            88.0,
                            6,
                            {"rate": None if hidden else 0.85},
                        ),
                    ),
                    (SuppressedCell("DM-01", "total", "numerator", "small_complement"),)
                    if hidden
                    else (),
                    {
                        "contributors": 6,
                        "mechanism": "distributed_skellam",
                        "epsilon_per_release": 1.0,
                    },
                )
            )
        store.record_release(
            Release(
                Level.REGION,
                "Midtjylland",
                ("r-K01", "r-K02"),
                REF,
                "ab" * 32,
                (ReleasedCell("DM-01", "total", 1700, 2000, 124.0, 12, {"rate": 0.85}),),
                (),
                {"contributors": 12, "mechanism": "distributed_skellam"},
            )
        )
    finally:
        store.close()
    return path


def test_region_and_cluster_reports(store_path, tmp_path, monkeypatch):
    monkeypatch.setenv("KLYNGE_LANG", "en")
    runner = CliRunner()
    region = tmp_path / "region.html"
    result = runner.invoke(
        root, ["report", "region", "--store", str(store_path), "--out", str(region)]
    )
    assert result.exit_code == 0, result.output
    page = region.read_text()
    assert "K01" in page and "K02" in page and "Midtjylland" in page and "85.0%" in page
    cluster = tmp_path / "cluster.html"
    result = runner.invoke(
        root,
        [
            "report",
            "cluster",
            "--cluster",
            "K02",
            "--store",
            str(store_path),
            "--period",
            "2026-09-30",
            "--out",
            str(cluster),
        ],
    )
    assert result.exit_code == 0, result.output
    page = cluster.read_text()
    assert "K02" in page and "Midtjylland" in page and ">K01<" not in page
    card = page[page.index("DM-01 HbA1c measured") :].split("class='card'")[0]
    assert "suppressed" in card and "<rect" in card  # hidden K02, drawn region bar
    assert "0.0%" not in card  # hidden is never drawn as zero


def test_bad_input_is_one_clear_line(store_path, tmp_path, monkeypatch):
    monkeypatch.setenv("KLYNGE_LANG", "en")
    runner = CliRunner()
    out = str(tmp_path / "x.html")
    cases = [
        (
            ["report", "cluster", "--cluster", "K09", "--store", str(store_path), "--out", out],
            "cluster K09 has no release",
        ),
        (
            ["report", "region", "--store", str(tmp_path / "none.sqlite"), "--out", out],
            "no such store",
        ),
        (
            [
                "report",
                "region",
                "--store",
                str(store_path),
                "--period",
                "30-09-2026",
                "--out",
                out,
            ],
            "YYYY-MM-DD",
        ),
    ]
    for args, message in cases:
        result = runner.invoke(root, args)
        assert result.exit_code != 0 and message in result.stderr, result.output
        assert "Traceback" not in result.output
