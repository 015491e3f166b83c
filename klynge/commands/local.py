"""`klynge compute`: a practice's own indicators, computed locally.

Nothing here touches the network. Progress and warnings go to stderr, so
`--json` leaves exactly one JSON object on stdout for scripts.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import typer
from rich.console import Console, JustifyMethod
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from client.engine.fast import PreparedExtract, evaluate_prepared
from client.engine.result import PracticeResult
from client.extract.loader import load_extract
from client.extract.tables import Extract
from common.dates import parse_iso_date
from common.errors import FileKeyError
from common.formatting import day, integer, rate
from common.i18n import current_lang, t
from common.i18n import register as register_messages
from indicator_defs import Catalogue, load_catalogue

register_messages(
    {
        "compute.loading": {"da": "Indlæser {table}", "en": "Loading {table}"},
        "compute.loaded": {
            "da": "Indlæst {table} ({rows} rækker)",
            "en": "Loaded {table} ({rows} rows)",
        },
        "compute.preparing": {"da": "Forbereder data", "en": "Preparing data"},
        "compute.evaluating": {"da": "Beregner indikatorer", "en": "Computing indicators"},
        "compute.title": {
            "da": "Indikatorer pr. {date} — {list_size} patienter på listen",
            "en": "Indicators as of {date} — {list_size} patients listed",
        },
        "compute.col.id": {"da": "Id", "en": "Id"},
        "compute.col.title": {"da": "Indikator", "en": "Indicator"},
        "compute.col.num": {"da": "Tæller", "en": "Numerator"},
        "compute.col.den": {"da": "Nævner", "en": "Denominator"},
        "compute.col.rate": {"da": "Resultat", "en": "Result"},
        "compute.col.target": {"da": "Mål", "en": "Target"},
        "compute.warnings": {
            "da": "{n} advarsler i udtrækket; første: {first}",
            "en": "{n} warnings in the extract; first: {first}",
        },
        "compute.unknown_ids": {
            "da": "ukendte indikatorer: {ids}",
            "en": "unknown indicators: {ids}",
        },
        "compute.outside_range": {
            "da": "Advarsel: referencedatoen {date} ligger uden for udtrækkets data "
            "({first} til {last}); resultaterne siger intet om den dag",
            "en": "Warning: the reference date {date} lies outside the extract's data "
            "({first} to {last}); the results say nothing about that day",
        },
        "compute.no_patients": {
            "da": "ingen patienter på listen pr. {date}; tjek udtrækket",
            "en": "no patients listed on {date}; check the extract",
        },
        "compute.local_only": {
            "da": "Beregnet lokalt. Intet er sendt fra praksis.",
            "en": "Computed locally. Nothing has left the practice.",
        },
    }
)


def result_to_json(result: PracticeResult, catalogue: Catalogue, extract: Extract) -> dict:
    indicators = []
    for ic in result.indicators:
        ind = catalogue.indicators[ic.indicator_id]
        indicators.append(
            {
                "id": ic.indicator_id,
                "title": ind.title,
                "unit": ind.unit.value,
                "scale": ind.scale,
                "numerator": ic.numerator,
                "denominator": ic.denominator,
                "rate": ind.rate(ic.numerator, ic.denominator),
                "content_hash": ind.content_hash,
                "strata": [
                    {"stratum": s.stratum, "numerator": s.numerator, "denominator": s.denominator}
                    for s in ic.strata
                ],
            }
        )
    return {
        "reference_date": result.reference_date.isoformat(),
        "list_size": result.list_size,
        "catalogue_hash": catalogue.content_hash,
        "warnings": [str(w) for w in extract.warnings],
        "skipped_rows": dict(extract.skipped_rows),
        "indicators": indicators,
    }


def compute_with_progress(
    extract_dir: Path, as_of: str, catalogue: Catalogue, strict: bool, show: bool
) -> tuple[Extract, PracticeResult]:
    ref = parse_iso_date(as_of, "--as-of")
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
        disable=not show,
        transient=True,
    ) as progress:
        load_task = progress.add_task(t("compute.loading", table="…"), total=5)

        def on_table(table: str, rows: int) -> None:
            progress.update(
                load_task, advance=1, description=t("compute.loaded", table=table, rows=rows)
            )

        extract = load_extract(extract_dir, strict=strict, progress=on_table)
        prep_task = progress.add_task(t("compute.preparing"), total=1)
        prepared = PreparedExtract.from_extract(extract)
        progress.update(prep_task, advance=1)
        eval_task = progress.add_task(t("compute.evaluating"), total=len(catalogue.indicators))
        result = evaluate_prepared(
            prepared, catalogue, ref, progress=lambda _id: progress.update(eval_task, advance=1)
        )
    return extract, result


def data_range(extract: Extract) -> tuple[date, date] | None:
    """The first and last day the extract has data for: the earliest list registration
    to the latest dated event or registration (None when it holds no dates at all)."""
    columns = [
        ("patients", "list_start"),
        ("patients", "list_end"),
        ("conditions", "start_date"),
        ("prescriptions", "date"),
        ("lab_results", "date"),
        ("encounters", "date"),
    ]
    days = [extract.table(table)[column] for table, column in columns]
    lows = [c.min() for c in days if c.notna().any()]
    highs = [c.max() for c in days if c.notna().any()]
    if not lows:
        return None
    return min(lows).date(), max(highs).date()


def check_inputs(extract: Extract, result: PracticeResult, extract_dir: Path) -> None:
    """A reference date outside the extract's data is a warning naming the range; an
    extract with no one listed on the day is an error naming the patients file."""
    warning = _outside_range(extract, result)
    if warning is not None:
        Console(stderr=True).print(warning, highlight=False)
    if result.list_size == 0:
        when = day(result.reference_date)
        raise ExtractInputError(
            extract_dir / "patients.csv", None, t("compute.no_patients", date=when)
        )


def _outside_range(extract: Extract, result: PracticeResult) -> str | None:
    span = data_range(extract)
    if span is not None and not span[0] <= result.reference_date <= span[1]:
        return t(
            "compute.outside_range",
            date=day(result.reference_date),
            first=day(span[0]),
            last=day(span[1]),
        )
    return None


class ExtractInputError(FileKeyError):
    """The extract cannot answer the question asked of it (no one listed on the day)."""


def compute(
    extract_dir: Path = typer.Argument(..., help="Directory with the extract (CSV or Parquet)."),
    as_of: str = typer.Option(..., "--as-of", help="Reference date, YYYY-MM-DD."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object to stdout."),
    indicator: list[str] = typer.Option(None, "--indicator", "-i", help="Only these ids."),
    strict: bool = typer.Option(False, "--strict", help="Treat extract warnings as errors."),
) -> None:
    """Compute this practice's indicators from its own extract, locally."""
    catalogue = load_catalogue()
    if indicator:
        wanted = [i.upper() for i in indicator]
        unknown = sorted(set(wanted) - set(catalogue.indicators))
        if unknown:
            raise typer.BadParameter(
                t("compute.unknown_ids", ids=", ".join(unknown)), param_hint="--indicator"
            )
        catalogue = catalogue.select(wanted)
    extract, result = compute_with_progress(
        extract_dir, as_of, catalogue, strict, show=sys.stderr.isatty()
    )
    err = Console(stderr=True)
    check_inputs(extract, result, extract_dir)
    if extract.warnings:
        err.print(
            t("compute.warnings", n=len(extract.warnings), first=extract.warnings[0]),
            highlight=False,
        )
    if as_json:
        sys.stdout.write(
            json.dumps(result_to_json(result, catalogue, extract), ensure_ascii=False) + "\n"
        )
        return
    lang = current_lang()
    table = Table(
        title=t(
            "compute.title", date=day(result.reference_date), list_size=integer(result.list_size)
        )
    )
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("id", "left"),
        ("title", "left"),
        ("num", "right"),
        ("den", "right"),
        ("rate", "right"),
        ("target", "right"),
    )
    for key, justify in columns:
        table.add_column(t(f"compute.col.{key}"), justify=justify)
    for ic in result.indicators:
        ind = catalogue.indicators[ic.indicator_id]
        target = "" if ind.target is None else rate(ind.target, ind.scale)
        table.add_row(
            ind.id,
            ind.title[lang],
            integer(ic.numerator),
            integer(ic.denominator),
            rate(ic.numerator / ic.denominator if ic.denominator else None, ind.scale),
            target,
        )
    console = Console()
    console.print(table)
    console.print(t("compute.local_only"))


def register(root: typer.Typer) -> None:
    root.command("compute")(compute)
