"""How a practice reads the transparency log without trusting the coordinator that keeps it.

A practice asks the coordinator (over its mTLS Fetch call) for a *view*: the
current signed tree head, a consistency proof from the last head the practice
saw, every statement the practice ever signed (receipts, approvals) with an
inclusion proof, and the entry that ended each round the practice was asked to
join or holds a receipt of (its release or its abort) with an inclusion proof.
`verify_view` checks all of it against the log key and the practice's own
identity key. What passes is true
of the one append-only history every other practice and the reviewer see
(RFC 9162's guarantees), so the practice can act on it:

- its ledger must hold every receipt the log holds (a restored or re-created
  ledger misses some: `privacy.ledger` refuses to charge);
- the log must hold every receipt the ledger says was sent (the coordinator
  cannot hide a charge);
- a round is proven aborted only by an abort entry in the log, which is what
  allows one retry of its period (docs/privacy.md, "Aborted periods").

The request and view documents are JSON in Fetch bodies, parsed here with a
size limit into typed values; anything else is refused with a reason.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from privacy.errors import LogError
from privacy.log_entries import (
    PRACTICE_SIGNED,
    EntryError,
    Kind,
    LogEntry,
    Statement,
    TreeHead,
)
from privacy.merkle import HASH_BYTES, ProofError, verify_consistency, verify_inclusion
from privacy.receipts import SignedReceipt
from privacy.transparency import Checkpoint, TransparencyLog

MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_PROOF_HASHES = 64  # a tree of 2^64 leaves needs fewer
LOG_MEDIA_TYPE = "application/vnd.klynge.log-view+json"
# The Fetch scopes of the log: ask for a view; publish a signed statement, then get a view.
FETCH_LOG_VIEW = "log-view"
FETCH_LOG_PUBLISH = "log-publish"


class ViewError(LogError):
    """A log view or request that is malformed, or a proof that does not verify."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


# --- requests ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewRequest:
    """Show me my statements and my rounds' outcomes, and prove you extend the head I saw."""

    since: Checkpoint | None

    def to_bytes(self) -> bytes:
        return _dump({"since": _checkpoint_doc(self.since)})

    @classmethod
    def from_bytes(cls, body: bytes) -> ViewRequest:
        doc = _load(body, {"since"})
        return cls(_checkpoint(doc["since"]))


@dataclass(frozen=True)
class PublishRequest:
    """Append my signed statement (idempotent), then show me my view as `ViewRequest` does."""

    statement: Statement
    since: Checkpoint | None

    def to_bytes(self) -> bytes:
        return _dump({"statement": self.statement.document(), "since": _checkpoint_doc(self.since)})

    @classmethod
    def from_bytes(cls, body: bytes) -> PublishRequest:
        doc = _load(body, {"statement", "since"})
        try:
            statement = Statement.from_document(doc["statement"])
        except EntryError as exc:
            raise ViewError(f"statement: {exc}") from None
        return cls(statement, _checkpoint(doc["since"]))


# --- the view ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProvenEntry:
    entry: LogEntry
    proof: tuple[bytes, ...]

    def document(self) -> dict[str, Any]:
        return {"entry": self.entry.document(), "proof": [p.hex() for p in self.proof]}

    @classmethod
    def from_document(cls, doc: Any) -> ProvenEntry:
        if not isinstance(doc, dict) or set(doc) != {"entry", "proof"}:
            raise ViewError("a proven entry has exactly entry and proof")
        try:
            entry = LogEntry.from_document(doc["entry"])
        except EntryError as exc:
            raise ViewError(f"entry: {exc}") from None
        return cls(entry, _hashes(doc["proof"], "proof"))


@dataclass(frozen=True)
class LogView:
    head: TreeHead
    consistency: tuple[bytes, ...]
    statements: tuple[ProvenEntry, ...]
    outcomes: tuple[ProvenEntry, ...]

    def to_bytes(self) -> bytes:
        return _dump(
            {
                "head": self.head.document(),
                "consistency": [p.hex() for p in self.consistency],
                "statements": [s.document() for s in self.statements],
                "outcomes": [o.document() for o in self.outcomes],
            }
        )

    @classmethod
    def from_bytes(cls, body: bytes) -> LogView:
        doc = _load(body, {"head", "consistency", "statements", "outcomes"})
        try:
            head = TreeHead.from_document(doc["head"])
        except EntryError as exc:
            raise ViewError(f"head: {exc}") from None
        lists = []
        for name in ("statements", "outcomes"):
            if not isinstance(doc[name], list):
                raise ViewError(f"{name} must be a list")
            lists.append(tuple(ProvenEntry.from_document(d) for d in doc[name]))
        return cls(head, _hashes(doc["consistency"], "consistency"), lists[0], lists[1])


def build_view(log: TransparencyLog, practice_id: str, since: Checkpoint | None) -> LogView:
    """The coordinator's answer: everything a practice needs to check, proven against one head."""
    head = log.head()
    size = head.tree_size
    consistency: list[bytes] = []
    if since is not None:
        if since.tree_size > size:
            raise ViewError(
                f"you saw a head of {since.tree_size} entries; this log has {size} "
                "(it was cut back or replaced)"
            )
        consistency = log.consistency_proof(since.tree_size, size)
    statements = [e for e in log.statements_of(practice_id) if e.index < size]
    # The rounds it was asked to join (it may have been charged in one whose receipt never
    # reached the log) and those its receipts name.
    rounds = {str(e.payload["round_id"]) for e in statements if e.kind == Kind.RECEIPT}
    rounds.update(log.rounds_of(practice_id))
    outcomes = sorted(
        {
            o.index: o for r in rounds if (o := log.outcome_of(r)) is not None and o.index < size
        }.values(),
        key=lambda e: e.index,
    )
    return LogView(
        head,
        tuple(consistency),
        tuple(ProvenEntry(e, tuple(log.inclusion_proof(e.index, size))) for e in statements),
        tuple(ProvenEntry(e, tuple(log.inclusion_proof(e.index, size))) for e in outcomes),
    )


# --- what the practice checks ---------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedView:
    """A view whose every claim was checked; safe to act on."""

    head: TreeHead
    statements: tuple[LogEntry, ...]
    outcomes: Mapping[str, LogEntry]  # round id -> the entry that ended it

    @property
    def checkpoint(self) -> Checkpoint:
        return Checkpoint(self.head.tree_size, self.head.root)

    def receipts(self) -> list[SignedReceipt]:
        return [
            s.receipt() for e in self.statements if (s := e.statement()) and e.kind == "receipt"
        ]

    def approved(self) -> frozenset[str]:
        """Hashes of the manifests this practice's approvals in the log name."""
        return frozenset(
            str(e.payload["manifest_hash"]) for e in self.statements if e.kind == Kind.APPROVAL
        )

    def aborted_rounds(self) -> frozenset[str]:
        return frozenset(r for r, e in self.outcomes.items() if e.kind == Kind.ROUND_ABORTED)

    def released_rounds(self) -> frozenset[str]:
        return frozenset(r for r, e in self.outcomes.items() if e.kind == Kind.RELEASE)


def verify_view(
    view: LogView,
    *,
    log_key: Ed25519PublicKey,
    since: Checkpoint | None,
    practice_id: str,
    identity: Ed25519PublicKey,
) -> VerifiedView:
    """Raise ViewError unless every part of `view` is proven; see the module docstring."""
    head = view.head
    try:
        head.verify(log_key)
    except EntryError as exc:
        raise ViewError(str(exc)) from None
    root = head.root_bytes
    if since is not None:
        try:
            verify_consistency(
                since.tree_size, head.tree_size, bytes.fromhex(since.root), root, view.consistency
            )
        except ProofError as exc:
            raise ViewError(
                f"the log's head {head.short} does not extend the head "
                f"{since.tree_size}:{since.root[:16]} this practice saw before: {exc}"
            ) from None
    statements = []
    last = -1
    for proven in view.statements:
        entry = proven.entry
        statement = entry.statement()
        if statement is None or entry.kind not in PRACTICE_SIGNED:
            raise ViewError(f"entry {entry.index} is not a statement a practice signs")
        if statement.practice_id != practice_id:
            raise ViewError(f"entry {entry.index} is practice {statement.practice_id}'s, not ours")
        try:
            statement.verify(identity)
        except EntryError as exc:
            raise ViewError(f"entry {entry.index}: {exc}") from None
        if entry.index <= last:
            raise ViewError("statements are not in log order")
        last = entry.index
        _check_included(proven, head)
        statements.append(entry)
    outcomes: dict[str, LogEntry] = {}
    for proven in view.outcomes:
        entry = proven.entry
        _check_included(proven, head)
        if entry.kind == Kind.ROUND_ABORTED:
            outcomes[str(entry.payload["round_id"])] = entry
        elif entry.kind == Kind.RELEASE:
            for round_id in entry.payload["round_ids"]:
                outcomes[str(round_id)] = entry
        else:
            raise ViewError(f"entry {entry.index} ({entry.kind}) is not a round's outcome")
    return VerifiedView(head, tuple(statements), outcomes)


def _check_included(proven: ProvenEntry, head: TreeHead) -> None:
    entry = proven.entry
    try:
        verify_inclusion(
            entry.leaf_hash(), entry.index, head.tree_size, proven.proof, head.root_bytes
        )
    except ProofError as exc:
        raise ViewError(f"entry {entry.index} ({entry.kind}) is not in the log: {exc}") from None


# --- parsing ------------------------------------------------------------------------------------


def _dump(doc: Mapping[str, Any]) -> bytes:
    return json.dumps(doc, sort_keys=True, ensure_ascii=False, allow_nan=False).encode("utf-8")


def _load(body: bytes, fields: set[str]) -> dict[str, Any]:
    if len(body) > MAX_BODY_BYTES:
        raise ViewError(f"body of {len(body)} bytes exceeds the limit of {MAX_BODY_BYTES}")
    try:
        doc = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ViewError(f"not JSON ({exc})") from None
    except RecursionError:
        raise ViewError("JSON nested too deeply") from None
    if not isinstance(doc, dict) or set(doc) != fields:
        raise ViewError(f"expected an object with exactly {', '.join(sorted(fields))}")
    return doc


def _checkpoint_doc(checkpoint: Checkpoint | None) -> dict[str, Any] | None:
    if checkpoint is None:
        return None
    return {"tree_size": checkpoint.tree_size, "root": checkpoint.root}


def _checkpoint(doc: Any) -> Checkpoint | None:
    if doc is None:
        return None
    if not isinstance(doc, dict) or set(doc) != {"tree_size", "root"}:
        raise ViewError("since must be null or an object with tree_size and root")
    size, root = doc["tree_size"], doc["root"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0 or not isinstance(root, str):
        raise ViewError("since.tree_size must be a count and since.root text")
    try:
        return Checkpoint.parse(f"{size}:{root}")
    except ValueError as exc:
        raise ViewError(f"since: {exc}") from None


def _hashes(value: Any, name: str) -> tuple[bytes, ...]:
    if not isinstance(value, list) or len(value) > MAX_PROOF_HASHES:
        raise ViewError(f"{name} must be a list of at most {MAX_PROOF_HASHES} hashes")
    out = []
    for item in value:
        if not isinstance(item, str) or len(item) != 2 * HASH_BYTES:
            raise ViewError(f"{name} holds something that is not a SHA-256 hash")
        try:
            out.append(bytes.fromhex(item))
        except ValueError:
            raise ViewError(f"{name} holds something that is not hex") from None
    return tuple(out)


def checkpoint_document(checkpoint: Checkpoint) -> dict[str, Any]:
    """How an agent stores the last head it saw."""
    return {"tree_size": checkpoint.tree_size, "root": checkpoint.root}


def checkpoint_from_document(doc: Any) -> Checkpoint | None:
    return _checkpoint(doc)
