"""Receipts: what left the practice, to whom, under which manifest, at what privacy cost.

A receipt is written when the ledger is charged, before anything is sent.
It names the bytes that are sent by their SHA-256 and length (the masked
vector, which looks uniformly random, never the practice's values), so it
can be published in the transparency log. The agent signs it with its
Ed25519 identity key; anyone can then check that the log holds exactly the
receipts the practices signed.

A release without noise (kind none, verification only) costs ε = ∞. JSON and
the canonical encoding have no infinities, so an infinite ε is stored as the
string "inf" and read back as `math.inf`; nothing else is accepted there.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.atomic import atomic_write
from common.canonical import canonical_hash, domain_message
from common.formatting import epsilon as epsilon_text
from common.formatting import scientific
from common.i18n import Lang, register, t
from privacy.layout import RoundScope
from privacy.signing import key_id, public_key_from_text, public_key_to_text, sign, verify

RECEIPT_DOMAIN = "klynge-receipt/1"
COORDINATOR = "coordinator"
_REGION_RECIPIENT = f"{COORDINATOR}:region:"
INFINITE_EPSILON = "inf"
_EPSILON_FIELDS = ("epsilon", "year_epsilon_spent", "year_epsilon_budget")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class ReceiptFormatError(ValueError):
    """A stored receipt document lacks a field or has a wrong type (callers wrap it)."""


@dataclass(frozen=True)
class Receipt:
    practice_id: str
    round_id: str
    recipient: str
    manifest_id: str
    manifest_version: int
    manifest_hash: str
    reference_date: date
    budget_year: int
    mechanism: str
    parameters: Mapping[str, Any] = field(hash=False)
    payload_sha256: str
    payload_bytes: int
    coordinates: int
    epsilon: float
    delta: float
    year_epsilon_spent: float
    year_epsilon_budget: float
    year_delta: float
    charged_at: str

    def document(self) -> dict[str, Any]:
        return {
            "practice_id": self.practice_id,
            "round_id": self.round_id,
            "recipient": self.recipient,
            "manifest_id": self.manifest_id,
            "manifest_version": self.manifest_version,
            "manifest_hash": self.manifest_hash,
            "reference_date": self.reference_date.isoformat(),
            "budget_year": self.budget_year,
            "mechanism": self.mechanism,
            "parameters": dict(self.parameters),
            "payload_sha256": self.payload_sha256,
            "payload_bytes": self.payload_bytes,
            "coordinates": self.coordinates,
            "epsilon": _encode_epsilon(self.epsilon),
            "delta": self.delta,
            "year_epsilon_spent": _encode_epsilon(self.year_epsilon_spent),
            "year_epsilon_budget": _encode_epsilon(self.year_epsilon_budget),
            "year_delta": self.year_delta,
            "charged_at": self.charged_at,
        }

    @property
    def receipt_id(self) -> str:
        return canonical_hash(RECEIPT_DOMAIN, self.document())

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Receipt:
        if not isinstance(doc, Mapping):
            raise ReceiptFormatError("a receipt must be an object")
        expected = {
            "practice_id": str,
            "round_id": str,
            "recipient": str,
            "manifest_id": str,
            "manifest_version": int,
            "manifest_hash": str,
            "reference_date": str,
            "budget_year": int,
            "mechanism": str,
            "parameters": dict,
            "payload_sha256": str,
            "payload_bytes": int,
            "coordinates": int,
            "epsilon": float,
            "delta": float,
            "year_epsilon_spent": float,
            "year_epsilon_budget": float,
            "year_delta": float,
            "charged_at": str,
        }
        missing = [k for k in expected if k not in doc]
        if missing:
            raise ReceiptFormatError(f"receipt lacks {missing[0]}")
        extra = sorted(set(doc) - set(expected))
        if extra:
            raise ReceiptFormatError(f"receipt has unknown field {extra[0]}")
        values: dict[str, Any] = {}
        for key, kind in expected.items():
            value = doc[key]
            if key in _EPSILON_FIELDS and value == INFINITE_EPSILON:
                value = math.inf
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ReceiptFormatError(f"receipt field {key} must be {kind.__name__}")
            values[key] = value
        try:
            values["reference_date"] = date.fromisoformat(values["reference_date"])
        except ValueError:
            raise ReceiptFormatError("receipt field reference_date is not a date") from None
        return cls(**values)


def recipient_of(scope: RoundScope, unit: str) -> str:
    """Who receives a masked vector: the coordinator, for one cluster's or one region's sum."""
    if scope is RoundScope.REGION:
        return f"{_REGION_RECIPIENT}{unit}"
    return f"{COORDINATOR}:{unit}"


def recipient_scope(recipient: str) -> RoundScope:
    """The kind of round a receipt's recipient names (receipts carry no other scope field).

    Cluster ids cannot contain a colon, so "coordinator:region:…" is never a cluster.
    """
    return RoundScope.REGION if recipient.startswith(_REGION_RECIPIENT) else RoundScope.CLUSTER


def _encode_epsilon(value: float) -> float | str:
    if value == math.inf:
        return INFINITE_EPSILON
    if not math.isfinite(value):
        raise ValueError(f"ε must be finite or +∞, got {value!r}")
    return value


@dataclass(frozen=True)
class SignedReceipt:
    receipt: Receipt
    key_id: str
    public_key: str  # base64 raw Ed25519
    signature: str

    def document(self) -> dict[str, Any]:
        return {
            "receipt": self.receipt.document(),
            "signer": {"key_id": self.key_id, "public_key": self.public_key},
            "signature": self.signature,
        }


def sign_receipt(receipt: Receipt, key: Ed25519PrivateKey) -> SignedReceipt:
    public = key.public_key()
    message = domain_message(RECEIPT_DOMAIN, receipt.document())
    return SignedReceipt(receipt, key_id(public), public_key_to_text(public), sign(key, message))


def verify_receipt(signed: SignedReceipt, where: str = "receipt") -> None:
    """Raise SignatureError/BadSignature unless the embedded key signed this receipt."""
    public = public_key_from_text(signed.public_key, f"{where}: signer.public_key")
    message = domain_message(RECEIPT_DOMAIN, signed.receipt.document())
    verify(public, message, signed.signature, f"{where}: signature")


def write_receipt(directory: Path | str, receipt: Receipt | SignedReceipt) -> Path:
    """Store one receipt as pretty JSON (atomically) for the practice's own records."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    inner = receipt.receipt if isinstance(receipt, SignedReceipt) else receipt
    name = _SAFE_NAME.sub("_", f"receipt-{inner.reference_date.isoformat()}-{inner.round_id}")
    path = directory / f"{name}.json"
    text = json.dumps(receipt.document(), indent=2, sort_keys=True, ensure_ascii=False)
    atomic_write(path, (text + "\n").encode("utf-8"))
    return path


register(
    {
        "receipt.summary": {
            "da": (
                "Sendt til {recipient} i runde {round_id} (referencedato {reference_date}) under "
                "manifest {manifest_id} v{version}: {coordinates} maskerede værdier, {size} byte, "
                "SHA-256 {sha}…. Privatlivsomkostning ε = {epsilon} (δ = {delta}); brugt i "
                "{year}: ε = {spent} af {budget}."
            ),
            "en": (
                "Sent to {recipient} in round {round_id} (reference date {reference_date}) under "
                "manifest {manifest_id} v{version}: {coordinates} masked values, {size} bytes, "
                "SHA-256 {sha}…. Privacy cost ε = {epsilon} (δ = {delta}); spent in "
                "{year}: ε = {spent} of {budget}."
            ),
        },
        "receipt.no_dp": {
            "da": (
                "ADVARSEL: sendt UDEN differential privacy (ε = ∞); kun til verifikation med "
                "syntetiske data."
            ),
            "en": (
                "WARNING: sent WITHOUT differential privacy (ε = ∞); for verification with "
                "synthetic data only."
            ),
        },
    }
)


def describe(receipt: Receipt, lang: Lang | None = None) -> str:
    """One sentence for the practice: what left, to whom, and what it cost."""
    text = t(
        "receipt.summary",
        lang=lang,
        recipient=receipt.recipient,
        round_id=receipt.round_id,
        reference_date=receipt.reference_date.isoformat(),
        manifest_id=receipt.manifest_id,
        version=receipt.manifest_version,
        coordinates=receipt.coordinates,
        size=receipt.payload_bytes,
        sha=receipt.payload_sha256[:16],
        epsilon=format_epsilon(receipt.epsilon, lang),
        delta=scientific(receipt.delta, lang),
        year=receipt.budget_year,
        spent=format_epsilon(receipt.year_epsilon_spent, lang),
        budget=format_epsilon(receipt.year_epsilon_budget, lang),
    )
    if math.isinf(receipt.epsilon):
        text += " " + t("receipt.no_dp", lang=lang)
    return text


def format_epsilon(value: float, lang: Lang | None = None) -> str:
    """ε for people: three decimals in the reader's language (0,994; 0.994), or ∞ without DP.

    >>> format_epsilon(0.99412, "da"), format_epsilon(0.99412, "en"), format_epsilon(math.inf)
    ('0,994', '0.994', '∞')
    """
    return epsilon_text(value, lang, decimals=3)
