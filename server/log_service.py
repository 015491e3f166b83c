"""The coordinator's side of the transparency log: open it strictly, append, serve proofs.

The coordinator is the log's operator and is not trusted, but it is the one
that must refuse to run on a log it cannot vouch for: a log that does not
verify, whose heads another key signed, or that is smaller than (or differs
from) the last head the coordinator recorded in its store before it stopped
is refused at start-up with one line saying so (`open_log`). An operator
restores the file from a backup; the coordinator never repairs or restarts a
log on its own, since agents hold its earlier heads and would refuse it anyway.

Agents reach the log through the Fetch call (`FETCH_LOG_PUBLISH`,
`FETCH_LOG_VIEW`): they publish their signed receipts and approvals, and ask
for the view `privacy.log_proofs` defines. The caller's practice id comes from
its certificate, never from the request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.keyfiles import public_key_from_raw
from common.logs import log_event
from privacy.errors import LogError
from privacy.log_entries import Kind, LogEntry, TreeHead, round_unit
from privacy.log_proofs import (
    FETCH_LOG_PUBLISH,
    FETCH_LOG_VIEW,
    LOG_MEDIA_TYPE,
    PublishRequest,
    ViewError,
    ViewRequest,
    build_view,
)
from privacy.transparency import Checkpoint, LogWriteError, TransparencyLog
from protocols.envelope import FetchResult
from protocols.registry import PracticeRegistry
from server.store import Store, StoreError

SCOPES = (FETCH_LOG_VIEW, FETCH_LOG_PUBLISH)


class LogRefused(LogError):
    """A request to the log the coordinator will not serve (named in the Fetch error)."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


def open_log(path: Any, key: Ed25519PrivateKey, store: Store) -> TransparencyLog:
    """Open (or start) the log; refuse one that does not verify or is behind the store's head."""
    try:
        log = TransparencyLog.open(path, key)
    except LogError as exc:
        raise LogError(
            None,
            f"refusing to start: the transparency log does not verify: {exc}; restore it from "
            "a backup (agents hold its earlier heads and refuse a log that rewrites them)",
        ) from None
    recorded = store.last_log_head()
    if recorded is not None:
        size, root = recorded
        if size > len(log) or log.root(size).hex() != root:
            raise LogError(
                None,
                f"refusing to start: {log.path} does not extend the tree head {size}:{root[:16]} "
                f"recorded in {store.path} (the log was cut back or replaced); restore it from "
                "a backup",
            )
    head = log.head()
    store.record_log_head(head.tree_size, head.root)
    return log


class LogService:
    """Appends for the coordinator, and answers agents' log fetches. Thread-safe."""

    def __init__(
        self,
        log: TransparencyLog,
        store: Store,
        registry: PracticeRegistry,
        logger: logging.Logger,
        on_write_failure: Callable[[LogWriteError], None] | None = None,
    ) -> None:
        self.log = log
        self._store = store
        self._registry = registry
        self._log = logger
        # A publication that cannot be written (a full disk) is the coordinator's fault to handle.
        self._on_write_failure = on_write_failure or (lambda _exc: None)
        # Why no statement is taken (the reserve must stay free for abort records), or None.
        self.paused: str | None = None
        self._lock = threading.Lock()
        self._participants: dict[str, frozenset[str]] = {}
        # (scope, unit, date, manifest) -> rounds opened
        self._opened: dict[tuple[str, str, str, str], int] = {}
        for entry in log.entries(Kind.ROUND_OPENED):
            self._remember(entry)

    def append(self, kind: str, payload: dict[str, Any]) -> LogEntry:
        """Append one of the coordinator's statements; LogError (e.g. disk full) if it cannot."""
        with self._lock:
            entry = self.log.append(kind, payload)
            self._remember(entry)
            head = self.log.head()
        self._record_head(head)
        return entry

    def _record_head(self, head: TreeHead) -> None:
        """Record a new head in the store, outside the log's lock (the coordinator holds the
        store's lock while it appends). Best effort: the entry is durable already, and a
        store one head behind still guards against a cut-back log."""
        try:
            self._store.record_log_head(head.tree_size, head.root)
        except StoreError as exc:
            log_event(self._log, "log_head_not_recorded", level=logging.WARNING, reason=exc.reason)

    def _remember(self, entry: LogEntry) -> None:
        if entry.kind == Kind.ROUND_OPENED:
            p = entry.payload
            self._participants[str(p["round_id"])] = frozenset(str(x) for x in p["participants"])
            period = (*round_unit(p), str(p["reference_date"]), str(p["manifest_hash"]))
            self._opened[period] = self._opened.get(period, 0) + 1

    def opened(self, scope: str, unit: str, reference_date: str, manifest_hash: str) -> int:
        """How many rounds of this period the log shows opened (agents were asked to join);
        `scope` is "cluster" (unit a cluster id) or "region" (a region-wide round)."""
        with self._lock:
            return self._opened.get((scope, unit, reference_date, manifest_hash), 0)

    # --- Fetch -------------------------------------------------------------------------

    def fetch(self, practice_id: str, scope: str, body: bytes) -> FetchResult:
        if scope == FETCH_LOG_VIEW:
            since = ViewRequest.from_bytes(body).since
        elif scope == FETCH_LOG_PUBLISH:
            request = PublishRequest.from_bytes(body)
            self._publish(practice_id, request)
            since = request.since
        else:
            raise LogRefused(f"unknown log scope {scope!r}")
        view = self._view(practice_id, since)
        return FetchResult("", LOG_MEDIA_TYPE, view.to_bytes())

    def _view(self, practice_id: str, since: Checkpoint | None) -> Any:
        with self._lock:
            return build_view(self.log, practice_id, since)

    def _publish(self, practice_id: str, request: PublishRequest) -> None:
        statement = request.statement
        if statement.kind not in (Kind.RECEIPT, Kind.APPROVAL):
            raise ViewError(f"a practice publishes receipts and approvals, not {statement.kind}")
        if statement.payload.get("practice_id") != practice_id:
            raise LogRefused(
                f"the statement names practice {statement.payload.get('practice_id')!r}; "
                f"the caller's certificate names {practice_id!r}"
            )
        raw = self._registry.identity_key(practice_id)
        if raw is None:
            raise LogRefused(f"practice {practice_id} is not in the signed registry")
        if statement.kind == Kind.RECEIPT:
            round_id = str(statement.payload.get("round_id"))
            with self._lock:
                participants = self._participants.get(round_id)
            if participants is None or practice_id not in participants:
                raise LogRefused(f"round {round_id} was not opened with practice {practice_id}")
        paused = self.paused
        if paused is not None:
            raise LogRefused(
                f"the coordinator takes no statements until its storage is back: {paused}"
            )
        try:
            with self._lock:
                before = len(self.log)
                entry = self.log.publish(statement, public_key_from_raw(raw, "registry"))
                head = self.log.head()
        except LogWriteError as exc:
            self.paused = str(exc)
            self._on_write_failure(exc)
            raise
        if entry.index >= before:
            self._record_head(head)
