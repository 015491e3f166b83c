"""Shared builders for the privacy tests (no tests here).

Small manifests are derived from the shipped default so every field is
realistic, with a handful of synthetic indicators so tests do not depend on
the catalogue's exact contents.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

from privacy.catalogue import (
    InstalledCatalogue,
    InstalledCodelist,
    InstalledIndicator,
    InstalledSurvey,
)
from privacy.defaults import default_manifest_path
from privacy.distribution import DistributionSpec
from privacy.layout import ReleaseLayout, RoundScope
from privacy.ledger import ChargeRequest
from privacy.manifest import (
    COUNT,
    LIST_POPULATION,
    PASS_FAIL,
    Budget,
    CodelistEntry,
    DpParams,
    IndicatorEntry,
    Manifest,
    RegionRound,
    Schedule,
    SurveyEntry,
    load_manifest,
)
from privacy.plan import manifest_release
from privacy.release import Release

STRATA = ("F:18-64", "F:65+", "M:18-64", "M:65+")


def fake_hash(seed: str) -> str:
    import hashlib

    return hashlib.sha256(seed.encode()).hexdigest()


def indicator(
    ind_id: str,
    unit: str = "patients",
    cap: int = 1,
    den_events: bool = False,
    *,
    population: str | None = None,
    headline: bool = True,
    noise_weight: int | None = None,
    per_1000: float = 50.0,
    rate: float = 0.8,
) -> IndicatorEntry:
    """A proportion (patients, or events over events), or a rate of events per listed patient."""
    count = unit == "events" and not den_events
    return IndicatorEntry(
        id=ind_id,
        content_hash=fake_hash(ind_id),
        unit=unit,
        cells=COUNT if count else PASS_FAIL,
        max_per_patient=1 if unit == "patients" else cap,
        population=LIST_POPULATION if count else (population or f"pop-{ind_id.lower()}"),
        headline=headline,
        noise_weight=noise_weight or (1 if unit == "patients" else cap * cap),
        strata=STRATA,
        expected_denominator_per_1000=1000.0 if count else per_1000,
        expected_rate=0.35 if count else rate,
        expected_clipped_share=None if unit == "patients" else 0.001,
    )


def default_manifest() -> Manifest:
    return load_manifest(default_manifest_path()).manifest


def make_manifest(
    *,
    indicators: tuple[IndicatorEntry, ...] | None = None,
    epsilon: float | None = 1.0,
    mu: float | None = None,
    delta: float = 1e-6,
    budget_epsilon: float = 3.0,
    mechanism: str = "distributed_skellam",
    scale: float | None = None,
    version: int = 1,
    reference_dates: tuple[date, ...] | None = None,
    distribution: DistributionSpec | None = None,
    region_round: bool = False,
    surveys: tuple[SurveyEntry, ...] | None = None,
) -> Manifest:
    """A small manifest for unit tests; a region-wide round (on the last reference date,
    with `distribution`) and surveys (`default_surveys()`) only when asked for."""
    base = default_manifest()
    indicators = indicators or (
        indicator("DM-01"),
        indicator("DM-02"),
        indicator("AB-01", unit="events", cap=4),
    )
    codelists = (CodelistEntry("t2d", "2026.1", fake_hash("t2d")),)
    dates = reference_dates or (
        date(2026, 3, 31),
        date(2026, 6, 30),
        date(2026, 9, 30),
        date(2026, 12, 31),
    )
    return replace(
        base,
        meta=replace(base.meta, id="test-manifest", version=version),
        indicators=indicators,
        codelists=codelists,
        mechanism=mechanism,
        schedule=Schedule("quarterly", dates),
        dp=DpParams(
            delta=delta,
            design_dropout=0.2,
            epsilon_per_release=None if (mu or scale) else epsilon,
            mu=mu,
            scale=scale,
        ),
        budget=Budget(budget_epsilon, 1e-6, "calendar_year"),
        region_round=RegionRound((dates[-1],), epsilon, distribution)
        if (region_round or distribution is not None)
        else None,
        surveys=surveys,
    )


def default_surveys() -> tuple[SurveyEntry, ...]:
    """The shipped manifest's surveys (PX), pinned to the installed definition."""
    return default_manifest().survey_entries


def installed_for(manifest: Manifest) -> InstalledCatalogue:
    """An installed catalogue that matches the manifest exactly."""
    indicators = {
        e.id: InstalledIndicator(
            e.id,
            e.content_hash,
            e.unit,
            e.cells,
            e.max_per_patient,
            e.population,  # one denominator per population name
            e.strata,
            {"da": e.id, "en": e.id},
            (),
        )
        for e in manifest.indicators
    }
    codelists = {
        c.name: InstalledCodelist(c.name, c.version, c.content_hash) for c in manifest.codelists
    }
    surveys = {
        s.id: InstalledSurvey(s.id, s.version, s.content_hash, s.measures)
        for s in manifest.survey_entries
    }
    return InstalledCatalogue(indicators, codelists, surveys)


def write_text(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def cluster_layout(manifest: Manifest) -> ReleaseLayout:
    return ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)


def cluster_length(manifest: Manifest) -> int:
    """Coordinates of a cluster round's vector under `manifest`."""
    return cluster_layout(manifest).length


def region_length(manifest: Manifest) -> int:
    """Coordinates of a region-wide round's vector under `manifest`."""
    return ReleaseLayout.for_round(manifest, RoundScope.REGION).length


def encode(manifest: Manifest, result: object) -> np.ndarray:
    """An engine result (`PracticeResult`) as a cluster round's cells."""
    counts = result.counts()  # type: ignore[attr-defined]
    size = result.list_size  # type: ignore[attr-defined]
    return cluster_layout(manifest).encode(counts, size)


def charge_request(
    manifest: Manifest,
    round_id: str = "r1",
    ref: date = date(2026, 3, 31),
    payload: bytes = b"masked",
    release: Release | None = None,
    *,
    recipient: str = "coordinator",
) -> ChargeRequest:
    """What an agent asks its ledger to charge; the release is the manifest's unless given."""
    return ChargeRequest(
        round_id=round_id,
        recipient=recipient,
        manifest=manifest,
        reference_date=ref,
        release=release or manifest_release(manifest),
        payload=payload,
        coordinates=cluster_length(manifest),
    )


def region_truth(manifest: Manifest, seed: int = 3) -> tuple[np.ndarray, np.ndarray, dict]:
    """One region's true sums, as (the cluster rounds' totals summed, the region-wide round's
    strata cells, each indicator's (numerator, denominator) total): random but consistent
    counts, every population well below the listed patients (manifests with a COUNT
    indicator on the list, as the default)."""
    rng = np.random.default_rng(seed)
    clusters = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    region = ReleaseLayout.for_round(manifest, RoundScope.REGION)
    listed: dict[str, int] = {}
    sizes: dict[tuple[str, str], int] = {}  # (population, stratum) -> patients
    counts: dict[tuple[str, str], tuple[int, int]] = {}  # (indicator, stratum) -> (num, den)
    for block in region.blocks:
        entry = block.entry
        for s in block.groups:
            top = listed.setdefault(s, int(rng.integers(2000, 3000)))
            size = top if entry.population == LIST_POPULATION else int(rng.integers(50, top // 3))
            size = sizes.setdefault((entry.population, s), size)
            if entry.cells == PASS_FAIL:
                counts[entry.id, s] = (int(rng.integers(0, size + 1)), size)
            else:  # events per listed patient, well below the cap
                counts[entry.id, s] = (int(rng.integers(0, size)), size)
    region_vector = np.zeros(region.length, dtype=np.int64)
    cluster_vector = np.zeros(clusters.length, dtype=np.int64)
    totals = {}
    for block in region.blocks:
        for g, s in enumerate(block.groups):
            cells = block.cells(*counts[block.indicator_id, s])
            for field, value in zip(block.fields, cells, strict=True):
                region_vector[block.index(g, field)] = value
        num = sum(counts[block.indicator_id, s][0] for s in block.groups)
        den = sum(counts[block.indicator_id, s][1] for s in block.groups)
        totals[block.indicator_id] = (num, den)
        cblock = clusters.block(block.indicator_id)
        for field, value in zip(cblock.fields, cblock.cells(num, den), strict=True):
            cluster_vector[cblock.index(0, field)] = value
    list_size = sum(v for (population, _), v in sizes.items() if population == LIST_POPULATION)
    region_vector[region.list_size_index] = list_size
    cluster_vector[clusters.list_size_index] = list_size
    return cluster_vector, region_vector, totals


# [[partners]] sections to append to the default manifest: a hospital granted two named
# clusters and two measures, a municipality granted its region at both levels and all.
HOSPITAL = """
[[partners]]
id = "rh-kvalitet"
name = { da = "Regionshospitalets kvalitetsafdeling", en = "The regional hospital's quality unit" }
kind = "hospital_quality_unit"
identity = "urn:klynge:partner:rh-kvalitet"
clusters = ["K1", "K2"]
levels = ["cluster"]
measures = ["DM-01", "AB-01"]
"""

# A municipality's health services given the coordination with the municipality (a survey
# measure) beside one indicator, at cluster level only.
MUNICIPALITY_COORDINATION = """
[[partners]]
id = "kommune-px"
name = "Kommunens sundhedsafdeling, sammenhæng"
kind = "municipal_health_services"
identity = "urn:klynge:partner:kommune-px"
clusters = ["K1"]
levels = ["cluster"]
measures = ["PX-COORDINATION", "DM-01"]
"""

MUNICIPALITY = """
[[partners]]
id = "kommune-sundhed"
name = "Kommunens sundhedsafdeling"
kind = "municipal_health_services"
identity = "urn:klynge:partner:kommune-sundhed"
region = "Midtjylland"
levels = ["cluster", "region"]
measures = "all"
"""
