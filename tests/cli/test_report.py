"""`klynge report region|cluster` from a real SQLite store."""

from __future__ import annotations

import json
from datetime import date

import pytest
from typer.testing import CliRunner

from klynge.cli import root
from server.publication import NATIONAL_ARCHIVE
from server.store import Level, Release, ReleasedCell, RoundState, Store, SuppressedCell

REF = date(2026, 9, 30)
EARLIER = date(2026, 6, 30)


def _record_period(store: Store, ref: date, k01_rate: float) -> None:
    """K01 released, K02's DM-01 numerator suppressed, and their region."""
    suffix = ref.isoformat()
    for cluster in ("K01", "K02"):
        round_id = f"r-{cluster}-{suffix}"
        store.create_round(
            round_id,
            cluster=cluster,
            region="Midtjylland",
            reference_date=ref,
            manifest_hash="ab" * 32,
        )
        store.set_round_state(round_id, RoundState.RUNNING)
        hidden = cluster == "K02"
        store.record_release(
            Release(
                Level.CLUSTER,
                cluster,
                (round_id,),
                ref,
                "ab" * 32,
                (
                    ReleasedCell(
                        "DM-01",
                        "total",
                        None if hidden else round(k01_rate * 1000),
                        1000,
                        88.0,
                        6,
                        {"rate": None if hidden else k01_rate},
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
            (f"r-K01-{suffix}", f"r-K02-{suffix}"),
            ref,
            "ab" * 32,
            (
                ReleasedCell(
                    "DM-01", "total", 1700, 2000, 124.0, 12, {"rate": 0.85, "interval": [0.7, 0.99]}
                ),
            ),
            (),
            {"contributors": 12, "mechanism": "distributed_skellam"},
        )
    )


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "coordinator.sqlite"
    store = Store.open(path)
    try:
        _record_period(store, EARLIER, 0.8)
        _record_period(store, REF, 0.85)
    finally:
        store.close()
    return path


def _dm01(page: str) -> str:
    return page[page.index("<h2 id='DM-01'>") :].split("<section")[0]


def test_region_and_cluster_reports(store_path, tmp_path, monkeypatch):
    monkeypatch.setenv("KLYNGE_LANG", "en")
    runner = CliRunner()
    region = tmp_path / "region.html"
    result = runner.invoke(
        root, ["report", "region", "--store", str(store_path), "--out", str(region)]
    )
    assert result.exit_code == 0, result.output
    page = region.read_text()
    assert "Regional report: Midtjylland, 2026-09-30" in page
    assert "K01" in page and "K02" in page and "85.0%" in page
    section = _dm01(page)
    assert "(70.0–99.0)" in section  # the region's released interval
    assert "Trend over periods" in section and "2026-06" in section  # the earlier period
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
    assert "Cluster report: K02" in page and "Midtjylland" in page and ">K01<" not in page
    section = _dm01(page)
    assert ">suppressed<" in section and section.count("<rect") == 1  # hidden K02, region bar
    assert "0.0%" not in section  # hidden is never drawn as zero


def test_language_and_period_options(store_path, tmp_path, monkeypatch):
    monkeypatch.delenv("KLYNGE_LANG", raising=False)
    runner = CliRunner()
    out = tmp_path / "r.html"
    args = ["report", "region", "--store", str(store_path), "--out", str(out)]
    assert runner.invoke(root, args).exit_code == 0
    assert "Regional rapport: Midtjylland" in out.read_text()  # Danish by default
    assert runner.invoke(root, [*args, "--lang", "en", "--period", "2026-06-30"]).exit_code == 0
    page = out.read_text()
    assert "Regional report: Midtjylland, 2026-06-30" in page and "80.0%" in page
    assert "Trend over periods" not in page  # nothing before the first period


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
        (
            [
                "report",
                "region",
                "--store",
                str(store_path),
                "--period",
                "2026-03-31",
                "--out",
                out,
            ],
            "has no releases as of 2026-03-31 (has: 2026-06-30, 2026-09-30)",
        ),
        (
            ["report", "region", "--store", str(store_path), "--lang", "fr", "--out", out],
            "must be 'da' or 'en'",
        ),
    ]
    for args, message in cases:
        result = runner.invoke(root, args)
        assert result.exit_code != 0 and message in result.stderr, result.output
        assert "Traceback" not in result.output


def _imported_national(state_dir, ref: date, rate: float = 0.7654, archive: bool = False) -> None:
    """What `klynge server import-national` leaves in the state directory (its `nation` part):
    the latest in `national.json` and, with `archive`, each period's under `national/`."""
    state_dir.mkdir(parents=True, exist_ok=True)
    nation = {
        "release_id": "DK-1",
        "created_at": "2026-11-01T10:00:00+00:00",
        "level": "nation",
        "unit": "Danmark",
        "reference_date": ref.isoformat(),
        "round_ids": ["r-K01-2026-09-30"],
        "manifest_hash": "ab" * 32,
        "indicators": [
            {
                "id": "DM-01",
                "numerator": round(rate * 10000),
                "denominator": 10000,
                "rate": rate,
                "interval": [0.75, 0.78],
                "noise_sd": 300.0,
                "suppressed": {},
            }
        ],
    }
    (state_dir / "national.json").write_text(json.dumps({"nation": nation}))
    if archive:
        (state_dir / NATIONAL_ARCHIVE).mkdir(exist_ok=True)
        (state_dir / NATIONAL_ARCHIVE / f"{ref.isoformat()}.json").write_text(
            json.dumps({"nation": nation})
        )


def test_region_report_shows_the_imported_country_of_its_period(store_path, tmp_path, monkeypatch):
    monkeypatch.setenv("KLYNGE_LANG", "en")
    state_dir = tmp_path / "state"
    _imported_national(state_dir, REF)
    out = tmp_path / "region.html"
    args = ["report", "region", "--store", str(store_path), "--out", str(out)]
    result = CliRunner().invoke(root, [*args, "--state-dir", str(state_dir)])
    assert result.exit_code == 0, result.output
    section = _dm01(out.read_text())
    assert ">Country<" in section and "76.5%" in out.read_text()
    # another period's report: the country of 2026-09-30 is not compared with it
    result = CliRunner().invoke(
        root, [*args, "--state-dir", str(state_dir), "--period", EARLIER.isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert ">Country<" not in out.read_text()
    # nothing imported: the report as before
    result = CliRunner().invoke(root, [*args, "--state-dir", str(tmp_path / "empty")])
    assert result.exit_code == 0 and ">Country<" not in out.read_text()


def test_reports_draw_the_country_in_the_trend_and_the_cluster_overview(
    store_path, tmp_path, monkeypatch
):
    """Each imported period's country is kept, so the trend has the country's line; the
    cluster report shows the country beside the region."""
    monkeypatch.setenv("KLYNGE_LANG", "en")
    state_dir = tmp_path / "state"
    _imported_national(state_dir, EARLIER, rate=0.6111, archive=True)
    _imported_national(state_dir, REF, archive=True)
    out = tmp_path / "region.html"
    args = ["report", "region", "--store", str(store_path), "--out", str(out)]
    result = CliRunner().invoke(root, [*args, "--state-dir", str(state_dir)])
    assert result.exit_code == 0, result.output
    trend = _dm01(out.read_text()).split("Trend", 1)[1]
    assert ">Country<" in trend  # the trend's key
    result = CliRunner().invoke(
        root, [*args, "--state-dir", str(state_dir), "--period", EARLIER.isoformat()]
    )
    assert result.exit_code == 0 and "61.1%" in out.read_text()  # that period's country
    cluster = tmp_path / "cluster.html"
    result = CliRunner().invoke(
        root,
        ["report", "cluster", "--cluster", "K01", "--store", str(store_path), "--out",
         str(cluster), "--state-dir", str(state_dir)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    overview = cluster.read_text().split("<section class='overview'>", 1)[1].split("</table>")[0]
    assert "<th>Country</th>" in overview and "76.5%" in overview
