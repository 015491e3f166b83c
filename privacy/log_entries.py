"""What the transparency log holds: entry kinds and payloads, practices' signed statements,
and the coordinator's signed tree heads.

One definition, used by the coordinator that appends, the agents that check
proofs and the reviewer who verifies the whole file, so the three cannot read
an entry differently. An entry's leaf is the domain-separated canonical JSON
of the entry (`LEAF_DOMAIN`), never the bytes of a file line, so whitespace
or key order in the file changes no hash.

Two kinds are signed by a practice with its Ed25519 identity key (the key in
the signed registry): its receipts and its manifest approvals. The
coordinator cannot invent or alter them; it can only leave them out, and the
practice notices at its next round (`privacy.log_proofs`). Every other kind
is the coordinator's own statement, vouched for by its signature on the tree
head that covers it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from common.canonical import canonical_hash, domain_message
from privacy.errors import BadSignature, SignatureError
from privacy.merkle import leaf_hash
from privacy.receipts import RECEIPT_DOMAIN, Receipt, ReceiptFormatError, SignedReceipt
from privacy.signing import key_id, public_key_from_text, public_key_to_text, sign, verify

LEAF_DOMAIN = "klynge-log-entry/2"
HEAD_DOMAIN = "klynge-log-head/1"
APPROVAL_DOMAIN = "klynge-approval/1"
RELEASE_DOCUMENT_DOMAIN = "klynge-release-document/1"
_HEX64 = re.compile(r"[0-9a-f]{64}")
_KEY_ID = re.compile(r"[0-9a-f]{16}")


class EntryError(ValueError):
    """An entry, statement or tree head that is malformed or whose signature fails."""


class Kind(StrEnum):
    MANIFEST = "manifest"
    APPROVAL = "approval"
    ROUND_OPENED = "round_opened"
    RECEIPT = "receipt"
    RELEASE = "release"
    ROUND_ABORTED = "round_aborted"
    FETCH_REFUSED = "fetch_refused"


# Signed by a practice (statement domain per kind); every other kind is the coordinator's.
PRACTICE_SIGNED: dict[str, str] = {Kind.RECEIPT: RECEIPT_DOMAIN, Kind.APPROVAL: APPROVAL_DOMAIN}


# --- payload schemas -------------------------------------------------------------------------

Check = Callable[[Any], bool]


def _is_str(v: Any) -> bool:
    return isinstance(v, str) and 0 < len(v) <= 2000


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def _is_hex64(v: Any) -> bool:
    return isinstance(v, str) and _HEX64.fullmatch(v) is not None


def _is_date(v: Any) -> bool:
    if not isinstance(v, str):
        return False
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return True


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(_is_str(x) for x in v)


_SUPPRESSED = {"indicator": _is_str, "stratum": _is_str, "cell": _is_str, "reason": _is_str}


def _is_suppressed_list(v: Any) -> bool:
    return isinstance(v, list) and all(
        isinstance(x, dict) and set(x) == set(_SUPPRESSED) and all(_SUPPRESSED[k](x[k]) for k in x)
        for x in v
    )


SCHEMAS: dict[str, dict[str, Check]] = {
    Kind.MANIFEST: {
        "manifest_id": _is_str,
        "version": _is_int,
        "manifest_hash": _is_hex64,
        "authority_key_id": _is_str,
        "valid_from": _is_date,
        "valid_until": _is_date,
        "code_version": _is_str,
    },
    Kind.APPROVAL: {
        "practice_id": _is_str,
        "manifest_id": _is_str,
        "version": _is_int,
        "manifest_hash": _is_hex64,
        "approved_on": _is_date,
    },
    Kind.ROUND_OPENED: {
        "round_id": _is_str,
        "cluster": _is_str,
        "reference_date": _is_date,
        "manifest_hash": _is_hex64,
        "participants": _is_str_list,
        "k": _is_int,
        "t": _is_int,
        "minimum": _is_int,
        "attempt": _is_int,
        "code_version": _is_str,
    },
    Kind.RELEASE: {
        "release_id": _is_int,
        "aggregate": _is_str,
        "level": _is_str,
        "reference_date": _is_date,
        "round_ids": _is_str_list,
        "contributors": _is_int,
        "manifest_hash": _is_hex64,
        "recipients": _is_str_list,
        "suppressed": _is_suppressed_list,
    },
    Kind.ROUND_ABORTED: {
        "round_id": _is_str,
        "cluster": _is_str,
        "reference_date": _is_date,
        "manifest_hash": _is_hex64,
        "reason": _is_str,
        "attempt": _is_int,
        "retry": _is_bool,
    },
    # A Fetch the coordinator refused because the caller asked beyond what the manifest
    # declares for it (a partner outside the manifest, or more than its grant): who (the
    # certificate's identity URI), why (a reason code), and what was asked, in words.
    Kind.FETCH_REFUSED: {
        "identity": _is_str,
        "reason": _is_str,
        "asked": _is_str,
        "manifest_hash": _is_hex64,
    },
}


def _is_scope(v: Any) -> bool:
    return isinstance(v, str) and v == "region"


def _region_wide(schema: dict[str, Check]) -> dict[str, Check]:
    """The same entry for a region-wide round: its unit is a region, not a cluster."""
    fields = {k: v for k, v in schema.items() if k != "cluster"}
    return {**fields, "scope": _is_scope, "region": _is_str}


# A region-wide round (docs/privacy.md) names its region where a cluster round names its
# cluster, and says so with "scope": "region"; its release says the same.
REGION_SCHEMAS: dict[str, dict[str, Check]] = {
    Kind.ROUND_OPENED: _region_wide(SCHEMAS[Kind.ROUND_OPENED]),
    Kind.ROUND_ABORTED: _region_wide(SCHEMAS[Kind.ROUND_ABORTED]),
    Kind.RELEASE: {**SCHEMAS[Kind.RELEASE], "scope": _is_scope},
}


# Fields an entry may carry or leave out: a RELEASE made before releases were bound to their
# content has no `document_sha256`; one made since has it (`release_document_sha256`).
OPTIONAL: dict[str, dict[str, Check]] = {Kind.RELEASE: {"document_sha256": _is_hex64}}


def release_document_sha256(document: Mapping[str, Any]) -> str:
    """The content hash a RELEASE entry binds: SHA-256 of the release document's canonical JSON.

    Computed over the published JSON (what agents fetch and a region publishes),
    so anyone holding the document and the entry's inclusion proof can check
    that the log recorded exactly this content.

    >>> len(release_document_sha256({"release_id": 1, "level": "region"}))
    64
    """
    return canonical_hash(RELEASE_DOCUMENT_DOMAIN, document)


def round_unit(payload: Mapping[str, Any]) -> tuple[str, str]:
    """(scope, unit) of a round-opened or round-aborted payload: ("cluster", id) or
    ("region", name)."""
    if payload.get("scope") == "region":
        return "region", str(payload["region"])
    return "cluster", str(payload["cluster"])


def check_payload(kind: str, payload: Any) -> None:
    """Raise EntryError unless `payload` has exactly the fields of `kind`, each well typed."""
    if kind not in set(Kind):
        raise EntryError(f"unknown entry kind {kind!r}")
    if not isinstance(payload, dict):
        raise EntryError(f"{kind} payload must be an object")
    if kind == Kind.RECEIPT:
        try:
            Receipt.from_document(payload)
        except ReceiptFormatError as exc:
            raise EntryError(f"receipt is malformed ({exc})") from None
        return
    schema = SCHEMAS[kind]
    if "scope" in payload and kind in REGION_SCHEMAS:
        schema = REGION_SCHEMAS[kind]
    optional = {k: v for k, v in OPTIONAL.get(kind, {}).items() if k in payload}
    schema = {**schema, **optional}
    missing = sorted(set(schema) - set(payload))
    if missing:
        raise EntryError(f"{kind} payload lacks {missing[0]}")
    extra = sorted(set(payload) - set(schema))
    if extra:
        raise EntryError(f"{kind} payload has unknown field {extra[0]}")
    for name, check in schema.items():
        if not check(payload[name]):
            raise EntryError(f"{kind} payload field {name} is malformed")


# --- signed statements ---------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    """Who signed a statement: the key (base64 raw Ed25519), its id, and the signature."""

    key_id: str
    public_key: str
    signature: str

    def document(self) -> dict[str, str]:
        return {"key_id": self.key_id, "public_key": self.public_key, "signature": self.signature}

    @classmethod
    def from_document(cls, doc: Any) -> Signer:
        if not isinstance(doc, dict) or set(doc) != {"key_id", "public_key", "signature"}:
            raise EntryError("signer must have exactly key_id, public_key and signature")
        if not all(isinstance(doc[k], str) for k in doc):
            raise EntryError("signer fields must be text")
        return cls(doc["key_id"], doc["public_key"], doc["signature"])

    def key(self) -> Ed25519PublicKey:
        try:
            public = public_key_from_text(self.public_key, "signer.public_key")
        except SignatureError as exc:
            raise EntryError(str(exc)) from None
        if key_id(public) != self.key_id:
            raise EntryError("signer.key_id does not match signer.public_key")
        return public


@dataclass(frozen=True)
class Statement:
    """A practice's signed receipt or approval, exactly as the practice signed it."""

    kind: str
    payload: Mapping[str, Any]
    signer: Signer

    @property
    def practice_id(self) -> str:
        return str(self.payload["practice_id"])

    def verify(self, identity: Ed25519PublicKey | None = None) -> None:
        """Raise EntryError unless the payload is well formed and its signer signed it
        (and, given `identity`, the signer is that key)."""
        if self.kind not in PRACTICE_SIGNED:
            raise EntryError(f"{self.kind} is not a statement a practice signs")
        check_payload(self.kind, self.payload)
        public = self.signer.key()
        if identity is not None and key_id(identity) != self.signer.key_id:
            raise EntryError(
                f"{self.kind} of practice {self.practice_id} is signed by key "
                f"{self.signer.key_id}, not by the practice's registered identity key"
            )
        try:
            verify(
                public,
                domain_message(PRACTICE_SIGNED[self.kind], self.payload),
                self.signer.signature,
                "signature",
            )
        except BadSignature:
            raise EntryError(
                f"{self.kind} signature does not verify (statement altered or forged)"
            ) from None
        except SignatureError as exc:
            raise EntryError(str(exc)) from None

    def document(self) -> dict[str, Any]:
        return {"kind": self.kind, "payload": dict(self.payload), "signer": self.signer.document()}

    @classmethod
    def from_document(cls, doc: Any) -> Statement:
        if not isinstance(doc, dict) or set(doc) != {"kind", "payload", "signer"}:
            raise EntryError("a statement has exactly kind, payload and signer")
        if not isinstance(doc["kind"], str) or not isinstance(doc["payload"], dict):
            raise EntryError("statement kind must be text and payload an object")
        return cls(doc["kind"], doc["payload"], Signer.from_document(doc["signer"]))

    @classmethod
    def from_receipt(cls, signed: SignedReceipt) -> Statement:
        return cls(
            Kind.RECEIPT,
            signed.receipt.document(),
            Signer(signed.key_id, signed.public_key, signed.signature),
        )

    def receipt(self) -> SignedReceipt:
        if self.kind != Kind.RECEIPT:
            raise EntryError(f"a {self.kind} is not a receipt")
        return SignedReceipt(
            Receipt.from_document(self.payload),
            self.signer.key_id,
            self.signer.public_key,
            self.signer.signature,
        )


def sign_statement(kind: str, payload: Mapping[str, Any], key: Ed25519PrivateKey) -> Statement:
    public = key.public_key()
    signature = sign(key, domain_message(PRACTICE_SIGNED[kind], payload))
    return Statement(
        kind, dict(payload), Signer(key_id(public), public_key_to_text(public), signature)
    )


def approval_payload(
    practice_id: str, manifest_id: str, version: int, manifest_hash: str, approved_on: date
) -> dict[str, Any]:
    """What a practice publishes on approving a manifest (no person's name: the log is public)."""
    return {
        "practice_id": practice_id,
        "manifest_id": manifest_id,
        "version": version,
        "manifest_hash": manifest_hash,
        "approved_on": approved_on.isoformat(),
    }


# --- entries ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogEntry:
    """One leaf of the log."""

    index: int
    kind: str
    time: str
    payload: Mapping[str, Any]
    signer: Signer | None

    def document(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "time": self.time,
            "payload": dict(self.payload),
            "signer": None if self.signer is None else self.signer.document(),
        }

    def leaf_hash(self) -> bytes:
        return leaf_hash(domain_message(LEAF_DOMAIN, self.document()))

    def statement(self) -> Statement | None:
        """The practice's signed statement this entry carries, if it is one."""
        if self.signer is None:
            return None
        return Statement(self.kind, self.payload, self.signer)

    @classmethod
    def from_document(cls, doc: Any) -> LogEntry:
        """Parse and check one entry: fields, payload schema, and a practice's signature."""
        if not isinstance(doc, dict) or set(doc) != {"index", "kind", "time", "payload", "signer"}:
            raise EntryError("entry does not have exactly index, kind, time, payload and signer")
        index, kind, time = doc["index"], doc["kind"], doc["time"]
        if not _is_int(index):
            raise EntryError("entry index must be a non-negative integer")
        if not isinstance(kind, str):
            raise EntryError("entry kind must be text")
        if not isinstance(time, str) or not _is_timestamp(time):
            raise EntryError("entry time must be an ISO timestamp")
        check_payload(kind, doc["payload"])
        signer = None if doc["signer"] is None else Signer.from_document(doc["signer"])
        if (signer is not None) != (kind in PRACTICE_SIGNED):
            raise EntryError(
                f"a {kind} entry must be signed by its practice"
                if kind in PRACTICE_SIGNED
                else f"a {kind} entry is the coordinator's and carries no practice signature"
            )
        entry = cls(index, kind, time, doc["payload"], signer)
        statement = entry.statement()
        if statement is not None:
            statement.verify()
        return entry


def _is_timestamp(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


# --- tree heads --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeHead:
    """A signed tree head (RFC 9162 §4.10, in JSON): the log's size and root, signed by its key."""

    tree_size: int
    root: str  # hex
    time: str
    key_id: str
    public_key: str  # base64 raw Ed25519, so a verifier can name the key it was shown
    signature: str

    def signed_document(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root": self.root,
            "time": self.time,
            "key_id": self.key_id,
        }

    def document(self) -> dict[str, Any]:
        return {
            **self.signed_document(),
            "public_key": self.public_key,
            "signature": self.signature,
        }

    @property
    def root_bytes(self) -> bytes:
        return bytes.fromhex(self.root)

    @property
    def short(self) -> str:
        """How people quote a head: size and the root's first 16 hex digits."""
        return f"{self.tree_size}:{self.root[:16]}"

    def verify(self, key: Ed25519PublicKey | None = None) -> None:
        """Raise EntryError unless the head's signature verifies (under `key`, if given)."""
        try:
            public = public_key_from_text(self.public_key, "head.public_key")
        except SignatureError as exc:
            raise EntryError(str(exc)) from None
        if key_id(public) != self.key_id:
            raise EntryError("head key_id does not match its public key")
        if key is not None and key_id(key) != self.key_id:
            raise EntryError(
                f"tree head is signed by key {self.key_id}, not by the log key {key_id(key)}"
            )
        try:
            verify(
                public, domain_message(HEAD_DOMAIN, self.signed_document()), self.signature, "head"
            )
        except BadSignature:
            raise EntryError("tree head signature does not verify") from None
        except SignatureError as exc:
            raise EntryError(str(exc)) from None

    @classmethod
    def from_document(cls, doc: Any) -> TreeHead:
        fields = {"tree_size", "root", "time", "key_id", "public_key", "signature"}
        if not isinstance(doc, dict) or set(doc) != fields:
            raise EntryError(f"a tree head has exactly {', '.join(sorted(fields))}")
        if not _is_int(doc["tree_size"]) or not _is_hex64(doc["root"]):
            raise EntryError("tree head size or root is malformed")
        if not isinstance(doc["key_id"], str) or not _KEY_ID.fullmatch(doc["key_id"]):
            raise EntryError("tree head key_id is malformed")
        for name in ("time", "public_key", "signature"):
            if not isinstance(doc[name], str):
                raise EntryError(f"tree head {name} must be text")
        return cls(
            doc["tree_size"],
            doc["root"],
            doc["time"],
            doc["key_id"],
            doc["public_key"],
            doc["signature"],
        )


def sign_head(key: Ed25519PrivateKey, tree_size: int, root: bytes, time: str) -> TreeHead:
    public = key.public_key()
    unsigned = TreeHead(tree_size, root.hex(), time, key_id(public), public_key_to_text(public), "")
    signature = sign(key, domain_message(HEAD_DOMAIN, unsigned.signed_document()))
    return TreeHead(tree_size, root.hex(), time, unsigned.key_id, unsigned.public_key, signature)
