"""The public transparency log: one append-only Merkle log with signed tree heads (RFC 9162).

The coordinator is the log's operator and is not trusted. It appends entries
(`privacy.log_entries`: manifests, practices' approvals, rounds opened,
practices' receipts, releases, aborts with their reasons) and, after every
append, signs a tree head with its log key. Practices check inclusion proofs
for their own statements and consistency proofs between the heads they saw;
a reviewer verifies the whole file offline (`verify_log`,
`klynge audit verify-log`).

The file is JSON lines of two types, an entry and the signed head that
follows it, written together by one append:

    {"type": "entry", "index": 0, "kind": "manifest", "time": ..., "payload": {...}, "signer": null}
    {"type": "head", "tree_size": 1, "root": "...", "time": ..., "key_id": ..., ...}

What verification detects, without trusting whoever stores the file:
- an edited, inserted, deleted or reordered entry (the roots of the signed
  heads no longer match; a head cannot be re-signed without the log key);
- a forged or altered practice statement (its signature fails);
- a torn last line or entries after the last signed head (an interrupted
  append, or a cut file);
- heads signed by another key than the log's (`log_key`);
- a log cut back to an earlier state, or rewritten from the start with the
  log key, against any head published or seen earlier (`expected_head`):
  the earlier head's root must be the root of the same prefix of this file.
  Agents keep the last head they saw and ask for a consistency proof at each
  round, so a rewritten history is refused by the first practice it reaches.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from privacy.errors import LogError
from privacy.log_entries import (
    PRACTICE_SIGNED,
    EntryError,
    Kind,
    LogEntry,
    Signer,
    Statement,
    TreeHead,
    check_payload,
    sign_head,
)
from privacy.merkle import MerkleTree, ProofError
from privacy.signing import key_id

Clock = Callable[[], datetime]
Writer = Callable[[int, bytes], int]  # os.write, or a fault-injecting stand-in in tests


def _utc_now() -> datetime:
    return datetime.now(UTC)


class LogWriteError(LogError):
    """The log could not be written (a full disk, an I/O error); it is as it was before."""


@dataclass(frozen=True)
class Checkpoint:
    """A head someone remembers or published: the log's size and root at that time."""

    tree_size: int
    root: str  # hex

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """`SIZE:ROOT`, as `klynge audit verify-log` prints heads."""
        size, _, root = text.partition(":")
        if not size.isdigit() or len(root) != 64 or any(c not in "0123456789abcdef" for c in root):
            raise ValueError(f"a head is SIZE:ROOT (64 lowercase hex), got {text[:80]!r}")
        return cls(int(size), root)


@dataclass(frozen=True)
class LogVerification:
    path: str
    entries: int
    head: TreeHead
    heads: int
    kinds: Mapping[str, int]
    signed_by_practices: int
    practices: frozenset[str]


@dataclass
class _Contents:
    entries: list[LogEntry]
    tree: MerkleTree
    heads: list[TreeHead]


class TransparencyLog:
    """The coordinator's log file, verified in full when opened; appends are all or nothing.

    Thread-safe: one lock serialises appends and proofs (the coordinator
    appends from its round thread and serves agents from its fetch threads).
    """

    def __init__(
        self, path: Path, key: Ed25519PrivateKey, contents: _Contents, clock: Clock, write: Writer
    ) -> None:
        self.path = path
        self._key = key
        self._entries = contents.entries
        self._tree = contents.tree
        self._head = contents.heads[-1]
        self._clock = clock
        self._write = write
        self._lock = threading.RLock()
        self._by_practice: dict[str, list[int]] = {}
        self._statements: dict[tuple[str, str], int] = {}  # (kind, signature) -> index
        self._outcomes: dict[str, int] = {}  # round id -> its release or abort entry
        self._rounds_of: dict[str, list[str]] = {}  # practice id -> rounds it was asked to join
        for entry in self._entries:
            self._index(entry)

    @classmethod
    def open(
        cls,
        path: Path | str,
        key: Ed25519PrivateKey,
        *,
        clock: Clock = _utc_now,
        write: Writer = os.write,
    ) -> TransparencyLog:
        """Open and verify the log at `path` (heads must be `key`'s), or start an empty one."""
        path = Path(path)
        if not path.exists():
            head = sign_head(key, 0, MerkleTree().root(), _stamp(clock))
            line = _line({"type": "head", **head.document()})
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:
                    _write_all(write, fd, line)
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                path.unlink(missing_ok=True)
                raise LogWriteError(path, f"cannot create the log ({exc.strerror})") from None
            return cls(path, key, _Contents([], MerkleTree(), [head]), clock, write)
        contents = _read(path, key.public_key(), None)
        return cls(path, key, contents, clock, write)

    # -- reading ----------------------------------------------------------------------

    def head(self) -> TreeHead:
        with self._lock:
            return self._head

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def entry(self, index: int) -> LogEntry:
        with self._lock:
            return self._entries[index]

    def entries(self, kind: str | None = None) -> list[LogEntry]:
        with self._lock:
            return [e for e in self._entries if kind is None or e.kind == kind]

    def statements_of(self, practice_id: str) -> list[LogEntry]:
        """Every receipt and approval the practice signed, in log order."""
        with self._lock:
            return [self._entries[i] for i in self._by_practice.get(practice_id, [])]

    def rounds_of(self, practice_id: str) -> list[str]:
        """The rounds whose opening listed the practice as a participant, in log order."""
        with self._lock:
            return list(self._rounds_of.get(practice_id, []))

    def outcome_of(self, round_id: str) -> LogEntry | None:
        """The entry that ended a round: its release, or its abort."""
        with self._lock:
            index = self._outcomes.get(round_id)
            return None if index is None else self._entries[index]

    def inclusion_proof(self, index: int, tree_size: int | None = None) -> list[bytes]:
        with self._lock:
            return self._tree.inclusion_proof(index, tree_size)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        with self._lock:
            return self._tree.consistency_proof(old_size, new_size)

    def root(self, tree_size: int) -> bytes:
        with self._lock:
            return self._tree.root(tree_size)

    # -- appending ----------------------------------------------------------------------

    def append(self, kind: str, payload: Mapping[str, Any]) -> LogEntry:
        """Append one of the coordinator's own statements (not a practice's)."""
        if kind in PRACTICE_SIGNED:
            raise LogError(self.path, f"a {kind} must be published as the practice signed it")
        try:
            check_payload(kind, dict(payload))
        except EntryError as exc:
            raise LogError(self.path, str(exc)) from None
        with self._lock:
            return self._append(kind, dict(payload), None)

    def publish(self, statement: Statement, identity: Ed25519PublicKey) -> LogEntry:
        """Append a practice's signed statement, once: publishing it again returns its entry.

        `identity` is the practice's key from the signed registry; a statement
        signed by any other key, or altered after signing, is refused.
        """
        try:
            statement.verify(identity)
        except EntryError as exc:
            raise LogError(self.path, str(exc)) from None
        with self._lock:
            existing = self._statements.get((statement.kind, statement.signer.signature))
            if existing is not None:
                return self._entries[existing]
            return self._append(statement.kind, dict(statement.payload), statement.signer)

    def _append(self, kind: str, payload: dict[str, Any], signer: Signer | None) -> LogEntry:
        entry = LogEntry(len(self._entries), kind, _stamp(self._clock), payload, signer)
        self._tree.append_hash(entry.leaf_hash())
        try:
            head = sign_head(self._key, len(self._tree), self._tree.root(), entry.time)
            entry_line = _line({"type": "entry", **entry.document()})
            self._durable_append(entry_line + _line({"type": "head", **head.document()}))
        except BaseException:
            self._tree.pop()  # the file is as it was, so the tree must be too
            raise
        self._entries.append(entry)
        self._head = head
        self._index(entry)
        return entry

    def _durable_append(self, data: bytes) -> None:
        """Write entry and head with one fsync; on failure cut the file back to where it was."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise LogWriteError(self.path, f"cannot open for appending ({exc.strerror})") from None
        try:
            before = os.fstat(fd).st_size
            try:
                _write_all(self._write, fd, data)
                os.fsync(fd)
            except OSError as exc:
                try:
                    os.ftruncate(fd, before)
                    os.fsync(fd)
                except OSError:
                    pass  # the next open reports the torn line; nothing was signed past it
                raise LogWriteError(
                    self.path, f"cannot append ({exc.strerror or exc}); the log is unchanged"
                ) from None
        finally:
            os.close(fd)

    def _index(self, entry: LogEntry) -> None:
        statement = entry.statement()
        if statement is not None:
            self._by_practice.setdefault(statement.practice_id, []).append(entry.index)
            self._statements[(entry.kind, statement.signer.signature)] = entry.index
        elif entry.kind == Kind.ROUND_OPENED:
            for practice in entry.payload["participants"]:
                self._rounds_of.setdefault(str(practice), []).append(str(entry.payload["round_id"]))
        elif entry.kind == Kind.ROUND_ABORTED:
            self._outcomes[str(entry.payload["round_id"])] = entry.index
        elif entry.kind == Kind.RELEASE and entry.payload["level"] == "cluster":
            for round_id in entry.payload["round_ids"]:
                self._outcomes[str(round_id)] = entry.index


def _stamp(clock: Clock) -> str:
    return clock().astimezone(UTC).isoformat(timespec="milliseconds")


def _line(document: Mapping[str, Any]) -> bytes:
    return (
        json.dumps(document, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    ).encode("utf-8")


def _write_all(write: Writer, fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = write(fd, bytes(view))
        if written <= 0:
            raise OSError(28, "No space left on device")
        view = view[written:]


# --- verification -------------------------------------------------------------------------------


def verify_log(
    path: Path | str,
    *,
    log_key: Ed25519PublicKey | None = None,
    expected_head: Checkpoint | None = None,
    identities: Mapping[str, Ed25519PublicKey] | None = None,
) -> LogVerification:
    """Check the whole log offline; raise LogError naming the first bad line and what is wrong.

    `log_key`: the heads must be signed by it (otherwise by one key throughout).
    `expected_head`: a head seen or published earlier; this log must extend it.
    `identities`: practice id -> registered identity key; every receipt and
    approval must be signed by its practice's key.
    """
    path = Path(path)
    contents = _read(path, log_key, identities)
    if expected_head is not None:
        _check_extends(path, contents.tree, expected_head)
    kinds = Counter(e.kind for e in contents.entries)
    practices = frozenset(
        s.practice_id for e in contents.entries if (s := e.statement()) is not None
    )
    return LogVerification(
        path=str(path),
        entries=len(contents.entries),
        head=contents.heads[-1],
        heads=len(contents.heads),
        kinds={k.value: kinds.get(k.value, 0) for k in Kind},
        signed_by_practices=sum(1 for e in contents.entries if e.signer is not None),
        practices=practices,
    )


def _check_extends(path: Path, tree: MerkleTree, expected: Checkpoint) -> None:
    if expected.tree_size > len(tree):
        raise LogError(
            path,
            f"the log has {len(tree)} entries but a head of {expected.tree_size} was seen or "
            "published (the log was cut back)",
        )
    if tree.root(expected.tree_size).hex() != expected.root:
        raise LogError(
            path,
            f"the first {expected.tree_size} entries do not have the root of the head seen or "
            "published earlier (the history was rewritten)",
        )


def _read(
    path: Path,
    log_key: Ed25519PublicKey | None,
    identities: Mapping[str, Ed25519PublicKey] | None,
) -> _Contents:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LogError(path, "log file not found") from None
    except OSError as exc:
        raise LogError(path, f"cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LogError(path, "not UTF-8 text") from None
    if not text:
        raise LogError(path, "the file is empty (a log starts with a signed head of size 0)")
    if not text.endswith("\n"):
        raise LogError(path, "the last line is incomplete (an interrupted write or a cut file)")
    entries: list[LogEntry] = []
    heads: list[TreeHead] = []
    tree = MerkleTree()
    key_seen = None if log_key is None else key_id(log_key)
    lines = text.split("\n")[:-1]
    for number, line in enumerate(lines, start=1):
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LogError(path, f"not valid JSON ({exc.msg})", line=number) from None
        except RecursionError:
            raise LogError(path, "nested too deeply to be a log line", line=number) from None
        if not isinstance(doc, dict) or doc.get("type") not in ("entry", "head"):
            raise LogError(path, "a log line is an entry or a head", line=number)
        body = {k: v for k, v in doc.items() if k != "type"}
        try:
            if doc["type"] == "entry":
                entry = LogEntry.from_document(body)
                if entry.index != len(entries):
                    raise EntryError(
                        f"entry index {entry.index} where {len(entries)} was expected "
                        "(an entry was deleted, inserted or moved)"
                    )
                _check_identity(entry, identities)
                tree.append_hash(entry.leaf_hash())
                entries.append(entry)
                continue
            head = TreeHead.from_document(body)
            if key_seen is None:
                key_seen = head.key_id
            head.verify(log_key)
            if head.key_id != key_seen:
                raise EntryError(f"head signed by key {head.key_id}, earlier heads by {key_seen}")
            if head.tree_size != len(entries):
                raise EntryError(
                    f"head covers {head.tree_size} entries but {len(entries)} precede it"
                )
            if heads and head.tree_size < heads[-1].tree_size:
                raise EntryError("head is smaller than the head before it")
            if tree.root(head.tree_size).hex() != head.root:
                raise EntryError(
                    "the entries before this head do not have its root "
                    "(an entry was edited, deleted, inserted or moved)"
                )
        except (EntryError, ProofError) as exc:
            raise LogError(path, str(exc), line=number) from None
        heads.append(head)
    if not heads:
        raise LogError(path, "no signed tree head (a log starts with a signed head of size 0)")
    if heads[-1].tree_size != len(entries):
        raise LogError(
            path,
            f"{len(entries) - heads[-1].tree_size} entries after the last signed head "
            "(an interrupted append, or heads were removed)",
        )
    return _Contents(entries, tree, heads)


def _check_identity(entry: LogEntry, identities: Mapping[str, Ed25519PublicKey] | None) -> None:
    statement = entry.statement()
    if statement is None or identities is None:
        return
    identity = identities.get(statement.practice_id)
    if identity is None:
        raise EntryError(
            f"{entry.kind} of practice {statement.practice_id}, which is not registered"
        )
    statement.verify(identity)
