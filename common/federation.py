"""The federation file: which practices exist, their cluster, and the cluster's region.

One TOML file (`federation.toml`) is the demo's input: practice -> cluster ->
region, and where each practice's extract lives (relative to the file, so a
federation directory can be moved or copied whole). It holds no secrets and
no patient data. A synthetic federation also records how it was generated
and each practice's synthetic quality profile; those describe no real
practice, so they are harmless to publish and let a demo check that the
benchmarks recover what was put in.

Loading is strict: an unknown key, a dangling cluster reference or a
malformed id is a `FederationError` naming the file, the line of the table
and the key, because a typo in this file would otherwise silently drop a
practice from every benchmark.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Any

import tomli_w

from common import i18n
from common.atomic import atomic_write
from common.errors import FileKeyError
from common.tomlfile import Table, parse_table, read_table

FORMAT = "klynge-federation"
VERSION = 1

REGIONS: dict[str, str] = {
    # the five Danish regions and their official region codes
    "Hovedstaden": "1084",
    "Sjælland": "1085",
    "Syddanmark": "1083",
    "Midtjylland": "1082",
    "Nordjylland": "1081",
}

PRACTICE_ID = re.compile(r"^(\d{6}|P\d{4,})$")  # ydernummer-like, or P0001 for synthetic
CLUSTER_ID = re.compile(r"^K\d{2,}$")


class FederationError(FileKeyError):
    """The federation file is missing, unreadable or inconsistent; names the key and line."""


@dataclass(frozen=True)
class Region:
    name: str
    code: str


@dataclass(frozen=True)
class Cluster:
    id: str
    name: str
    region: str


@dataclass(frozen=True)
class Practice:
    id: str
    name: str
    cluster: str
    region: str
    extract: str  # POSIX path of the extract directory, relative to the federation file
    list_size: int  # patients listed on the extract date
    synthetic_quality: tuple[tuple[str, float], ...] = ()  # only for synthetic practices


@dataclass(frozen=True)
class SyntheticInfo:
    """How a synthetic federation was made, so it can be made again identically."""

    generator: str
    generator_version: int
    seed: int
    as_of: date
    years: int
    format: str
    patients_override: int | None = None


@dataclass(frozen=True)
class Federation:
    name: str
    clusters: tuple[Cluster, ...]
    practices: tuple[Practice, ...]
    synthetic: SyntheticInfo | None = None
    base_dir: Path | None = field(default=None, compare=False)  # where the file was read from

    @property
    def regions(self) -> tuple[Region, ...]:
        used = {c.region for c in self.clusters}
        return tuple(Region(name, code) for name, code in REGIONS.items() if name in used)

    def cluster(self, cluster_id: str) -> Cluster:
        for c in self.clusters:
            if c.id == cluster_id:
                return c
        raise KeyError(cluster_id)

    def practices_in(self, cluster_id: str) -> tuple[Practice, ...]:
        return tuple(p for p in self.practices if p.cluster == cluster_id)

    def clusters_in(self, region: str) -> tuple[Cluster, ...]:
        return tuple(c for c in self.clusters if c.region == region)

    def extract_dir(self, practice: Practice) -> Path:
        base = self.base_dir if self.base_dir is not None else Path.cwd()
        return base / PurePosixPath(practice.extract)


# ---------------------------------------------------------------------------- loading


i18n.register(
    {
        "federation.format": {
            "en": 'must be "{expected}", found {found}',
            "da": 'skal være "{expected}", men er {found}',
        },
        "federation.version": {
            "en": "this Klynge reads version {expected}, found {found}",
            "da": "denne Klynge læser version {expected}, men filen har {found}",
        },
        "federation.text": {"en": "must be text", "da": "skal være tekst"},
        "federation.duplicate_cluster": {
            "en": "duplicate cluster '{id}'",
            "da": "klyngen '{id}' står der to gange",
        },
        "federation.duplicate_practice": {
            "en": "duplicate practice '{id}'",
            "da": "praksis '{id}' står der to gange",
        },
        "federation.shared_extract": {
            "en": "'{extract}' is also the extract of practice '{other}'",
            "da": "'{extract}' er også udtrækket for praksis '{other}'",
        },
        "federation.none": {
            "en": "no [[{name}]] tables: a federation needs at least one",
            "da": "ingen [[{name}]]-tabeller: en føderation skal have mindst én",
        },
        "federation.cluster_id": {
            "en": "cluster id '{id}' must look like K01",
            "da": "klynge-id '{id}' skal se ud som K01",
        },
        "federation.region": {
            "en": "unknown region '{region}' (one of {regions})",
            "da": "ukendt region '{region}' (en af {regions})",
        },
        "federation.practice_id": {
            "en": "practice id '{id}' must be 6 digits (ydernummer) or like P0001",
            "da": "praksis-id '{id}' skal være 6 cifre (ydernummer) eller som P0001",
        },
        "federation.unknown_cluster": {
            "en": "unknown cluster '{id}' (no [[clusters]] with that id)",
            "da": "ukendt klynge '{id}' (ingen [[clusters]] med det id)",
        },
        "federation.contradicts": {
            "en": "'{stated}' contradicts cluster {cluster}, which is in {region}",
            "da": "'{stated}' strider mod klynge {cluster}, som ligger i {region}",
        },
        "federation.relative": {
            "en": "'{extract}' must be a relative path with '/' separators "
            "(relative to the federation file)",
            "da": "'{extract}' skal være en relativ sti med '/' som skilletegn "
            "(fra føderationsfilens mappe)",
        },
        "federation.numbers": {
            "en": "must be a table of numbers",
            "da": "skal være en tabel af tal",
        },
    }
)


def load_federation(path: Path) -> Federation:
    path = Path(path)
    root = read_table(path, error=FederationError, what="federation")
    return replace(_parse(root), base_dir=path.parent)


def _parse(root: Table) -> Federation:
    fmt = root.raw("format", required=False)
    if fmt != FORMAT:
        raise root.fail("format", i18n.t("federation.format", expected=FORMAT, found=repr(fmt)))
    version = root.raw("version", required=False)
    if version != VERSION:
        found = repr(version)
        raise root.fail("version", i18n.t("federation.version", expected=VERSION, found=found))
    name = root.raw("name", required=False)
    if name is None:
        name = ""
    if not isinstance(name, str):
        raise root.fail("name", i18n.t("federation.text"))
    synthetic = _parse_synthetic(root.table("synthetic")) if "synthetic" in root else None

    clusters: dict[str, Cluster] = {}
    for t in _array(root, "clusters"):
        cluster = _parse_cluster(t)
        if cluster.id in clusters:
            raise t.fail("id", i18n.t("federation.duplicate_cluster", id=cluster.id))
        clusters[cluster.id] = cluster
    practices: dict[str, Practice] = {}
    extracts: dict[str, str] = {}
    for t in _array(root, "practices"):
        practice = _parse_practice(t, clusters)
        if practice.id in practices:
            raise t.fail("id", i18n.t("federation.duplicate_practice", id=practice.id))
        if practice.extract in extracts:
            raise t.fail(
                "extract",
                i18n.t(
                    "federation.shared_extract",
                    extract=practice.extract,
                    other=extracts[practice.extract],
                ),
            )
        practices[practice.id] = practice
        extracts[practice.extract] = practice.id
    root.used.add("synthetic")  # optional, yet named as an allowed key
    root.done()
    return Federation(
        name=name,
        clusters=tuple(clusters.values()),
        practices=tuple(practices.values()),
        synthetic=synthetic,
    )


def _array(root: Table, key: str) -> list[Table]:
    if key not in root:
        raise root.fail(key, i18n.t("federation.none", name=key))
    tables = list(root.tables(key))
    if not tables:
        raise root.fail(key, i18n.t("federation.none", name=key))
    return tables


def _parse_cluster(t: Table) -> Cluster:
    cid = t.string("id")
    if not CLUSTER_ID.match(cid):
        raise t.fail("id", i18n.t("federation.cluster_id", id=cid))
    region = t.string("region")
    if region not in REGIONS:
        regions = ", ".join(REGIONS)
        raise t.fail("region", i18n.t("federation.region", region=region, regions=regions))
    name = t.string("name", required=False, default=cid)
    t.done()
    return Cluster(cid, name, region)


def _parse_practice(t: Table, clusters: dict[str, Cluster]) -> Practice:
    pid = t.string("id")
    if not PRACTICE_ID.match(pid):
        raise t.fail("id", i18n.t("federation.practice_id", id=pid))
    cid = t.string("cluster")
    if cid not in clusters:
        raise t.fail("cluster", i18n.t("federation.unknown_cluster", id=cid))
    region = clusters[cid].region
    stated = t.raw("region", required=False)
    if stated is not None and stated != region:
        message = i18n.t("federation.contradicts", stated=stated, cluster=cid, region=region)
        raise t.fail("region", message)
    extract = t.string("extract")
    if PurePosixPath(extract).is_absolute() or re.match(r"^[A-Za-z]:", extract) or "\\" in extract:
        raise t.fail("extract", i18n.t("federation.relative", extract=extract))
    size = t.integer("list_size", minimum=0)
    quality: tuple[tuple[str, float], ...] = ()
    q = t.raw("synthetic_quality", required=False)
    if q is not None:
        if not isinstance(q, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in q.values()
        ):
            raise t.fail("synthetic_quality", i18n.t("federation.numbers"))
        quality = tuple((k, float(v)) for k, v in q.items())
    name = t.string("name", required=False, default=pid)
    t.done()
    return Practice(pid, name, cid, region, extract, size, quality)


def _parse_synthetic(t: Table) -> SyntheticInfo:
    info = SyntheticInfo(
        generator=t.string("generator"),
        generator_version=t.integer("generator_version"),
        seed=t.integer("seed"),
        as_of=t.day("as_of"),
        years=t.integer("years"),
        format=t.string("format"),
        patients_override=t.integer("patients_override", required=False),
    )
    t.done()
    return info


# ---------------------------------------------------------------------------- writing


def federation_to_toml(fed: Federation) -> str:
    """Deterministic TOML text for `fed` (same federation, same bytes)."""
    doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "name": fed.name}
    if fed.synthetic is not None:
        s = fed.synthetic
        synth: dict[str, Any] = {
            "generator": s.generator,
            "generator_version": s.generator_version,
            "seed": s.seed,
            "as_of": s.as_of,
            "years": s.years,
            "format": s.format,
        }
        if s.patients_override is not None:
            synth["patients_override"] = s.patients_override
        doc["synthetic"] = synth
    parts = [tomli_w.dumps(doc)]
    # Written as [[clusters]] / [[practices]] tables (never inline) so that a
    # hand-edited file stays readable and errors can name a table's line.
    for c in fed.clusters:
        parts.append(
            "[[clusters]]\n" + tomli_w.dumps({"id": c.id, "name": c.name, "region": c.region})
        )
    for p in fed.practices:
        entry: dict[str, Any] = {
            "id": p.id,
            "name": p.name,
            "cluster": p.cluster,
            "region": p.region,
            "extract": p.extract,
            "list_size": p.list_size,
        }
        block = "[[practices]]\n" + tomli_w.dumps(entry)
        if p.synthetic_quality:
            block += "\n[practices.synthetic_quality]\n" + tomli_w.dumps(dict(p.synthetic_quality))
        parts.append(block)
    header = (
        "# Klynge federation: practice -> cluster -> region.\n"
        "# Extract paths are relative to this file.\n"
    )
    return header + "\n".join(parts)


def write_federation(fed: Federation, path: Path) -> None:
    """Write atomically (temporary file, then rename), after checking it would load back."""
    text = federation_to_toml(fed)
    _parse(parse_table(text, path, error=FederationError))  # refuse to write what we can't read
    atomic_write(Path(path), text.encode("utf-8"))
