"""`klynge demo`: the project's main job on built-in defaults.

Synthesises a federation of practices and computes every practice's
indicators locally. (The federated round over gRPC replaces the local
cluster sums once the coordinator and agents exist.)
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from client.engine.fast import evaluate_fast
from client.extract.loader import load_extract
from client.synth.federation import DEFAULT_AS_OF, synthesize_federation
from indicator_defs import load_catalogue
from klynge.commands.local import format_rate
from klynge.i18n import current_lang, register, t

register(
    {
        "demo.synth": {"da": "Syntetiserer {n} praksisser", "en": "Synthesising {n} practices"},
        "demo.compute": {"da": "Beregner indikatorer lokalt", "en": "Computing indicators locally"},
        "demo.title": {
            "da": "Klyngesummer pr. {date} (lokal forhåndsvisning, uden støj)",
            "en": "Cluster sums as of {date} (local preview, no noise)",
        },
        "demo.col.indicator": {"da": "Indikator", "en": "Indicator"},
        "demo.written": {"da": "Resultater: {path}", "en": "Results: {path}"},
    }
)


def demo(
    out: Path = typer.Option(Path("klynge-demo"), "--out", help="Output directory."),
    practices: int = typer.Option(15, "--practices", min=1),
    clusters: int = typer.Option(3, "--clusters", min=1),
    seed: int = typer.Option(1, "--seed"),
    patients: int = typer.Option(
        None, "--patients", help="List size per practice (default: realistic)."
    ),
) -> None:
    """Run the demo: synthetic practices, indicators per practice, cluster sums."""
    lang = current_lang()
    if out.exists() and (out / ".klynge-synth").exists():
        shutil.rmtree(out)  # a previous demo's synthetic output; safe to regenerate
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(t("demo.synth", n=practices), total=practices)
        fed = synthesize_federation(
            out / "federation",
            practices,
            clusters,
            seed,
            patients_override=patients,
            on_practice=lambda _r: progress.advance(task),
        )
    catalogue = load_catalogue()
    ref: date = DEFAULT_AS_OF
    sums: dict[str, dict[str, list[int]]] = {}
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(t("demo.compute"), total=len(fed.practices))
        for practice in fed.practices:
            result = evaluate_fast(load_extract(fed.extract_dir(practice)), catalogue, ref)
            cluster = sums.setdefault(practice.cluster, {})
            for ic in result.indicators:
                acc = cluster.setdefault(ic.indicator_id, [0, 0])
                acc[0] += ic.numerator
                acc[1] += ic.denominator
            progress.advance(task)
    cluster_ids = sorted(sums)
    table = Table(title=t("demo.title", date=ref.isoformat()))
    table.add_column(t("demo.col.indicator"))
    for cid in cluster_ids:
        table.add_column(cid, justify="right")
    for ind in catalogue.indicators.values():
        table.add_row(
            f"{ind.id} {ind.title[lang]}",
            *(format_rate(ind.rate(*sums[c][ind.id]), ind.scale) for c in cluster_ids),
        )
    Console().print(table)
    results = out / "results.json"
    results.write_text(json.dumps({"reference_date": ref.isoformat(), "clusters": sums}, indent=2))
    Console().print(t("demo.written", path=results))


def register(root: typer.Typer) -> None:
    root.command("demo")(demo)
