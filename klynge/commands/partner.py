"""`klynge partner keygen|fetch`: a partner in the wider health system and what it was granted.

`keygen` makes the partner's TLS key on the partner's own machine and a
certificate request for the region (`klynge pki sign --partner`): the same
checks and files as a practice's `klynge agent keygen` (`transport.csr`). A
command here rather than an option of `agent keygen`, because a partner runs
no agent: everything a partner's machine needs is under `klynge partner`.

The grant is the manifest's `[[partners]]` entry for the partner's certificate
identity; the coordinator enforces it and refuses (and logs) anything more.
See `server.partner_client` for the configuration file and docs/partners.md
for who may be a partner and on what terms.
"""

from __future__ import annotations

from pathlib import Path

import typer

from common.i18n import register, t
from common.identities import PARTNER
from indicator_defs import load_catalogue
from klynge.keygen import CSR_OPTION, FORCE_OPTION, make_key_and_request
from klynge.options import chosen_language
from reporting.partner_page import unit_label
from server.partner_client import fetch_partner, load_partner_settings, write_received
from server.partners import PartnerRequest

app = typer.Typer(
    help="Partners in the wider health system: their TLS key and the figures they are granted.",
    no_args_is_help=True,
)

register(
    {
        "partner.cli.received": {
            "da": "{partner} modtog {units} ({n} indikatorer); skrevet: {files}",
            "en": "{partner} received {units} ({n} indicators); written: {files}",
        },
        "partner.cli.nothing": {"da": "intet", "en": "nothing"},
    }
)


@app.callback()
def partner() -> None:
    """Partners in the wider health system: their TLS key and the figures they are granted."""


@app.command("keygen")
def keygen(
    pki: Path = typer.Option(
        ..., "--pki", help="The partner's PKI directory; the key goes to partners/ID.key."
    ),
    partner_id: str = typer.Option(..., "--partner", help="The partner's id, as in [[partners]]."),
    csr: Path | None = CSR_OPTION,
    force: bool = FORCE_OPTION,
) -> None:
    """Make this partner's TLS key here, and a certificate request for the region to sign."""
    make_key_and_request(pki, PARTNER, partner_id, csr, force=force)


@app.command("fetch")
def fetch(
    config: Path = typer.Option(..., "--config", help="The partner's partner.toml."),
    level: str | None = typer.Option(
        None, "--level", help="Only this level (cluster or region); default: every granted one."
    ),
    unit: list[str] = typer.Option(
        None, "--unit", help="Only this cluster or region (repeatable); default: every granted."
    ),
    measure: list[str] = typer.Option(
        None, "--measure", help="Only this indicator (repeatable); default: every granted one."
    ),
    lang: str | None = typer.Option(None, "--lang", help="da or en (default: klynge --lang)."),
) -> None:
    """Fetch the partner's grant over mutual TLS; write JSON, FHIR MeasureReports and HTML."""
    language = chosen_language(lang)
    settings = load_partner_settings(config)
    request = PartnerRequest(
        level=level,
        units=tuple(unit) if unit else None,
        measures=tuple(measure) if measure else None,
    )
    received = fetch_partner(settings, request)
    written = write_received(received, settings.out_dir, load_catalogue(), language)
    measures = {m for doc in received.releases for m in doc.figures}
    units = ", ".join(unit_label(d, language) for d in received.releases)
    typer.echo(
        t(
            "partner.cli.received",
            language,
            partner=received.partner.name.get(language),
            units=units or t("partner.cli.nothing", language),
            n=len(measures),
            files=", ".join(str(p) for p in written),
        )
    )
