"""The agent daemon: `AgentCore`s on real gRPC streams, status on disk, releases fetched.

One `AgentDaemon` per practice; several may share a process (the demo runs a
few practices per process). Each owns one `AgentTransport` (dial-out mTLS
stream, reconnect with backoff and jitter, outbox resent until acknowledged).
Frames arrive on the transport's reader thread and are handled one at a time
under the daemon's lock, so the core and the ledger see no concurrency.

After a `RoundOutcome` with state "released" a worker thread fetches the
cluster and the regional release (`wire.FETCH_CLUSTER`, `wire.FETCH_REGION`)
and stores them under `state_dir/releases/`; after a region-wide round's, that
round's own release (`wire.FETCH_REGION` with its round id). A regional
aggregate is built only once every cluster of the round is in (and the
period's region-wide round, if one runs, has ended), so NOT_FOUND is retried
for `region_wait_s`, and a regional aggregate still missing then is fetched
again after the period's region-wide round. After every released round it
also asks once for the country's figures (`wire.FETCH_NATION`: the national
release the region last imported); none yet is no error, the next round asks
again.

Logs are JSON lines through `common.logs.log_event`: ids, stages,
reason codes and counts, never values, vectors or keys.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from typing import Any

from client.agent.config import AgentSettings
from client.agent.core import AgentContext, AgentCore
from client.agent.errors import AgentError, AgentStartupError
from client.agent.log_check import LogChecker
from client.agent.policy import RefusalCode, RoundRefused
from client.agent.releases import (
    LEVELS,
    REGION_ROUND,
    StoredRelease,
    store_national,
    store_release,
)
from client.agent.startup import load_agent
from client.agent.status import budget_rows, last_receipt, status_document, write_status
from common.errors import KlyngeError
from common.keyfiles import public_key_from_raw
from common.logs import log_event
from privacy.ledger import Ledger
from privacy.manifest import Budget
from privacy.randomness import RandomSource, system_source
from protocols import wire
from protocols.envelope import Envelope, EnvelopeKey, ErrorCode, FetchNotFound
from protocols.messages import SCOPE_REGION
from transport.client import (
    AgentConfig,
    AgentHandler,
    AgentTransport,
    Backoff,
    PracticeSideSession,
)

_log = logging.getLogger("klynge.agent")

# Stages after which a practice may be told to vanish (demo and tests of dropout).
DROP_STAGES = ("ANNOUNCE", "SHARE_KEYS", "MASKED_INPUT", "CONSISTENCY")
_RETRY_S = 1.0
STATUS_INTERVAL_S = 2.0


class AgentTimeout(AgentError):
    """`--once` waited longer than `--timeout` for a round outcome."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _today() -> date:
    return _utc_now().date()


@dataclass(frozen=True)
class ReleaseRecord:
    round_id: str
    file: str
    fetched_at: str


class AgentDaemon(AgentHandler):
    """One practice's agent on a live transport (see module docstring)."""

    def __init__(
        self,
        settings: AgentSettings,
        context: AgentContext,
        *,
        target: str,
        backoff: Backoff | None = None,
        drop_after: str | None = None,
        stall_after: str | None = None,
        now: Callable[[], datetime] = _utc_now,
        today: Callable[[], date] = _today,
        noise_source: Callable[[], RandomSource] = system_source,
        logger: logging.Logger | None = None,
    ) -> None:
        for name, stage in (("drop-after", drop_after), ("stall-after", stall_after)):
            if stage is not None and stage not in DROP_STAGES:
                raise AgentError(f"{name} stage {stage!r}: use one of {DROP_STAGES}")
        self.settings = settings
        self.target = target
        self._log = logger or _log
        self._now = now
        self._today = today
        self._drop_after = drop_after
        self._stall_after = stall_after
        self.stalled = False
        self._lock = threading.RLock()
        checker = LogChecker(
            settings.practice_id,
            context.receipt_key,
            public_key_from_raw(settings.coordinator.log_key, f"{settings.path}: log_key"),
            self._log_fetch,
            settings.log_head_path,
        )
        self.core = AgentCore(
            context,
            today=today,
            now=now,
            noise_source=noise_source,
            on_outcome=self._on_outcome,
            logger=self._log,
            log=checker,
        )
        self.transport = open_transport(settings, self, target=target, backoff=backoff)
        self._fetch_jobs: queue.Queue[wire.RoundOutcome | None] = queue.Queue()
        # reference date -> the cluster round whose regional aggregate was not found yet
        self._region_missing: dict[str, str] = {}
        self._fetcher: threading.Thread | None = None
        self._stopping = threading.Event()
        self._running = False
        self._releases: dict[str, ReleaseRecord] = {}
        self._budget_cache: tuple[tuple[date, int, int], list[dict[str, Any]]] | None = None
        self.done = threading.Event()  # one round finished here (and its releases fetched)
        self.dropped = False

    @property
    def practice_id(self) -> str:
        return self.settings.practice_id

    def _log_fetch(self, scope: str, body: bytes) -> bytes:
        return self.transport.fetch(scope, "", None, body).body

    def check_log(self) -> None:
        """At start-up: refuse to run with a ledger the log shows is behind (rolled back or
        re-created). A log that cannot be reached yet is checked again before each round."""
        checker = self.core.log_checker
        assert checker is not None
        try:
            with self._lock:
                view = checker.check_before_round(self.core.context.ledger)
        except RoundRefused as refusal:
            if refusal.code in (RefusalCode.LEDGER_BEHIND_LOG, RefusalCode.RECEIPT_NOT_LOGGED):
                raise AgentStartupError(
                    f"{self.core.context.ledger.path}: {refusal.detail}"
                ) from None
            self._event(
                "log_check_deferred",
                logging.WARNING,
                reason=refusal.code.value,
                detail=refusal.detail,
            )
            return
        self._event("log_checked", head=view.head.short, receipts=len(view.receipts()))

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        self._running = True
        self._fetcher = threading.Thread(
            target=self._fetch_loop, name=f"klynge-fetch-{self.practice_id}", daemon=True
        )
        self._fetcher.start()
        self.write_status()
        self.transport.start()
        self._event(
            "agent_started", coordinator=self.target, manifests=len(self.core.context.manifests)
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Close the stream (a clean goodbye), finish the fetch worker, record the stop."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self.transport.close(timeout)
        self._fetch_jobs.put(None)
        if self._fetcher is not None:
            self._fetcher.join(timeout)
        with self._lock:
            self._running = False
            self.write_status()
        self._event("agent_stopped")

    # --- AgentHandler callbacks (transport reader thread) ------------------------------

    def on_connect(self, session: PracticeSideSession) -> None:
        with self._lock:
            self.write_status()

    def on_disconnect(self, session: PracticeSideSession, reason: str) -> None:
        with self._lock:
            self.write_status()

    def on_error(
        self, session: PracticeSideSession, code: ErrorCode, reason: str, key: EnvelopeKey | None
    ) -> None:
        # The transport logged it; the refused envelope is out of the outbox.
        with self._lock:
            self.write_status()

    def on_frame(self, session: PracticeSideSession, envelope: Envelope) -> None:
        if self.dropped or self.stalled:
            return
        with self._lock:
            replies = self.core.on_envelope(envelope)
            for reply in replies:
                self._send(reply)
            self.write_status()
        if self._drop_after is not None and envelope.stage == self._drop_after and replies:
            self._drop()
        if self._stall_after is not None and envelope.stage == self._stall_after and replies:
            # A hung practice: connected, but silent from now on (tests of deadlines/restarts).
            self.stalled = True
            self._event("stalling", stage=self._stall_after)

    def _send(self, reply: Envelope) -> None:
        try:
            self.transport.send(reply)
        except KlyngeError as exc:  # closed, outbox full, or an envelope the transport refuses
            self._event(
                "send_failed",
                logging.ERROR,
                round_id=reply.round_id,
                stage=reply.stage,
                kind=reply.kind,
                reason=str(exc),
            )
            return
        self.core.on_sent(reply)

    def _drop(self) -> None:
        """Vanish mid-round, as a crashed practice would (the demo's --dropout)."""
        self.dropped = True
        self._event("dropping_out", stage=self._drop_after)
        threading.Thread(target=self.transport.close, name="klynge-drop", daemon=True).start()
        self.done.set()

    # --- outcomes and releases ----------------------------------------------------------

    def _on_outcome(self, outcome: wire.RoundOutcome) -> None:
        if outcome.state == "released":
            self._fetch_jobs.put(outcome)
        else:
            self.done.set()

    def _fetch_loop(self) -> None:
        while True:
            outcome = self._fetch_jobs.get()
            if outcome is None:
                return
            try:
                self._fetch_releases(outcome)
            except Exception as exc:  # never let one bad answer stop later downloads
                self._event(
                    "release_fetch_failed",
                    logging.ERROR,
                    round_id=outcome.round_id,
                    error=type(exc).__name__,
                )
            finally:
                self.done.set()

    def _fetch_releases(self, outcome: wire.RoundOutcome) -> None:
        ref = outcome.reference_date
        if outcome.scope == SCOPE_REGION:
            self._fetch(wire.FETCH_REGION, outcome.round_id, record_as=REGION_ROUND)
            missing = self._region_missing.pop(ref, None)
            if missing is not None:  # the regional aggregate waited for this round
                self._fetch(wire.FETCH_REGION, missing)
        else:
            for scope in LEVELS:
                found = self._fetch(scope, outcome.round_id)
                if scope == wire.FETCH_REGION and not found:
                    self._region_missing[ref] = outcome.round_id
        self.fetch_nation()

    def fetch_nation(self) -> bool:
        """Ask once for the country's figures; True once stored.

        The national release arrives weeks after a period's rounds (every
        region must publish first), so NOT_FOUND is not waited for: the next
        round, or `klynge agent fetch-national`, asks again.
        """
        scope = wire.FETCH_NATION
        try:
            stored = store_national(self.settings.releases_dir, self.transport.fetch(scope))
        except FetchNotFound:
            self._event("release_not_found", scope=scope, round_id="")
            return False
        except KlyngeError as exc:
            self._event("release_fetch_failed", logging.WARNING, scope=scope, reason=str(exc))
            return False
        self._record(scope, stored)
        return True

    def _record(self, key: str, stored: StoredRelease) -> None:
        record = ReleaseRecord(
            stored.round_id,
            str(stored.path.relative_to(self.settings.state_dir)),
            self._now().isoformat(timespec="seconds"),
        )
        with self._lock:
            self._releases[key] = record
            self.write_status()
        self._event(
            "release_stored", scope=stored.level, round_id=stored.round_id, file=record.file
        )

    def _fetch(self, scope: str, round_id: str, *, record_as: str | None = None) -> bool:
        """Download and keep one release; NOT_FOUND and errors are retried until the deadline.

        True once it is stored; `record_as` is its key in status.json (default `scope`).
        """
        deadline = time.monotonic() + self.settings.coordinator.region_wait_s
        while not self._stopping.is_set():
            try:
                result = self.transport.fetch(scope, round_id)
                stored = store_release(self.settings.releases_dir, scope, round_id, result)
            except FetchNotFound:
                if time.monotonic() >= deadline:
                    self._event("release_not_found", scope=scope, round_id=round_id)
                    return False
            except KlyngeError as exc:
                self._event(
                    "release_fetch_failed",
                    logging.WARNING,
                    scope=scope,
                    round_id=round_id,
                    reason=str(exc),
                )
                if time.monotonic() >= deadline:
                    return False
            else:
                self._record(record_as or scope, stored)
                return True
            self._stopping.wait(_RETRY_S)
        return False

    # --- status --------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        core = self.core
        ledger = core.context.ledger
        manifest = core.primary_manifest.manifest
        transport = self.transport.status()
        uptime = transport.connected_for_s
        receipt_file = core.last_receipt.path if core.last_receipt else None
        return status_document(
            practice_id=self.practice_id,
            cluster_id=self.settings.cluster_id,
            coordinator=self.target,
            running=self._running,
            connection={
                "connected": transport.connected,
                "session_id": transport.session_id,
                "connected_for_s": None if uptime is None else round(uptime, 1),
                "reconnects": transport.reconnects,
                "pending": transport.pending,
                "last_error": transport.last_error,
            },
            last_round=core.last_round(),
            budget=self._budget(ledger, manifest.budget),
            receipt=last_receipt(ledger, receipt_file),
            releases={level: asdict(r) for level, r in self._releases.items()},
            updated_at=self._now().isoformat(timespec="seconds"),
            pid=os.getpid(),
        )

    def _budget(self, ledger: Ledger, budget: Budget) -> list[dict[str, Any]]:
        """Budget rows, recomputed only when the ledger or the date changed (RDP is not free)."""
        charges = ledger.charges()
        key = (self._today(), len(charges), sum(c.sent for c in charges))
        if self._budget_cache is None or self._budget_cache[0] != key:
            self._budget_cache = (key, budget_rows(ledger, budget, key[0]))
        return self._budget_cache[1]

    def write_status(self) -> None:
        with self._lock:
            try:
                write_status(self.settings.status_path, self.status())
            except OSError as exc:
                self._event("status_write_failed", logging.WARNING, error=exc.strerror or "")

    def _event(self, event: str, level: int = logging.INFO, **fields: object) -> None:
        log_event(self._log, event, level=level, practice_id=self.practice_id, **fields)


def open_transport(
    settings: AgentSettings,
    handler: AgentHandler,
    *,
    target: str,
    backoff: Backoff | None = None,
) -> AgentTransport:
    """The practice's transport to its coordinator (not started: `fetch` needs no stream).

    The certificate must name the configured practice: the coordinator scopes
    what it serves by the certificate, so a mismatch would fetch another's.
    """
    transport = AgentTransport(
        AgentConfig(
            target=target,
            resolve_target=settings.coordinator.current_target,
            tls=settings.tls_files,
            backoff=backoff or Backoff(),
            server_name=settings.coordinator.server_name,
            fetch_timeout=settings.coordinator.fetch_timeout_s,
        ),
        handler,
        logger=logging.getLogger("klynge.transport.agent"),
    )
    if transport.practice_id != settings.practice_id:
        raise AgentStartupError(
            f"{settings.tls_files.cert}: the certificate names practice "
            f"{transport.practice_id!r}, the configuration {settings.practice_id!r}"
        )
    return transport


def fetch_national(settings: AgentSettings) -> StoredRelease | None:
    """`klynge agent fetch-national`: download the country's figures now, without a round.

    For a practice whose agent ran before the region imported the national
    release. Only a Fetch is made (no session, no ledger entry, no budget);
    None when the coordinator has no national release yet.
    """
    transport = open_transport(settings, AgentHandler(), target=settings.coordinator.target())
    try:
        result = transport.fetch(wire.FETCH_NATION)
    except FetchNotFound:
        return None
    finally:
        transport.close()
    return store_national(settings.releases_dir, result)


# --- several agents in one process ------------------------------------------------------


def check_distinct(settings: Sequence[AgentSettings]) -> None:
    """Two configs for one practice (or one state directory) would double-spend a ledger."""
    seen: dict[object, AgentSettings] = {}
    for s in settings:
        for key in (("practice", s.practice_id), ("state", s.state_dir)):
            other = seen.get(key)
            if other is not None:
                what = "practice" if key[0] == "practice" else "state directory"
                raise AgentError(f"{s.path} and {other.path} name the same {what}")
            seen[key] = s


def start_agents(
    settings: Sequence[AgentSettings],
    *,
    drops: Mapping[str, str] | None = None,
    stalls: Mapping[str, str] | None = None,
    today: Callable[[], date] = _today,
    backoff: Backoff | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[AgentDaemon]:
    """Load and check every agent first (so a bad config starts nothing), then start them."""
    check_distinct(settings)
    drops, stalls = dict(drops or {}), dict(stalls or {})
    for flag, named in (("--drop-after", drops), ("--stall-after", stalls)):
        unknown = sorted(set(named) - {s.practice_id for s in settings})
        if unknown:
            raise AgentError(f"{flag} names practice {unknown[0]!r}, which no --config runs")
    daemons = []
    for s in settings:
        context = load_agent(s, today=today())
        if progress:
            progress(s.practice_id)
        daemons.append(
            AgentDaemon(
                s,
                context,
                target=s.coordinator.target(),
                backoff=backoff,
                drop_after=drops.get(s.practice_id),
                stall_after=stalls.get(s.practice_id),
                today=today,
            )
        )
    started: list[AgentDaemon] = []
    try:
        for daemon in daemons:
            daemon.start()
            started.append(daemon)
            daemon.check_log()
    except BaseException:
        for daemon in started:
            daemon.stop()
        raise
    return daemons


def run_agents(
    daemons: Sequence[AgentDaemon],
    stop: threading.Event,
    *,
    once: bool = False,
    timeout: float | None = None,
) -> None:
    """Run until `stop` is set (a signal), or with `once` until every agent saw one outcome."""
    started = time.monotonic()
    refreshed = started
    try:
        while not stop.wait(0.1):
            if once and all(d.done.is_set() for d in daemons):
                return
            if time.monotonic() - refreshed >= STATUS_INTERVAL_S:
                refreshed = time.monotonic()
                for daemon in daemons:  # reconnect attempts show up without a frame
                    daemon.write_status()
            if once and timeout is not None and time.monotonic() - started > timeout:
                waiting = sorted(d.practice_id for d in daemons if not d.done.is_set())
                raise AgentTimeout(
                    f"no round outcome within {timeout:g} s for {', '.join(waiting) or 'any agent'}"
                )
    finally:
        for daemon in daemons:
            daemon.stop()
