"""`klynge report region|cluster`: the benchmark report from a coordinator's store.

Reads only what the store released (aggregates after disclosure control),
so the report can be shared with the region or the cluster meeting. With
`--state-dir` (server.toml's `state_dir`), the region report also shows the
country: the national release `klynge server import-national` checked and
stored there, if it is of the report's period.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import typer
from rich.console import Console

from common.atomic import atomic_write
from common.dates import parse_iso_date
from common.errors import KlyngeError
from common.i18n import Lang, register, t
from indicator_defs import load_catalogue
from klynge.options import chosen_language
from reporting.benchmark_page import render_cluster_report, render_region_report
from reporting.release_document import PeriodResults
from server.publication import with_nation
from server.results import period_results
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
        "report.cli.unknown_period": {
            "da": "{store} har ingen udgivelser pr. {period} (har: {known})",
            "en": "{store} has no releases as of {period} (has: {known})",
        },
        "report.cli.no_cluster": {
            "da": "klynge {cluster} har ingen udgivelse pr. {period} (har: {known})",
            "en": "cluster {cluster} has no release as of {period} (has: {known})",
        },
        "report.cli.no_store": {
            "da": "{store}: ingen sådan database",
            "en": "{store}: no such store",
        },
    }
)

_LANG_HELP = "da or en (default: klynge --lang, else da)."


class ReportError(KlyngeError):
    pass


def _results(store_path: Path, period: str | None, lang: Lang) -> PeriodResults:
    """The period's results document, with every earlier period as "history" for the trends."""
    if not store_path.is_file():
        raise ReportError(t("report.cli.no_store", lang, store=store_path))
    store = Store.open(store_path)
    try:
        dates = sorted({s.release.reference_date for s in store.releases()})
        if not dates:
            raise ReportError(t("report.cli.no_period", lang, store=store_path))
        ref: date = dates[-1]  # the latest period
        if period:
            ref = parse_iso_date(period, "--period")
            if ref not in dates:
                known = ", ".join(d.isoformat() for d in dates)
                raise ReportError(
                    t("report.cli.unknown_period", lang, store=store_path, period=ref, known=known)
                )
        history = tuple(period_results(store, d) for d in dates if d < ref)
        return replace(period_results(store, ref), history=history)
    finally:
        store.close()


def _write(page: str, out: Path, lang: Lang) -> None:
    atomic_write(out, page.encode("utf-8"))
    Console().print(t("report.cli.written", lang, path=out))


@app.command("region")
def region(
    store: Path = typer.Option(..., "--store", help="The coordinator's SQLite store."),
    period: str = typer.Option(None, "--period", help="Reference date (default: the latest)."),
    lang: str | None = typer.Option(None, "--lang", help=_LANG_HELP),
    out: Path = typer.Option(..., "--out", help="HTML file to write."),
    state_dir: Path | None = typer.Option(
        None,
        "--state-dir",
        help="The coordinator's state_dir: show the imported national release beside the region.",
    ),
) -> None:
    """The region first, then every cluster of the period beside it (and the country)."""
    language = chosen_language(lang)
    results = _results(store, period, language)
    if state_dir is not None:
        results = with_nation(results, state_dir)
    _write(render_region_report(results, load_catalogue(), language), out, language)


@app.command("cluster")
def cluster(
    cluster_id: str = typer.Option(..., "--cluster", help="Cluster id, e.g. K01."),
    store: Path = typer.Option(..., "--store", help="The coordinator's SQLite store."),
    period: str = typer.Option(None, "--period", help="Reference date (default: the latest)."),
    lang: str | None = typer.Option(None, "--lang", help=_LANG_HELP),
    out: Path = typer.Option(..., "--out", help="HTML file to write."),
    state_dir: Path | None = typer.Option(
        None,
        "--state-dir",
        help="The coordinator's state_dir: show the imported national release too.",
    ),
) -> None:
    """One cluster beside its region and the target, for the cluster meeting."""
    language = chosen_language(lang)
    results = _results(store, period, language)
    if state_dir is not None:
        results = with_nation(results, state_dir)
    if cluster_id not in results.clusters:
        known = ", ".join(sorted(results.clusters)) or "-"
        raise ReportError(
            t(
                "report.cli.no_cluster",
                language,
                cluster=cluster_id,
                period=results.reference_date.isoformat(),
                known=known,
            )
        )
    page = render_cluster_report(results, load_catalogue(), cluster_id, language)
    _write(page, out, language)
