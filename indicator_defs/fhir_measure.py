"""Each indicator definition as a FHIR R4 `Measure`, with its code lists as contained ValueSets.

The Measure is generated from the same model objects the engines evaluate
(through `describe.py`), so the published definition cannot drift from what
is computed. Code-system URIs follow HL7 DK Core where it defines one; for
terminologies DK Core leaves open (DNK and local lab codes, OK22 service
codes) Klynge names its own systems under its canonical base. The constants
here are the single source for exports and for the Bundle importer.

Scoring (a decision, documented in docs/fhir.md): an indicator whose
numerator counts events while its denominator counts patients (AB-01, AB-02:
prescriptions per 1,000 listed) is a FHIR `ratio`, because its numerator is
not a subset of its denominator and can exceed it. Every other indicator,
including event shares such as AB-03 whose numerator events are a subset of
the denominator events, is a `proportion`.
"""

from __future__ import annotations

import base64
import re
from datetime import date, timedelta
from typing import Any

from common.i18n import Lang
from indicator_defs import model as m
from indicator_defs.codelists import Codelist, CodeSystem
from indicator_defs.describe import describe_criterion, describe_events
from indicator_defs.fhir_cql import CqlLibrary, cql_library, criteria_json, library_name
from indicator_defs.fhir_extensions import (
    CANONICAL_BASE,
    CRITERION,
    LIST_MEMBERSHIP,
    TRANSLATION_EXT,
)
from indicator_defs.walk import iter_nodes, roots

# HL7 DK Core code systems (see shared/domain/CONTEXT.md).
ICPC2_SYSTEM = "urn:oid:1.2.208.176.2.31"
SKS_D_SYSTEM = "urn:oid:1.2.208.176.2.4.12"
NPU_SYSTEM = "http://npu-terminology.org"
NPU_LEGACY_SYSTEM = "urn:oid:1.2.208.176.2.1"  # MedCom's older OID: accepted on import only
ATC_SYSTEM = "http://www.whocc.no/atc"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"  # plain WHO ICD-10: accepted on import only
# Systems DK Core does not define: Klynge's own, fixed (not tied to a deployment's base URL).
DNK_LAB_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/dnk-lab"
LOCAL_LAB_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/local-lab"
OK22_SERVICE_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/ok22-service"

LAB_SYSTEM_URIS = {"NPU": NPU_SYSTEM, "DNK": DNK_LAB_SYSTEM, "LOCAL": LOCAL_LAB_SYSTEM}

MEASURE_POPULATION = "http://terminology.hl7.org/CodeSystem/measure-population"
MEASURE_SCORING = "http://terminology.hl7.org/CodeSystem/measure-scoring"
IMPROVEMENT_NOTATION = "http://terminology.hl7.org/CodeSystem/measure-improvement-notation"
STRATIFIER_SYSTEM = f"{CANONICAL_BASE}/CodeSystem/stratifier"
CONTENT_HASH_SYSTEM = f"{CANONICAL_BASE}/NamingSystem/indicator-content-hash"
# A QuestionnaireResponse's identifier under this system is the survey's own pseudonym for
# the response (the CSV's `respondent`); see docs/fhir.md, "Survey answers".
SURVEY_RESPONDENT_SYSTEM = f"{CANONICAL_BASE}/NamingSystem/survey-respondent"
# Extension URLs come from the one table that also publishes them (`fhir_extensions`).
LIST_MEMBERSHIP_EXT = LIST_MEMBERSHIP.url
CRITERION_EXT = CRITERION.url
STRATIFIER_ID = "sex-age-band"

_ID_CHARS = re.compile(r"[^A-Za-z0-9\-.]")


def fhir_id(text: str) -> str:
    """A FHIR id ([A-Za-z0-9-.]{1,64}) derived from any label, stable for the same label."""
    return _ID_CHARS.sub("-", text)[:64] or "x"


def questionnaire_url(survey: str, version: int) -> str:
    """The canonical a QuestionnaireResponse names its survey by: `<base>/Questionnaire/PX|1`."""
    return f"{CANONICAL_BASE}/Questionnaire/{survey}|{version}"


def measure_url(indicator_id: str, canonical_base: str = CANONICAL_BASE) -> str:
    return f"{canonical_base.rstrip('/')}/Measure/{indicator_id}"


def scoring(indicator: m.Indicator) -> str:
    """'ratio' when events are counted over patients, else 'proportion' (see module docstring)."""
    if indicator.numerator_events is not None and indicator.denominator_events is None:
        return "ratio"
    return "proportion"


def lookback_days(indicator: m.Indicator) -> int | None:
    """The longest finite look-back window of any criterion; None if there is none.

    A MeasureReport's period runs from the start of this window to the
    reference date. "Ever" criteria look further back; the docs say so.
    """
    days: list[int] = []
    for root in roots(indicator):
        for node in iter_nodes(root):
            for attr in ("window", "started_within"):
                window = getattr(node, attr, None)
                if isinstance(window, m.Window) and window.days is not None:
                    days.append(window.days)
    return max(days) if days else None


def measurement_period(indicator: m.Indicator, reference_date: date) -> dict[str, str]:
    """Window semantics are R - N days < d <= R, so the first included day is R - N + 1."""
    days = lookback_days(indicator)
    start = reference_date if days is None else reference_date - timedelta(days=days - 1)
    return {"start": start.isoformat(), "end": reference_date.isoformat()}


def translated(english: str) -> dict[str, Any]:
    return {
        "extension": [
            {
                "url": TRANSLATION_EXT,
                "extension": [
                    {"url": "lang", "valueCode": "en"},
                    {"url": "content", "valueString": english},
                ],
            }
        ]
    }


def _population(code: str, da: list[str], en: list[str], library: CqlLibrary) -> dict[str, Any]:
    """Criteria in CQL (a `define` of the Measure's library); untranslated nodes in extension"""
    description = "\n".join(da) + "\n\n(en)\n" + "\n".join(en)
    criteria: dict[str, Any] = {
        "description": "\n".join(en),
        "language": "text/cql",
        "expression": library.defines[code],
    }
    fallbacks = library.fallbacks[code]
    if fallbacks:
        criteria["extension"] = [{"url": CRITERION_EXT, "valueString": criteria_json(fallbacks)}]
    return {
        "code": {"coding": [{"system": MEASURE_POPULATION, "code": code}]},
        "description": description,
        "criteria": criteria,
    }


def _numerator_lines(indicator: m.Indicator, lang: Lang) -> list[str]:
    if indicator.numerator is not None:
        return describe_criterion(indicator.numerator, lang)
    assert indicator.numerator_events is not None
    lines = [describe_events(indicator.numerator_events, lang)]
    if indicator.cap_per_patient is not None:
        cap = indicator.cap_per_patient
        lines.append(f"højst {cap} pr. patient" if lang == "da" else f"at most {cap} per patient")
    return lines


def _denominator_lines(indicator: m.Indicator, lang: Lang) -> list[str]:
    lines = describe_criterion(indicator.population, lang)
    if indicator.denominator_events is not None:
        lines = [
            describe_events(indicator.denominator_events, lang),
            "hos:" if lang == "da" else "of:",
            *("  " + line for line in lines),
        ]
    return lines


def _age_band_fhirpath(indicator: m.Indicator) -> str:
    """The band label of a patient's completed years at R (%R: the reference date)."""
    bounds = indicator.age_bands.bounds
    labels = indicator.age_bands.labels()
    age = "(%R.toString().substring(0, 4).toInteger() - birthDate.toString().substring(0, 4)"
    age += ".toInteger() - iif(%R.toString().substring(5) < birthDate.toString().substring(5),"
    age += " 1, 0))"
    expr = f"'{labels[0]}'"
    for lo, label in zip(bounds[1:], labels[1:], strict=True):
        expr = f"iif({age} >= {lo}, '{label}', {expr})"
    return expr


def _stratifier(indicator: m.Indicator) -> dict[str, Any]:
    """Components only: R4 mea-1 forbids a stratifier's own code or criteria beside them."""
    bands = ", ".join(indicator.age_bands.labels())
    return {
        "id": STRATIFIER_ID,
        "component": [
            {
                "code": {"coding": [{"system": STRATIFIER_SYSTEM, "code": "sex"}]},
                "description": "Sex: F (female) or M (male)",
                "criteria": {
                    "language": "text/fhirpath",
                    "expression": "iif(gender = 'female', 'F', iif(gender = 'male', 'M', {}))",
                },
            },
            {
                "code": {"coding": [{"system": STRATIFIER_SYSTEM, "code": "age-band"}]},
                "description": f"Age band, completed years at the reference date %R: {bands}",
                "criteria": {
                    "language": "text/fhirpath",
                    "expression": _age_band_fhirpath(indicator),
                },
            },
        ],
    }


def valueset_id(codelist: Codelist) -> str:
    return fhir_id(f"vs-{codelist.name}")


_ICD10_CONCEPT = re.compile(r"^[A-Z]\d{2}")  # a category or below: a concept SKS-D has


def _prefix_include(system: str, code: str, is_concept: bool) -> dict[str, Any]:
    """One include per prefix: R4 ANDs the filters of one include, and ORs the includes.

    A prefix that is itself a concept (E11 as DE11, N05CD) takes `is-a` (the
    concept and its descendants, which in SKS and ATC share its prefix); a
    shorter one that names no concept (ICD-10 `E1`) takes a `regex` on the code.
    """
    if is_concept:
        condition = {"property": "concept", "op": "is-a", "value": code}
    else:
        condition = {"property": "code", "op": "regex", "value": f"{code}.*"}
    return {"system": system, "filter": [condition]}


def value_set(codelist: Codelist, canonical_base: str = CANONICAL_BASE) -> dict[str, Any]:
    """A code list as a ValueSet whose R4 expansion is exactly the codes the engines match.

    `indicator_defs.fhir_expand` applies the compose rules; a test checks the
    equality for every code list of the catalogue.
    """
    base = canonical_base.rstrip("/")
    include: list[dict[str, Any]] = []
    exclude: list[dict[str, Any]] = []
    if codelist.system is CodeSystem.ICPC2:
        include.append({"system": ICPC2_SYSTEM, "concept": [{"code": c} for c in codelist.codes]})
    elif codelist.system is CodeSystem.ICD10:
        include += [
            _prefix_include(SKS_D_SYSTEM, sks_code(c), bool(_ICD10_CONCEPT.match(c)))
            for c in codelist.codes
        ]
    elif codelist.system is CodeSystem.ATC:
        include += [_prefix_include(ATC_SYSTEM, c, True) for c in codelist.codes]
        exclude += [_prefix_include(ATC_SYSTEM, c, True) for c in codelist.exclude]
    elif codelist.system is CodeSystem.LAB:
        by_system: dict[str, list[str]] = {}
        for entry in codelist.codes:
            lab_system, _, code = entry.partition(":")
            by_system.setdefault(lab_system, []).append(code)
        for lab_system, codes in by_system.items():
            include.append(
                {"system": LAB_SYSTEM_URIS[lab_system], "concept": [{"code": c} for c in codes]}
            )
    else:
        include.append(
            {"system": OK22_SERVICE_SYSTEM, "concept": [{"code": c} for c in codelist.codes]}
        )
    compose: dict[str, Any] = {"include": include}
    if exclude:
        compose["exclude"] = exclude
    return {
        "resourceType": "ValueSet",
        "id": valueset_id(codelist),
        "url": f"{base}/ValueSet/{codelist.name}",
        "version": codelist.version,
        "name": computable_name(codelist.name),
        "title": codelist.title,
        "status": "active",
        "description": f"{codelist.source} (content hash {codelist.content_hash})",
        "compose": compose,
    }


def sks_code(icd10: str) -> str:
    """SKS diagnosis codes are the ICD-10 code without its dot, prefixed with 'D' (E11 -> DE11)."""
    return "D" + icd10.replace(".", "")


def computable_name(label: str) -> str:
    """FHIR `name` must match [A-Z]([A-Za-z0-9_]){0,254}."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", label)
    name = name[:1].upper() + name[1:]
    return name if name[:1].isalpha() else "M_" + name


def used_codelists(indicator: m.Indicator) -> list[Codelist]:
    """The code lists the criteria carry, by name: the ones the engines actually match against."""
    found: dict[str, Codelist] = {}
    for root in roots(indicator):
        for node in iter_nodes(root):
            for cl in getattr(node, "codelists", ()):
                found[cl.name] = cl
    return [found[name] for name in sorted(found)]


def measure_resource(
    indicator: m.Indicator, *, canonical_base: str = CANONICAL_BASE
) -> dict[str, Any]:
    """One FHIR R4 Measure, its code lists contained as ValueSets so it stands alone."""
    base = canonical_base.rstrip("/")
    score = scoring(indicator)
    used = used_codelists(indicator)
    den_da, den_en = _denominator_lines(indicator, "da"), _denominator_lines(indicator, "en")
    num_da, num_en = _numerator_lines(indicator, "da"), _numerator_lines(indicator, "en")
    if score == "proportion" and indicator.numerator is not None:
        num_da = ["blandt nævneren:", *num_da]
        num_en = ["among the denominator:", *num_en]
    scale = "pr. 1.000" if indicator.scale == 1000 else "%"
    scale_en = "per 1,000" if indicator.scale == 1000 else "%"
    goal = indicator.national_goal
    description = (
        f"**{indicator.title['da']}**\n\n{indicator.description['da']}\n\n"
        f"Resultat i {scale}. Nationalt mål: {goal.get('da', '')}\n\n---\n\n"
        f"**{indicator.title['en']}** (English)\n\n{indicator.description['en']}\n\n"
        f"Result {scale_en}. National goal: {goal.get('en', '')}. "
        f"Score in FHIR is the unscaled {score} numerator/denominator."
    )
    related: list[dict[str, Any]] = [
        {"type": "citation", "citation": indicator.source},
        {"type": "documentation", "display": goal.get("da", "")},
    ]
    related += [
        {"type": "depends-on", "display": cl.title, "resource": f"#{valueset_id(cl)}"}
        for cl in used
    ]
    library = measure_library(indicator, base)
    resource: dict[str, Any] = {
        **measure_head(indicator.id, indicator.version, indicator.title, description, base),
        "contained": [
            library_resource(indicator, library, base),
            *(value_set(cl, base) for cl in used),
        ],
        "identifier": [{"system": CONTENT_HASH_SYSTEM, "value": indicator.content_hash}],
        "subjectCodeableConcept": {
            "coding": [{"system": "http://hl7.org/fhir/resource-types", "code": "Patient"}]
        },
        "topic": [{"text": indicator.area}],
        "relatedArtifact": related,
        "library": [f"#{library_id(indicator)}"],
        "scoring": {"coding": [{"system": MEASURE_SCORING, "code": score}]},
        "improvementNotation": {
            "coding": [
                {
                    "system": IMPROVEMENT_NOTATION,
                    "code": "increase" if indicator.direction is m.Direction.HIGHER else "decrease",
                }
            ]
        },
        "group": [
            {
                "population": [
                    _population("initial-population", den_da, den_en, library),
                    _population("denominator", den_da, den_en, library),
                    _population("numerator", num_da, num_en, library),
                ],
                "stratifier": [_stratifier(indicator)],
            }
        ],
    }
    if indicator.target is not None:
        resource["guidance"] = (
            f"Mål / target: {indicator.target:g} {scale_en}"
            if indicator.scale == 1000
            else f"Mål / target: {indicator.target * 100:g} %"
        )
    return resource


def measure_head(
    measure_id: str, version: int, title: dict[str, str], description: str, canonical_base: str
) -> dict[str, Any]:
    """What every Klynge Measure opens with, an indicator's or a survey measure's: its canonical
    at its version, its names (Danish, with the English translation), status and publisher."""
    return {
        "resourceType": "Measure",
        "id": fhir_id(measure_id),
        "language": "da",
        "url": measure_url(measure_id, canonical_base),
        "version": str(version),
        "name": computable_name(measure_id),
        "title": title["da"],
        "_title": translated(title["en"]),
        "status": "active",
        "experimental": False,
        "publisher": "Klynge",
        "description": description,
    }


def library_id(indicator: m.Indicator) -> str:
    return fhir_id(f"lib-{indicator.id}")


def measure_library(indicator: m.Indicator, canonical_base: str = CANONICAL_BASE) -> CqlLibrary:
    """The CQL of the three populations (event counts where the indicator counts events)."""
    numerator: object = indicator.numerator or indicator.numerator_events
    populations = {
        "initial-population": indicator.population,
        "denominator": indicator.denominator_events or indicator.population,
        "numerator": numerator,
    }
    caps = {}
    if indicator.cap_per_patient is not None:
        if indicator.numerator_events is not None:
            caps["numerator"] = indicator.cap_per_patient
        if indicator.denominator_events is not None:
            caps["denominator"] = indicator.cap_per_patient
    return cql_library(indicator, populations, caps, canonical_base, LIST_MEMBERSHIP_EXT)


def library_resource(
    indicator: m.Indicator, library: CqlLibrary, canonical_base: str = CANONICAL_BASE
) -> dict[str, Any]:
    """The contained logic Library the populations' `criteria` name their `define`s in."""
    return {
        "resourceType": "Library",
        "id": library_id(indicator),
        "url": f"{canonical_base.rstrip('/')}/Library/{library_name(indicator)}",
        "version": str(indicator.version),
        "name": library_name(indicator),
        "status": "active",
        "type": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/library-type",
                    "code": "logic-library",
                }
            ]
        },
        "content": [
            {
                "contentType": "text/cql",
                "data": base64.b64encode(library.text.encode("utf-8")).decode("ascii"),
            }
        ],
    }


def catalogue_measures(
    catalogue: m.Catalogue, *, canonical_base: str = CANONICAL_BASE
) -> dict[str, dict[str, Any]]:
    return {
        ind_id: measure_resource(ind, canonical_base=canonical_base)
        for ind_id, ind in catalogue.indicators.items()
    }
