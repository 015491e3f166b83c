"""What every Klynge MeasureReport shares: extension URLs, the release's DP facts, the reporter.

Indicator reports (`server.fhir_report`) and survey reports
(`server.fhir_survey`) state a release's mechanism, ε, δ and contributors,
and name the reporting cluster or region, in exactly the same way.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from typing import Any

from common.errors import KlyngeError
from common.i18n import register
from indicator_defs import fhir_extensions as published
from indicator_defs.fhir_measure import CANONICAL_BASE
from reporting.release_document import ReleaseDocument

DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
# Klynge's own extensions: their URLs from the one table they are published from.
SUPPRESSION_REASON_EXT = published.SUPPRESSION_REASON.url
NOISE_SD_EXT = published.NOISE_SD.url
CONTRIBUTORS_EXT = published.CONTRIBUTORS.url
MECHANISM_EXT = published.MECHANISM.url
EPSILON_EXT = published.EPSILON.url
DELTA_EXT = published.DELTA.url
INTERVAL_EXT = published.INTERVAL.url
UNCERTAIN_EXT = published.UNCERTAIN.url
DEFINITION_HASH_EXT = published.DEFINITION_HASH.url
DISTRIBUTION_EXT = published.DISTRIBUTION.url
RELEASE_ID_SYSTEM = f"{CANONICAL_BASE}/NamingSystem/release"
_LEVEL_DISPLAY = {
    "cluster": "Klynge (kvalitetsklynge) {unit}",
    "region": "Region {unit}",
    "nation": "{unit} (nationalt)",
}


register(
    {
        "fhir.narrative.uncertain": {
            "da": "For usikker til at bruge: intervallet er for bredt.",
            "en": "Too uncertain to use: the interval is too wide.",
        },
        "fhir.level.cluster": {"da": "klynge", "en": "cluster"},
        "fhir.level.region": {"da": "region", "en": "region"},
        "fhir.level.nation": {"da": "land", "en": "country"},
    }
)


class FhirReportError(KlyngeError):
    """A release document that cannot be expressed as MeasureReports."""


def release_extensions(release: ReleaseDocument) -> list[dict[str, Any]]:
    """Contributing practices, mechanism, ε and δ of the release, as Klynge's extensions."""
    extensions: list[dict[str, Any]] = []
    if release.contributors is not None:
        extensions.append({"url": CONTRIBUTORS_EXT, "valueInteger": release.contributors})
    if release.mechanism is not None:
        extensions.append({"url": MECHANISM_EXT, "valueString": release.mechanism})
    eps = release.epsilon_per_release
    if eps is not None and math.isfinite(eps):
        extensions.append({"url": EPSILON_EXT, "valueDecimal": float(eps)})
    if release.delta_per_release is not None:
        extensions.append({"url": DELTA_EXT, "valueDecimal": float(release.delta_per_release)})
    return extensions


def reporter(release: ReleaseDocument) -> dict[str, str]:
    """The cluster, region or country whose aggregate the report is."""
    return {
        "type": "Organization",
        "display": _LEVEL_DISPLAY[release.level].format(unit=release.unit),
    }


def narrative(lines: list[str], lang: str) -> dict[str, str]:
    """A generated narrative: one paragraph per line, XHTML built as elements (escaped)."""
    div = ET.Element("div", {"xmlns": "http://www.w3.org/1999/xhtml", "lang": lang})
    for line in lines:
        ET.SubElement(div, "p").text = line
    return {"status": "generated", "div": ET.tostring(div, encoding="unicode")}
