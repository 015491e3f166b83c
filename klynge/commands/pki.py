"""`klynge pki init|sign|list`: the region's certificate authority behind the federation's mTLS.

The files live in one directory (see `transport.pki.PkiLayout`). Keys are
written 0600 and never overwritten. Neither a practice's key nor a partner's
is made here: the practice makes its own with `klynge agent keygen`, the
partner with `klynge partner keygen`, and each sends a certificate request,
which `sign` checks and signs (`transport.csr`): a practice's against the
federation file, a partner's against the signed manifest's `[[partners]]`.
Only the one-machine demo makes such keys at the CA
(`transport.pki.issue_practices` and `issue_partner`, no command). In
production the region's CA or OCES3 organisation certificates replace this CA.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from common.i18n import register, t
from common.identities import PARTNER, PRACTICE
from common.keyfiles import load_public_key
from privacy.manifest import load_manifest
from privacy.signing import key_id
from privacy.trust import check_signature
from transport.csr import sign_request
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
        "pki.sign.done": {
            "da": "Certifikat til {practice} skrevet til {out}. Anmodningens nøgle har "
            "fingeraftrykket {fingerprint}: sammenlign det med praksis i telefonen.",
            "en": "Certificate for {practice} written to {out}. The request's key has the "
            "fingerprint {fingerprint}: compare it with the practice by telephone.",
        },
        "pki.sign.partner_done": {
            "da": "Partnercertifikat (urn:klynge:partner:{partner}) skrevet til {out}; det giver "
            "kun adgang til det, manifestets [[partners]] giver denne identitet. Anmodningens "
            "nøgle har fingeraftrykket {fingerprint}: sammenlign det med partneren i telefonen.",
            "en": "Partner certificate (urn:klynge:partner:{partner}) written to {out}; it "
            "reaches only what the manifest's [[partners]] grants this identity. The request's "
            "key has the fingerprint {fingerprint}: compare it with the partner by telephone.",
        },
        "pki.sign.one_of": {
            "da": "angiv enten --practice og --federation eller --partner, --manifest og "
            "--manifest-authority",
            "en": "give either --practice and --federation, or --partner, --manifest and "
            "--manifest-authority",
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


@app.command("sign")
def sign(
    directory: Path = _DIR,
    csr: Path = typer.Option(..., "--csr", help="The certificate request (PEM) to sign."),
    practice: str | None = typer.Option(
        None, "--practice", help="The practice that sent the request; the request must name it."
    ),
    federation: Path | None = typer.Option(
        None, "--federation", help="Federation TOML; the practice must be one of its [[practices]]."
    ),
    partner: str | None = typer.Option(
        None, "--partner", help="The partner that sent the request; the request must name it."
    ),
    manifest: Path | None = typer.Option(
        None, "--manifest", help="Signed manifest; the partner must be one of its [[partners]]."
    ),
    manifest_authority: Path | None = typer.Option(
        None, "--manifest-authority", help="The manifest authority's public key (PEM)."
    ),
    out: Path = typer.Option(
        ..., "--out", help="Where to write the certificate (never overwritten)."
    ),
    days: int = typer.Option(LEAF_DAYS, "--days", min=1),
) -> None:
    """Sign a practice's or a partner's certificate request: its own key, its id, nothing else."""
    given = {
        name
        for name, value in (
            ("practice", practice),
            ("federation", federation),
            ("partner", partner),
            ("manifest", manifest),
            ("authority", manifest_authority),
        )
        if value is not None
    }
    if given == {"practice", "federation"} and practice and federation:
        role, expected, source = PRACTICE, practice, federation
        ids = frozenset(practice_ids_from_federation(federation))
    elif given == {"partner", "manifest", "authority"} and partner and manifest:
        assert manifest_authority is not None
        role, expected, source = PARTNER, partner, manifest
        ids = _declared_partners(manifest, manifest_authority)
    else:
        raise typer.BadParameter(t("pki.sign.one_of"), param_hint="--practice/--partner")
    issued, key_fingerprint = sign_request(
        PkiLayout(directory),
        csr,
        role=role,
        expected=expected,
        declared=ids,
        source=source,
        out=out,
        now=_now(),
        days=days,
    )
    console = Console()
    console.print(_table([issued]))
    if role == PARTNER:
        done = t("pki.sign.partner_done", partner=expected, out=out, fingerprint=key_fingerprint)
    else:
        done = t("pki.sign.done", practice=expected, out=out, fingerprint=key_fingerprint)
    console.print(done, markup=False)  # '[[partners]]' is text, not rich markup


def _declared_partners(manifest: Path, authority: Path) -> frozenset[str]:
    """The ids of the manifest's `[[partners]]`, once the authority's signature holds.

    The signed manifest is what the practices approved: a partner added to an
    edited copy of it gets no certificate.
    """
    signed = load_manifest(manifest)
    public = load_public_key(authority)
    check_signature(signed, {key_id(public): public})
    return frozenset(p.id for p in signed.manifest.partners or ())


@app.command("list")
def list_certificates(directory: Path = _DIR) -> None:
    """Show the CA, server, practice and partner certificates with fingerprints."""
    layout = PkiLayout(directory)
    paths = [("ca", layout.ca_cert), ("server", layout.server_cert)]
    # the demo's practices, signed requests, partners
    for folder in (layout.practices_dir, layout.issued_dir, layout.partners_dir):
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
