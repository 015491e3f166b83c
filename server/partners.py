"""What a partner in the wider health system may fetch: its grant, its request, the filter.

A partner (a hospital's quality unit, a municipality's health services) is
declared in the manifest's `[[partners]]` with its certificate identity, its
units, levels and measures. The coordinator answers its Fetch (scope
`partner`) with the latest release of each unit it was granted, each release
document cut down to its measures, and nothing else: never a practice's
figure (no release holds one), never another unit, level or measure. A
request for more than the grant is refused as a whole (`PartnerRefused`), not
quietly narrowed, so a partner learns its grant from the manifest and the
refusal is a fact the transparency log can record.

Pure: the coordinator supplies the manifest, the federation and the stored
releases; `server.coordinator` does the refusing, logging and counting.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from common.boundedjson import BoundedJsonError, loads
from common.errors import KlyngeError
from common.federation import Federation
from common.i18n import register, t
from privacy.manifest import PARTNER_LEVELS, Manifest, Partner
from reporting.release_document import ReleaseDocument, parse_release

Unit = tuple[str, str]  # (level, cluster id or region name)
BUNDLE_FORMAT = "klynge-partner-releases/1"
MAX_REQUEST_BYTES = 64 * 1024
MAX_BUNDLE_BYTES = 64 * 1024 * 1024

# Why a partner's Fetch was refused: the code in logs, metrics and the transparency log.
NOT_DECLARED = "partner_not_declared"  # a partner certificate the manifest does not name
NOT_A_PARTNER = "not_a_partner"  # a practice's certificate asking as a partner
PARTNER_SCOPE = "partner_scope"  # a partner asking for a practice's scope (its cluster, the log)
LEVEL = "partner_level"
UNIT = "partner_unit"
MEASURE = "partner_measure"
MALFORMED = "partner_request_malformed"


register(
    {
        "partner.err.fields": {
            "en": "a partner request has only level, units, measures",
            "da": "en partners forespørgsel har kun level, units og measures",
        },
        "partner.err.level_text": {"en": "level must be text", "da": "level skal være tekst"},
        "partner.err.texts": {
            "en": "{name} must be a list of texts",
            "da": "{name} skal være en liste af tekster",
        },
        "partner.err.level": {
            "en": "level {level} is not granted (given: {given})",
            "da": "niveauet {level} er ikke tildelt (tildelt: {given})",
        },
        "partner.err.unit": {
            "en": "{unit} is not one of the granted units",
            "da": "{unit} er ikke en af de tildelte enheder",
        },
        "partner.err.measure": {
            "en": "measure {measure} is not granted",
            "da": "målet {measure} er ikke tildelt",
        },
        "partner.err.not_bundle": {
            "en": "not a {format} document",
            "da": "ikke et {format}-dokument",
        },
        "partner.err.bundle_fields": {
            "en": "needs partner (text) and releases (a list)",
            "da": "skal have partner (tekst) og releases (en liste)",
        },
    }
)


class PartnerRefused(KlyngeError):
    """The partner asked for something it was not given (or is no declared partner)."""

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class PartnerBundleError(KlyngeError):
    """What the coordinator sent a partner is not a partner bundle."""


@dataclass(frozen=True)
class PartnerRequest:
    """What a partner asks for; a field left None asks for all of it that was granted."""

    level: str | None = None
    units: tuple[str, ...] | None = None
    measures: tuple[str, ...] | None = None

    def to_body(self) -> bytes:
        doc = {
            k: v if isinstance(v, str) else list(v)
            for k, v in (("level", self.level), ("units", self.units), ("measures", self.measures))
            if v is not None
        }
        return json.dumps(doc, sort_keys=True).encode()

    @classmethod
    def from_body(cls, body: bytes) -> PartnerRequest:
        """Parse a request body (empty: everything granted); PartnerRefused if malformed."""
        if not body:
            return cls()
        try:
            doc = loads(body, source="partner request", max_bytes=MAX_REQUEST_BYTES, max_depth=3)
        except BoundedJsonError as exc:
            raise PartnerRefused(MALFORMED, str(exc)) from None
        if not isinstance(doc, dict) or set(doc) - {"level", "units", "measures"}:
            raise PartnerRefused(MALFORMED, t("partner.err.fields"))
        level = doc.get("level")
        if level is not None and not isinstance(level, str):
            raise PartnerRefused(MALFORMED, t("partner.err.level_text"))

        def texts(name: str) -> tuple[str, ...] | None:
            value = doc.get(name)
            if value is None:
                return None
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise PartnerRefused(MALFORMED, t("partner.err.texts", name=name))
            return tuple(v[:64] for v in value[:1000])

        return cls(level and level[:16], texts("units"), texts("measures"))

    def describe(self) -> str:
        """What was asked, in a few words for the log (ids only, never a value)."""
        parts = [
            f"level={self.level or 'all'}",
            f"units={','.join(self.units) if self.units is not None else 'all'}",
            f"measures={','.join(self.measures) if self.measures is not None else 'all'}",
        ]
        return " ".join(parts)[:500]


@dataclass(frozen=True)
class Grant:
    """What one partner receives under a manifest in a federation: (level, unit) pairs, measures."""

    partner: Partner
    units: tuple[Unit, ...]
    measures: tuple[str, ...]

    @classmethod
    def of(cls, partner: Partner, manifest: Manifest, federation: Federation) -> Grant:
        units = tuple(
            (level, unit) for level in PARTNER_LEVELS for unit in partner.units(level, federation)
        )
        return cls(partner, units, partner.measure_ids(manifest.released_measure_ids))

    def select(self, request: PartnerRequest) -> tuple[tuple[Unit, ...], tuple[str, ...]]:
        """The (level, unit) pairs and measures the request asks for, all within the grant;
        PartnerRefused naming the first thing asked beyond it."""
        levels = {level for level, _ in self.units}
        if request.level is not None and request.level not in levels:
            given = ", ".join(sorted(levels))
            raise PartnerRefused(
                LEVEL, t("partner.err.level", level=repr(request.level), given=given)
            )
        units = [u for u in self.units if request.level is None or u[0] == request.level]
        if request.units is not None:
            named = {unit for _, unit in units}
            for unit in request.units:
                if unit not in named:
                    raise PartnerRefused(UNIT, t("partner.err.unit", unit=repr(unit)))
            units = [u for u in units if u[1] in request.units]
        measures = self.measures
        if request.measures is not None:
            for measure in request.measures:
                if measure not in self.measures:
                    raise PartnerRefused(MEASURE, t("partner.err.measure", measure=repr(measure)))
            measures = tuple(m for m in self.measures if m in request.measures)
        return tuple(units), measures


def only_measures(doc: ReleaseDocument, measures: Sequence[str]) -> ReleaseDocument:
    """The release document holding only `measures`: indicators' figures, distributions and
    definitions, and survey measures' figures, by the same ids."""
    keep = set(measures)
    return replace(
        doc,
        figures={k: v for k, v in doc.figures.items() if k in keep},
        distributions={k: v for k, v in doc.distributions.items() if k in keep},
        definitions={k: v for k, v in doc.definitions.items() if k in keep},
        surveys={k: v for k, v in doc.surveys.items() if k in keep},
    )


def partner_bundle(
    grant: Grant,
    request: PartnerRequest,
    latest: Callable[[str, str], ReleaseDocument | None],
) -> list[ReleaseDocument]:
    """The releases a request within the grant gets: per (level, unit), `latest(level, unit)`
    cut down to the measures; units with nothing released yet are left out."""
    units, measures = grant.select(request)
    docs = []
    for level, unit in units:
        doc = latest(level, unit)
        if doc is not None:
            docs.append(only_measures(doc, measures))
    return docs


def bundle_body(partner_id: str, docs: Sequence[ReleaseDocument]) -> bytes:
    doc = {"format": BUNDLE_FORMAT, "partner": partner_id, "releases": [d.to_json() for d in docs]}
    return json.dumps(doc, ensure_ascii=False).encode()


def parse_bundle(body: bytes, source: str) -> tuple[str, tuple[ReleaseDocument, ...]]:
    """(partner id, releases) of what the coordinator sent, each release checked by type."""
    try:
        doc: Any = loads(body, source=source, max_bytes=MAX_BUNDLE_BYTES, max_depth=32)
    except BoundedJsonError as exc:
        raise PartnerBundleError(str(exc)) from None
    if not isinstance(doc, dict) or doc.get("format") != BUNDLE_FORMAT:
        raise PartnerBundleError(f"{source}: {t('partner.err.not_bundle', format=BUNDLE_FORMAT)}")
    partner, releases = doc.get("partner"), doc.get("releases")
    if not isinstance(partner, str) or not isinstance(releases, list):
        raise PartnerBundleError(f"{source}: {t('partner.err.bundle_fields')}")
    return partner, tuple(
        parse_release(f"{source} releases[{i}]", r) for i, r in enumerate(releases)
    )
