"""Klynge's FHIR extensions: one table, their URLs and their R4 StructureDefinitions.

Every extension Klynge writes (the Measure's criterion fallback, the
MeasureReport's interval, label, noise, ε and δ, definition hash and
distribution) or reads (the list membership and DDD an EPJ may send) is a row
of `EXTENSIONS`. The exporters and the importer take their URLs from these
rows, and `structure_definition` turns the same rows into the resources a
receiving system validates against, so the published definition and what is
written cannot drift apart. `docs/fhir.md` holds `markdown_table()` verbatim
(a test compares them).

The URLs are fixed under Klynge's own base, not a deployment's `--base`, so a
receiver's validation never depends on who exported.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CANONICAL_BASE = "https://klynge.dk/fhir"
EXTENSION_BASE = f"{CANONICAL_BASE}/StructureDefinition"
EXTENSION_DEFINITION = "http://hl7.org/fhir/StructureDefinition/Extension"
TRANSLATION_EXT = "http://hl7.org/fhir/StructureDefinition/translation"
FHIR_VERSION = "4.0.1"

# Where a MeasureReport cell's extensions sit: the whole group, and each stratum.
_CELLS = ("MeasureReport.group", "MeasureReport.group.stratifier.stratum")


@dataclass(frozen=True)
class Part:
    """A sub-extension of a complex extension: its url (a name), value type and cardinality."""

    name: str
    type: str
    short: str
    min: int = 1
    max: str = "1"


@dataclass(frozen=True)
class ExtensionDef:
    """One extension: what it says, where it sits, and its value (a type, or parts)."""

    name: str  # the URL's last segment, and the StructureDefinition's id
    title: str  # English; `danish` is its Danish designation
    danish: str
    definition: str
    contexts: tuple[str, ...]  # FHIRPath element contexts (R4 `context.type` element)
    type: str | None = None  # a simple extension's value[x] type
    parts: tuple[Part, ...] = ()  # a complex extension's sub-extensions, in order

    @property
    def url(self) -> str:
        return f"{EXTENSION_BASE}/{self.name}"

    @property
    def computable_name(self) -> str:
        """sdf-0's name: the title without spaces, e.g. 'PracticeRateDistribution'."""
        return "".join(w[:1].upper() + w[1:] for w in self.name.replace("-", " ").split())


CRITERION = ExtensionDef(
    "criterion",
    "Criterion fallback",
    "Kriterium uden CQL",
    "The part of a population's criteria that the generated CQL calls as an external function "
    '("Klynge Criterion N"): a JSON object mapping each such function\'s name to the query '
    "model's node (type, fields, code lists by name and version).",
    ("Measure.group.population.criteria",),
    type="string",
)
LIST_MEMBERSHIP = ExtensionDef(
    "list-membership",
    "List membership",
    "Tilmelding hos praksis",
    "The period a patient is on the practice's list (start, and end if they left), as the "
    "EPJ's own list data, for imports without a Group.",
    ("Patient",),
    type="Period",
)
DDD = ExtensionDef(
    "ddd",
    "Defined daily doses",
    "Definerede døgndoser (DDD)",
    "The number of WHO defined daily doses the prescription supplies.",
    ("MedicationRequest", "MedicationStatement"),
    type="decimal",
)
SUPPRESSION_REASON = ExtensionDef(
    "suppression-reason",
    "Suppression reason",
    "Grund til tilbageholdelse",
    "Why a count or score is absent (Klynge's reason code, e.g. small_count), beside the "
    "data-absent-reason 'masked'; never a zero.",
    (
        "MeasureReport.group.population.count",
        "MeasureReport.group.measureScore",
        "MeasureReport.group.stratifier.stratum.population.count",
        "MeasureReport.group.stratifier.stratum.measureScore",
    ),
    type="code",
)
NOISE_SD = ExtensionDef(
    "dp-noise-sd",
    "Noise standard deviation",
    "Støjens standardafvigelse",
    "The standard deviation of the noise added to the released numerator (0 without noise).",
    _CELLS,
    type="decimal",
)
INTERVAL = ExtensionDef(
    "interval",
    "Rate interval",
    "Interval for andelen",
    "The released rate's interval, unscaled (0.8, not 80 %).",
    _CELLS,
    parts=(
        Part("low", "decimal", "Lower bound, unscaled rate"),
        Part("high", "decimal", "Upper bound, unscaled rate"),
        Part("level", "decimal", "Coverage, 0.95"),
        Part("source", "code", "released: chance and noise; noise: the noise only (older)"),
    ),
)
UNCERTAIN = ExtensionDef(
    "uncertain",
    "Too uncertain to use",
    "For usikker",
    "The 'for usikker' label: the interval is too wide for the rate to be used. Present only "
    "as true.",
    _CELLS,
    type="boolean",
)
DISTRIBUTION = ExtensionDef(
    "practice-rate-distribution",
    "Practice rate distribution",
    "Fordeling af praksissernes andele",
    "A region-wide release's noisy histogram of the practices' rates over [0, 1], with its "
    "deciles, or the reason they are withheld (then no decile parts).",
    ("MeasureReport.group",),
    parts=(
        Part("bin", "decimal", "Practices in one bin (noisy), in bin order", 1, "*"),
        Part("edge", "decimal", "Bin edges, equal width over [0, 1], in order", 2, "*"),
        Part("bin-noise-sd", "decimal", "Standard deviation of each bin's noise"),
        Part("practices", "integer", "Practices that took part"),
        Part("full-weight-denominator", "integer", "Denominator at which a practice counts fully"),
        Part("decile", "decimal", "The nine deciles, in order", 0, "9"),
        Part("deciles-withheld", "code", "Why the deciles are withheld", 0, "1"),
    ),
)
CONTRIBUTORS = ExtensionDef(
    "contributing-practices",
    "Contributing practices",
    "Bidragende praksisser",
    "How many practices' counts the release sums.",
    ("MeasureReport",),
    type="integer",
)
MECHANISM = ExtensionDef(
    "dp-mechanism",
    "Privacy mechanism",
    "Privatlivsmekanisme",
    "The differential-privacy mechanism of the release, e.g. distributed_skellam.",
    ("MeasureReport",),
    type="string",
)
EPSILON = ExtensionDef(
    "dp-epsilon-per-release",
    "Epsilon per release",
    "ε pr. offentliggørelse",
    "The privacy loss ε this release spends (absent without differential privacy).",
    ("MeasureReport",),
    type="decimal",
)
DELTA = ExtensionDef(
    "dp-delta-per-release",
    "Delta per release",
    "δ pr. offentliggørelse",
    "The δ of this release's (ε, δ) guarantee.",
    ("MeasureReport",),
    type="decimal",
)
DEFINITION_HASH = ExtensionDef(
    "definition-hash",
    "Definition hash",
    "Definitionens hash",
    "The content hash of the indicator definition the release was computed under.",
    ("MeasureReport",),
    type="string",
)

EXTENSIONS: tuple[ExtensionDef, ...] = (
    CRITERION,
    INTERVAL,
    UNCERTAIN,
    NOISE_SD,
    DISTRIBUTION,
    CONTRIBUTORS,
    MECHANISM,
    EPSILON,
    DELTA,
    DEFINITION_HASH,
    SUPPRESSION_REASON,
    LIST_MEMBERSHIP,
    DDD,
)
BY_URL = {ext.url: ext for ext in EXTENSIONS}


def _element(path: str, element_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": element_id, "path": path, **fields}


def _differential(ext: ExtensionDef) -> list[dict[str, Any]]:
    """The constraints on Extension: url fixed, then value[x] typed or sliced sub-extensions."""
    root = _element(
        "Extension", "Extension", short=ext.title, definition=ext.definition, min=0, max="1"
    )
    if not ext.parts:
        return [
            root,
            _element("Extension.extension", "Extension.extension", max="0"),
            _element("Extension.url", "Extension.url", fixedUri=ext.url),
            _element("Extension.value[x]", "Extension.value[x]", min=1, type=[{"code": ext.type}]),
        ]
    slicing = {"discriminator": [{"type": "value", "path": "url"}], "rules": "closed"}
    elements = [root, _element("Extension.extension", "Extension.extension", slicing=slicing)]
    for part in ext.parts:
        slice_id = f"Extension.extension:{part.name}"
        elements += [
            _element(
                "Extension.extension",
                slice_id,
                sliceName=part.name,
                short=part.short,
                definition=part.short + ".",
                min=part.min,
                max=part.max,
            ),
            _element("Extension.extension.extension", f"{slice_id}.extension", max="0"),
            _element("Extension.extension.url", f"{slice_id}.url", fixedUri=part.name),
            _element(
                "Extension.extension.value[x]",
                f"{slice_id}.value[x]",
                min=1,
                type=[{"code": part.type}],
            ),
        ]
    elements += [
        _element("Extension.url", "Extension.url", fixedUri=ext.url),
        _element("Extension.value[x]", "Extension.value[x]", max="0"),
    ]
    return elements


def structure_definition(ext: ExtensionDef) -> dict[str, Any]:
    """The extension as an R4 StructureDefinition (a constraint on Extension, differential)."""
    return {
        "resourceType": "StructureDefinition",
        "id": ext.name,
        "url": ext.url,
        "name": ext.computable_name,
        "title": ext.title,
        "_title": {
            "extension": [
                {
                    "url": TRANSLATION_EXT,
                    "extension": [
                        {"url": "lang", "valueCode": "da"},
                        {"url": "content", "valueString": ext.danish},
                    ],
                }
            ]
        },
        "status": "active",
        "publisher": "Klynge",
        "description": ext.definition,
        "fhirVersion": FHIR_VERSION,
        "kind": "complex-type",
        "abstract": False,
        "context": [{"type": "element", "expression": where} for where in ext.contexts],
        "type": "Extension",
        "baseDefinition": EXTENSION_DEFINITION,
        "derivation": "constraint",
        "differential": {"element": _differential(ext)},
    }


def structure_definitions() -> list[dict[str, Any]]:
    return [structure_definition(ext) for ext in EXTENSIONS]


def profiles_bundle() -> dict[str, Any]:
    """Every extension's StructureDefinition in one collection Bundle."""
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": sd["url"], "resource": sd} for sd in structure_definitions()],
    }


def _value(ext: ExtensionDef) -> str:
    if not ext.parts:
        return f"`value{ext.type[:1].upper()}{ext.type[1:]}`" if ext.type else ""
    shown = []
    for part in ext.parts:
        count = f"{part.min}..{part.max}"
        shown.append(f"`{part.name}` {part.type} {count} ({part.short})")
    return "complex: " + "; ".join(shown)


def markdown_table() -> str:
    """The extensions as docs/fhir.md shows them (generated; a test keeps the doc in step)."""
    lines = ["| extension | on | value | meaning |", "|---|---|---|---|"]
    for ext in EXTENSIONS:
        where = ", ".join(f"`{c}`" for c in ext.contexts)
        lines.append(f"| `{ext.name}` | {where} | {_value(ext)} | {ext.definition} |")
    return "\n".join(lines) + "\n"
