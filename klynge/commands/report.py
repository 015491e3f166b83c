"""`klynge report region|cluster`: the benchmark report from a coordinator's store.

Reads only what the store released (aggregates after disclosure control),
so the report can be shared with the region or the cluster meeting.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console

from indicator_defs import load_catalogue
from klynge.dates import parse_iso_date
from klynge.errors import KlyngeError
from klynge.i18n import current_lang, register, t
from privacy.atomic import atomic_write
from server.report_html import render_report
from server.results import results_document
from server.store import Store

app = typer.Typer(
    help="Benchmark reports (HTML) from the coordinator's store.", no_args_is_help=True
)

register(
    {
        "report.cli.written": {"da": "Rapport skrevet: {path}", "en": "Report written: {path}"},
        "report.cli.no_period": {
            "da": "{store} indeholder ingen udgivelser",
            "en": "{store} holds no releases",
        },
        "report.cli.no_cluster": {
            "da": "klynge {cluster} har ingen udgivelse pr. {period} (har: {known})",
            "en": "cluster {cluster} has no release as of {period} (has: {known})",
        },
    }
)


class ReportError(KlyngeError):
    pass


def _results(store_path: Path, period: str | None) -> dict:
    if not store_path.is_file():
        raise ReportError(f"{store_path}: no such store")
    store = Store.open(store_path)
    try:
        if period:
            ref = parse_iso_date(period, "--period")
        else:
            dates = sorted({s.release.reference_date for s in store.releases()})
            if not dates:
                raise ReportError(t("report.cli.no_period", store=store_path))
            ref: date = dates[-1]  # the latest period
        return results_document(store, ref)
    finally:
        store.close()


def _write(results: dict, out: Path) -> None:
    page = render_report(results, load_catalogue(), current_lang())
    atomic_write(out, page.encode("utf-8"))
    Console().print(t("report.cli.written", path=out))


@app.command("region")
def region(
    store: Path = typer.Option(..., "--store", help="The coordinator's SQLite store."),
    period: str = typer.Option(None, "--period", help="Reference date (default: the latest)."),
    out: Path = typer.Option(..., "--out", help="HTML file to write."),
) -> None:
    """Every cluster of the period next to its region."""
    _write(_results(store, period), out)


@app.command("cluster")
def cluster(
    cluster_id: str = typer.Option(..., "--cluster", help="Cluster id, e.g. K01."),
    store: Path = typer.Option(..., "--store", help="The coordinator's SQLite store."),
    period: str = typer.Option(None, "--period", help="Reference date (default: the latest)."),
    out: Path = typer.Option(..., "--out", help="HTML file to write."),
) -> None:
    """One cluster next to its region, for the cluster meeting."""
    results = _results(store, period)
    doc = results["clusters"].get(cluster_id)
    if doc is None:
        known = ", ".join(sorted(results["clusters"])) or "-"
        raise ReportError(
            t(
                "report.cli.no_cluster",
                cluster=cluster_id,
                period=results["reference_date"],
                known=known,
            )
        )
    region_ids = {r for r, d in results["regions"].items() if doc["round_ids"][0] in d["round_ids"]}
    results["clusters"] = {cluster_id: doc}
    results["regions"] = {r: d for r, d in results["regions"].items() if r in region_ids}
    results["aborted_rounds"] = [a for a in results["aborted_rounds"] if a["cluster"] == cluster_id]
    _write(results, out)
