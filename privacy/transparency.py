"""The public transparency log: an append-only hash chain of what the system did.

Each entry commits to the previous entry's hash, so anyone holding the file
can check it without trusting whoever stores it. Receipt entries carry the
agent's Ed25519 signature over its receipt, so the coordinator cannot invent
or alter a practice's receipt; release entries record the manifest hash, the
recipients and every suppressed cell.

What verification detects:
- an edited entry (its hash no longer matches its content);
- a deleted or inserted entry anywhere before the last (the chain and the
  sequence numbers break);
- reordered entries (same);
- a forged or altered signed entry (its signature fails);
- a truncated tail, *only* when a head (entry count and last hash) published
  or signed earlier is supplied: a log cut back to an earlier state is
  otherwise a valid log. Agents hold their own receipts, so a practice can
  also check that its receipt is still present.
It cannot detect a log rewritten wholesale from the first entry by whoever
holds it, unless a head published earlier is compared; publish heads
(for example in each release report) to close that gap.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from common.canonical import canonical_hash, domain_message
from privacy.errors import BadSignature, LogError, SignatureError
from privacy.receipts import (
    RECEIPT_DOMAIN,
    Receipt,
    ReceiptFormatError,
    SignedReceipt,
)
from privacy.signing import key_id, public_key_from_text, public_key_to_text, sign, verify

ENTRY_DOMAIN = "klynge-log-entry/1"
PAYLOAD_DOMAIN = "klynge-log-payload/1"
GENESIS = "0" * 64

# Kinds of entry and what their payload records (checklist item 7).
KINDS: dict[str, str] = {
    "manifest_published": "manifest id, version, hash, authority key id, approver, code version",
    "round_opened": "round id, cluster, reference date, manifest hash, participants, k, t, minimum",
    "receipt": "an agent's signed receipt: bytes sent (hash, size), round, manifest, ε, δ",
    "release": "aggregate, level, recipients, contributors, manifest hash, suppressed cells",
    "round_aborted": "round id and reason (e.g. too few survivors)",
    "note": "operator note (e.g. a restored ledger, a revoked key)",
}

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LogHead:
    """The state a verifier remembers or someone signs: entry count and the last entry's hash."""

    count: int
    head_hash: str


@dataclass(frozen=True)
class LogVerification:
    path: str
    entries: int
    head: LogHead
    kinds: Mapping[str, int]
    signed_entries: int


def entry_hash(entry: Mapping[str, Any]) -> str:
    return canonical_hash(ENTRY_DOMAIN, {k: v for k, v in entry.items() if k != "hash"})


def _payload_message(kind: str, payload: Mapping[str, Any]) -> bytes:
    if kind == "receipt":
        return domain_message(RECEIPT_DOMAIN, payload)
    return domain_message(PAYLOAD_DOMAIN, {"kind": kind, "payload": dict(payload)})


class TransparencyLog:
    """Appends to a JSON-lines log file; verifies the whole chain before every append."""

    def __init__(self, path: Path | str, *, clock: Clock = _utc_now):
        self.path = Path(path)
        self._clock = clock

    def append(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        signer: Ed25519PrivateKey | None = None,
    ) -> dict[str, Any]:
        if kind not in KINDS:
            raise LogError(self.path, f"unknown entry kind {kind!r}; use one of {', '.join(KINDS)}")
        signature = None
        if signer is not None:
            public = signer.public_key()
            signature = {
                "key_id": key_id(public),
                "public_key": public_key_to_text(public),
                "signature": sign(signer, _payload_message(kind, payload)),
            }
        return self._append(kind, dict(payload), signature)

    def append_receipt(self, signed: SignedReceipt) -> dict[str, Any]:
        """Publish an agent's signed receipt exactly as the agent signed it."""
        signature = {
            "key_id": signed.key_id,
            "public_key": signed.public_key,
            "signature": signed.signature,
        }
        return self._append("receipt", signed.receipt.document(), signature)

    def _append(
        self, kind: str, payload: dict[str, Any], signature: dict[str, str] | None
    ) -> dict[str, Any]:
        if self.path.exists():
            result = verify_log(self.path)
            seq, prev = result.entries, result.head.head_hash
        else:
            seq, prev = 0, GENESIS
        entry: dict[str, Any] = {
            "seq": seq,
            "prev": prev,
            "time": self._clock().isoformat(),
            "kind": kind,
            "payload": payload,
            "signer": signature,
        }
        if signature is not None:
            _check_signer(entry, self.path, seq + 1)
        entry["hash"] = entry_hash(entry)
        line = json.dumps(entry, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        return entry


def _check_signer(
    entry: Mapping[str, Any],
    path: Path,
    line: int,
    trusted: Mapping[str, Ed25519PublicKey] | None = None,
) -> None:
    signer = entry["signer"]
    if not isinstance(signer, Mapping) or set(signer) != {"key_id", "public_key", "signature"}:
        raise LogError(path, "signer must have key_id, public_key and signature", line=line)
    try:
        public = public_key_from_text(signer["public_key"], "signer.public_key")
    except SignatureError as exc:
        raise LogError(path, str(exc), line=line) from None
    if key_id(public) != signer["key_id"]:
        raise LogError(path, "signer.key_id does not match signer.public_key", line=line)
    if trusted is not None and signer["key_id"] not in trusted:
        raise LogError(path, f"signed by key {signer['key_id']}, which is not trusted", line=line)
    try:
        verify(
            public,
            _payload_message(entry["kind"], entry["payload"]),
            signer["signature"],
            "signature",
        )
    except BadSignature:
        raise LogError(
            path, f"{entry['kind']} signature does not verify (entry altered or forged)", line=line
        ) from None
    except SignatureError as exc:
        raise LogError(path, str(exc), line=line) from None


_FIELDS = {"seq", "prev", "time", "kind", "payload", "signer", "hash"}


def verify_log(
    path: Path | str,
    *,
    expected_head: LogHead | None = None,
    trusted_signers: Mapping[str, Ed25519PublicKey] | None = None,
) -> LogVerification:
    """Check the whole chain; raise LogError naming the first bad line and what is wrong."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise LogError(path, "log file not found") from None
    except UnicodeDecodeError:
        raise LogError(path, "not UTF-8 text") from None
    except OSError as exc:
        raise LogError(path, f"cannot read ({exc.strerror})") from None
    if text and not text.endswith("\n"):
        raise LogError(path, "last line is incomplete (an interrupted write or a cut file)")
    prev = GENESIS
    kinds: Counter[str] = Counter()
    signed = 0
    hashes: list[str] = []
    lines = text.split("\n")[:-1] if text else []
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LogError(path, f"not valid JSON ({exc.msg})", line=number) from None
        if not isinstance(entry, dict) or set(entry) != _FIELDS:
            raise LogError(path, "entry does not have the log's fields", line=number)
        if entry["seq"] != number - 1:
            raise LogError(
                path,
                f"sequence number {entry['seq']!r} where {number - 1} was expected "
                "(an entry was deleted, inserted or moved)",
                line=number,
            )
        if entry["prev"] != prev:
            raise LogError(
                path,
                "does not chain to the previous entry (deleted, inserted or moved)",
                line=number,
            )
        try:
            intact = entry["hash"] == entry_hash(entry)
        except ValueError as exc:
            raise LogError(path, f"entry cannot be hashed ({exc})", line=number) from None
        if not intact:
            raise LogError(path, "entry hash does not match its content (edited)", line=number)
        if entry["kind"] not in KINDS:
            raise LogError(path, f"unknown entry kind {entry['kind']!r}", line=number)
        if not isinstance(entry["payload"], dict):
            raise LogError(path, "payload must be an object", line=number)
        if entry["kind"] == "receipt":
            if entry["signer"] is None:
                raise LogError(path, "receipt entry is not signed by its agent", line=number)
            try:
                Receipt.from_document(entry["payload"])
            except ReceiptFormatError as exc:
                raise LogError(path, f"receipt is malformed ({exc})", line=number) from None
        if entry["signer"] is not None:
            _check_signer(entry, path, number, trusted_signers)
            signed += 1
        kinds[entry["kind"]] += 1
        prev = entry["hash"]
        hashes.append(prev)
    head = LogHead(len(hashes), prev)
    if expected_head is not None:
        if expected_head.count > len(hashes):
            raise LogError(
                path,
                f"log has {len(hashes)} entries but a head covering {expected_head.count} was "
                "published (the tail was truncated)",
            )
        if expected_head.count > 0 and hashes[expected_head.count - 1] != expected_head.head_hash:
            raise LogError(
                path,
                f"entry {expected_head.count} does not match the published head "
                "(the log was rewritten)",
            )
    return LogVerification(str(path), len(hashes), head, dict(kinds), signed)
