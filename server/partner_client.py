"""`klynge partner fetch`: a partner fetches its grant and keeps it as JSON, FHIR and HTML.

A partner (a hospital's quality unit, a municipality's health services) holds
a client certificate from the region's CA naming `urn:klynge:partner:<id>`
and the signed manifest that declares it. It dials the coordinator over
mutual TLS, asks Fetch (scope `partner`) for its grant or a part of it, and
writes what it received: `releases.json` (the release documents, as sent),
`measurereports.json` (a FHIR R4 collection Bundle of MeasureReports, the
same export the region uses) and `partner.html` (the report kit's page).
All three are written only after the whole answer was received and checked,
so a failed fetch leaves the previous files as they were.

The configuration file (`partner.toml`; relative paths from its directory):

    [partner]
    id = "rh-kvalitet"                 # as the manifest's [[partners]] id
    coordinator = "localhost:50051"    # HOST:PORT of the region's coordinator, or (the demo)
                                       # coordinator_port_file and coordinator_host
    manifest = "manifest.toml"         # the signed manifest that declares the partner
    out_dir = "partner"                # where the three files are written

    [tls]
    ca = "pki/ca.pem"                  # the region's CA
    cert = "pki/partners/rh-kvalitet.pem"
    key = "pki/partners/rh-kvalitet.key"
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common.atomic import atomic_write
from common.errors import FileKeyError, KlyngeError
from common.i18n import Lang, register, t
from common.identities import PARTNER, identity_uri
from common.tomlfile import read_table
from indicator_defs import Catalogue
from privacy.manifest import Partner, load_manifest
from protocols.envelope import FetchNotFound
from protocols.wire import FETCH_PARTNER
from reporting.partner_page import render_partner_page
from reporting.release_document import ReleaseDocument
from server.fhir_report import release_bundle
from server.partners import PartnerRequest, bundle_body, parse_bundle
from transport.fetch import fetch_once
from transport.pki import PkiError, identity_of
from transport.tls import TlsFiles, channel_credentials, load_tls

RELEASES_FILE = "releases.json"
FHIR_FILE = "measurereports.json"
PAGE_FILE = "partner.html"


class PartnerConfigError(FileKeyError):
    """`partner.toml` is missing, malformed, or does not fit the manifest or the certificate."""


class PartnerFetchError(KlyngeError):
    """The coordinator's answer is not this partner's."""


@dataclass(frozen=True)
class PartnerSettings:
    source: Path
    partner_id: str
    coordinator: str | None
    port_file: Path | None
    host: str
    server_name: str | None
    manifest: Path
    out_dir: Path
    tls: TlsFiles


register(
    {
        "partner.config.target": {
            "en": "give coordinator or coordinator_port_file, not both",
            "da": "angiv coordinator eller coordinator_port_file, ikke begge",
        },
        "partner.config.no_port": {
            "en": "no port to read: {reason}",
            "da": "ingen port at læse: {reason}",
        },
        "partner.config.undeclared": {
            "en": "{manifest} declares no partner with identity {identity}",
            "da": "{manifest} nævner ingen partner med identiteten {identity}",
        },
        "partner.err.certificate": {
            "en": "names {role} {subject}, not partner {id}",
            "da": "navngiver {role} {subject}, ikke partneren {id}",
        },
        "partner.answer_of": {"en": "the answer of {target}", "da": "svaret fra {target}"},
        "partner.err.other_partner": {
            "en": "the coordinator answered for partner {named}",
            "da": "koordinatoren svarede for partneren {named}",
        },
    }
)


def load_partner_settings(path: Path) -> PartnerSettings:
    root = read_table(path, error=PartnerConfigError, what="partner")
    partner, tls = root.table("partner"), root.table("tls")
    settings = PartnerSettings(
        source=Path(path),
        partner_id=partner.string("id"),
        coordinator=partner.string("coordinator", required=False),
        port_file=partner.path_value("coordinator_port_file", required=False),
        host=partner.string("coordinator_host", required=False, default="localhost"),
        server_name=partner.string("server_name", required=False),
        manifest=partner.path_value("manifest"),
        out_dir=partner.path_value("out_dir"),
        tls=TlsFiles(tls.path_value("ca"), tls.path_value("cert"), tls.path_value("key")),
    )
    for table in (partner, tls, root):
        table.done()
    if (settings.coordinator is None) == (settings.port_file is None):
        raise partner.fail("coordinator", t("partner.config.target"))
    return settings


def coordinator_target(settings: PartnerSettings) -> str:
    """HOST:PORT to dial: as configured, or the port the coordinator wrote to its port file."""
    if settings.coordinator is not None:
        return settings.coordinator
    assert settings.port_file is not None  # load_partner_settings requires one of them
    try:
        port = int(settings.port_file.read_text().strip())
    except (OSError, ValueError) as exc:
        raise PartnerConfigError(
            settings.source,
            "partner.coordinator_port_file",
            t("partner.config.no_port", reason=exc),
        ) from None
    return f"{settings.host}:{port}"


def declared_partner(settings: PartnerSettings) -> Partner:
    """The manifest's declaration of this partner; an error naming the file if there is none."""
    identity = identity_uri(PARTNER, settings.partner_id)
    partner = load_manifest(settings.manifest).manifest.partner(identity)
    if partner is None:
        raise PartnerConfigError(
            settings.source,
            "partner.id",
            t("partner.config.undeclared", manifest=settings.manifest, identity=identity),
        )
    return partner


@dataclass(frozen=True)
class Received:
    partner: Partner
    releases: tuple[ReleaseDocument, ...]


def fetch_partner(
    settings: PartnerSettings, request: PartnerRequest, timeout: float = 30.0
) -> Received:
    """Fetch the partner's grant (or the part `request` names) over mutual TLS, checked."""
    partner = declared_partner(settings)
    loaded = load_tls(settings.tls)
    try:
        role, subject = identity_of(loaded.certificate)
    except ValueError as exc:
        raise PkiError("pki.mismatch", path=settings.tls.cert, reason=str(exc)) from exc
    if (role, subject) != (PARTNER, settings.partner_id):
        raise PkiError(
            "pki.mismatch",
            path=settings.tls.cert,
            reason=t(
                "partner.err.certificate",
                role=role,
                subject=repr(subject),
                id=repr(settings.partner_id),
            ),
        )
    target = coordinator_target(settings)
    try:
        result = fetch_once(
            channel_credentials(loaded),
            target,
            FETCH_PARTNER,
            body=request.to_body(),
            timeout=timeout,
            server_name=settings.server_name,
        )
    except FetchNotFound:
        return Received(partner, ())  # nothing released for its units yet: the page says so
    named, releases = parse_bundle(result.body, t("partner.answer_of", target=target))
    if named != settings.partner_id:
        raise PartnerFetchError(t("partner.err.other_partner", named=repr(named)))
    return Received(partner, releases)


def write_received(
    received: Received, out_dir: Path, catalogue: Catalogue, lang: Lang
) -> list[Path]:
    """releases.json, measurereports.json and partner.html in `out_dir`; their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    partner = received.partner
    entries: list[dict[str, Any]] = []
    for doc in received.releases:
        entries += release_bundle(doc, catalogue, lang=lang)["entry"]
    fhir = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    page = render_partner_page(partner.name.get(lang), received.releases, catalogue, lang)
    files = {
        out_dir / RELEASES_FILE: bundle_body(partner.id, received.releases),
        out_dir / FHIR_FILE: json.dumps(fhir, ensure_ascii=False, indent=1).encode(),
        out_dir / PAGE_FILE: page.encode("utf-8"),
    }
    for path, data in files.items():
        atomic_write(path, data)
    return list(files)
