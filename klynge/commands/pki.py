"""`klynge pki init|issue|list`: the demo certificate authority behind the federation's mTLS.

The files live in one directory (see `transport.pki.PkiLayout`). Keys are
written 0600 and never overwritten; rerunning `issue --keep-existing` checks
and keeps what is there, so scripts can call it idempotently. In production
the region's CA or OCES3 organisation certificates replace all of this.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from common.i18n import register, t
from common.identities import PRACTICE
from transport.pki import (
    CA_DAYS,
    DEFAULT_SERVER_HOSTS,
    LEAF_DAYS,
    IssuedCertificate,
    PkiError,
    PkiLayout,
    fingerprint,
    identity_of,
    init_pki,
    issue_partner,
    issue_practices,
    load_certificate,
    practice_ids_from_federation,
)

app = typer.Typer(help="Demo certificate authority for mutual TLS.", no_args_is_help=True)

register(
    {
        "pki.col.subject": {"da": "Emne", "en": "Subject"},
        "pki.col.file": {"da": "Certifikat", "en": "Certificate"},
        "pki.col.expires": {"da": "Udløber", "en": "Expires"},
        "pki.col.fingerprint": {"da": "SHA-256-fingeraftryk", "en": "SHA-256 fingerprint"},
        "pki.col.status": {"da": "Status", "en": "Status"},
        "pki.created": {"da": "oprettet", "en": "created"},
        "pki.kept": {"da": "beholdt", "en": "kept"},
        "pki.init.done": {
            "da": "Demo-CA og servercertifikat oprettet i {dir}. Private nøgler har filrettighed "
            "0600 og må aldrig lægges i versionsstyring.",
            "en": "Demo CA and server certificate created in {dir}. Private keys have file "
            "mode 0600 and must never be committed.",
        },
        "pki.issue.done": {
            "da": "{n} praksiscertifikater i {dir}",
            "en": "{n} practice certificates in {dir}",
        },
        "pki.issue.partner": {
            "da": "Partnercertifikat (urn:klynge:partner:{id}) i {dir}; det giver kun adgang til "
            "det, manifestets [[partners]] giver denne identitet.",
            "en": "Partner certificate (urn:klynge:partner:{id}) in {dir}; it reaches only what "
            "the manifest's [[partners]] grants this identity.",
        },
        "pki.issue.none": {
            "da": "angiv mindst én --practice eller --from-federation",
            "en": "give at least one --practice or --from-federation",
        },
    }
)

_DIR = typer.Option(..., "--dir", help="PKI directory (created if missing).")


def _now() -> datetime:
    return datetime.now(UTC)


def _table(rows: list[IssuedCertificate]) -> Table:
    table = Table()
    for key in ("subject", "file", "fingerprint", "status"):
        # Fold, never truncate: fingerprints are copied into the registry.
        table.add_column(t(f"pki.col.{key}"), overflow="fold")
    for row in rows:
        table.add_row(
            row.subject,
            str(row.cert_path),
            row.fingerprint,
            t("pki.created") if row.created else t("pki.kept"),
        )
    return table


@app.command("init")
def init(
    directory: Path = _DIR,
    host: list[str] = typer.Option(
        None, "--host", help="Name or IP the coordinator is reached at (repeatable)."
    ),
    ca_days: int = typer.Option(CA_DAYS, "--ca-days", min=1),
    days: int = typer.Option(LEAF_DAYS, "--days", min=1, help="Server certificate validity."),
) -> None:
    """Create the demo CA and the coordinator's certificate."""
    layout = PkiLayout(directory)
    issued = init_pki(
        layout,
        now=_now(),
        hosts=tuple(host) if host else DEFAULT_SERVER_HOSTS,
        ca_days=ca_days,
        server_days=days,
    )
    console = Console()
    console.print(_table(list(issued)))
    console.print(t("pki.init.done", dir=directory))


@app.command("issue")
def issue(
    directory: Path = _DIR,
    practice: list[str] = typer.Option(
        None, "--practice", help="Practice id to issue a client certificate for (repeatable)."
    ),
    from_federation: Path = typer.Option(
        None, "--from-federation", help="Federation TOML; issue for each of its [[practices]]."
    ),
    keep_existing: bool = typer.Option(
        False, "--keep-existing", help="Check and keep certificates that already exist."
    ),
    days: int = typer.Option(LEAF_DAYS, "--days", min=1),
) -> None:
    """Issue one client certificate per practice, with the practice id in it."""
    ids = list(practice or [])
    if from_federation is not None:
        ids.extend(practice_ids_from_federation(from_federation))
    if not ids:
        raise typer.BadParameter(t("pki.issue.none"), param_hint="--practice")
    layout = PkiLayout(directory)
    issued = issue_practices(layout, ids, now=_now(), days=days, keep_existing=keep_existing)
    console = Console()
    console.print(_table(issued))
    console.print(t("pki.issue.done", n=len(issued), dir=layout.practices_dir))


@app.command("issue-partner")
def issue_partner_command(
    directory: Path = _DIR,
    partner_id: str = typer.Option(..., "--id", help="The partner's id, as in [[partners]]."),
    days: int = typer.Option(LEAF_DAYS, "--days", min=1),
) -> None:
    """Issue a partner's client certificate (its own role: it can never act as a practice)."""
    layout = PkiLayout(directory)
    issued = issue_partner(layout, partner_id, now=_now(), days=days)
    console = Console()
    console.print(_table([issued]))
    console.print(t("pki.issue.partner", id=partner_id, dir=layout.partners_dir))


@app.command("list")
def list_certificates(directory: Path = _DIR) -> None:
    """Show the CA, server and practice certificates with fingerprints (for registry pinning)."""
    layout = PkiLayout(directory)
    paths = [("ca", layout.ca_cert), ("server", layout.server_cert)]
    for folder in (layout.practices_dir, layout.partners_dir):
        if folder.is_dir():
            paths += [("", p) for p in sorted(folder.glob("*.pem"))]
    table = Table()
    for key in ("subject", "file", "expires", "fingerprint"):
        table.add_column(t(f"pki.col.{key}"), overflow="fold")
    for subject, path in paths:
        cert = load_certificate(path)
        if not subject:
            try:
                role, subject = identity_of(cert)
                subject = subject if role == PRACTICE else f"{role} {subject}"
            except ValueError as exc:
                raise PkiError("pki.mismatch", path=path, reason=str(exc)) from exc
        table.add_row(
            subject, str(path), cert.not_valid_after_utc.date().isoformat(), fingerprint(cert)
        )
    Console().print(table)
