"""`klynge demo`: the project's main job on built-in defaults (see `klynge.demo`)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from client.agent.config import load_settings
from client.report.gather import gather_report
from common.atomic import atomic_write
from common.formatting import day, integer, number, per, rate, rate_value
from common.i18n import Lang, current_lang, t
from common.i18n import register as register_messages
from common.keyfiles import load_public_key
from indicator_defs import Catalogue, load_catalogue
from indicator_defs.model import Indicator
from klynge.demo import DemoError, DemoLayout, DemoOptions, prepare, round_rows, run, run_regions
from privacy.transparency import verify_log
from reporting.benchmark_page import render_cluster_report, render_region_report
from reporting.partner_page import unit_label
from reporting.practice_page import render_practice_report
from reporting.release_document import ReleaseDocument
from server.partner_client import PAGE_FILE, Received, load_partner_settings, write_received
from server.publication import with_nation
from server.results import period_results
from server.store import Store

register_messages(
    {
        "demo.step.synth": {"da": "Syntetiserer praksisser", "en": "Synthesising practices"},
        "demo.step.pki": {"da": "Opretter demo-PKI (mTLS)", "en": "Creating the demo PKI (mTLS)"},
        "demo.step.authority": {
            "da": "Underskriver manifest og register",
            "en": "Signing the manifest and registry",
        },
        "demo.step.agents": {"da": "Klargør praksisagenter", "en": "Provisioning practice agents"},
        "demo.step.rounds": {
            "da": "Runder kører over gRPC/mTLS: {states}",
            "en": "Rounds over gRPC/mTLS: {states}",
        },
        "demo.step.rounds_regions": {
            "da": "Regionernes runder kører over gRPC/mTLS",
            "en": "The regions' rounds over gRPC/mTLS",
        },
        "demo.step.national": {
            "da": "Regionerne udgiver; det nationale niveau kontrollerer og lægger sammen",
            "en": "The regions publish; the national tier verifies and combines",
        },
        "demo.step.fetch_national": {
            "da": "En praksis pr. region henter landets tal",
            "en": "One practice per region fetches the country's figures",
        },
        "demo.region_reports": {
            "da": "{region}: regional rapport {region_report}; praksisrapport {practice_report}",
            "en": "{region}: regional report {region_report}; practice report {practice_report}",
        },
        "demo.national": {
            "da": "{regions} regioner på {seconds} s. National rapport: {path}",
            "en": "{regions} regions in {seconds} s. National report: {path}",
        },
        "demo.waiting": {"da": "venter", "en": "waiting"},
        "demo.title": {
            "da": "Udgivne rater pr. {date} ({mode})",
            "en": "Released rates as of {date} ({mode})",
        },
        "demo.mode.dp": {"da": "med differentielt privatliv", "en": "with differential privacy"},
        "demo.mode.nodp": {
            "da": "UDEN differentielt privatliv: kun til kontrol",
            "en": "WITHOUT differential privacy: for checking only",
        },
        "demo.col.indicator": {"da": "Indikator", "en": "Indicator"},
        "demo.suppressed": {"da": "skjult", "en": "suppressed"},
        "demo.none": {"da": "ingen udgivelse", "en": "no release"},
        "demo.written": {
            "da": "Skrevet: {results} ({seconds} s for runderne)",
            "en": "Written: {results} ({seconds} s for the rounds)",
        },
        "demo.region_report": {
            "da": "Regional rapport: {path}",
            "en": "Regional report: {path}",
        },
        "demo.cluster_report": {
            "da": "Klyngerapport ({cluster}): {path}",
            "en": "Cluster report ({cluster}): {path}",
        },
        "demo.no_cluster_report": {
            "da": "Ingen klyngerapport: ingen klynge fik en udgivelse",
            "en": "No cluster report: no cluster got a release",
        },
        "demo.dropouts": {
            "da": "Frafald undervejs: {drops}",
            "en": "Dropped out mid-round: {drops}",
        },
        "demo.aborted": {
            "da": "Afbrudt: {cluster}: {reason}",
            "en": "Aborted: {cluster}: {reason}",
        },
        # The log's kinds of entry, counted in the one-line summary (codes in privacy.log_entries).
        "demo.kind.manifest": {"da": "manifest {n}", "en": "manifest {n}"},
        "demo.kind.approval": {"da": "godkendelser {n}", "en": "approvals {n}"},
        "demo.kind.round_opened": {"da": "åbnede runder {n}", "en": "rounds opened {n}"},
        "demo.kind.receipt": {"da": "kvitteringer {n}", "en": "receipts {n}"},
        "demo.kind.release": {"da": "udgivelser {n}", "en": "releases {n}"},
        "demo.kind.round_aborted": {"da": "afbrudte runder {n}", "en": "rounds aborted {n}"},
        "demo.kind.fetch_refused": {"da": "afviste hentninger {n}", "en": "refused fetches {n}"},
        "demo.partner": {
            "da": "Partner: {partner} hentede {units}: {measures}. Side: {path}",
            "en": "Partner: {partner} fetched {units}: {measures}. Page: {path}",
        },
        "demo.log": {
            "da": "Gennemsigtighedslog: {n} poster ({kinds}), {signed} underskrevet af praksis; "
            "træhoved {head}. Kontrollér: klynge audit verify-log {path} --log-key {key_file}",
            "en": "Transparency log: {n} entries ({kinds}), {signed} signed by practices; "
            "tree head {head}. Check it: klynge audit verify-log {path} --log-key {key_file}",
        },
        "demo.practice_report": {
            "da": "Praksisrapport (lokal, med patient-id'er): {path}",
            "en": "Practice report (local, with patient ids): {path}",
        },
        "demo.prepared": {
            "da": "Klar i {out}. Start koordinator og agenter med:",
            "en": "Prepared in {out}. Start the coordinator and agents with:",
        },
        "demo.refuse_out": {
            "da": "{out} findes og er ikke et tidligere demo-output; vælg en anden --out",
            "en": "{out} exists and is not an earlier demo output; choose another --out",
        },
    }
)

_MARKER = ".klynge-demo"


def _round_states(store_path: Path) -> str:
    """Each cluster's latest round state, for the progress line."""
    latest = {cluster: state for cluster, _, state in round_rows(store_path)}
    return ", ".join(f"{c} {s}" for c, s in sorted(latest.items())) or t("demo.waiting")


def _cell(doc: ReleaseDocument | None, indicator_id: str, scale: int) -> str:
    if doc is None:
        return t("demo.none")
    released = doc.rate(indicator_id)
    if released is None:
        return t("demo.suppressed")
    # a percentage says its unit; a rate per 1.000 has it in its row's title (narrow columns)
    return rate(released, scale) if scale == 100 else rate_value(released, scale)


def rates_table(
    title: str, units: list[str], rows: list[tuple[str, list[str]]], width: int
) -> Table:
    """One line per indicator in `width` columns: a long title is cut, never a number or a
    unit's column (rich shrinks no no_wrap column by itself; it crops the table instead)."""
    table = Table(title=title)
    widths = [max([len(u), *(len(cells[k]) for _, cells in rows)]) for k, u in enumerate(units)]
    room = width - sum(w + 3 for w in widths) - 4  # 3 = padding and rule per column
    table.add_column(
        t("demo.col.indicator"), no_wrap=True, overflow="ellipsis", max_width=max(room, 8)
    )
    for unit, unit_width in zip(units, widths, strict=True):
        table.add_column(unit, justify="right", no_wrap=True, min_width=unit_width)
    for row_title, cells in rows:
        table.add_row(row_title, *cells)
    return table


def _row_title(ind: Indicator, lang: Lang) -> str:
    title = f"{ind.id} {ind.title[lang]}"
    unit = per(ind.scale, lang)
    if ind.scale == 100 or unit.replace("\u00a0", " ") in title:
        return title
    return f"{title} ({unit})"


def demo(
    out: Path = typer.Option(Path("klynge-demo"), "--out", help="Output directory."),
    practices: int = typer.Option(DemoOptions.practices, "--practices", min=5),
    clusters: int = typer.Option(3, "--clusters", min=1),
    seed: int = typer.Option(1, "--seed"),
    no_dp: bool = typer.Option(False, "--no-dp", help="Exact sums, no noise (for checking)."),
    dropout: float = typer.Option(
        0.0, "--dropout", min=0.0, max=0.9, help="Share of practices that vanish mid-round."
    ),
    patients: int = typer.Option(None, "--patients", help="List size per practice."),
    stage_timeout: float = typer.Option(10.0, "--stage-timeout", help="Seconds per stage."),
    periods: int = typer.Option(
        1, "--periods", min=1, max=8, help="Quarters to backfill from the synthetic history."
    ),
    prepare_only: bool = typer.Option(
        False, "--prepare-only", help="Write the deployment (keys, configs) and stop."
    ),
    regions: int = typer.Option(
        1,
        "--regions",
        min=1,
        max=5,
        help="Regions, each its own coordinator; with 2 or more, the national step too.",
    ),
    for_containers: str = typer.Option(
        None,
        "--for-containers",
        metavar="HOST",
        help="With --prepare-only: agents dial HOST:50051 (see docker/compose.yaml).",
    ),
) -> None:
    """Run a demo federation: a real coordinator and agents over gRPC with mutual TLS.

    On one machine the demo's CA makes every practice's TLS key. On their own
    machines practices make their keys themselves and send a certificate
    request (klynge agent keygen, klynge pki sign; docs/runbook-practice.md).
    """
    lang = current_lang()
    if out.exists() and any(out.iterdir()):
        if not (out / _MARKER).exists():
            raise DemoError(t("demo.refuse_out", out=out))
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / _MARKER).write_text("klynge demo output; safe to delete\n")
    options = DemoOptions(
        out=out,
        practices=practices,
        clusters=clusters,
        seed=seed,
        no_dp=no_dp,
        dropout=dropout,
        patients=patients,
        stage_timeout_s=stage_timeout,
        container_host=for_containers,
        periods=periods,
    )
    if for_containers and not prepare_only:
        raise typer.BadParameter(
            t("cli.bad.needs", option="--prepare-only"), param_hint="--for-containers"
        )
    console = Console(stderr=True)
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    if regions > 1:
        if prepare_only:
            raise typer.BadParameter(
                t("cli.bad.not_with", option="--prepare-only"), param_hint="--regions"
            )
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task(t("demo.step.synth"))
            national = run_regions(
                options,
                regions,
                step=lambda s: progress.update(task, description=t(f"demo.step.{s}")),
            )
        report = out / "national-report.html"
        shutil.copyfile(national.written[1], report)
        stdout = Console()
        stdout.print(
            t(
                "demo.national",
                regions=regions,
                seconds=number(national.seconds, 1),
                path=report,
            )
        )
        catalogue = load_catalogue()
        for name, region_layout in national.layouts.items():
            store = Store.open(region_layout.store)
            try:
                results = with_nation(
                    period_results(store, options.reference_date),
                    region_layout.coordinator_dir / "state",
                )
            finally:
                store.close()
            region_report = region_layout.out / "region-report.html"
            page = render_region_report(results, catalogue, lang)
            atomic_write(region_report, page.encode())
            own = _practice_report(region_layout, options.reference_date, catalogue, lang)
            stdout.print(
                t(
                    "demo.region_reports",
                    region=name,
                    region_report=region_report,
                    practice_report=own,
                )
            )
        return
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(t("demo.step.synth"))
        layout = prepare(
            options, step=lambda s: progress.update(task, description=t(f"demo.step.{s}"))
        )
        if prepare_only:
            progress.stop()
            _print_commands(layout)
            return

        def tick() -> None:
            states = _round_states(layout.store)
            progress.update(task, description=t("demo.step.rounds", states=states))

        outcome = run(layout, options, on_tick=tick)

    store = Store.open(layout.store)
    try:
        history = tuple(period_results(store, d) for d in options.reference_dates[:-1])
        results = replace(
            period_results(store, options.reference_date),
            history=history,
            dp=not no_dp,
            dropouts=outcome.dropouts,
        )
    finally:
        store.close()
    results_path = out / "results.json"
    document = json.dumps(results.to_json(), indent=2, ensure_ascii=False)
    results_path.write_text(document, encoding="utf-8")
    catalogue = load_catalogue()
    region_report = out / "region-report.html"
    atomic_write(region_report, render_region_report(results, catalogue, lang).encode())
    cluster_ids = [c.id for c in layout.federation.clusters if c.id in results.clusters]
    cluster_report = None
    if cluster_ids:  # the first cluster that released, for its cluster meeting
        cluster_report = out / f"cluster-{cluster_ids[0]}-report.html"
        page = render_cluster_report(results, catalogue, cluster_ids[0], lang)
        atomic_write(cluster_report, page.encode())
    practice_report = _practice_report(layout, options.reference_date, catalogue, lang)

    mode = t("demo.mode.nodp" if no_dp else "demo.mode.dp")
    title = t("demo.title", date=day(options.reference_date), mode=mode)
    units = [(c, results.clusters.get(c)) for c in sorted(x.id for x in layout.federation.clusters)]
    units += sorted(results.regions.items())
    rows = [
        (_row_title(ind, lang), [_cell(doc, ind.id, ind.scale) for _, doc in units])
        for ind in catalogue.indicators.values()
    ]
    stdout = Console()
    table = rates_table(title, [u for u, _ in units], rows, stdout.width)
    stdout.print(table)
    if outcome.dropouts:
        drops = ", ".join(f"{p} ({s})" for p, s in sorted(outcome.dropouts.items()))
        stdout.print(t("demo.dropouts", drops=drops))
    for r in results.aborted_rounds:
        stdout.print(t("demo.aborted", cluster=r.cluster, reason=r.reason))
    seconds = number(outcome.seconds, 1)
    stdout.print(t("demo.written", results=results_path, seconds=seconds))
    stdout.print(t("demo.region_report", path=region_report))
    if cluster_report is None:
        stdout.print(t("demo.no_cluster_report"))
    else:
        stdout.print(t("demo.cluster_report", cluster=cluster_ids[0], path=cluster_report))
    stdout.print(t("demo.practice_report", path=practice_report))
    if outcome.partner is not None and layout.partner_config is not None:
        _partner_summary(stdout, outcome.partner, layout.partner_config, catalogue, lang)
    log = verify_log(layout.transparency_log, log_key=load_public_key(layout.log_key))
    stdout.print(
        t(
            "demo.log",
            n=log.entries,
            kinds=", ".join(_kind(k, n) for k, n in log.kinds.items() if n),
            signed=log.signed_by_practices,
            head=log.head.short,
            path=layout.transparency_log,
            key_file=layout.log_key,
        )
    )


def _practice_report(layout: DemoLayout, as_of: date, catalogue: Catalogue, lang: Lang) -> Path:
    """The first practice's own report, as its agent makes it locally (never uploaded)."""
    first = layout.federation.practices[0]
    path = layout.out / f"practice-{first.id}.html"
    own = gather_report(
        load_settings(layout.agent_configs[first.id]),
        today=date.today(),
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        as_of=as_of,
        catalogue=catalogue,
    )
    atomic_write(path, render_practice_report(own, lang).encode(), mode=0o600)
    return path


def _partner_summary(
    stdout: Console, received: Received, config: Path, catalogue: Catalogue, lang: Lang
) -> None:
    """Write what the demo partner received beside its partner.toml, and say what it was."""
    out = load_partner_settings(config).out_dir
    write_received(received, out, catalogue, lang)
    measures = sorted({m for doc in received.releases for m in doc.figures})
    stdout.print(
        t(
            "demo.partner",
            partner=received.partner.name.get(lang),
            units=", ".join(unit_label(d, lang) for d in received.releases) or "–",
            measures=", ".join(measures) or "–",
            path=out / PAGE_FILE,
        )
    )


def _kind(kind: str, n: int) -> str:
    """ "kvitteringer 42": a kind of log entry in words with its count (a newer kind as is)."""
    try:
        return t(f"demo.kind.{kind}", n=integer(n))
    except KeyError:
        return f"{kind} {integer(n)}"


def _print_commands(layout) -> None:
    """How to run the prepared deployment by hand (or in containers)."""
    console = Console()
    console.print(t("demo.prepared", out=layout.out))
    console.print(f"  klynge server run --config {layout.server_config}")
    for cluster in layout.federation.clusters:
        configs = " ".join(
            f"--config {layout.agent_configs[p.id]}"
            for p in layout.federation.practices_in(cluster.id)
        )
        console.print(f"  klynge agent run {configs}")
    if layout.partner_config is not None:  # after the rounds, while the coordinator runs
        console.print(f"  klynge partner fetch --config {layout.partner_config}")


def register(root: typer.Typer) -> None:
    root.command("demo")(demo)
