"""The practice registry: which practices exist and which identity key each holds.

Why: a coordinator that can invent participants (Sybils) could surround one
practice with fake neighbours and unmask it. Agents therefore accept only
participants listed, with the same identity key, in a registry signed by an
authority key they trust (configured locally, never received from the
coordinator).

Format: one UTF-8 JSON document plus a detached signature (see
`signed_document`; `transport.signed_files` reads and writes the files).
Parsing is strict: unknown or duplicated keys, duplicate practices or
duplicate identity keys are errors naming the field.

    {
      "format": "klynge-practice-registry",
      "version": 1,
      "issuer": "Region ...",
      "issued": "2025-01-31",
      "practices": [
        {"practice_id": "012345", "name": "...", "cluster": "K01",
         "region": "Midtjylland", "identity_key": "<64 hex characters>"}
      ]
    }
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from common import boundedjson
from protocols.errors import IdentityKeyError, RegistryError
from protocols.identity import IdentityKey, public_key_from_hex
from protocols.signed_document import verify_document
from protocols.texts import reason

FORMAT = "klynge-practice-registry"
_MAX_BYTES = 64 * 1024 * 1024  # about 250 bytes a practice
VERSION = 1
SIGNATURE_DOMAIN = b"klynge/practice-registry/v1"
PRACTICE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")

_TOP_KEYS = {"format", "version", "issuer", "issued", "practices"}
_ENTRY_REQUIRED = {"practice_id", "identity_key"}
_ENTRY_OPTIONAL = {"name", "cluster", "region"}


@dataclass(frozen=True)
class RegistryEntry:
    practice_id: str
    identity_key: bytes
    name: str = ""
    cluster: str = ""
    # Which region's region-wide round the practice belongs to; "" in registries that predate
    # region-wide rounds (and then it takes part in none). Written only when set, so such a
    # registry encodes as before.
    region: str = ""


@dataclass(frozen=True)
class PracticeRegistry:
    issuer: str
    issued: dt.date
    entries: tuple[RegistryEntry, ...]
    _by_id: dict[str, bytes] = field(init=False, repr=False, compare=False)
    _entries: dict[str, RegistryEntry] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_id: dict[str, bytes] = {}
        owners: dict[bytes, str] = {}
        for entry in self.entries:
            if entry.practice_id in by_id:
                raise ValueError(reason("listed_twice", practice_id=entry.practice_id))
            if entry.identity_key in owners:
                raise ValueError(reason("shared_key", practice_id=owners[entry.identity_key]))
            by_id[entry.practice_id] = entry.identity_key
            owners[entry.identity_key] = entry.practice_id
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_entries", {e.practice_id: e for e in self.entries})

    def identity_key(self, practice_id: str) -> bytes | None:
        return self._by_id.get(practice_id)

    def entry(self, practice_id: str) -> RegistryEntry | None:
        return self._entries.get(practice_id)

    def __contains__(self, practice_id: object) -> bool:
        return practice_id in self._by_id

    def __len__(self) -> int:
        return len(self.entries)


def encode_registry(registry: PracticeRegistry) -> bytes:
    """Canonical JSON (sorted keys, entries sorted by practice id)."""
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "issuer": registry.issuer,
        "issued": registry.issued.isoformat(),
        "practices": [
            {
                "practice_id": e.practice_id,
                "name": e.name,
                "cluster": e.cluster,
                **({"region": e.region} if e.region else {}),
                "identity_key": e.identity_key.hex(),
            }
            for e in sorted(registry.entries, key=lambda e: e.practice_id)
        ],
    }
    return (json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode()


def parse_registry(data: bytes, *, source: str) -> PracticeRegistry:
    """A registry from JSON bytes. Call only on bytes whose signature was verified."""

    def fail(where: str, reason: str) -> RegistryError:
        return RegistryError(source, where, reason)

    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise fail("document", reason("not_utf8")) from None
    try:  # duplicated keys are refused too
        doc = boundedjson.loads(data, source=source, max_bytes=_MAX_BYTES, max_depth=4)
    except boundedjson.BoundedJsonError as exc:
        raise fail("document", reason("not_json", detail=exc.reason)) from None
    if not isinstance(doc, dict):
        raise fail("document", reason("not_object"))
    if set(doc) != _TOP_KEYS:
        missing, extra = _TOP_KEYS - set(doc), set(doc) - _TOP_KEYS
        raise fail(
            "document", reason("keys_mismatch", missing=sorted(missing), unknown=sorted(extra))
        )
    if doc["format"] != FORMAT:
        raise fail("format", reason("expected_value", expected=repr(FORMAT)))
    if doc["version"] != VERSION or isinstance(doc["version"], bool):
        raise fail("version", reason("unsupported_version", version=repr(doc["version"])))
    if not isinstance(doc["issuer"], str) or not doc["issuer"].strip():
        raise fail("issuer", reason("non_empty_text"))
    try:
        issued = dt.date.fromisoformat(doc["issued"])
    except (TypeError, ValueError):
        raise fail("issued", reason("date")) from None
    if not isinstance(doc["practices"], list):
        raise fail("practices", reason("list"))
    entries = []
    seen_ids: set[str] = set()
    seen_keys: dict[bytes, str] = {}
    for i, item in enumerate(doc["practices"]):
        where = f"practices[{i}]"
        if not isinstance(item, dict):
            raise fail(where, reason("not_object"))
        keys = set(item)
        if not keys >= _ENTRY_REQUIRED or not keys <= _ENTRY_REQUIRED | _ENTRY_OPTIONAL:
            raise fail(
                where,
                reason(
                    "entry_keys", required=sorted(_ENTRY_REQUIRED), optional=sorted(_ENTRY_OPTIONAL)
                ),
            )
        pid = item["practice_id"]
        if not isinstance(pid, str) or not PRACTICE_ID.fullmatch(pid):
            raise fail(where + ".practice_id", reason("practice_id_format"))
        if pid in seen_ids:
            raise fail(where + ".practice_id", reason("listed_twice", practice_id=pid))
        for opt in _ENTRY_OPTIONAL:
            if not isinstance(item.get(opt, ""), str):
                raise fail(f"{where}.{opt}", reason("text"))
        if not isinstance(item["identity_key"], str):
            raise fail(where + ".identity_key", reason("text"))
        try:
            key = public_key_from_hex(item["identity_key"], source=source)
        except IdentityKeyError as exc:
            raise fail(where + ".identity_key", str(exc.fields["reason"])) from None
        if key in seen_keys:
            raise fail(where + ".identity_key", reason("shared_key", practice_id=seen_keys[key]))
        seen_ids.add(pid)
        seen_keys[key] = pid
        entries.append(
            RegistryEntry(
                pid, key, item.get("name", ""), item.get("cluster", ""), item.get("region", "")
            )
        )
    return PracticeRegistry(doc["issuer"], issued, tuple(entries))


def verify_registry(
    data: bytes, signature: bytes, authority_key: bytes, *, source: str
) -> PracticeRegistry:
    """A registry from in-memory bytes and signature (the transport's path)."""
    verify_document(data, signature, authority_key, SIGNATURE_DOMAIN, source=source)
    return parse_registry(data, source=source)


def sign_registry(registry: PracticeRegistry, authority: IdentityKey) -> tuple[bytes, bytes]:
    """(canonical bytes, detached signature) for distribution."""
    data = encode_registry(registry)
    return data, authority.sign(SIGNATURE_DOMAIN, data)


def make_registry(
    entries: Iterable[RegistryEntry], issuer: str, issued: dt.date
) -> PracticeRegistry:
    """Build a registry in memory, with the same checks the parser applies."""
    try:
        return PracticeRegistry(issuer, issued, tuple(sorted(entries, key=lambda e: e.practice_id)))
    except ValueError as exc:
        raise RegistryError("<memory>", "practices", str(exc)) from None
