"""`klynge synth`: write a synthetic federation (federation.toml + one extract per practice)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Literal

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from client.extract.schema import OPTIONAL_TABLES, TABLES
from client.extract.writer import extract_format
from client.synth.federation import (
    DEFAULT_AS_OF,
    DEFAULT_YEARS,
    PracticeReport,
    synthesize_federation,
)
from client.synth.output import FEDERATION_FILE
from common.formatting import integer, number
from common.i18n import register as register_messages
from common.i18n import t

register_messages(
    {
        "synth.help": {
            "da": "Generér syntetiske praksisser: federation.toml og ét udtræk pr. praksis.",
            "en": "Generate synthetic practices: federation.toml and one extract per practice.",
        },
        "synth.bad_date": {
            "da": "'{value}' er ikke en dato på formen ÅÅÅÅ-MM-DD",
            "en": "'{value}' is not a date of the form YYYY-MM-DD",
        },
        "synth.too_few_practices": {
            "da": "--practices ({practices}) skal være mindst --clusters ({clusters})",
            "en": "--practices ({practices}) must be at least --clusters ({clusters})",
        },
        "synth.progress": {"da": "Genererer praksisser", "en": "Generating practices"},
        "synth.title": {
            "da": "Syntetisk føderation: {practices} praksisser i {clusters} klynger "
            "(seed {seed}, udtræksdato {as_of}, {years} års historik)",
            "en": "Synthetic federation: {practices} practices in {clusters} clusters "
            "(seed {seed}, extract date {as_of}, {years} years of history)",
        },
        "synth.col_cluster": {"da": "Klynge", "en": "Cluster"},
        "synth.col_region": {"da": "Region", "en": "Region"},
        "synth.col_practices": {"da": "Praksisser", "en": "Practices"},
        "synth.col_listed": {"da": "Tilmeldte patienter", "en": "Listed patients"},
        "synth.total": {"da": "I alt", "en": "Total"},
        "synth.rows": {"da": "Rækker skrevet: {rows}", "en": "Rows written: {rows}"},
        "synth.timing": {
            "da": "Tid: generering {generate} s, skrivning {write} s ({fmt})",
            "en": "Time: generation {generate} s, writing {write} s ({fmt})",
        },
        "synth.written": {"da": "Føderationsfil: {path}", "en": "Federation file: {path}"},
        "synth.small_cluster": {
            "da": "Bemærk: klynge {cluster} har kun {n} praksisser; sikker aggregering "
            "kræver som standard mindst 5.",
            "en": "Note: cluster {cluster} has only {n} practices; secure aggregation "
            "needs at least 5 by default.",
        },
    }
)

MIN_PRACTICES_PER_AGGREGATE = 5  # ARCHITECTURE.md, disclosure control defaults


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(t("synth.bad_date", value=value)) from None


def register(root: typer.Typer) -> None:
    @root.command("synth", help=t("synth.help", lang="en"))
    def synth(
        out: Path = typer.Option(
            ..., "--out", help="Output directory (empty, new, or a previous synth output)."
        ),
        practices: int = typer.Option(15, "--practices", min=1, help="Number of practices."),
        clusters: int = typer.Option(3, "--clusters", min=1, help="Number of clusters."),
        seed: int = typer.Option(1, "--seed", min=0, help="Random seed (same seed, same files)."),
        patients: int | None = typer.Option(
            None,
            "--patients",
            min=1,
            help="List size of every practice (default: realistic, varying by practice).",
        ),
        years: int = typer.Option(
            DEFAULT_YEARS, "--years", min=1, max=30, help="Years of history in each extract."
        ),
        fmt: str = typer.Option("csv", "--format", help="Extract format: csv or parquet."),
        as_of: str = typer.Option(
            DEFAULT_AS_OF.isoformat(),
            "--as-of",
            help="Extract date, YYYY-MM-DD (fixed default keeps output reproducible).",
        ),
        survey_errors: bool = typer.Option(
            False,
            "--survey-errors",
            help="Add a few bad survey answers per practice, one per skip rule.",
        ),
    ) -> None:
        form = extract_format(fmt)
        if form is None:
            raise typer.BadParameter(
                t("cli.bad.either", a="'csv'", b="'parquet'"), param_hint="--format"
            )
        if practices < clusters:
            raise typer.BadParameter(
                t("synth.too_few_practices", practices=practices, clusters=clusters),
                param_hint="--practices",
            )
        extract_date = _parse_date(as_of)
        run(out, practices, clusters, seed, patients, years, form, extract_date, survey_errors)


def run(
    out: Path,
    practices: int,
    clusters: int,
    seed: int,
    patients: int | None,
    years: int,
    fmt: Literal["csv", "parquet"],
    as_of: date,
    survey_errors: bool = False,
) -> None:
    """Generate with a progress bar on stderr, then print the summary on stdout."""
    reports: list[PracticeReport] = []
    stderr = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=stderr,
        transient=True,
        disable=not stderr.is_terminal,  # no stray output when piped or logged
    ) as progress:
        task = progress.add_task(t("synth.progress"), total=practices)

        def on_practice(report: PracticeReport) -> None:
            reports.append(report)
            progress.update(
                task, advance=1, description=f"{t('synth.progress')} ({report.practice.id})"
            )

        federation = synthesize_federation(
            out,
            practices,
            clusters,
            seed,
            as_of=as_of,
            years=years,
            fmt=fmt,
            patients_override=patients,
            on_practice=on_practice,
            survey_errors=survey_errors,
        )
    console = Console()
    table = Table(
        title=t(
            "synth.title",
            practices=practices,
            clusters=clusters,
            seed=seed,
            as_of=as_of.isoformat(),
            years=years,
        )
    )
    table.add_column(t("synth.col_cluster"))
    table.add_column(t("synth.col_region"))
    table.add_column(t("synth.col_practices"), justify="right")
    table.add_column(t("synth.col_listed"), justify="right")
    for c in federation.clusters:
        members = federation.practices_in(c.id)
        table.add_row(c.id, c.region, str(len(members)), f"{sum(p.list_size for p in members):,}")
    total_listed = sum(p.list_size for p in federation.practices)
    table.add_row(t("synth.total"), "", str(len(federation.practices)), f"{total_listed:,}")
    console.print(table)
    rows = {
        tb.name: sum(r.rows.get(tb.name, 0) for r in reports) for tb in (*TABLES, *OPTIONAL_TABLES)
    }
    lines = [
        t("synth.rows", rows=", ".join(f"{k} {integer(v)}" for k, v in rows.items())),
        t(
            "synth.timing",
            generate=number(sum(r.generate_seconds for r in reports), 1),
            write=number(sum(r.write_seconds for r in reports), 1),
            fmt=fmt,
        ),
    ]
    for c in federation.clusters:
        n = len(federation.practices_in(c.id))
        if n < MIN_PRACTICES_PER_AGGREGATE:
            lines.append(t("synth.small_cluster", cluster=c.id, n=n))
    lines.append(t("synth.written", path=Path(out) / FEDERATION_FILE))
    for line in lines:  # whole lines (paths must stay copyable), no markup in paths
        console.print(line, soft_wrap=True, markup=False, highlight=False)
