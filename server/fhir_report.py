"""A release document as FHIR R4 `MeasureReport`s (type summary).

The reports carry exactly what the release document carries: aggregate
counts for a cluster or a region, never one practice's figures. They read
the typed document (`reporting.release_document`), whose parser has checked
the counts, rates and period already. A suppressed count is absent with a
data-absent-reason extension ("masked") and Klynge's reason code, never
zero, so no FHIR reader can mistake "hidden" for "none". The measure score
is the released, unscaled rate (numerator/denominator). The `measure` names
the definition the release was computed under (its manifest pinned version
and hash), never the catalogue's at export time. Intervals, the uncertain
label, the mechanism and ε, and a region-wide release's distribution of
practice rates travel in Klynge's extensions (`docs/fhir.md`,
`indicator_defs.fhir_extensions`, published as StructureDefinitions).
`server.fhir_conformance` checks the result against them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from common import formatting as fmt
from common.i18n import Lang, register, t
from indicator_defs import model as m
from indicator_defs.fhir_measure import (
    CANONICAL_BASE,
    MEASURE_POPULATION,
    STRATIFIER_ID,
    STRATIFIER_SYSTEM,
    fhir_id,
    measure_url,
    measurement_period,
)
from indicator_defs.survey_loader import installed_surveys
from indicator_defs.survey_model import Survey
from reporting.release_document import (
    Distribution,
    IndicatorFigure,
    ReleaseDocument,
    StratumFigure,
)
from server.fhir_common import (
    DATA_ABSENT_REASON,
    DEFINITION_HASH_EXT,
    DISTRIBUTION_EXT,
    INTERVAL_EXT,
    NOISE_SD_EXT,
    RELEASE_ID_SYSTEM,
    SUPPRESSION_REASON_EXT,
    UNCERTAIN_EXT,
    FhirReportError,
    narrative,
    release_extensions,
    reporter,
)
from server.fhir_survey import survey_measure_report

__all__ = [
    "DATA_ABSENT_REASON",
    "DEFINITION_HASH_EXT",
    "DISTRIBUTION_EXT",
    "INTERVAL_EXT",
    "POPULATION_CODES",
    "UNCERTAIN_EXT",
    "FhirReportError",
    "measure_report",
    "release_bundle",
]

POPULATION_CODES = ("initial-population", "denominator", "numerator")


register(
    {
        "fhir.err.survey_missing": {
            "da": "udgivelse {release}: spørgeskemaet {survey} er ikke installeret",
            "en": "release {release}: survey {survey} is not installed",
        },
        "fhir.narrative.rate": {
            "da": "{title}, {level} {unit}, {day}: {rate} (95 %-interval {interval})",
            "en": "{title}, {level} {unit}, {day}: {rate} (95 % interval {interval})",
        },
        "fhir.narrative.hidden": {
            "da": "{title}, {level} {unit}, {day}: ikke offentliggjort",
            "en": "{title}, {level} {unit}, {day}: not released",
        },
        "fhir.narrative.noise": {
            "da": "Intervallet dækker kun støjen (ældre offentliggørelse).",
            "en": "The interval covers the noise only (an older release).",
        },
        "fhir.narrative.dp": {
            "da": "Mekanisme {mechanism}, ε {epsilon} pr. offentliggørelse.",
            "en": "Mechanism {mechanism}, ε {epsilon} per release.",
        },
        "fhir.narrative.definition": {
            "da": "Beregnet efter definition version {version} ({hash}).",
            "en": "Computed under definition version {version} ({hash}).",
        },
    }
)


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
    bounds, source = cell.interval, cell.interval_source
    if bounds is not None and source is not None:
        out["extension"].append(
            {
                "url": INTERVAL_EXT,
                "extension": [
                    {"url": "low", "valueDecimal": float(bounds[0])},
                    {"url": "high", "valueDecimal": float(bounds[1])},
                    {"url": "level", "valueDecimal": 0.95},
                    {"url": "source", "valueCode": source},
                ],
            }
        )
    if cell.uncertain:
        out["extension"].append({"url": UNCERTAIN_EXT, "valueBoolean": True})
    return out


def _distribution(d: Distribution) -> dict[str, Any]:
    """The released histogram of practice rates (and deciles, or why they are withheld)."""
    parts: list[dict[str, Any]] = [{"url": "bin", "valueDecimal": float(b)} for b in d.bins]
    parts += [{"url": "edge", "valueDecimal": float(e)} for e in d.edges]
    parts += [
        {"url": "bin-noise-sd", "valueDecimal": float(d.bin_noise_sd)},
        {"url": "practices", "valueInteger": d.practices},
        {"url": "full-weight-denominator", "valueInteger": d.full_weight_denominator},
    ]
    if d.deciles is not None:
        parts += [{"url": "decile", "valueDecimal": float(q)} for q in d.deciles]
    else:
        parts.append({"url": "deciles-withheld", "valueCode": str(d.deciles_withheld)})
    return {"url": DISTRIBUTION_EXT, "extension": parts}


def measure_canonical(
    release: ReleaseDocument, indicator: m.Indicator, canonical_base: str
) -> tuple[str, str | None, int | None]:
    """(measure canonical, definition hash, version) as the release pinned them.

    A version the manifest pinned wins; a release that recorded only the hash
    takes the catalogue's version when the hashes agree. A release that
    records neither (made before definitions were recorded), or a hash the
    catalogue no longer has without a version, gets the unversioned canonical:
    the catalogue's current version would be a guess.
    """
    url = measure_url(indicator.id, canonical_base)
    pinned = release.definitions.get(indicator.id)
    if pinned is None:
        return url, None, None
    version = pinned.version
    if version is None and pinned.content_hash == indicator.content_hash:
        version = indicator.version
    if version is None:
        return url, pinned.content_hash, None
    return f"{url}|{version}", pinned.content_hash, version


def _narrative(
    release: ReleaseDocument,
    indicator: m.Indicator,
    figure: IndicatorFigure,
    version: tuple[int | None, str | None],
    lang: Lang,
) -> dict[str, Any]:
    """Human-readable text in one language, built as XHTML elements (escaped by construction)."""
    words = {
        "title": indicator.title[lang],
        "level": t(f"fhir.level.{release.level}", lang),
        "unit": release.unit,
        "day": fmt.day(release.reference_date, lang),
    }
    lines = []
    if figure.rate is None:
        lines.append(t("fhir.narrative.hidden", lang, **words))
    else:
        lines.append(
            t(
                "fhir.narrative.rate",
                lang,
                rate=fmt.rate(figure.rate, indicator.scale, lang=lang),
                interval=fmt.interval(figure.interval, indicator.scale, lang=lang),
                **words,
            )
        )
        if figure.uncertain:
            lines.append(t("fhir.narrative.uncertain", lang))
        if figure.interval_source == "noise":
            lines.append(t("fhir.narrative.noise", lang))
    eps = release.epsilon_per_release
    if release.mechanism is not None and eps is not None:
        epsilon = fmt.epsilon(eps, lang)
        lines.append(t("fhir.narrative.dp", lang, mechanism=release.mechanism, epsilon=epsilon))
    number, digest = version
    if number is not None and digest is not None:
        lines.append(t("fhir.narrative.definition", lang, version=number, hash=digest[:12]))
    return narrative(lines, lang)


def measure_report(
    release: ReleaseDocument,
    catalogue: m.Catalogue,
    indicator_id: str,
    *,
    canonical_base: str = CANONICAL_BASE,
    lang: Lang = "da",
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
    if strata:
        group["stratifier"] = [
            {
                "code": [{"coding": [{"system": STRATIFIER_SYSTEM, "code": STRATIFIER_ID}]}],
                "stratum": strata,
            }
        ]
    distribution = release.distributions.get(indicator_id)
    if distribution is not None:
        group["extension"].append(_distribution(distribution))
    extensions = release_extensions(release)
    measure, digest, version = measure_canonical(release, indicator, canonical_base)
    if digest is not None:
        extensions.append({"url": DEFINITION_HASH_EXT, "valueString": digest})
    report: dict[str, Any] = {
        "resourceType": "MeasureReport",
        "id": fhir_id(f"{level}-{unit}-{indicator_id}-{reference.isoformat()}"),
        "language": lang,
        "text": _narrative(release, indicator, entry, (version, digest), lang),
        "extension": extensions,
        "identifier": [{"system": RELEASE_ID_SYSTEM, "value": f"{release.release_id}"}],
        "status": "complete",
        "type": "summary",
        "measure": measure,
        "date": release.created_at or reference.isoformat(),
        "reporter": reporter(release),
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
    lang: Lang = "da",
    surveys: Mapping[str, Survey] | None = None,
) -> dict[str, Any]:
    """Every indicator and survey measure of one release as a collection Bundle of
    MeasureReports; `surveys` are the definitions (None: the installed ones)."""
    reports = [
        measure_report(release, catalogue, indicator_id, canonical_base=canonical_base, lang=lang)
        for indicator_id in release.figures
    ]
    definitions = installed_surveys() if surveys is None else surveys
    for measure_id, figure in release.surveys.items():
        survey = definitions.get(figure.survey_id)
        if survey is None:
            raise FhirReportError(
                t("fhir.err.survey_missing", release=release.release_id, survey=figure.survey_id)
            )
        reports.append(
            survey_measure_report(
                release, survey, measure_id, canonical_base=canonical_base, lang=lang
            )
        )
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"{canonical_base}/MeasureReport/{r['id']}", "resource": r} for r in reports
        ],
    }
