"""The agent's local trust decisions: which authority keys it trusts, which manifests it approved.

A signature alone is not enough: the region's authority could sign a manifest
the practice never agreed to. The agent therefore runs a round only if the
manifest (1) is signed, (2) by a key in its local trust store, (3) verifies,
(4) is inside its validity period, (5) has a hash the practice approved
locally, and (6) pins exactly the indicator definitions installed here. Each
failure is a typed refusal so the agent can log why it said no.

Layout of a trust directory: `authorities.toml` ([[authority]] name, key_id,
public_key as base64 raw Ed25519) and `approved.toml` ([[approved]]
manifest_hash, manifest_id, version, approved_by, approved_on, note).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import tomli_w
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from common import i18n
from common.atomic import atomic_write
from common.tomlfile import Table, read_table
from privacy.catalogue import InstalledCatalogue, definition_mismatches
from privacy.errors import (
    BadSignature,
    ManifestRefused,
    RefusalReason,
    SignatureError,
    TrustStoreError,
)
from privacy.layout import RoundScope
from privacy.manifest import Manifest, SignedManifest
from privacy.plan import PrivacyPlan, validate_plan
from privacy.signing import key_id, public_key_from_text, public_key_to_text, verify

AUTHORITIES_FILE = "authorities.toml"
APPROVED_FILE = "approved.toml"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Authority:
    name: str
    key: Ed25519PublicKey
    key_id: str


@dataclass(frozen=True)
class Approval:
    manifest_hash: str
    manifest_id: str
    version: int
    approved_by: str
    approved_on: date
    note: str


@dataclass(frozen=True)
class TrustStore:
    authorities: tuple[Authority, ...] = ()
    approvals: tuple[Approval, ...] = ()

    def keys(self) -> dict[str, Ed25519PublicKey]:
        return {a.key_id: a.key for a in self.authorities}

    def authority(self, kid: str) -> Authority | None:
        return next((a for a in self.authorities if a.key_id == kid), None)

    def approval(self, manifest_hash: str) -> Approval | None:
        return next((a for a in self.approvals if a.manifest_hash == manifest_hash), None)


def _entries(path: Path, name: str) -> list[Table]:
    """The `[[name]]` tables of one trust-store file; a missing file has none."""
    if not path.exists():
        return []
    root = read_table(path, error=TrustStoreError)
    entries = list(root.tables(name, required=False))
    root.done()
    return entries


def _authority(t: Table) -> Authority:
    name, kid, text = (str(t.raw("name")), t.raw("key_id"), t.raw("public_key"))
    where = t.key("public_key")
    try:
        key = public_key_from_text(text, where)
    except SignatureError as exc:
        raise t.fail("public_key", str(exc).removeprefix(f"{where}: ")) from None
    t.done()
    if key_id(key) != kid:
        raise t.fail("key_id", i18n.t("trust.err.key_id", kid=repr(kid), actual=key_id(key)))
    return Authority(name, key, kid)


i18n.register(
    {
        "trust.err.key_id": {
            "en": "{kid} does not match its key ({actual})",
            "da": "{kid} passer ikke til nøglen ({actual})",
        },
        "trust.err.hash": {"en": "is not a SHA-256 hex", "da": "er ikke en SHA-256 i hex"},
        "trust.err.no_store": {
            "en": "trust store directory not found",
            "da": "mappen med tillidslageret findes ikke",
        },
        "trust.err.not_approved": {
            "en": "manifest {digest}… is not approved here",
            "da": "manifestet {digest}… er ikke godkendt her",
        },
    }
)


def _approval(t: Table) -> Approval:
    digest = t.raw("manifest_hash")
    if not isinstance(digest, str) or not _HEX64.match(digest):
        raise t.fail("manifest_hash", i18n.t("trust.err.hash"))
    approval = Approval(
        manifest_hash=digest,
        manifest_id=str(t.raw("manifest_id")),
        version=t.integer("version"),
        approved_by=str(t.raw("approved_by")),
        approved_on=t.day("approved_on"),
        note=str(t.raw("note")),
    )
    t.done()
    return approval


def load_trust_store(directory: Path | str) -> TrustStore:
    directory = Path(directory)
    if not directory.is_dir():
        raise TrustStoreError(directory, None, i18n.t("trust.err.no_store"))
    authorities = tuple(_authority(t) for t in _entries(directory / AUTHORITIES_FILE, "authority"))
    approvals = tuple(_approval(t) for t in _entries(directory / APPROVED_FILE, "approved"))
    return TrustStore(authorities, approvals)


def _write(directory: Path, store: TrustStore) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    authorities = {
        "authority": [
            {"name": a.name, "key_id": a.key_id, "public_key": public_key_to_text(a.key)}
            for a in store.authorities
        ]
    }
    approvals = {
        "approved": [
            {
                "manifest_hash": a.manifest_hash,
                "manifest_id": a.manifest_id,
                "version": a.version,
                "approved_by": a.approved_by,
                "approved_on": a.approved_on,
                "note": a.note,
            }
            for a in store.approvals
        ]
    }
    atomic_write(directory / AUTHORITIES_FILE, tomli_w.dumps(authorities).encode("utf-8"))
    atomic_write(directory / APPROVED_FILE, tomli_w.dumps(approvals).encode("utf-8"))


def _load_or_empty(directory: Path) -> TrustStore:
    return load_trust_store(directory) if directory.is_dir() else TrustStore()


def add_authority(directory: Path | str, name: str, key: Ed25519PublicKey) -> Authority:
    """Trust `key` as a manifest authority (idempotent for the same key)."""
    directory = Path(directory)
    store = _load_or_empty(directory)
    kid = key_id(key)
    existing = store.authority(kid)
    if existing is not None:
        return existing
    authority = Authority(name, key, kid)
    _write(directory, TrustStore((*store.authorities, authority), store.approvals))
    return authority


def approve_manifest(
    directory: Path | str, signed: SignedManifest, approved_by: str, today: date, note: str = ""
) -> Approval:
    """Record the practice's approval of this exact manifest (by hash); it must verify first."""
    directory = Path(directory)
    store = _load_or_empty(directory)
    check_signature(signed, store.keys())
    manifest = signed.manifest
    digest = manifest.hash()
    existing = store.approval(digest)
    if existing is not None:
        return existing
    approval = Approval(digest, manifest.meta.id, manifest.meta.version, approved_by, today, note)
    _write(directory, TrustStore(store.authorities, (*store.approvals, approval)))
    return approval


def withdraw_approval(directory: Path | str, manifest_hash: str) -> Approval:
    """The practice's opt-out: forget its approval, so the agent joins no further rounds."""
    directory = Path(directory)
    store = load_trust_store(directory)
    approval = store.approval(manifest_hash)
    if approval is None:
        raise TrustStoreError(
            directory, None, i18n.t("trust.err.not_approved", digest=manifest_hash[:16])
        )
    remaining = tuple(a for a in store.approvals if a.manifest_hash != manifest_hash)
    _write(directory, TrustStore(store.authorities, remaining))
    return approval


def check_signature(signed: SignedManifest, keys: Mapping[str, Ed25519PublicKey]) -> str:
    """The key id that validly signed this manifest, or a typed refusal."""
    where = signed.path or "manifest"
    sig = signed.signature
    if sig is None:
        raise ManifestRefused(RefusalReason.UNSIGNED, f"{where} has no [signature] table")
    key = keys.get(sig.key_id)
    if key is None:
        raise ManifestRefused(
            RefusalReason.UNKNOWN_AUTHORITY,
            f"{where} is signed by key {sig.key_id}, which is not a trusted authority",
        )
    manifest = signed.manifest
    actual = manifest.hash()
    try:
        verify(key, manifest.signing_message(), sig.value, f"{where}: signature.value")
    except BadSignature:
        raise ManifestRefused(
            RefusalReason.TAMPERED,
            f"{where}: signature does not verify; the manifest was changed after signing "
            f"(its hash is now {actual[:16]}…, the signature names {sig.manifest_hash[:16]}…)",
        ) from None
    if sig.manifest_hash != actual:
        raise ManifestRefused(
            RefusalReason.TAMPERED,
            f"{where}: signature.manifest_hash was edited ({sig.manifest_hash[:16]}…, "
            f"content hash {actual[:16]}…)",
        )
    return sig.key_id


@dataclass(frozen=True)
class AcceptedManifest:
    """A manifest the agent may run rounds under, with everything it was checked against."""

    manifest: Manifest
    manifest_hash: str
    authority: Authority
    approval: Approval
    plan: PrivacyPlan


def check_manifest(
    signed: SignedManifest,
    store: TrustStore,
    installed: InstalledCatalogue,
    today: date,
) -> AcceptedManifest:
    """Every rule an agent applies before it joins a round under this manifest."""
    kid = check_signature(signed, store.keys())
    manifest = signed.manifest
    where = signed.path or f"manifest {manifest.meta.id} v{manifest.meta.version}"
    if today < manifest.meta.valid_from:
        raise ManifestRefused(
            RefusalReason.NOT_YET_VALID,
            f"{where} is valid from {manifest.meta.valid_from.isoformat()}, today is {today}",
        )
    if today > manifest.meta.valid_until:
        raise ManifestRefused(
            RefusalReason.EXPIRED,
            f"{where} expired on {manifest.meta.valid_until.isoformat()}, today is {today}",
        )
    digest = manifest.hash()
    approval = store.approval(digest)
    if approval is None:
        raise ManifestRefused(
            RefusalReason.UNAPPROVED,
            f"{where} (hash {digest[:16]}…) has not been approved by this practice",
        )
    problems = definition_mismatches(manifest, installed)
    if problems:
        raise ManifestRefused(RefusalReason.DEFINITION_MISMATCH, f"{where}: " + "; ".join(problems))
    authority = store.authority(kid)
    assert authority is not None
    return AcceptedManifest(
        manifest, digest, authority, approval, validate_plan(manifest, signed.path)
    )


def check_reference_date(
    accepted: AcceptedManifest, reference_date: date, scope: RoundScope = RoundScope.CLUSTER
) -> None:
    """Refuse a round whose reference date the signed schedule does not list.

    A region-wide round runs only on the dates the manifest's `[region_round]`
    lists: it is priced for those, and the yearly plan counts no others.
    """
    manifest = accepted.manifest
    if reference_date not in manifest.schedule.reference_dates:
        raise ManifestRefused(
            RefusalReason.OFF_SCHEDULE,
            f"reference date {reference_date.isoformat()} is not in the schedule of manifest "
            f"{manifest.meta.id} v{manifest.meta.version}",
        )
    if scope is RoundScope.REGION:
        region = manifest.region_round
        if region is None or reference_date not in region.reference_dates:
            listed = (
                "none"
                if region is None
                else ", ".join(d.isoformat() for d in region.reference_dates)
            )
            raise ManifestRefused(
                RefusalReason.OFF_SCHEDULE,
                f"reference date {reference_date.isoformat()} is not a region-wide round date of "
                f"manifest {manifest.meta.id} v{manifest.meta.version} (it lists {listed})",
            )
