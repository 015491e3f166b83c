"""The locally installed indicator definitions, as plain data the privacy layer can check against.

An agent must refuse a manifest that names an indicator whose definition
hash, per-patient contribution or strata differ from what is installed: the
signed numbers would then not describe what the engine computes. This module
is the one place that reads `indicator_defs`; everything else works on the
frozen records below, so tests can build small catalogues directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from privacy.errors import ManifestError
from privacy.manifest import CodelistEntry, IndicatorEntry, Manifest
from privacy.sensitivity import default_noise_weight


@dataclass(frozen=True)
class InstalledIndicator:
    id: str
    content_hash: str
    unit: str
    max_numerator: int
    max_denominator: int
    strata: tuple[str, ...]
    title: Mapping[str, str]
    codelists: tuple[str, ...]


@dataclass(frozen=True)
class InstalledCodelist:
    name: str
    version: str
    content_hash: str


@dataclass(frozen=True)
class InstalledCatalogue:
    indicators: Mapping[str, InstalledIndicator]
    codelists: Mapping[str, InstalledCodelist]


def from_catalogue(catalogue: Any) -> InstalledCatalogue:
    """Adapt an `indicator_defs.Catalogue`."""
    indicators = {}
    for ind_id, ind in catalogue.indicators.items():
        unit = getattr(ind.unit, "value", ind.unit)
        max_num, max_den = ind.max_contribution
        indicators[ind_id] = InstalledIndicator(
            id=ind.id,
            content_hash=ind.content_hash,
            unit=str(unit),
            max_numerator=int(max_num),
            max_denominator=int(max_den),
            strata=tuple(ind.strata),
            title=dict(ind.title),
            codelists=tuple(ind.codelists),
        )
    codelists = {
        name: InstalledCodelist(name, str(cl.version), cl.content_hash)
        for name, cl in catalogue.codelists.items()
    }
    return InstalledCatalogue(indicators, codelists)


def installed_catalogue() -> InstalledCatalogue:
    """The catalogue shipped with this installation."""
    from indicator_defs import load_catalogue

    return from_catalogue(load_catalogue())


def manifest_entries(
    installed: InstalledCatalogue, ids: Iterable[str] | None = None
) -> tuple[tuple[IndicatorEntry, ...], tuple[CodelistEntry, ...]]:
    """Indicator and code-list entries pinning the installed definitions (all, or `ids`)."""
    chosen = sorted(installed.indicators) if ids is None else list(ids)
    missing = [i for i in chosen if i not in installed.indicators]
    if missing:
        raise ManifestError(None, None, f"indicator {missing[0]} is not in the installed catalogue")
    indicators = []
    names: set[str] = set()
    for ind_id in chosen:
        ind = installed.indicators[ind_id]
        indicators.append(
            IndicatorEntry(
                id=ind.id,
                content_hash=ind.content_hash,
                unit=ind.unit,
                max_numerator=ind.max_numerator,
                max_denominator=ind.max_denominator,
                noise_weight=1
                if ind.unit == "patients"
                else default_noise_weight(ind.max_numerator, ind.max_denominator),
                strata=ind.strata,
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
        if ind.content_hash != entry.content_hash:
            problems.append(
                f"indicator {entry.id}: definition hash {entry.content_hash[:12]}… in the "
                f"manifest, {ind.content_hash[:12]}… installed"
            )
        if (ind.max_numerator, ind.max_denominator) != (entry.max_numerator, entry.max_denominator):
            problems.append(
                f"indicator {entry.id}: manifest caps a patient at "
                f"({entry.max_numerator}, {entry.max_denominator}), the definition at "
                f"({ind.max_numerator}, {ind.max_denominator})"
            )
        if ind.unit != entry.unit:
            problems.append(
                f"indicator {entry.id}: unit {entry.unit} in manifest, {ind.unit} installed"
            )
        if tuple(ind.strata) != entry.strata:
            problems.append(f"indicator {entry.id}: strata differ from the installed definition")
    for cl in manifest.codelists:
        local = installed.codelists.get(cl.name)
        if local is None:
            problems.append(f"code list {cl.name} is not installed")
        elif (local.version, local.content_hash) != (cl.version, cl.content_hash):
            problems.append(
                f"code list {cl.name}: version {cl.version} ({cl.content_hash[:12]}…) in the "
                f"manifest, {local.version} ({local.content_hash[:12]}…) installed"
            )
    return problems


def pin_catalogue(
    manifest: Manifest, installed: InstalledCatalogue, ids: Iterable[str] | None = None
) -> Manifest:
    """The manifest with its indicator set and code lists pinned to the installed definitions.

    Keeps the manifest's own indicator selection unless `ids` is given.
    """
    chosen = manifest.indicator_ids if ids is None else tuple(ids)
    indicators, codelists = manifest_entries(installed, chosen)
    return replace(manifest, indicators=indicators, codelists=codelists)
