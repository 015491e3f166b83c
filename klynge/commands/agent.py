"""`klynge agent run|status|keygen|init|registry|report|fetch-national|recover-ledger`.

`run` takes part in rounds for one or several practices in one process (the
demo runs a few per process) until SIGINT/SIGTERM, or with `--once` until
every agent has seen one round outcome. Logs are JSON lines on stderr.
`status` reads what the daemon last wrote and recomputes the budget from the
ledger, so it is right even when no daemon runs. `report` writes the
practice's own HTML report, computed locally and never sent anywhere.
`fetch-national` downloads the country's figures once the region imported them.
`keygen` makes the practice's TLS key and certificate request on its own
machine (`transport.csr`); only the request goes to the region.
`recover-ledger` rebuilds a rolled-back or re-created ledger from the
practice's signed receipts in the coordinator's transparency log.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import typer

from client.agent.config import AgentSettings, load_settings
from client.agent.daemon import DROP_STAGES, fetch_national, run_agents, start_agents
from client.agent.provision import (
    provision_agent,
    provisioned_from_config,
    write_practice_registry,
)
from client.agent.recovery import recover
from client.agent.status import budget_rows, last_receipt, read_status, render_status
from client.report.errors import ReportError
from client.report.gather import gather_report
from common.atomic import atomic_write
from common.dates import parse_iso_date
from common.errors import KeyFileError
from common.formatting import day
from common.i18n import register, t
from common.identities import PRACTICE
from common.keyfiles import load_private_key, load_public_key, public_bytes
from common.logs import LOG_FORMATS, line_formatter
from klynge.keygen import CSR_OPTION, FORCE_OPTION, make_key_and_request
from klynge.options import chosen_language
from privacy.ledger import Ledger
from privacy.manifest import load_manifest
from privacy.receipts import format_epsilon
from protocols.errors import IdentityKeyError
from protocols.identity import IdentityKey, public_key_from_hex, public_key_to_hex
from reporting.practice_page import render_practice_report

app = typer.Typer(
    help="The practice agent: take part in rounds, show its status, set it up.",
    no_args_is_help=True,
)

register(
    {
        "agent.cli.started": {
            "da": "{n} agent(er) kører: {ids}. Stop med Ctrl-C.",
            "en": "{n} agent(s) running: {ids}. Stop with Ctrl-C.",
        },
        "agent.cli.stopped": {"da": "Agenterne er stoppet.", "en": "The agents have stopped."},
        "agent.cli.drop_format": {
            "da": "skal være PRAKSIS:FASE med FASE blandt {stages}",
            "en": "must be PRACTICE:STAGE with STAGE one of {stages}",
        },
        "agent.cli.timeout_needs_once": {
            "da": "--timeout gælder kun sammen med --once",
            "en": "--timeout only applies with --once",
        },
        "agent.cli.initialised": {
            "da": "Agent for {practice} oprettet i {dir}; identitetsnøgle {key_file} (0600). "
            "Offentlig nøgle til praksisregistret: {public}",
            "en": "Agent for {practice} set up in {dir}; identity key {key_file} (0600). "
            "Public key for the practice registry: {public}",
        },
        "agent.cli.registry": {
            "da": "Praksisregister med {n} praksisser skrevet til {path} (signatur {sig})",
            "en": "Practice registry of {n} practices written to {path} (signature {sig})",
        },
        "agent.cli.report_written": {
            "da": "Praksisrapport for {practice} ({date}) skrevet til {path}. "
            "Den er kun gemt lokalt og indeholder patient-id'er.{note}",
            "en": "Practice report for {practice} ({date}) written to {path}. "
            "It is stored locally only and holds patient ids.{note}",
        },
        "agent.cli.report_no_releases": {
            "da": " Ingen klynge- eller regionsresultater for datoen er hentet endnu; "
            "rapporten viser kun egne tal.",
            "en": " No cluster or regional results for the date have been downloaded yet; "
            "the report shows own figures only.",
        },
        "agent.cli.national_stored": {
            "da": "Landets tal for {date} hentet: {path}",
            "en": "The country's figures for {date} downloaded: {path}",
        },
        "agent.cli.national_none": {
            "da": "Koordinatoren har endnu ingen nationale tal.",
            "en": "The coordinator holds no national figures yet.",
        },
        "agent.cli.recovered": {
            "da": "Regnskabet for {practice} er genopbygget fra {n} kvittering(er) i "
            "gennemsigtighedsloggen (træhoved {head}). {spent}{previous}",
            "en": "The ledger of {practice} was rebuilt from {n} receipt(s) in the transparency "
            "log (tree head {head}). {spent}{previous}",
        },
        "agent.cli.recovered_spent": {
            "da": "Brugt i {year}: ε = {eps} ({releases} udgivelser). ",
            "en": "Spent in {year}: ε = {eps} ({releases} releases). ",
        },
        "agent.cli.recovered_previous": {
            "da": "Den tidligere fil er gemt som {path}.",
            "en": "The previous file is kept as {path}.",
        },
        "agent.cli.coordinator": {
            "da": "angiv enten --coordinator VÆRT:PORT eller --port-file FIL",
            "en": "give either --coordinator HOST:PORT or --port-file FILE",
        },
    }
)


@contextmanager
def _logs_to_stderr(level: str, kind: str = "json") -> Iterator[None]:
    """Log lines on stderr (JSON, or readable text) for the `klynge` loggers while the
    agents run; restored after. The same formats as the coordinator's `log_format`."""
    logger = logging.getLogger("klynge")
    saved = (logger.level, logger.propagate)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(line_formatter(kind))
    logger.addHandler(handler)
    logger.setLevel(getattr(logging, level.upper(), logging.INFO))
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _parse_drops(values: list[str], hint: str = "--drop-after") -> dict[str, str]:
    drops = {}
    for value in values:
        practice, _, stage = value.partition(":")
        if not practice or stage.upper() not in DROP_STAGES:
            raise typer.BadParameter(
                t("agent.cli.drop_format", stages=", ".join(DROP_STAGES)), param_hint=hint
            )
        drops[practice] = stage.upper()
    return drops


@app.command("run")
def run(
    configs: list[Path] = typer.Option(
        ..., "--config", help="agent.toml of a practice (repeat to run several in one process)."
    ),
    once: bool = typer.Option(
        False, "--once", help="Exit after one round outcome per agent (and its downloads)."
    ),
    timeout: float | None = typer.Option(
        None, "--timeout", min=0.1, help="With --once: give up (exit non-zero) after this many s."
    ),
    log_level: str = typer.Option("info", "--log-level", help="debug, info, warning or error."),
    log_format: str = typer.Option(
        "json", "--log-format", help="json (one object per line) or text (readable lines)."
    ),
    drop_after: list[str] = typer.Option(
        [], "--drop-after", hidden=True, help="PRACTICE:STAGE: vanish after that stage (demo)."
    ),
    stall_after: list[str] = typer.Option(
        [], "--stall-after", hidden=True, help="PRACTICE:STAGE: fall silent after it (tests)."
    ),
) -> None:
    """Take part in rounds until stopped (SIGINT/SIGTERM) or, with --once, one round each."""
    if timeout is not None and not once:
        raise typer.BadParameter(t("agent.cli.timeout_needs_once"), param_hint="--timeout")
    drops = _parse_drops(drop_after)
    stalls = _parse_drops(stall_after, "--stall-after")
    settings = [load_settings(path) for path in configs]
    stop = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda _signum, _frame: stop.set())
        for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        if log_format not in LOG_FORMATS:
            raise typer.BadParameter(
                t("cli.bad.either", a="json", b="text"), param_hint="--log-format"
            )
        with _logs_to_stderr(log_level, log_format):
            daemons = start_agents(settings, drops=drops, stalls=stalls)
            ids = ", ".join(d.practice_id for d in daemons)
            typer.echo(t("agent.cli.started", n=len(daemons), ids=ids), err=True)
            run_agents(daemons, stop, once=once, timeout=timeout)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    typer.echo(t("agent.cli.stopped"), err=True)


def _status_document(settings: AgentSettings, ledger: Ledger) -> dict:
    """status.json with budget and last receipt recomputed from the ledger."""
    document = read_status(settings.status_path)
    manifest = load_manifest(settings.manifests[0]).manifest
    today = datetime.now(UTC).date()
    return {
        "practice_id": settings.practice_id,
        "cluster_id": settings.cluster_id,
        "status": document,
        "budget": budget_rows(ledger, manifest.budget, today),
        "last_receipt": last_receipt(ledger),
    }


@app.command("status")
def status(
    config: Path = typer.Option(..., "--config", help="The practice's agent.toml."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Connection, last round, budget left and last receipt of a practice's agent."""
    settings = load_settings(config)
    ledger = Ledger.open(settings.ledger_dir)  # verified: a corrupt ledger is one error line
    combined = _status_document(settings, ledger)
    if as_json:
        typer.echo(json.dumps(combined, indent=2, ensure_ascii=False, sort_keys=True))
        return
    charges = ledger.charges()
    for line in render_status(
        combined["status"],
        practice_id=settings.practice_id,
        cluster_id=settings.cluster_id,
        status_path=settings.status_path,
        budget=combined["budget"],
        receipt=charges[-1].receipt if charges else None,
    ):
        typer.echo(line)


def _authority_key(value: str, option: str = "--registry-authority-key") -> bytes:
    """An Ed25519 public key: 64 hex characters, or a key file (PEM or hex)."""
    try:
        if Path(value).is_file():
            return public_bytes(load_public_key(Path(value)))
        return public_key_from_hex(value, source=option)
    except (IdentityKeyError, KeyFileError) as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from None


@app.command("keygen")
def keygen(
    pki: Path = typer.Option(
        ..., "--pki", help="The practice's PKI directory; the key goes to practices/ID.key."
    ),
    practice: str = typer.Option(..., "--practice", help="Practice id (as in the federation)."),
    csr: Path | None = CSR_OPTION,
    force: bool = FORCE_OPTION,
) -> None:
    """Make this practice's TLS key here, and a certificate request for the region to sign."""
    # A command of its own, not part of `init`: a certificate expires within
    # 397 days, and a renewal needs a new key and request, not a new agent.
    make_key_and_request(pki, PRACTICE, practice, csr, force=force)


@app.command("init")
def init(
    directory: Path = typer.Argument(..., metavar="DIR", help="Agent directory to create."),
    practice: str = typer.Option(..., "--practice", help="Practice id (as in its certificate)."),
    cluster: str = typer.Option(..., "--cluster", help="Cluster id."),
    region: str = typer.Option(
        "", "--region", help="Region, listed in the registry: its region-wide rounds."
    ),
    extract: Path = typer.Option(..., "--extract", help="The practice's extract directory."),
    pki: Path = typer.Option(..., "--pki", help="PKI directory (`klynge pki`)."),
    manifests: list[Path] = typer.Option(..., "--manifest", help="Signed manifest to approve."),
    manifest_authority: Path = typer.Option(
        ..., "--manifest-authority", help="The manifest authority's public key (PEM)."
    ),
    registry: Path = typer.Option(..., "--registry", help="Where the signed registry will be."),
    registry_authority_key: str = typer.Option(
        ..., "--registry-authority-key", help="Registry authority public key: hex, or a file."
    ),
    log_key: str = typer.Option(
        ..., "--log-key", help="The coordinator's transparency-log public key: hex, or a file."
    ),
    approved_by: str = typer.Option(..., "--approved-by", help="Who in the practice approves."),
    coordinator: str | None = typer.Option(None, "--coordinator", help="HOST:PORT to dial."),
    port_file: Path | None = typer.Option(
        None, "--port-file", help="File the coordinator writes its port to."
    ),
    server_name: str | None = typer.Option(None, "--server-name"),
    on: str | None = typer.Option(None, "--date", help="Approval date (default today)."),
) -> None:
    """Create an agent directory: identity key, trust store with approvals, ledger, agent.toml."""
    if (coordinator is None) == (port_file is None):
        raise typer.BadParameter(t("agent.cli.coordinator"), param_hint="--coordinator")
    today = parse_iso_date(on, "--date") if on else datetime.now(UTC).date()
    provisioned = provision_agent(
        directory,
        practice_id=practice,
        cluster_id=cluster,
        region=region,
        extract_dir=extract,
        pki_dir=pki,
        manifests=manifests,
        manifest_authority=load_public_key(manifest_authority),
        registry_path=registry,
        registry_authority_key=_authority_key(registry_authority_key),
        log_key=_authority_key(log_key, "--log-key"),
        approved_by=approved_by,
        today=today,
        coordinator_address=coordinator,
        coordinator_port_file=port_file,
        server_name=server_name,
    )
    typer.echo(
        t(
            "agent.cli.initialised",
            practice=provisioned.practice_id,
            dir=provisioned.directory,
            key_file=provisioned.directory / "identity.key",
            public=public_key_to_hex(provisioned.identity_public_key),
        )
    )


@app.command("recover-ledger")
def recover_ledger_cmd(
    config: Path = typer.Option(..., "--config", help="The practice's agent.toml."),
) -> None:
    """Rebuild the privacy ledger from this practice's signed receipts in the coordinator's
    transparency log (after a restore from an older copy, or a deleted ledger). Every proof
    and signature is checked; the old file is kept."""
    settings = load_settings(config)
    today = datetime.now(UTC).date()
    result = recover(settings, today)
    delta = load_manifest(settings.manifests[0]).manifest.budget.delta_per_year
    usage = result.ledger.usage(delta)  # the latest year with releases
    spent = (
        t(
            "agent.cli.recovered_spent",
            year=usage[-1].year,
            eps=format_epsilon(usage[-1].epsilon),
            releases=usage[-1].releases,
        )
        if usage
        else ""
    )
    previous = t("agent.cli.recovered_previous", path=result.previous) if result.previous else ""
    typer.echo(
        t(
            "agent.cli.recovered",
            practice=settings.practice_id,
            n=result.receipts,
            head=result.head.short,
            spent=spent,
            previous=previous,
        )
    )


@app.command("registry")
def registry(
    out: Path = typer.Option(..., "--out", help="Registry file to write (.sig beside it)."),
    authority: Path = typer.Option(
        ..., "--authority", help="Registry authority's private key (PKCS#8 PEM, 0600)."
    ),
    configs: list[Path] = typer.Option(..., "--config", help="agent.toml of each practice."),
    issuer: str = typer.Option("Klynge demo registry authority", "--issuer"),
    on: str | None = typer.Option(None, "--date", help="Issue date (default today)."),
) -> None:
    """Sign the practice registry from the agents' identity keys."""
    issued: date = parse_iso_date(on, "--date") if on else datetime.now(UTC).date()
    agents = [provisioned_from_config(path) for path in configs]
    key = IdentityKey(load_private_key(authority))
    path, sig = write_practice_registry(out, agents, key, issuer=issuer, issued=issued)
    typer.echo(t("agent.cli.registry", n=len(agents), path=path, sig=sig))


@app.command("report")
def report(
    config: Path = typer.Option(..., "--config", help="The practice's agent.toml."),
    out: Path = typer.Option(..., "--out", help="HTML file to write (kept at the practice)."),
    as_of: str | None = typer.Option(
        None,
        "--as-of",
        help="Reference date (default: that of the newest downloaded cluster release, else today).",
    ),
    lang: str | None = typer.Option(None, "--lang", help="da or en (default da)."),
) -> None:
    """Write the practice's own report: own rates against cluster and region, its place among
    the practices, its trend over periods, patient lists, receipts and budget. Computed
    locally; nothing is sent."""
    chosen = chosen_language(lang)
    settings = load_settings(config)
    now = datetime.now(UTC)
    document = gather_report(
        settings,
        today=now.date(),
        generated_at=now.strftime("%Y-%m-%d %H:%M UTC"),
        as_of=parse_iso_date(as_of, "--as-of") if as_of else None,
    )
    page = render_practice_report(document, chosen)
    target = out.expanduser()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, page.encode("utf-8"), mode=0o600)  # patient ids: owner only
    except OSError as exc:
        raise ReportError(f"{target}: cannot write the report ({exc.strerror or exc})") from None
    note = "" if document.cluster_release else t("agent.cli.report_no_releases", chosen)
    typer.echo(
        t(
            "agent.cli.report_written",
            chosen,
            practice=settings.practice_id,
            date=document.as_of.isoformat(),
            path=out,
            note=note,
        )
    )


@app.command("fetch-national")
def fetch_national_command(
    config: Path = typer.Option(..., "--config", help="The practice's agent.toml."),
) -> None:
    """Download the country's figures now (the national release the region imported), for
    the practice report's country column. A Fetch only: no round, no budget."""
    settings = load_settings(config)
    stored = fetch_national(settings)
    if stored is None:
        typer.echo(t("agent.cli.national_none"))
        return
    period = date.fromisoformat(stored.path.stem.removeprefix("nation-"))
    typer.echo(t("agent.cli.national_stored", date=day(period), path=stored.path))
