"""Regions with real logs, keys and a signed manifest, publishing for the national tier."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.keyfiles import write_public_key
from indicator_defs import load_catalogue
from national.trust import write_national_trust
from privacy.authoring import default_manifest, write_signed
from privacy.log_entries import Kind, release_document_sha256
from privacy.publication import Publication, PublishedRelease, dump_json
from privacy.signing import generate_private_key
from privacy.transparency import TransparencyLog

REF = date(2026, 9, 30)
CATALOGUE = load_catalogue()


def cell(num: int, den: int, sd: float = 0.0) -> dict[str, Any]:
    rate = num / den
    return {
        "numerator": num,
        "denominator": den,
        "rate": rate,
        "interval": [max(rate - 0.02, 0.0), min(rate + 0.02, 1.0)],
        "noise_sd": sd,
        "suppressed": {},
        "strata": [],
    }


def release_doc(
    region: str, release_id: int, manifest_hash: str, counts: dict[str, tuple[int, int]], **extra
) -> dict[str, Any]:
    return {
        "release_id": release_id,
        "created_at": "2026-10-01T10:00:00+00:00",
        "level": "region",
        "unit": region,
        "reference_date": REF.isoformat(),
        "round_ids": [f"{region}-r{release_id}"],
        "manifest_hash": manifest_hash,
        "contributors": 10,
        "mechanism": "none",
        "epsilon_per_release": "inf",
        **extra,
        "indicators": [{"id": i, **cell(n, d)} for i, (n, d) in counts.items()],
    }


@dataclass
class Region:
    name: str
    key: Ed25519PrivateKey
    log: TransparencyLog
    documents: list[dict[str, Any]] = field(default_factory=list)

    def release(self, doc: dict[str, Any], *, level: str = "region", bind: bool = True) -> None:
        payload = {
            "release_id": doc["release_id"],
            "aggregate": self.name,
            "level": level,
            "reference_date": doc["reference_date"],
            "round_ids": doc["round_ids"],
            "contributors": 10,
            "manifest_hash": doc["manifest_hash"],
            "recipients": ["region", "nation"] if level == "region" else ["cluster"],
            "suppressed": [],
        }
        if bind:
            payload["document_sha256"] = release_document_sha256(doc)
        self.log.append(Kind.RELEASE, payload)
        self.documents.append(doc)

    def publication(self, manifest_text: str) -> Publication:
        head = self.log.head()
        by_id = {int(e.payload["release_id"]): e for e in self.log.entries(Kind.RELEASE)}
        releases = tuple(
            PublishedRelease(
                d,
                by_id[d["release_id"]],
                tuple(self.log.inclusion_proof(by_id[d["release_id"]].index, head.tree_size)),
            )
            for d in self.documents
        )
        return Publication(self.name, REF, manifest_text, head, releases)


@dataclass
class World:
    root: Path
    manifest_text: str
    manifest_hash: str
    authority: Ed25519PrivateKey
    regions: dict[str, Region]
    trust: Path

    def write(self, region: str, publication: Publication | None = None) -> Path:
        path = self.root / f"{region}.json"
        pub = publication or self.regions[region].publication(self.manifest_text)
        path.write_bytes(dump_json(pub.to_json()))
        return path


def build_world(root: Path, counts: dict[str, dict[str, tuple[int, int]]]) -> World:
    """Regions named by `counts`, each with one regional aggregate of those counts, logged."""
    authority = generate_private_key()
    signed = write_signed(root / "manifest.toml", default_manifest(no_dp=True), authority)
    text = (root / "manifest.toml").read_text(encoding="utf-8")
    digest = signed.manifest.hash()
    write_public_key(root / "authority.pub", authority.public_key(), form="hex")
    regions = {}
    for name, its in counts.items():
        key = generate_private_key()
        write_public_key(root / f"{name}-log.pub", key.public_key(), form="hex")
        region = Region(name, key, TransparencyLog.open(root / f"{name}.log", key))
        region.release(release_doc(name, 1, digest, its))
        regions[name] = region
    trust = root / "trust.toml"
    write_national_trust(
        trust,
        {"Demo authority": root / "authority.pub"},
        {name: root / f"{name}-log.pub" for name in counts},
    )
    return World(root, text, digest, authority, regions, trust)
