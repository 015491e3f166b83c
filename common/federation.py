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

import os
import re
import tomllib
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any, NoReturn

import tomli_w

from common.errors import KlyngeError

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


class FederationError(KlyngeError):
    """The federation file is missing, unreadable or inconsistent."""


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


def load_federation(path: Path) -> Federation:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FederationError(f"{path}: federation file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FederationError(f"{path}: cannot read federation file ({exc})") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FederationError(f"{path}: not valid TOML: {exc}") from None
    return replace(_parse(doc, _Where(path, text)), base_dir=path.parent)


class _Where:
    """Turns a table position into 'file, line N' for error messages."""

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.headers: dict[str, list[int]] = {}
        for number, line in enumerate(text.splitlines(), start=1):
            m = re.match(r"^\s*\[\[\s*([A-Za-z_]+)\s*\]\]", line)
            if m:
                self.headers.setdefault(m.group(1), []).append(number)

    def error(self, message: str, array: str | None = None, index: int | None = None) -> NoReturn:
        where = str(self.path)
        if array is not None and index is not None:
            lines = self.headers.get(array, [])
            if index < len(lines):
                where += f", line {lines[index]}"
            where += f" ([[{array}]] #{index + 1})"
        raise FederationError(f"{where}: {message}")


_TOP_KEYS = {"format", "version", "name", "synthetic", "clusters", "practices"}
_CLUSTER_KEYS = {"id", "name", "region"}
_PRACTICE_KEYS = {"id", "name", "cluster", "region", "extract", "list_size", "synthetic_quality"}
_SYNTH_KEYS = {
    "generator",
    "generator_version",
    "seed",
    "as_of",
    "years",
    "format",
    "patients_override",
}


def _parse(doc: dict[str, Any], where: _Where) -> Federation:
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        where.error(f"unknown key '{unknown[0]}' (allowed: {', '.join(sorted(_TOP_KEYS))})")
    if doc.get("format") != FORMAT:
        where.error(f"key 'format' must be \"{FORMAT}\", found {doc.get('format')!r}")
    if doc.get("version") != VERSION:
        where.error(
            f"key 'version': this Klynge reads version {VERSION}, found {doc.get('version')!r}"
        )
    name = doc.get("name", "")
    if not isinstance(name, str):
        where.error("key 'name' must be a string")
    synthetic = _parse_synthetic(doc["synthetic"], where) if "synthetic" in doc else None

    clusters = tuple(
        _parse_cluster(c, i, where) for i, c in enumerate(_array(doc, "clusters", where))
    )
    by_id: dict[str, Cluster] = {}
    for i, c in enumerate(clusters):
        if c.id in by_id:
            where.error(f"key 'id': duplicate cluster '{c.id}'", "clusters", i)
        by_id[c.id] = c
    practices = tuple(
        _parse_practice(p, i, where, by_id) for i, p in enumerate(_array(doc, "practices", where))
    )
    seen: set[str] = set()
    for i, p in enumerate(practices):
        if p.id in seen:
            where.error(f"key 'id': duplicate practice '{p.id}'", "practices", i)
        seen.add(p.id)
    extracts: dict[str, str] = {}
    for i, p in enumerate(practices):
        if p.extract in extracts:
            where.error(
                f"key 'extract': '{p.extract}' is also the extract of practice "
                f"'{extracts[p.extract]}'",
                "practices",
                i,
            )
        extracts[p.extract] = p.id
    return Federation(name=name, clusters=clusters, practices=practices, synthetic=synthetic)


def _array(doc: dict[str, Any], key: str, where: _Where) -> list[dict[str, Any]]:
    value = doc.get(key)
    if value is None:
        where.error(f"no [[{key}]] tables: a federation needs at least one")
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        where.error(f"key '{key}' must be an array of tables ([[{key}]])")
    if not value:
        where.error(f"no [[{key}]] tables: a federation needs at least one")
    return value


def _check_keys(
    table: dict[str, Any], allowed: set[str], required: set[str], array: str, i: int, w: _Where
) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        w.error(f"unknown key '{unknown[0]}' (allowed: {', '.join(sorted(allowed))})", array, i)
    missing = sorted(required - set(table))
    if missing:
        w.error(f"missing key '{missing[0]}'", array, i)


def _string(table: dict[str, Any], key: str, array: str, i: int, w: _Where) -> str:
    value = table[key]
    if not isinstance(value, str) or not value.strip():
        w.error(f"key '{key}' must be a non-empty string, found {value!r}", array, i)
    return value


def _parse_cluster(table: dict[str, Any], i: int, w: _Where) -> Cluster:
    _check_keys(table, _CLUSTER_KEYS, {"id", "region"}, "clusters", i, w)
    cid = _string(table, "id", "clusters", i, w)
    if not CLUSTER_ID.match(cid):
        w.error(f"key 'id': cluster id '{cid}' must look like K01", "clusters", i)
    region = _string(table, "region", "clusters", i, w)
    if region not in REGIONS:
        w.error(
            f"key 'region': unknown region '{region}' (one of {', '.join(REGIONS)})", "clusters", i
        )
    name = _string(table, "name", "clusters", i, w) if "name" in table else cid
    return Cluster(cid, name, region)


def _parse_practice(
    table: dict[str, Any], i: int, w: _Where, clusters: dict[str, Cluster]
) -> Practice:
    required = {"id", "cluster", "extract", "list_size"}
    _check_keys(table, _PRACTICE_KEYS, required, "practices", i, w)
    pid = _string(table, "id", "practices", i, w)
    if not PRACTICE_ID.match(pid):
        w.error(
            f"key 'id': practice id '{pid}' must be 6 digits (ydernummer) or like P0001",
            "practices",
            i,
        )
    cid = _string(table, "cluster", "practices", i, w)
    if cid not in clusters:
        w.error(
            f"key 'cluster': unknown cluster '{cid}' (no [[clusters]] with that id)", "practices", i
        )
    region = clusters[cid].region
    if "region" in table and table["region"] != region:
        w.error(
            f"key 'region': '{table['region']}' contradicts cluster {cid}, which is in {region}",
            "practices",
            i,
        )
    extract = _string(table, "extract", "practices", i, w)
    if PurePosixPath(extract).is_absolute() or re.match(r"^[A-Za-z]:", extract) or "\\" in extract:
        w.error(
            f"key 'extract': '{extract}' must be a relative path with '/' separators "
            "(relative to the federation file)",
            "practices",
            i,
        )
    size = table["list_size"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        w.error(f"key 'list_size' must be a whole number >= 0, found {size!r}", "practices", i)
    quality: tuple[tuple[str, float], ...] = ()
    if "synthetic_quality" in table:
        q = table["synthetic_quality"]
        if not isinstance(q, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in q.values()
        ):
            w.error("key 'synthetic_quality' must be a table of numbers", "practices", i)
        quality = tuple((k, float(v)) for k, v in q.items())
    name = _string(table, "name", "practices", i, w) if "name" in table else pid
    return Practice(pid, name, cid, region, extract, size, quality)


def _parse_synthetic(table: Any, w: _Where) -> SyntheticInfo:
    if not isinstance(table, dict):
        w.error("key 'synthetic' must be a table")
    unknown = sorted(set(table) - _SYNTH_KEYS)
    if unknown:
        w.error(f"[synthetic]: unknown key '{unknown[0]}'")
    missing = sorted(_SYNTH_KEYS - {"patients_override"} - set(table))
    if missing:
        w.error(f"[synthetic]: missing key '{missing[0]}'")
    types = {
        "generator": str,
        "generator_version": int,
        "seed": int,
        "as_of": date,
        "years": int,
        "format": str,
        "patients_override": int,
    }
    for key, kind in types.items():
        value = table.get(key)
        wrong = not isinstance(value, kind) or isinstance(value, bool | datetime)
        if key in table and wrong:
            w.error(f"[synthetic]: key '{key}' must be a {kind.__name__}, found {value!r}")
    return SyntheticInfo(**table)


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
    _parse(tomllib.loads(text), _Where(Path(path), text))  # refuse to write what we can't read
    path = Path(path)
    temp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(temp, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
