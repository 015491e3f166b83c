"""The locally installed indicator definitions, as plain data the privacy layer can check against.

An agent must refuse a manifest that names an indicator whose definition
hash, per-patient contribution or strata differ from what is installed: the
signed numbers would then not describe what the engine computes. This module
is the one place that reads `indicator_defs`; everything else works on the
frozen records below, so tests can build small catalogues directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from privacy.errors import ManifestError
from privacy.manifest import (
    COUNT,
    PASS_FAIL,
    CodelistEntry,
    IndicatorEntry,
    Manifest,
    SurveyEntry,
    SurveyMeasureEntry,
)


@dataclass(frozen=True)
class InstalledIndicator:
    id: str
    content_hash: str
    unit: str
    cells: str  # PASS_FAIL for a proportion, COUNT for a rate per listed patient
    max_per_patient: int
    denominator_key: str  # equal exactly when two definitions count the same denominator
    strata: tuple[str, ...]
    title: Mapping[str, str]
    codelists: tuple[str, ...]
    version: int | None = None


@dataclass(frozen=True)
class InstalledCodelist:
    name: str
    version: str
    content_hash: str


@dataclass(frozen=True)
class InstalledSurvey:
    """A survey definition as the manifest pins it: what each measure's cells can hold."""

    id: str
    version: int
    content_hash: str
    measures: tuple[SurveyMeasureEntry, ...]


@dataclass(frozen=True)
class InstalledCatalogue:
    indicators: Mapping[str, InstalledIndicator]
    codelists: Mapping[str, InstalledCodelist]
    surveys: Mapping[str, InstalledSurvey] = field(default_factory=dict)


def from_survey(survey: Any) -> InstalledSurvey:
    """Adapt an `indicator_defs.survey_model.Survey`."""
    measures = tuple(
        SurveyMeasureEntry(
            m.id, str(getattr(m.kind, "value", m.kind)), float(m.low), float(m.high), m.resolution
        )
        for m in survey.measures.values()
    )
    return InstalledSurvey(survey.id, int(survey.version), survey.content_hash, measures)


def from_catalogue(catalogue: Any, surveys: Mapping[str, Any] | None = None) -> InstalledCatalogue:
    """Adapt an `indicator_defs.Catalogue` and its survey definitions (id → `Survey`)."""
    indicators = {}
    for ind_id, ind in catalogue.indicators.items():
        unit = getattr(ind.unit, "value", ind.unit)
        max_num, max_den = ind.max_contribution
        # Events counted against patients (not against other events) are a rate per listed
        # patient; everything else is a proportion of its denominator.
        is_rate = str(unit) == "events" and ind.denominator_events is None
        cells = COUNT if is_rate else PASS_FAIL
        denominator = (ind.population, ind.denominator_events, max_den)
        indicators[ind_id] = InstalledIndicator(
            id=ind.id,
            content_hash=ind.content_hash,
            unit=str(unit),
            cells=cells,
            max_per_patient=int(max_den if cells == PASS_FAIL else max_num),
            denominator_key=hashlib.sha256(repr(denominator).encode()).hexdigest()[:16],
            strata=tuple(ind.strata),
            title=dict(ind.title),
            codelists=tuple(ind.codelists),
            version=int(ind.version),
        )
    codelists = {
        name: InstalledCodelist(name, str(cl.version), cl.content_hash)
        for name, cl in catalogue.codelists.items()
    }
    installed = {k: from_survey(v) for k, v in (surveys or {}).items()}
    return InstalledCatalogue(indicators, codelists, installed)


def installed_catalogue() -> InstalledCatalogue:
    """The catalogue shipped with this installation."""
    from indicator_defs import load_catalogue
    from indicator_defs.survey_loader import load_surveys

    return from_catalogue(load_catalogue(), load_surveys())


def survey_entries(
    installed: InstalledCatalogue, template: tuple[SurveyEntry, ...] | None
) -> tuple[SurveyEntry, ...] | None:
    """The template's surveys pinned to the installed definitions (version, hash, measures);
    period, noise weight and minimum respondents stay the manifest authority's choice."""
    if template is None:
        return None
    out = []
    for entry in template:
        survey = installed.surveys.get(entry.id)
        if survey is None:
            raise ManifestError(None, "surveys", f"survey {entry.id} is not installed")
        out.append(
            replace(
                entry,
                version=survey.version,
                content_hash=survey.content_hash,
                measures=survey.measures,
            )
        )
    return tuple(out)


def survey_mismatches(manifest: Manifest, installed: InstalledCatalogue) -> list[str]:
    """Every way the manifest's pinned surveys differ from the installed definitions."""
    problems = []
    for entry in manifest.survey_entries:
        survey = installed.surveys.get(entry.id)
        problem = pin_problem(
            f"survey {entry.id}",
            (entry.version, entry.content_hash),
            None if survey is None else (survey.version, survey.content_hash),
        )
        if problem is not None:
            problems.append(problem)
        elif survey is not None and survey.measures != entry.measures:
            problems.append(f"survey {entry.id}: measures differ from the installed definition")
    return problems


def manifest_entries(
    installed: InstalledCatalogue, template: Manifest, ids: Iterable[str] | None = None
) -> tuple[tuple[IndicatorEntry, ...], tuple[CodelistEntry, ...]]:
    """Indicator and code-list entries pinning the installed definitions (the template's, or `ids`).

    What the definitions decide (hash, unit, cells, cap, strata) comes from
    the installed catalogue; the release choices (population name, headline,
    noise weight, planning figures) come from the template's entry, since
    they are the manifest authority's decisions, not the definition's.
    """
    chosen = template.indicator_ids if ids is None else tuple(ids)
    missing = [i for i in chosen if i not in installed.indicators]
    if missing:
        raise ManifestError(None, None, f"indicator {missing[0]} is not in the installed catalogue")
    decided = {entry.id: entry for entry in template.indicators}
    indicators = []
    names: set[str] = set()
    for ind_id in chosen:
        ind = installed.indicators[ind_id]
        choice = decided.get(ind_id)
        if choice is None:
            raise ManifestError(
                None,
                "indicators",
                f"{ind_id} has no entry in the manifest template: add one with its population, "
                "headline, noise_weight and planning figures (expected_denominator_per_1000, "
                "expected_rate) before pinning it",
            )
        indicators.append(
            replace(
                choice,
                content_hash=ind.content_hash,
                unit=ind.unit,
                cells=ind.cells,
                max_per_patient=ind.max_per_patient,
                strata=ind.strata,
                version=ind.version,
            )
        )
        names.update(ind.codelists)
    codelists = tuple(
        CodelistEntry(c.name, c.version, c.content_hash)
        for name in sorted(names)
        if (c := installed.codelists.get(name)) is not None
    )
    return tuple(indicators), codelists


def definition_mismatches(manifest: Manifest, installed: InstalledCatalogue) -> list[str]:
    """Every way the manifest's pinned definitions differ from the installed ones."""
    problems = []
    for entry in manifest.indicators:
        ind = installed.indicators.get(entry.id)
        if ind is None:
            problems.append(f"indicator {entry.id} is not installed")
            continue
        if entry.version is not None and ind.version not in (None, entry.version):
            problems.append(
                f"indicator {entry.id}: version {entry.version} in the manifest, "
                f"{ind.version} installed"
            )
        if ind.content_hash != entry.content_hash:
            problems.append(
                f"indicator {entry.id}: definition hash {entry.content_hash[:12]}… in the "
                f"manifest, {ind.content_hash[:12]}… installed"
            )
        if ind.max_per_patient != entry.max_per_patient:
            problems.append(
                f"indicator {entry.id}: manifest caps a patient at {entry.max_per_patient}, "
                f"the definition at {ind.max_per_patient}"
            )
        if ind.cells != entry.cells:
            problems.append(
                f"indicator {entry.id}: released as {entry.cells} in the manifest, "
                f"the definition is a {ind.cells}"
            )
        if ind.unit != entry.unit:
            problems.append(
                f"indicator {entry.id}: unit {entry.unit} in manifest, {ind.unit} installed"
            )
        if tuple(ind.strata) != entry.strata:
            problems.append(f"indicator {entry.id}: strata differ from the installed definition")
    problems.extend(population_mismatches(manifest, installed))
    problems.extend(survey_mismatches(manifest, installed))
    for cl in manifest.codelists:
        local = installed.codelists.get(cl.name)
        problem = pin_problem(
            f"code list {cl.name}",
            (cl.version, cl.content_hash),
            None if local is None else (local.version, local.content_hash),
        )
        if problem is not None:
            problems.append(problem)
    return problems


def pin_problem(
    what: str, pinned: tuple[object, str], installed: tuple[object, str] | None
) -> str | None:
    """What differs between a (version, hash) the manifest pins and the installed one."""
    if installed is None:
        return f"{what} is not installed"
    if installed != pinned:
        return (
            f"{what}: version {pinned[0]} ({pinned[1][:12]}…) in the manifest, "
            f"{installed[0]} ({installed[1][:12]}…) installed"
        )
    return None


def population_mismatches(manifest: Manifest, installed: InstalledCatalogue) -> list[str]:
    """Indicators said to share a population whose definitions count different denominators.

    The estimator adds their (passed + failed) pairs as measurements of one
    count; if the denominators differed, the released rates would be wrong.
    """
    problems = []
    seen: dict[str, tuple[str, str]] = {}
    for entry in manifest.indicators:
        ind = installed.indicators.get(entry.id)
        if ind is None or entry.cells != PASS_FAIL:
            continue
        first = seen.setdefault(entry.population, (entry.id, ind.denominator_key))
        if first[1] != ind.denominator_key:
            problems.append(
                f"indicators {first[0]} and {entry.id} share population {entry.population!r}, "
                "but their definitions count different denominators"
            )
    return problems


def pin_catalogue(
    manifest: Manifest, installed: InstalledCatalogue, ids: Iterable[str] | None = None
) -> Manifest:
    """The manifest with its indicator set and code lists pinned to the installed definitions.

    Keeps the manifest's own indicator selection unless `ids` is given.
    """
    indicators, codelists = manifest_entries(installed, manifest, ids)
    surveys = survey_entries(installed, manifest.surveys)
    return replace(manifest, indicators=indicators, codelists=codelists, surveys=surveys)
