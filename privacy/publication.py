"""What a region hands to the national tier, and what the national tier hands back: checked.

A region's **publication** of one period holds its region-level release
documents (the regional aggregate and the region-wide round's release,
nothing below region level), the signed manifest they were released under,
the region's signed log head, and per release the RELEASE log entry with its
inclusion proof. The entry binds the document's content
(`release_document_sha256`), so a verifier who trusts the region's log key
knows each document is exactly what the region's public log recorded, and
that the manifest named the nation as a recipient of it.

The **national publication** is the national body's combination, signed by
its own key; a region checks it before it shows the country beside itself.

Both are JSON objects checked field by field; every refusal names the file
and the key (`PublicationError`), and nothing here touches a network.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from common import boundedjson
from common.canonical import domain_message
from common.errors import FileKeyError
from privacy.errors import BadSignature, ManifestRefused, SignatureError
from privacy.log_entries import EntryError, Kind, LogEntry, TreeHead, release_document_sha256
from privacy.manifest import SignedManifest, parse_manifest
from privacy.merkle import ProofError, verify_inclusion
from privacy.publication_text import say
from privacy.signing import key_id, public_key_to_text, sign, verify
from privacy.trust import check_signature

PUBLICATION_FORMAT = "klynge-publication/1"
NATIONAL_FORMAT = "klynge-national/1"
NATIONAL_DOMAIN = "klynge-national/1"
NATION = "nation"  # the manifest's recipient that may receive region-level releases
_MAX_BYTES = 64 * 1024 * 1024
_PROOF_HASHES = 64


class PublicationError(FileKeyError):
    """A publication that is malformed, or whose signature, proof or content does not check."""


# --- a region's publication ------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedRelease:
    """One region-level release document, its RELEASE log entry and the entry's inclusion proof."""

    document: Mapping[str, Any]  # the JSON exactly as the region's coordinator serves it
    entry: LogEntry
    proof: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "document": dict(self.document),
            "entry": self.entry.document(),
            "proof": [p.hex() for p in self.proof],
        }


@dataclass(frozen=True)
class Publication:
    """A region's region-level releases of one period, with what proves them."""

    region: str
    reference_date: date
    manifest: str  # the signed manifest file's text (TOML)
    head: TreeHead
    releases: tuple[PublishedRelease, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": PUBLICATION_FORMAT,
            "region": self.region,
            "reference_date": self.reference_date.isoformat(),
            "manifest": self.manifest,
            "head": self.head.document(),
            "releases": [r.to_json() for r in self.releases],
        }


@dataclass(frozen=True)
class VerifiedPublication:
    """A publication every claim of which was checked: safe to combine."""

    region: str
    reference_date: date
    manifest: SignedManifest
    manifest_hash: str
    head: TreeHead
    documents: tuple[Mapping[str, Any], ...]  # region-level release documents, as published


def _fail(source: str, key: str | None, message: str) -> PublicationError:
    return PublicationError(source, key, message)


def _text(doc: Mapping[str, Any], name: str, source: str, prefix: str = "") -> str:
    value = doc.get(name)
    if not isinstance(value, str) or not value:
        raise _fail(source, prefix + name, say("text"))
    return value


def _day(doc: Mapping[str, Any], name: str, source: str) -> date:
    try:
        return date.fromisoformat(_text(doc, name, source))
    except ValueError:
        raise _fail(source, name, say("iso_date")) from None


def _exact_keys(doc: Any, fields: set[str], source: str, key: str | None) -> dict[str, Any]:
    if not isinstance(doc, dict):
        raise _fail(source, key, say("object"))
    missing, extra = sorted(fields - set(doc)), sorted(set(doc) - fields)
    if missing:
        raise _fail(source, key, say("lacks", name=missing[0]))
    if extra:
        raise _fail(source, key, say("unknown_field", name=extra[0]))
    return doc


def _hashes(value: Any, source: str, key: str) -> tuple[bytes, ...]:
    if not isinstance(value, list) or len(value) > _PROOF_HASHES:
        raise _fail(source, key, say("hashes", count=_PROOF_HASHES))
    out = []
    for i, item in enumerate(value):
        try:
            raw = bytes.fromhex(item) if isinstance(item, str) else b""
        except ValueError:
            raw = b""
        if len(raw) != 32:
            raise _fail(source, f"{key}[{i}]", say("hash"))
        out.append(raw)
    return tuple(out)


def parse_publication(source: Path | str, doc: Any) -> Publication:
    """A region's publication as typed values (nothing verified yet: see `verify_publication`)."""
    where = str(source)
    fields = {"format", "region", "reference_date", "manifest", "head", "releases"}
    doc = _exact_keys(doc, fields, where, None)
    if doc["format"] != PUBLICATION_FORMAT:
        raise _fail(
            where,
            "format",
            say("format", expected=PUBLICATION_FORMAT, got=f"{doc['format']!r:.40}"),
        )
    try:
        head = TreeHead.from_document(doc["head"])
    except EntryError as exc:
        raise _fail(where, "head", str(exc)) from None
    raw = doc["releases"]
    if not isinstance(raw, list) or not raw:
        raise _fail(where, "releases", say("non_empty"))
    releases = []
    for i, item in enumerate(raw):
        key = f"releases[{i}]"
        item = _exact_keys(item, {"document", "entry", "proof"}, where, key)
        if not isinstance(item["document"], dict):
            raise _fail(where, f"{key}.document", say("object"))
        try:
            entry = LogEntry.from_document(item["entry"])
        except EntryError as exc:
            raise _fail(where, f"{key}.entry", str(exc)) from None
        releases.append(
            PublishedRelease(item["document"], entry, _hashes(item["proof"], where, f"{key}.proof"))
        )
    return Publication(
        region=_text(doc, "region", where),
        reference_date=_day(doc, "reference_date", where),
        manifest=_text(doc, "manifest", where),
        head=head,
        releases=tuple(releases),
    )


def verify_publication(
    publication: Publication,
    source: Path | str,
    *,
    log_keys: Mapping[str, Ed25519PublicKey],
    authority_keys: Mapping[str, Ed25519PublicKey],
) -> VerifiedPublication:
    """Every check a national body makes before it combines a region's figures.

    The head must be signed by the log key the trust file names for this
    region; the manifest by a trusted manifest authority; every release must be
    region level, of this region and period, under this manifest, released to
    the nation, and exactly the content its log entry binds, which the head's
    tree includes.
    """
    where = str(source)
    region = publication.region
    log_key = log_keys.get(region)
    if log_key is None:
        raise _fail(where, "region", say("untrusted_region", region=repr(region)))
    try:
        publication.head.verify(log_key)
    except EntryError as exc:
        raise _fail(where, "head", say("head", reason=exc, region=region)) from None
    try:
        signed = parse_manifest(publication.manifest, f"{where} (manifest)")
        check_signature(signed, authority_keys)
    except ManifestRefused as exc:
        raise _fail(where, "manifest", str(exc)) from None
    except FileKeyError as exc:
        raise _fail(where, "manifest", str(exc)) from None
    manifest_hash = signed.manifest.hash()
    head = publication.head
    documents = []
    for i, release in enumerate(publication.releases):
        key = f"releases[{i}]"
        entry, doc = release.entry, release.document
        payload = entry.payload
        if entry.kind != Kind.RELEASE:
            raise _fail(where, f"{key}.entry.kind", say("not_release", kind=entry.kind))
        for name, expected in (
            ("level", "region"),
            ("aggregate", region),
            ("reference_date", publication.reference_date.isoformat()),
            ("manifest_hash", manifest_hash),
        ):
            if payload.get(name) != expected:
                raise _fail(
                    where,
                    f"{key}.entry.payload.{name}",
                    say(
                        "below_region" if name == "level" else "is_expected",
                        got=f"{payload.get(name)!r:.40}",
                        expected=f"{expected!r:.70}",
                    ),
                )
            if doc.get("unit" if name == "aggregate" else name) != expected:
                field = "unit" if name == "aggregate" else name
                raise _fail(
                    where,
                    f"{key}.document.{field}",
                    say("is_expected", got=f"{doc.get(field)!r:.40}", expected=f"{expected!r:.70}"),
                )
        if NATION not in payload.get("recipients", ()):
            raise _fail(
                where,
                f"{key}.entry.payload.recipients",
                say("recipient", nation=repr(NATION)),
            )
        if payload.get("release_id") != doc.get("release_id"):
            raise _fail(where, f"{key}.document.release_id", say("release_id"))
        bound = payload.get("document_sha256")
        if bound is None:
            raise _fail(
                where,
                f"{key}.entry.payload.document_sha256",
                say("unbound"),
            )
        try:
            actual = release_document_sha256(doc)
        except ValueError as exc:
            raise _fail(where, f"{key}.document", say("canonical", reason=exc)) from None
        if actual != bound:
            raise _fail(
                where,
                f"{key}.document",
                say("content", actual=actual[:16], index=entry.index, bound=str(bound)[:16]),
            )
        try:
            verify_inclusion(
                entry.leaf_hash(), entry.index, head.tree_size, release.proof, head.root_bytes
            )
        except ProofError as exc:
            raise _fail(
                where, f"{key}.proof", say("not_in_head", index=entry.index, reason=exc)
            ) from None
        documents.append(doc)
    return VerifiedPublication(
        region, publication.reference_date, signed, manifest_hash, head, tuple(documents)
    )


# --- the national publication ----------------------------------------------------------------


@dataclass(frozen=True)
class NationalPublication:
    """The national combination of one period, signed by the national body's key.

    `nation` is the country's release document; `regions` the verified
    region-level documents it was combined from (so a region sees the others).
    """

    reference_date: date
    manifest_hash: str
    nation: Mapping[str, Any]
    regions: Mapping[str, Mapping[str, Any]]
    key_id: str
    public_key: str
    signature: str

    def signed_document(self) -> dict[str, Any]:
        return {
            "format": NATIONAL_FORMAT,
            "reference_date": self.reference_date.isoformat(),
            "manifest_hash": self.manifest_hash,
            "nation": dict(self.nation),
            "regions": {k: dict(v) for k, v in self.regions.items()},
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self.signed_document(),
            "signer": {
                "key_id": self.key_id,
                "public_key": self.public_key,
                "signature": self.signature,
            },
        }


def sign_national(
    key: Ed25519PrivateKey,
    reference_date: date,
    manifest_hash: str,
    nation: Mapping[str, Any],
    regions: Mapping[str, Mapping[str, Any]],
) -> NationalPublication:
    """The national body signs its combination (canonical JSON, domain-separated)."""
    public = key.public_key()
    unsigned = NationalPublication(
        reference_date, manifest_hash, nation, regions, key_id(public), "", ""
    )
    signature = sign(key, domain_message(NATIONAL_DOMAIN, unsigned.signed_document()))
    return NationalPublication(
        reference_date,
        manifest_hash,
        nation,
        regions,
        key_id(public),
        public_key_to_text(public),
        signature,
    )


def parse_national(
    source: Path | str, doc: Any, *, national_key: Ed25519PublicKey, manifest_hash: str
) -> NationalPublication:
    """A national publication, checked: signed by `national_key`, under the region's manifest."""
    where = str(source)
    fields = {"format", "reference_date", "manifest_hash", "nation", "regions", "signer"}
    doc = _exact_keys(doc, fields, where, None)
    if doc["format"] != NATIONAL_FORMAT:
        raise _fail(
            where, "format", say("format", expected=NATIONAL_FORMAT, got=f"{doc['format']!r:.40}")
        )
    signer = _exact_keys(doc["signer"], {"key_id", "public_key", "signature"}, where, "signer")
    if signer["key_id"] != key_id(national_key):
        raise _fail(
            where,
            "signer.key_id",
            say("signer", got=f"{signer['key_id']!r:.20}", expected=key_id(national_key)),
        )
    if not isinstance(doc["nation"], dict) or not isinstance(doc["regions"], dict):
        raise _fail(where, "nation", say("nation_regions"))
    if not all(isinstance(v, dict) for v in doc["regions"].values()):
        raise _fail(where, "regions", say("region_documents"))
    national = NationalPublication(
        _day(doc, "reference_date", where),
        _text(doc, "manifest_hash", where),
        doc["nation"],
        doc["regions"],
        signer["key_id"],
        _text(signer, "public_key", where, "signer."),
        _text(signer, "signature", where, "signer."),
    )
    try:
        verify(
            national_key,
            domain_message(NATIONAL_DOMAIN, national.signed_document()),
            national.signature,
            "signer.signature",
        )
    except (BadSignature, SignatureError):
        raise _fail(where, "signer.signature", say("signature")) from None
    except ValueError as exc:
        raise _fail(where, None, say("canonical", reason=exc)) from None
    if national.manifest_hash != manifest_hash:
        raise _fail(
            where,
            "manifest_hash",
            say("manifest_hash", combined=national.manifest_hash[:16], ours=manifest_hash[:16]),
        )
    return national


def load_json(path: Path) -> Any:
    """A file another party wrote: read within bounds, one error naming the file."""
    return boundedjson.load_file(path, max_bytes=_MAX_BYTES, error=PublicationError)


def dump_json(doc: Mapping[str, Any]) -> bytes:
    """How publications are written: UTF-8 JSON, indented for a reader."""
    return json.dumps(doc, indent=1, ensure_ascii=False, allow_nan=False).encode("utf-8")
