"""A release document as FHIR R4 `MeasureReport`s (type summary), and a structural validator.

The reports carry exactly what the release document carries: aggregate
counts for a cluster or a region, never one practice's figures. They read
the typed document (`reporting.release_document`), whose parser has checked
the counts, rates and period already. A suppressed count is absent with a
data-absent-reason extension ("masked") and Klynge's reason code, never
zero, so no FHIR reader can mistake "hidden" for "none". The measure score
is the released, unscaled rate (numerator/denominator).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from common.errors import KlyngeError
from indicator_defs import model as m
from indicator_defs.fhir_measure import (
    CANONICAL_BASE,
    MEASURE_POPULATION,
    STRATIFIER_SYSTEM,
    fhir_id,
    measure_url,
    measurement_period,
)
from reporting.release_document import IndicatorFigure, ReleaseDocument, StratumFigure

DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
SUPPRESSION_REASON_EXT = f"{CANONICAL_BASE}/StructureDefinition/suppression-reason"
NOISE_SD_EXT = f"{CANONICAL_BASE}/StructureDefinition/dp-noise-sd"
CONTRIBUTORS_EXT = f"{CANONICAL_BASE}/StructureDefinition/contributing-practices"
MECHANISM_EXT = f"{CANONICAL_BASE}/StructureDefinition/dp-mechanism"
EPSILON_EXT = f"{CANONICAL_BASE}/StructureDefinition/dp-epsilon-per-release"
RELEASE_ID_SYSTEM = f"{CANONICAL_BASE}/NamingSystem/release"
POPULATION_CODES = ("initial-population", "denominator", "numerator")
_LEVEL_DISPLAY = {
    "cluster": "Klynge (kvalitetsklynge) {unit}",
    "region": "Region {unit}",
    "nation": "{unit} (nationalt)",
}


class FhirReportError(KlyngeError):
    """A release document that cannot be expressed as MeasureReports."""


def _absent(reason: str | None) -> dict[str, Any]:
    ext: list[dict[str, Any]] = [{"url": DATA_ABSENT_REASON, "valueCode": "masked"}]
    if reason:
        ext.append({"url": SUPPRESSION_REASON_EXT, "valueCode": reason})
    return {"extension": ext}


def _population(code: str, count: int | None, reason: str | None) -> dict[str, Any]:
    pop: dict[str, Any] = {"code": {"coding": [{"system": MEASURE_POPULATION, "code": code}]}}
    if count is None:
        pop["_count"] = _absent(reason)
    else:
        pop["count"] = count
    return pop


def _cell(cell: IndicatorFigure | StratumFigure) -> dict[str, Any]:
    """Populations, score and noise of one released cell (a stratum or the total)."""
    suppressed = cell.suppressed
    out: dict[str, Any] = {
        "extension": [{"url": NOISE_SD_EXT, "valueDecimal": float(cell.noise_sd or 0.0)}],
        "population": [
            _population("initial-population", cell.denominator, suppressed.get("denominator")),
            _population("denominator", cell.denominator, suppressed.get("denominator")),
            _population("numerator", cell.numerator, suppressed.get("numerator")),
        ],
    }
    if cell.rate is None:
        out["measureScore"] = _absent(suppressed.get("rate"))
    else:
        out["measureScore"] = {"value": float(cell.rate)}
    return out


def measure_report(
    release: ReleaseDocument,
    catalogue: m.Catalogue,
    indicator_id: str,
    *,
    canonical_base: str = CANONICAL_BASE,
) -> dict[str, Any]:
    """One indicator of one release (cluster or region) as a summary MeasureReport."""
    level, unit, reference = release.level, release.unit, release.reference_date
    where = f"release {release.release_id} ({level} {unit}), {indicator_id}"
    indicator = catalogue.indicators.get(indicator_id)
    if indicator is None:
        raise FhirReportError(f"{where}: indicator not in the catalogue")
    entry = release.figures.get(indicator_id)
    if entry is None:
        raise FhirReportError(f"{where}: not in this release")
    group = _cell(entry)
    group["code"] = {"text": indicator.title["en"]}
    strata = []
    for stratum in entry.strata:
        label = stratum.stratum
        sex, _, band = label.partition(":")
        if label not in indicator.strata:
            raise FhirReportError(f"{where}: unknown stratum {label!r}")
        strata.append(
            {
                "component": [
                    {
                        "code": {"coding": [{"system": STRATIFIER_SYSTEM, "code": "sex"}]},
                        "value": {"text": sex},
                    },
                    {
                        "code": {"coding": [{"system": STRATIFIER_SYSTEM, "code": "age-band"}]},
                        "value": {"text": band},
                    },
                ],
                **_cell(stratum),
            }
        )
    group["stratifier"] = [
        {
            "code": [{"coding": [{"system": STRATIFIER_SYSTEM, "code": "sex-age-band"}]}],
            "stratum": strata,
        }
    ]
    extensions: list[dict[str, Any]] = []
    if release.contributors is not None:
        extensions.append({"url": CONTRIBUTORS_EXT, "valueInteger": release.contributors})
    if release.mechanism is not None:
        extensions.append({"url": MECHANISM_EXT, "valueString": release.mechanism})
    eps = release.epsilon_per_release
    if eps is not None and math.isfinite(eps):
        extensions.append({"url": EPSILON_EXT, "valueDecimal": float(eps)})
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": fhir_id(f"{level}-{unit}-{indicator_id}-{reference.isoformat()}"),
        "extension": extensions,
        "identifier": [{"system": RELEASE_ID_SYSTEM, "value": f"{release.release_id}"}],
        "status": "complete",
        "type": "summary",
        "measure": f"{measure_url(indicator_id, canonical_base)}|{indicator.version}",
        "date": release.created_at or reference.isoformat(),
        "reporter": {
            "type": "Organization",
            "display": _LEVEL_DISPLAY[level].format(unit=unit),
        },
        "period": measurement_period(indicator, reference),
        "group": [group],
    }
    if not extensions:
        del report["extension"]
    return report


def release_bundle(
    release: ReleaseDocument,
    catalogue: m.Catalogue,
    *,
    canonical_base: str = CANONICAL_BASE,
) -> dict[str, Any]:
    """Every indicator of one release as a collection Bundle of MeasureReports."""
    reports = [
        measure_report(release, catalogue, indicator_id, canonical_base=canonical_base)
        for indicator_id in release.figures
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"{canonical_base}/MeasureReport/{r['id']}", "resource": r} for r in reports
        ],
    }


# --- structural validation ----------------------------------------------------


def _check_population(pop: Any, path: str, problems: list[str]) -> str | None:
    if not isinstance(pop, dict):
        problems.append(f"{path}: must be an object")
        return None
    codings = (pop.get("code") or {}).get("coding") if isinstance(pop.get("code"), dict) else None
    code = None
    if not codings or not isinstance(codings, list):
        problems.append(f"{path}.code.coding: required")
    else:
        coding = codings[0]
        code = coding.get("code") if isinstance(coding, dict) else None
        if not isinstance(coding, dict) or coding.get("system") != MEASURE_POPULATION:
            problems.append(f"{path}.code.coding[0].system: must be {MEASURE_POPULATION}")
        if code not in POPULATION_CODES:
            problems.append(f"{path}.code.coding[0].code: {code!r} is not a population code")
    if "count" in pop:
        count = pop["count"]
        if isinstance(count, bool) or not isinstance(count, int):
            problems.append(f"{path}.count: {count!r} is not an integer")
        if "_count" in pop:
            problems.append(f"{path}: a count that is present cannot also be absent")
    else:
        exts = (pop.get("_count") or {}).get("extension") or []
        if not any(isinstance(e, dict) and e.get("url") == DATA_ABSENT_REASON for e in exts):
            problems.append(f"{path}.count: absent without a data-absent-reason extension")
    return code


def _check_cell(cell: dict[str, Any], path: str, problems: list[str]) -> None:
    pops = cell.get("population")
    if not isinstance(pops, list) or not pops:
        problems.append(f"{path}.population: required, a non-empty list")
    else:
        codes = [
            _check_population(p, f"{path}.population[{i}]", problems) for i, p in enumerate(pops)
        ]
        for needed in POPULATION_CODES:
            if codes.count(needed) != 1:
                problems.append(f"{path}.population: needs exactly one {needed!r}")
    score = cell.get("measureScore")
    if score is not None:
        if not isinstance(score, dict):
            problems.append(f"{path}.measureScore: must be a Quantity")
        elif "value" in score:
            value = score["value"]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                problems.append(f"{path}.measureScore.value: {value!r} is not a decimal")
        elif not any(
            isinstance(e, dict) and e.get("url") == DATA_ABSENT_REASON
            for e in score.get("extension", [])
        ):
            problems.append(f"{path}.measureScore: empty without a data-absent-reason")


def validate_measure_report(resource: Any) -> list[str]:
    """Structural problems against the R4 MeasureReport shape (empty list: valid).

    Checks required elements and their cardinality, primitive types, the
    fixed vocabularies (status, type) and population codes. It is not a
    full profile validator; it catches what an exporter bug would break.
    """
    if not isinstance(resource, dict):
        return ["resource: must be a JSON object"]
    problems: list[str] = []
    if resource.get("resourceType") != "MeasureReport":
        problems.append("resourceType: must be 'MeasureReport'")
    if resource.get("status") not in ("complete", "pending", "error"):
        problems.append(f"status: {resource.get('status')!r} is not complete/pending/error")
    if resource.get("type") not in ("individual", "subject-list", "summary", "data-collection"):
        problems.append(f"type: {resource.get('type')!r} is not a MeasureReport type")
    measure = resource.get("measure")
    if not isinstance(measure, str) or not measure.startswith(("http://", "https://")):
        problems.append("measure: required canonical URL")
    period = resource.get("period")
    if not isinstance(period, dict):
        problems.append("period: required")
    else:
        try:
            start = date.fromisoformat(str(period.get("start"))[:10])
            end = date.fromisoformat(str(period.get("end"))[:10])
            if start > end:
                problems.append("period: start after end")
        except ValueError:
            problems.append("period.start/end: must be dates")
    rid = resource.get("id")
    if rid is not None and (not isinstance(rid, str) or fhir_id(rid) != rid):
        problems.append(f"id: {rid!r} is not a FHIR id")
    reporter = resource.get("reporter")
    if reporter is not None and not (isinstance(reporter, dict) and reporter.get("display")):
        problems.append("reporter: must carry a display")
    groups = resource.get("group", [])
    if not isinstance(groups, list):
        return [*problems, "group: must be a list"]
    for g, group in enumerate(groups):
        path = f"group[{g}]"
        if not isinstance(group, dict):
            problems.append(f"{path}: must be an object")
            continue
        _check_cell(group, path, problems)
        for s, stratifier in enumerate(group.get("stratifier", [])):
            for k, stratum in enumerate(stratifier.get("stratum", [])):
                spath = f"{path}.stratifier[{s}].stratum[{k}]"
                if "value" not in stratum and not stratum.get("component"):
                    problems.append(f"{spath}: needs a value or components")
                for c, comp in enumerate(stratum.get("component", [])):
                    if not comp.get("code") or not comp.get("value"):
                        problems.append(f"{spath}.component[{c}]: code and value are required")
                _check_cell(stratum, spath, problems)
    return problems
