"""`klynge server init|run|trigger|status|log-key`: the regional coordinator.

`trigger` hands the request to the running coordinator (a file in its spool
directory) and waits for its answer: the coordinator alone decides, against
its federation, its manifest's schedule and its store and open rounds, so the
command and the service can never disagree, and the answer comes within a
tick (50 ms). No running coordinator: the request is withdrawn and the
command says so.
"""

from __future__ import annotations

import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from common.atomic import atomic_write
from common.dates import parse_iso_date
from common.federation import load_federation
from common.formatting import day, integer
from common.i18n import register, t
from common.keyfiles import (
    load_private_key,
    load_public_key,
    public_bytes,
    write_private_key,
    write_public_key,
)
from common.logs import line_formatter
from privacy.manifest import load_manifest
from privacy.publication import load_json, parse_national
from privacy.signing import generate_private_key
from privacy.transparency import TransparencyLog
from protocols.identity import IdentityKey
from server.config import ConfigError, load_server_settings
from server.config_template import DEFAULT_LISTEN, server_toml
from server.coordinator import CoordinatorService, await_answer, write_trigger
from server.practice_registry import public_keys_in, write_registry_from_public_keys
from server.publication import build_publication, store_national, write_publication
from server.reasons import in_words
from server.store import Store

app = typer.Typer(help="Run the regional coordinator.", no_args_is_help=True)

register(
    {
        "server.started": {
            "da": "Koordinator lytter på port {port}; stop med Ctrl-C",
            "en": "Coordinator listening on port {port}; stop with Ctrl-C",
        },
        "server.queued": {
            "da": "Runde bestilt for {cluster} pr. {date}; den starter, når dens praksisser er "
            "forbundet",
            "en": "Round requested for {cluster} on {date}; it starts when its practices are "
            "connected",
        },
        "server.trigger_unit": {
            "da": "angiv enten --cluster eller --region",
            "en": "give either --cluster or --region",
        },
        "server.refused": {"da": "Runden afvist: {reason}", "en": "Round refused: {reason}"},
        "server.no_answer": {
            "da": "Ingen koordinator svarede inden for {seconds} s (kører `klynge server run "
            "--config {config}`?); bestillingen er trukket tilbage",
            "en": "No coordinator answered within {seconds} s (is `klynge server run --config "
            "{config}` running?); the request is withdrawn",
        },
        "server.init_written": {
            "da": "Skrev {path}. Næste skridt: ret stierne, så de peger på jeres filer, og "
            "start med `klynge server run --config {path}`.",
            "en": "Wrote {path}. Next: point its paths at your files and start with "
            "`klynge server run --config {path}`.",
        },
        "server.listen_format": {
            "da": "skal være VÆRT:PORT, fx 0.0.0.0:50051",
            "en": "must be HOST:PORT, e.g. 0.0.0.0:50051",
        },
        "server.public_key_format": {
            "da": "skal være PRAKSIS=FIL",
            "en": "must be PRACTICE=FILE",
        },
        "server.public_keys_none": {
            "da": "angiv --public-keys MAPPE eller mindst én --public-key PRAKSIS=FIL",
            "en": "give --public-keys FOLDER or at least one --public-key PRACTICE=FILE",
        },
        "server.registry_written": {
            "da": "Praksisregister med {n} praksisser skrevet til {path} (signatur {sig})",
            "en": "Practice registry of {n} practices written to {path} (signature {sig})",
        },
        "server.init_exists": {
            "da": "findes allerede; overskriver ikke en konfiguration",
            "en": "already exists; not overwriting a configuration",
        },
        "server.metrics_at": {
            "da": "Målinger (Prometheus) på http://{host}:{port}/metrics",
            "en": "Metrics (Prometheus) at http://{host}:{port}/metrics",
        },
        "server.rounds": {"da": "Runder", "en": "Rounds"},
        "server.col.round": {"da": "Runde", "en": "Round"},
        "server.col.cluster": {"da": "Klynge/region", "en": "Cluster/region"},
        "server.col.date": {"da": "Referencedato", "en": "Reference date"},
        "server.col.state": {"da": "Status", "en": "State"},
        "server.col.reason": {"da": "Årsag", "en": "Reason"},
        "server.state.pending": {"da": "venter", "en": "pending"},
        "server.state.running": {"da": "kører", "en": "running"},
        "server.state.released": {"da": "udgivet", "en": "released"},
        "server.state.aborted": {"da": "afbrudt", "en": "aborted"},
        "server.releases": {"da": "{n} udgivelser i lageret", "en": "{n} releases in the store"},
        "server.log_head": {
            "da": "Gennemsigtighedslog: {path}, {n} poster, træhoved {head}",
            "en": "Transparency log: {path}, {n} entries, tree head {head}",
        },
        "server.log_key_written": {
            "da": "Lognøgle skrevet til {path} (0600); offentlig nøgle til agenterne: {public}",
            "en": "Log key written to {path} (0600); public key for the agents: {public}",
        },
        "server.log_unwritable": {
            "da": "klynge: kan ikke skrive til {path} ({error}); logning fortsætter, når det "
            "igen er muligt",
            "en": "klynge: cannot write to {path} ({error}); logging resumes when it can",
        },
    }
)


class _OneLineFileHandler(logging.FileHandler):
    """A log file that cannot be written (a full disk) costs one line on stderr, not a
    traceback per record; lines are lost until writing works again, then it says nothing
    more until the next failure."""

    failing = False
    _failed_now = False

    def emit(self, record: logging.LogRecord) -> None:
        self._failed_now = False
        super().emit(record)  # reports its own failures through handleError
        if not self._failed_now:
            self.failing = False

    def handleError(self, record: logging.LogRecord) -> None:
        self._failed_now = True
        if not self.failing:
            self.failing = True
            exc = sys.exc_info()[1]  # logging calls this inside its except clause
            error = getattr(exc, "strerror", None) or str(exc or "")
            sys.stderr.write(t("server.log_unwritable", path=self.baseFilename, error=error) + "\n")


def _logging(log_file: Path | None, kind: str = "json") -> None:
    if log_file is not None:  # `server init`'s template logs into state/, made on first run
        log_file.parent.mkdir(parents=True, exist_ok=True)
    handler: logging.Handler = (
        _OneLineFileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler()
    )
    handler.setFormatter(line_formatter(kind))
    root = logging.getLogger("klynge")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    root.propagate = False


@app.command("run")
def run(
    config: Path = typer.Option(..., "--config", help="The coordinator's server.toml."),
) -> None:
    """Run the coordinator until stopped (or until its scheduled rounds end)."""
    settings = load_server_settings(config)
    _logging(settings.log, settings.operations.log_format)
    service = CoordinatorService(settings)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: service.stop())
    port = service.start()
    console = Console(stderr=True)
    console.print(t("server.started", port=port))
    if service.metrics_port is not None and settings.operations.metrics is not None:
        console.print(
            t("server.metrics_at", host=settings.operations.metrics[0], port=service.metrics_port)
        )
    service.run()


@app.command("trigger")
def trigger(
    config: Path = typer.Option(..., "--config", help="The coordinator's server.toml."),
    cluster: str | None = typer.Option(None, "--cluster"),
    region: str | None = typer.Option(
        None, "--region", help="A region-wide round (on a date the manifest lists for one)."
    ),
    as_of: str = typer.Option(..., "--as-of", help="Reference date, YYYY-MM-DD."),
    wait: float = typer.Option(
        3.0, "--wait", min=0.1, help="Seconds to wait for the coordinator's answer."
    ),
) -> None:
    """Ask the running coordinator for a round and print its answer; exits non-zero when
    it refuses (unknown cluster or region, a date off the manifest's schedule, a period
    already running or released) or does not answer."""
    if (cluster is None) == (region is None):
        raise typer.BadParameter(t("server.trigger_unit"), param_hint="--cluster")
    settings = load_server_settings(config)
    ref = parse_iso_date(as_of, "--as-of")
    unit = region if region is not None else cluster
    assert unit is not None
    request = write_trigger(settings.trigger_dir, unit, ref, region=region is not None)
    answer = await_answer(request, wait)
    if answer is None:
        typer.echo(t("server.no_answer", seconds=integer(wait), config=config), err=True)
        raise typer.Exit(4)
    if not answer.accepted:
        fields: dict[str, object] = dict(answer.fields or {})
        reason = t(f"server.refused.{answer.code}", None, **fields)
        typer.echo(t("server.refused", reason=reason), err=True)
        raise typer.Exit(3)
    typer.echo(t("server.queued", cluster=unit, date=day(ref)))


@app.command("status")
def status(
    config: Path = typer.Option(..., "--config", help="The coordinator's server.toml."),
) -> None:
    """Show the rounds and releases in the coordinator's store."""
    settings = load_server_settings(config)
    store = Store.open(settings.store, create=False)
    try:
        table = Table(title=t("server.rounds"))
        for key in ("round", "cluster", "date", "state", "reason"):
            table.add_column(t(f"server.col.{key}"))
        for r in store.rounds():
            table.add_row(
                r.id[:16],
                r.unit,
                day(r.reference_date),
                t(f"server.state.{r.state.value}"),
                in_words(r.abort_reason) if r.abort_reason else "",
            )
        console = Console()
        console.print(table)
        console.print(t("server.releases", n=integer(len(store.releases()))))
        head = store.last_log_head()
        if head is not None:
            console.print(
                t("server.log_head", path=settings.log_file, n=head[0], head=f"{head[0]}:{head[1]}")
            )
    finally:
        store.close()


@app.command("log-key")
def log_key(
    out: Path = typer.Option(..., "--out", help="Private key file to write (0600)."),
) -> None:
    """Create the coordinator's transparency-log key; its public key goes into every agent.toml
    (`[coordinator] log_key`), so agents can check the log's signed tree heads."""
    key = generate_private_key()
    write_private_key(out, key)
    public = out.with_name(out.name + ".pub")
    write_public_key(public, key.public_key(), form="hex", overwrite=True)
    typer.echo(t("server.log_key_written", path=out, public=public_bytes(key.public_key()).hex()))


@app.command("registry")
def registry(
    out: Path = typer.Option(..., "--out", help="Registry file to write (.sig beside it)."),
    authority: Path = typer.Option(
        ..., "--authority", help="Registry authority's private key (PKCS#8 PEM, 0600)."
    ),
    federation: Path = typer.Option(
        ..., "--federation", help="federation.toml: each practice's cluster and region."
    ),
    public_keys: Path | None = typer.Option(
        None, "--public-keys", help="Folder of PRACTICE.pub files the practices sent."
    ),
    public_key: list[str] = typer.Option(
        [], "--public-key", help="PRACTICE=FILE: one practice's public key (PEM or hex)."
    ),
    issuer: str = typer.Option("Klynge registry authority", "--issuer"),
    on: str | None = typer.Option(None, "--date", help="Issue date (default today)."),
) -> None:
    """Sign the practice registry from the practices' public identity keys (`identity.pub`,
    which `klynge agent init` writes) and the federation file; no private key of a practice
    is needed on the region's machine."""
    issued = parse_iso_date(on, "--date") if on else datetime.now(UTC).date()
    keys = public_keys_in(public_keys) if public_keys is not None else {}
    for value in public_key:
        practice, _, file = value.partition("=")
        if not practice or not file:
            raise typer.BadParameter(t("server.public_key_format"), param_hint="--public-key")
        keys[practice] = Path(file)
    if not keys:
        raise typer.BadParameter(t("server.public_keys_none"), param_hint="--public-keys")
    signed, path, sig = write_registry_from_public_keys(
        out,
        load_federation(federation),
        keys,
        IdentityKey(load_private_key(authority)),
        where=federation,
        issuer=issuer,
        issued=issued,
    )
    typer.echo(t("server.registry_written", n=len(signed.entries), path=path, sig=sig))


@app.command("init")
def init(
    out: Path = typer.Option(Path("server.toml"), "--out", help="Configuration file to write."),
    listen: str = typer.Option(
        DEFAULT_LISTEN, "--listen", help="HOST:PORT the coordinator listens on (agents dial it)."
    ),
) -> None:
    """Write a commented server.toml for a new coordinator (never over an existing file)."""
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise typer.BadParameter(t("server.listen_format"), param_hint="--listen")
    if out.exists():
        raise ConfigError(out, None, t("server.init_exists"))
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out, server_toml(listen).encode())
    typer.echo(t("server.init_written", path=out))


register(
    {
        "server.published": {
            "da": "Udgivelse til det nationale niveau skrevet: {path} ({n} udgivelser, træhoved "
            "{head})",
            "en": "Publication for the national tier written: {path} ({n} releases, tree head "
            "{head})",
        },
        "server.national_imported": {
            "da": "National udgivelse {date} kontrolleret og gemt: {path}",
            "en": "National release {date} checked and stored: {path}",
        },
    }
)


@app.command("publish")
def publish(
    config: Path = typer.Option(..., "--config", help="The coordinator's server.toml."),
    as_of: str = typer.Option(..., "--period", help="Reference date, YYYY-MM-DD."),
    out: Path = typer.Option(..., "--out", help="Publication file to write."),
    region: str | None = typer.Option(None, "--region", help="If the federation has several."),
) -> None:
    """Write the region's region-level releases of a period, with log proofs, for the nation."""
    settings = load_server_settings(config)
    ref = parse_iso_date(as_of, "--period")
    manifest_text = settings.manifest.read_text(encoding="utf-8")
    names = [r.name for r in load_federation(settings.federation).regions]
    if region is None and len(names) != 1:
        raise typer.BadParameter(", ".join(names), param_hint="--region")
    log = TransparencyLog.open(settings.log_file, load_private_key(settings.log_key))
    store = Store.open(settings.store, create=False)
    try:
        publication = build_publication(store, log, manifest_text, region or names[0], ref)
    finally:
        store.close()
    write_publication(publication, out)
    typer.echo(
        t("server.published", path=out, n=len(publication.releases), head=publication.head.short)
    )


@app.command("import-national")
def import_national(
    publication: Path = typer.Argument(..., help="The national body's national.json."),
    config: Path = typer.Option(..., "--config", help="The coordinator's server.toml."),
    national_key: Path = typer.Option(
        ..., "--national-key", help="The national body's public key file."
    ),
) -> None:
    """Check the national publication (signature, manifest) and serve it to the agents."""
    settings = load_server_settings(config)
    manifest_hash = load_manifest(settings.manifest).manifest.hash()
    national = parse_national(
        publication,
        load_json(publication),
        national_key=load_public_key(national_key),
        manifest_hash=manifest_hash,
    )
    path = store_national(national, settings.state_dir)
    typer.echo(t("server.national_imported", date=day(national.reference_date), path=path))
