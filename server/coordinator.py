"""The coordinator service: cluster and region-wide rounds over the agents' gRPC sessions.

It is the untrusted party of the threat model: it relays SecAgg+ messages,
unmasks only the sum of a round's survivors, applies disclosure control,
and stores what it releases. On a reference date the manifest lists for the
region-wide round it also runs, alongside the cluster rounds, one round with
every connected practice of each region (the federation file says which
clusters are in which region), under the same deadlines and abort rules; its
sum is released at region level only, and the region's aggregate of its
cluster sums waits for it, so both measurements can be combined.

Everything that protects a practice is checked by that practice's agent;
what this service adds is liveness (deadlines, dropouts, restarts) and
bookkeeping (store, transparency log, logs).

Faults end cleanly. A store or log that does not open and verify stops the
coordinator before it listens, with one line. A write that fails mid-round
(a full disk, a damaged store) aborts that round: the reserve beside the log
(`server.reserve`) is freed so the abort and its reason can still be recorded
in the store and the log, and no new round opens until the reserve can be
written again. A coordinator killed mid-round aborts the round when it
restarts ("coordinator restarted").

Aborted periods (docs/privacy.md): a period whose round aborted is run again
once (`rounds.max_attempts`), no sooner than `rounds.retry_after_s` after the
abort (at once after a restart), as a new round with a new id, fresh masks
and, at every agent, fresh noise charged again. Agents accept the retry only
when the log shows the earlier round's abort.

Threads: transport callbacks arrive on the transport's dispatcher thread;
`run()` ticks deadlines, schedules and triggers on the caller's thread. One
lock serialises both, so the round state machines need no locks of their
own. Logs carry ids, counts and reasons, never values, vectors or keys.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from common.errors import KlyngeError
from common.federation import Federation, load_federation
from common.identities import PARTNER, PRACTICE, identity_uri
from common.keyfiles import load_private_key, load_public_key, public_bytes
from common.logs import log_event
from common.version import code_version
from privacy.errors import LogError
from privacy.layout import ReleaseLayout, RoundScope
from privacy.log_entries import Kind, release_document_sha256
from privacy.manifest import Manifest, SignedManifest, load_manifest, partners_problem
from privacy.plan import round_params, round_release
from protocols.coordinator import SecAggCoordinator
from protocols.envelope import Envelope, FetchDenied, FetchNotFound, FetchQuery, FetchResult
from protocols.errors import ParameterError, SecAggError
from protocols.messages import Participant
from protocols.params import PRIVACY_FLOOR, RoundParams
from protocols.registry import PracticeRegistry
from protocols.wire import (
    FETCH_CLUSTER,
    FETCH_NATION,
    FETCH_PARTNER,
    FETCH_REGION,
    MAX_REASON_CHARS,
    PARTNER_MEDIA_TYPE,
    RELEASE_MEDIA_TYPE,
    Refusal,
    RoundOutcome,
    WireError,
    from_envelope,
    to_envelope,
)
from reporting.release_document import ReleaseDocument
from server.cluster_round import ClusterRound, Outbound
from server.config import ServerSettings
from server.documents import release_document
from server.log_service import SCOPES as LOG_SCOPES
from server.log_service import LogService, open_log
from server.metrics import Metrics
from server.partners import (
    NOT_A_PARTNER,
    NOT_DECLARED,
    PARTNER_SCOPE,
    Grant,
    PartnerRefused,
    PartnerRequest,
    bundle_body,
    partner_bundle,
)
from server.publication import national_document
from server.reasons import recorded
from server.releasing import (
    NoisySum,
    RegionRoundUse,
    build_release,
    regional_sum,
    round_sum,
)
from server.reserve import DiskReserve
from server.store import Level, Practice, RoundState, Scope, Store, StoreError
from transport.admission import allow_list
from transport.pki import PkiLayout
from transport.server import (
    CoordinatorConfig,
    CoordinatorHandler,
    CoordinatorSideSession,
    CoordinatorTransport,
)
from transport.signed_files import load_registry
from transport.tls import PeerIdentity, TlsFiles

_log = logging.getLogger("klynge.coordinator")
# What a failed write raises: the store's and the log's own errors, or the OS's.
_STORAGE_ERRORS = (StoreError, LogError, OSError)
# A refused partner Fetch is logged in the transparency log once per identity and reason in
# this many seconds (the first request of the minute is recorded): every refusal still counts
# in the metrics, but a partner asking again in a loop, whatever it asks, cannot grow the log
# without bound.
REFUSAL_LOG_QUIET_S = 60.0


class StartupError(KlyngeError):
    """The coordinator cannot start (no room for its reserve, a log or store it refuses)."""


@dataclass
class _Pending:
    unit: str  # the cluster, or the region of a region-wide round
    reference_date: date
    since: float  # when it became pending (for ready_after_s)
    scope: RoundScope = RoundScope.CLUSTER
    not_before: float = 0.0  # a retry waits until then

    @property
    def key(self) -> tuple[RoundScope, str]:
        return (self.scope, self.unit)


def _where(scope: RoundScope, unit: str) -> dict[str, Any]:
    """How a log entry names a round's unit: its cluster, or its region and scope."""
    if scope is RoundScope.REGION:
        return {"scope": scope.value, "region": unit}
    return {"cluster": unit}


@dataclass(frozen=True)
class TriggerAnswer:
    """The coordinator's answer to `klynge server trigger`: accepted, or why not.

    `code` names a `server.refused.*` message (`server/reasons.py`) and `fields`
    fill it, so the CLI words the refusal in its reader's language."""

    accepted: bool
    code: str = ""
    fields: dict[str, str] | None = None

    def to_json(self) -> dict[str, object]:
        return {"accepted": self.accepted, "code": self.code, "fields": self.fields or {}}


class CoordinatorService(CoordinatorHandler):
    def __init__(
        self,
        settings: ServerSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self.metrics_port: int | None = None
        self._clock = clock
        self._log = logger or _log
        self.federation: Federation = load_federation(settings.federation)
        self.registry: PracticeRegistry = load_registry(
            settings.registry, public_bytes(load_public_key(settings.registry_authority))
        )
        signed = load_manifest(settings.manifest)
        self.manifest: Manifest = signed.manifest
        self.manifest_hash = self.manifest.hash()
        problem = partners_problem(self.manifest, self.federation)
        if problem is not None:
            key, message = problem
            raise StartupError(f"{settings.manifest}: {key}: {message} (in {settings.federation})")
        self._grants = {
            p.identity: Grant.of(p, self.manifest, self.federation)
            for p in self.manifest.partners or ()
        }
        self._refusals_logged: dict[tuple[str, str], float] = {}
        self.layouts = {
            scope: ReleaseLayout.for_round(self.manifest, scope)
            for scope in RoundScope
            if scope is RoundScope.CLUSTER or self.manifest.region_round is not None
        }
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        settings.trigger_dir.mkdir(parents=True, exist_ok=True)
        settings.log_file.parent.mkdir(parents=True, exist_ok=True)
        log_key = load_private_key(settings.log_key)
        self.store = Store.open(settings.store)
        self._reserve = DiskReserve(
            settings.log_file.with_name(settings.log_file.name + ".reserve")
        )
        if not self._reserve.ensure():
            self.store.close()
            raise StartupError(
                f"{self._reserve.path.parent}: not enough free space for the coordinator's "
                f"{self._reserve.size // 1024} kB reserve and as much again (the disk is full); "
                "free space and start again"
            )
        self._paused: str | None = None  # why no new round opens (a storage fault), or None
        self._lock = threading.RLock()
        self._fault_seen: BaseException | None = None  # a write failed on a fetch thread
        self.log = LogService(
            open_log(settings.log_file, log_key, self.store),
            self.store,
            self.registry,
            self._log,
            on_write_failure=self._note_fault,
        )
        self._publish_manifest(signed)
        self._practice = {p.id: p for p in self.federation.practices}
        for p in self.federation.practices:
            if self.registry.identity_key(p.id) is not None and self.store.practice(p.id) is None:
                self.store.register_practice(Practice(p.id, p.cluster, p.region))
        self._rounds: dict[str, ClusterRound] = {}
        self._attempt: dict[str, int] = {}  # round id -> which attempt at its period
        self._active: dict[tuple[RoundScope, str], str] = {}  # (scope, unit) -> running round
        self._pending: list[_Pending] = []
        self._sums: dict[tuple[str, date], dict[str, NoisySum | None]] = {}
        # (region, date) of a region-wide round this run expects: None until it has ended.
        self._region_rounds: dict[tuple[str, date], RegionRoundUse | None] = {}
        self._stop = threading.Event()
        self._started = clock()
        interrupted: list[_Pending] = []
        restarted = recorded("server.reason.restarted")
        for round_id in self.store.abort_unfinished(restarted):
            stored = self.store.round(round_id)
            assert stored is not None
            scope = stored.scope
            attempt = self._attempts(scope, stored.unit, stored.reference_date)
            retry = attempt < settings.rounds.max_attempts
            self._log_abort(
                round_id,
                scope,
                stored.unit,
                stored.reference_date,
                restarted,
                attempt,
                retry,
            )
            log_event(self._log, "round_aborted", round_id=round_id, reason=restarted)
            if retry:
                interrupted.append(
                    _Pending(stored.unit, stored.reference_date, self._started, scope)
                )
        # "manual" means manual: the schedule waits for `klynge server trigger`; only a
        # period a restart interrupted is run again by itself.
        schedule = () if settings.rounds.start_when == "manual" else settings.rounds.schedule
        scheduled: list[_Pending] = []
        for ref in schedule:
            scheduled += [_Pending(c.id, ref, self._started) for c in self.federation.clusters]
            if self._region_round_date(ref):
                scheduled += [
                    _Pending(r.name, ref, self._started, RoundScope.REGION)
                    for r in self.federation.regions
                ]
        seen: set[tuple[RoundScope, str, date]] = set()
        for item in [*scheduled, *interrupted]:
            period = (item.scope, item.unit, item.reference_date)
            if period in seen or self._done(item.scope, item.unit, item.reference_date):
                continue
            seen.add(period)
            attempts = self._attempts(item.scope, item.unit, item.reference_date)
            if attempts >= settings.rounds.max_attempts:
                log_event(
                    self._log,
                    "period_not_retried",
                    **_where(item.scope, item.unit),
                    reference_date=item.reference_date.isoformat(),
                    attempts=attempts,
                )
                continue
            if item.scope is RoundScope.REGION:
                self._expect_region_round(item.unit, item.reference_date, self._started)
            else:
                self._pending.append(item)
        admitted = [p.id for p in self.federation.practices if self.registry.identity_key(p.id)]
        port = settings.port
        self.transport = CoordinatorTransport(
            TlsFiles.for_server(PkiLayout(settings.pki_dir)),
            self,
            allow_list(admitted),
            # A region-wide round needs every practice of the region connected at once:
            # `for_registry` allows one session per registered practice.
            config=replace(
                CoordinatorConfig.for_registry(len(admitted), f"{settings.host}:{port}"),
                reflection=settings.operations.reflection,
            ),
            fetch=self._fetch,
        )

    def _publish_manifest(self, signed: SignedManifest) -> None:
        """The manifest this coordinator runs rounds under, once per hash, before any round."""
        if any(
            e.payload["manifest_hash"] == self.manifest_hash
            for e in self.log.log.entries("manifest")
        ):
            return
        meta = self.manifest.meta
        self.log.append(
            Kind.MANIFEST,
            {
                "manifest_id": meta.id,
                "version": meta.version,
                "manifest_hash": self.manifest_hash,
                "authority_key_id": signed.signature.key_id if signed.signature else "unsigned",
                "valid_from": meta.valid_from.isoformat(),
                "valid_until": meta.valid_until.isoformat(),
                "code_version": code_version(),
            },
        )

    # --- lifecycle -----------------------------------------------------------------

    def start(self) -> int:
        port = self.transport.start()
        if self.settings.operations.metrics is not None:
            self.metrics_port = self.metrics.serve(*self.settings.operations.metrics)
            log_event(self._log, "metrics_listening", port=self.metrics_port)
        if self.settings.port_file is not None:
            tmp = self.settings.port_file.with_suffix(".tmp")
            tmp.write_text(f"{port}\n")
            tmp.replace(self.settings.port_file)
        log_event(self._log, "coordinator_started", port=port, manifest=self.manifest_hash[:16])
        return port

    def stop(self) -> None:
        self._stop.set()

    def run(self, poll_s: float = 0.05) -> None:
        """Tick until stopped (or, with exit_when_done, until every scheduled round ended)."""
        try:
            while not self._stop.is_set():
                with self._lock:
                    self._abort_on_fault()
                    self._resume_if_storage_back()
                    self._take_triggers()
                    self._start_ready_rounds()
                    for rnd in list(self._rounds.values()):
                        self._send(rnd.tick(self._clock()))
                        self._complete_if_finished(rnd)
                    idle = not self._pending and not self._active
                if idle and self.settings.rounds.exit_when_done:
                    break
                self._stop.wait(poll_s)
        finally:
            self.shutdown()

    def shutdown(self) -> None:
        with self._lock:
            for round_id in list(self._active.values()):
                rnd = self._rounds[round_id]
                rnd.abort_reason = rnd.abort_reason or recorded("server.reason.stopped")
                self._complete_if_finished(rnd)
        self.transport.stop(grace=2.0)
        self.store.close()
        log_event(self._log, "coordinator_stopped")

    # --- storage faults --------------------------------------------------------------

    def _storage_fault(self, exc: BaseException) -> None:
        """A write failed: free the reserve (room for the abort records) and open no new round."""
        reason = str(exc)[:300] or type(exc).__name__
        freed = self._reserve.release()
        if self._paused is None:
            log_event(
                self._log, "storage_failed", level=logging.ERROR, reason=reason, reserve_freed=freed
            )
        self._paused = reason
        self.log.paused = reason  # the freed reserve is for abort records, not new receipts

    def _note_fault(self, exc: BaseException) -> None:
        """Called on a fetch thread when a practice's receipt could not be logged."""
        self._fault_seen = exc

    def _abort_on_fault(self) -> None:
        """A coordinator that cannot log receipts cannot finish a round: end them all now,
        with the reason, rather than let them run into their deadlines."""
        exc, self._fault_seen = self._fault_seen, None
        if exc is None:
            return
        self._storage_fault(exc)
        for round_id in list(self._active.values()):
            rnd = self._rounds[round_id]
            if rnd.result is None:  # the root cause, whatever the protocol made of it since
                rnd.abort_reason = recorded("server.reason.log_write", error=exc)
            self._complete_if_finished(rnd)

    def _resume_if_storage_back(self) -> None:
        if self._paused is not None and self._reserve.ensure():
            log_event(self._log, "storage_recovered", after=self._paused[:200])
            self._paused = None
            self.log.paused = None

    # --- scheduling ------------------------------------------------------------------

    def _done(self, scope: Scope, unit: str, ref: date) -> bool:
        """A round of this scope, unit and period was released under this manifest."""
        return any(
            r.reference_date == ref
            and r.manifest_hash == self.manifest_hash
            and r.state is RoundState.RELEASED
            and r.unit == unit
            for r in self.store.rounds(scope=scope)
        )

    def _attempts(self, scope: RoundScope, unit: str, ref: date) -> int:
        """Rounds of this period the log shows opened: what agents were asked to join."""
        return self.log.opened(scope.value, unit, ref.isoformat(), self.manifest_hash)

    def _region_round_date(self, ref: date) -> bool:
        """Whether the manifest runs a region-wide round on this reference date."""
        region_round = self.manifest.region_round
        return region_round is not None and ref in region_round.reference_dates

    def _expect_region_round(self, region: str, ref: date, since: float) -> None:
        """Queue the region-wide round; the region's aggregate of this period waits for it."""
        self._pending.append(_Pending(region, ref, since, RoundScope.REGION))
        self._region_rounds[region, ref] = None

    def request_round(
        self, unit: str, ref: date, scope: RoundScope = RoundScope.CLUSTER
    ) -> TriggerAnswer:
        """Queue a round for `unit` (a cluster, or with `scope` region a region's
        region-wide round) on `ref`, or say why not: the unit must be in the federation,
        the date on the manifest's schedule (for a region-wide round, on its dates), and
        the period neither released, running, waiting, nor out of attempts."""
        with self._lock:
            where = _where(scope, unit)
            answer = self._refusal(unit, ref, scope)
            if answer is None:
                if scope is RoundScope.REGION:
                    self._expect_region_round(unit, ref, self._clock())
                else:
                    self._pending.append(_Pending(unit, ref, self._clock()))
                log_event(self._log, "round_requested", **where, reference_date=ref.isoformat())
                return TriggerAnswer(True)
            log_event(self._log, "trigger_refused", **where, reason=answer.code)
            self.metrics.refused(answer.code)
            return answer

    def _refusal(self, unit: str, ref: date, scope: RoundScope) -> TriggerAnswer | None:
        day = ref.isoformat()
        region_wide = scope is RoundScope.REGION
        if region_wide:
            regions = [r.name for r in self.federation.regions]
            if unit not in regions:
                return TriggerAnswer(
                    False, "unknown_region", {"region": unit, "regions": ", ".join(regions)}
                )
            region_round = self.manifest.region_round
            dates = region_round.reference_dates if region_round is not None else ()
            if ref not in dates:
                listed = ", ".join(d.isoformat() for d in dates) or "-"
                return TriggerAnswer(False, "no_region_round", {"date": day, "dates": listed})
        else:
            clusters = [c.id for c in self.federation.clusters]
            if unit not in clusters:
                return TriggerAnswer(
                    False, "unknown_cluster", {"cluster": unit, "clusters": ", ".join(clusters)}
                )
            dates = self.manifest.schedule.reference_dates
            if ref not in dates:
                listed = ", ".join(d.isoformat() for d in dates)
                return TriggerAnswer(False, "not_scheduled", {"date": day, "dates": listed})
        period = {"cluster": unit, "date": day}  # the unit, in the messages' one field
        if self._paused is not None:
            return TriggerAnswer(False, "paused", {"error": self._paused[:200]})
        running = self._active.get((scope, unit))
        if running is not None and self._rounds[running].announcement.reference_date == day:
            return TriggerAnswer(False, "running", {**period, "round": running[:16]})
        if any(p.key == (scope, unit) and p.reference_date == ref for p in self._pending):
            return TriggerAnswer(False, "pending", period)
        for stored in self.store.rounds(scope=scope):
            if (
                stored.unit == unit
                and stored.reference_date == ref
                and stored.manifest_hash == self.manifest_hash
                and stored.state is RoundState.RELEASED
            ):
                return TriggerAnswer(False, "released", {**period, "round": stored.id[:16]})
        attempts = self._attempts(scope, unit, ref)
        if attempts >= self.settings.rounds.max_attempts:
            return TriggerAnswer(False, "exhausted", {**period, "n": str(attempts)})
        return None

    def _take_triggers(self) -> None:
        """Manual triggers arrive as small JSON files (`klynge server trigger`):
        {"cluster": ..., "reference_date": ...} or {"region": ..., "reference_date": ...};
        each is answered beside it (`NAME.answer`), which the waiting command reads."""
        for path in sorted(self.settings.trigger_dir.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                ref = date.fromisoformat(data["reference_date"])
                if "region" in data:
                    answer = self.request_round(str(data["region"]), ref, RoundScope.REGION)
                else:
                    answer = self.request_round(str(data["cluster"]), ref)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log_event(self._log, "trigger_refused", file=path.name, reason=str(exc)[:200])
                answer = TriggerAnswer(False, "bad_request", {"error": str(exc)[:200]})
            reply = path.with_suffix(".answer")
            try:
                tmp = path.with_suffix(".answer.tmp")
                tmp.write_text(json.dumps(answer.to_json()), encoding="utf-8")
                tmp.replace(reply)
            except OSError as exc:
                log_event(self._log, "trigger_unanswered", file=path.name, reason=str(exc)[:200])
            path.unlink(missing_ok=True)

    def _members(self, item: _Pending) -> list[str]:
        """The registered practices a round of this unit sums: a cluster's, or a region's."""
        if item.scope is RoundScope.REGION:
            clusters = {c.id for c in self.federation.clusters_in(item.unit)}
            practices = [p for p in self.federation.practices if p.cluster in clusters]
        else:
            practices = list(self.federation.practices_in(item.unit))
        return [p.id for p in practices if self.registry.identity_key(p.id)]

    def _start_ready_rounds(self) -> None:
        """Start a pending round when its whole cluster is online, or, after `ready_after_s`,
        when enough of it is online to meet the round's minimum. A cluster too small to
        ever meet the privacy floor is recorded as aborted at once; one that merely has
        too few practices online yet keeps waiting. Nothing opens while storage fails.

        A region-wide round starts by the same rule over its region, and until
        `ready_after_s` the region's cluster rounds of that date wait to start with it,
        in the same tick: so the practices present for one are present for the other
        (whose sums can then be combined), and no practice vanishing from an early
        cluster round keeps the region-wide round from having everyone. After that a
        cluster round starts by its own rule, whatever the region-wide round does.
        """
        if self._paused is not None:
            return
        now = self._clock()
        connected = set(self.transport.connected())
        ordered = sorted(self._pending, key=lambda i: i.scope is not RoundScope.REGION)
        for item in ordered:
            if item.key in self._active or now < item.not_before:
                continue
            waited = now - item.since >= self.settings.rounds.ready_after_s
            if item.scope is RoundScope.CLUSTER and not waited and self._waits_for_region(item):
                continue
            members = self._members(item)
            online = [m for m in members if m in connected]
            if len(members) < PRIVACY_FLOOR:
                self._pending.remove(item)
                self._open_round(item, sorted(online))
                continue
            everyone = len(online) == len(members)
            waited = now - max(item.since, item.not_before) >= self.settings.rounds.ready_after_s
            if not (everyone or (waited and self._can_run(len(online), item.scope))):
                continue
            self._pending.remove(item)
            self._open_round(item, sorted(online))

    def _waits_for_region(self, item: _Pending) -> bool:
        """A cluster round whose region's region-wide round of that date has not started."""
        region = self.federation.cluster(item.unit).region
        return any(
            p.scope is RoundScope.REGION
            and p.unit == region
            and p.reference_date == item.reference_date
            for p in self._pending
        )

    def _can_run(self, n: int, scope: RoundScope) -> bool:
        try:
            return round_params(self.manifest, n, scope).min_survivors <= n
        except SecAggError:
            return False

    def _open_round(self, item: _Pending, online: list[str]) -> None:
        scope, unit, ref = item.scope, item.unit, item.reference_date
        region = unit if scope is RoundScope.REGION else self.federation.cluster(unit).region
        cluster = "" if scope is RoundScope.REGION else unit
        where = _where(scope, unit)
        params: RoundParams | None = None
        try:
            params = round_params(self.manifest, len(online), scope)
            if params.min_survivors > len(online):
                raise ParameterError(
                    "participants", recorded("server.reason.cannot_meet", n=len(online))
                )
        except SecAggError as exc:
            # Too few practices online: record an aborted round, so the gap is visible. No
            # agent was asked to join, so it costs no one anything and is not an attempt.
            round_id = f"none-{unit}-{ref.isoformat()}-{os.urandom(4).hex()}"
            reason = recorded("server.reason.too_few", n=len(online), detail=exc.to_english())
            if not self._create_round(round_id, item):
                return
            self._record_abort(round_id, scope, unit, ref, reason, attempt=0, retry=False)
            log_event(self._log, "round_not_started", **where, reason=reason[:200])
            if scope is RoundScope.REGION:
                self._record_region_round(region, ref, RegionRoundUse(round_id, None))
            else:
                self._record_sum(region, unit, ref, None)
            return
        participants = []
        for practice in online:
            key = self.registry.identity_key(practice)
            assert key is not None  # _members keeps only practices in the registry
            participants.append(Participant(practice, key))
        coordinator = SecAggCoordinator.new_round(
            cluster_id=cluster,
            reference_date=ref,
            manifest_hash=bytes.fromhex(self.manifest_hash),
            participants=participants,
            vector_length=self.layouts[scope].length,
            params=params,
            scope=scope.value,
            region=region if scope is RoundScope.REGION else "",
        )
        rnd = ClusterRound(coordinator, self.settings.rounds.stage_timeout_s, self._clock())
        attempt = self._attempts(scope, unit, ref) + 1
        if not self._create_round(rnd.round_id, item):
            return
        try:
            self.store.set_round_state(rnd.round_id, RoundState.RUNNING)
            self.log.append(
                Kind.ROUND_OPENED,
                {
                    "round_id": rnd.round_id,
                    **where,
                    "reference_date": ref.isoformat(),
                    "manifest_hash": self.manifest_hash,
                    "participants": online,
                    "k": params.k,
                    "t": params.threshold,
                    "minimum": params.min_survivors,
                    "attempt": attempt,
                    "code_version": code_version(),
                },
            )
        except _STORAGE_ERRORS as fault:
            # Not announced, so not an attempt (the log does not show it opened).
            self._storage_fault(fault)
            reason = recorded("server.reason.not_opened", error=fault)
            self._record_abort(rnd.round_id, scope, unit, ref, reason, attempt=0, retry=False)
            self._pending.append(item)
            return
        self._rounds[rnd.round_id] = rnd
        self._attempt[rnd.round_id] = attempt
        self._active[item.key] = rnd.round_id
        log_event(
            self._log,
            "round_opened",
            round_id=rnd.round_id,
            **where,
            reference_date=ref.isoformat(),
            participants=len(online),
            k=params.k,
            t=params.threshold,
            minimum=params.min_survivors,
            attempt=attempt,
        )
        self._send(rnd.start())

    def _create_round(self, round_id: str, item: _Pending) -> bool:
        """Record a new round; on a storage fault nothing was created, so the period waits
        (pending again) until storage is back."""
        try:
            region_wide = item.scope is RoundScope.REGION
            self.store.create_round(
                round_id,
                cluster="" if region_wide else item.unit,
                region=item.unit if region_wide else self.federation.cluster(item.unit).region,
                reference_date=item.reference_date,
                manifest_hash=self.manifest_hash,
                scope=item.scope,
            )
        except _STORAGE_ERRORS as fault:
            self._storage_fault(fault)
            self._pending.append(item)
            return False
        return True

    # --- messages ------------------------------------------------------------------

    def _send(self, outbound: list[Outbound]) -> None:
        """Send to each practice still connected; one that left meanwhile is skipped (logged)."""
        for item in outbound:
            session = self.transport.session(item.practice_id)
            if session is not None:
                session.send(to_envelope(item.message))

    def on_connect(self, session: CoordinatorSideSession) -> None:
        log_event(self._log, "agent_connected", practice=session.practice_id)
        self.metrics.sessions(len(self.transport.connected()))

    def on_disconnect(self, session: CoordinatorSideSession, reason: str) -> None:
        with self._lock:
            current = self.transport.session(session.practice_id)
            if current is not None and current is not session and current.is_open:
                return  # superseded by a reconnect, not a dropout
            log_event(self._log, "agent_disconnected", practice=session.practice_id)
            self.metrics.sessions(len(self.transport.connected()))
            for rnd in list(self._rounds.values()):
                self._send(rnd.disconnected(session.practice_id, self._clock()))
                self._complete_if_finished(rnd)

    def on_frame(self, session: CoordinatorSideSession, envelope: Envelope) -> None:
        practice = session.practice_id
        with self._lock:
            rnd = self._rounds.get(envelope.round_id)
            if rnd is None or rnd.finished:
                log_event(
                    self._log,
                    "frame_ignored",
                    practice=practice,
                    round_id=envelope.round_id,
                    reason="no such open round",
                )
                return
            try:
                message = from_envelope(envelope)
                if isinstance(message, RoundOutcome):
                    raise WireError("agents cannot send round outcomes")
                if isinstance(message, Refusal):
                    log_event(
                        self._log,
                        "agent_refused",
                        practice=practice,
                        round_id=rnd.round_id,
                        reason=message.reason,
                        detail=message.detail[:200],
                    )
                    self.metrics.refused(message.reason, source="agent")
                    self._send(rnd.refuse(practice, message.reason, self._clock()))
                else:
                    self._send(rnd.receive(practice, message, self._clock()))
            except (SecAggError, WireError) as exc:
                log_event(
                    self._log,
                    "message_refused",
                    practice=practice,
                    round_id=rnd.round_id,
                    stage=envelope.stage,
                    reason=str(exc)[:200],
                )
                raise
            finally:
                self._complete_if_finished(rnd)

    # --- releases ---------------------------------------------------------------------

    def _complete_if_finished(self, rnd: ClusterRound) -> None:
        if self._fault_seen is not None:
            self._abort_on_fault()  # completes every active round, this one included
        key = (rnd.scope, rnd.unit)
        if not rnd.finished or self._active.get(key) != rnd.round_id:
            return
        del self._active[key]
        ann = rnd.announcement
        ref = date.fromisoformat(ann.reference_date)
        region_wide = rnd.scope is RoundScope.REGION
        region = rnd.unit if region_wide else self.federation.cluster(rnd.unit).region
        noisy = None
        reason = rnd.abort_reason
        for fault in rnd.coordinator.share_faults:  # excluded, and named, whatever the outcome
            log_event(
                self._log,
                "share_rejected",
                level=logging.WARNING,
                round_id=rnd.round_id,
                practice=fault.holder,
                owner=fault.owner,
                secret=fault.secret,
                reason="not on the polynomial the owner's other shares and commitment agree on",
            )
        if rnd.result is not None:
            noisy = round_sum(
                self.manifest,
                scope=rnd.scope,
                unit=rnd.unit,
                round_id=rnd.round_id,
                reference_date=ref,
                vector=rnd.result.vector,
                contributors=rnd.result.count,
                min_survivors=ann.params.min_survivors,
                practices=frozenset(rnd.result.practice_ids),
            )
            try:
                reason = self._publish(noisy)
            except _STORAGE_ERRORS as fault:
                self._storage_fault(fault)
                reason = recorded("server.reason.not_recorded", error=fault)
        retry = False
        if reason is not None:
            attempt = self._attempt.get(rnd.round_id, 1)
            retry = attempt < self.settings.rounds.max_attempts
            self._record_abort(rnd.round_id, rnd.scope, rnd.unit, ref, reason, attempt, retry)
            log_event(
                self._log,
                "round_aborted",
                round_id=rnd.round_id,
                reason=reason[:200],
                refused=len(rnd.progress.refused),
                dropped=len(rnd.progress.dropped),
                retry=retry,
            )
            noisy = None
            if retry:
                # A new round, with new masks and, at every agent, fresh noise charged again.
                now = self._clock()
                wait = (
                    0.0
                    if reason == recorded("server.reason.stopped")
                    else self.settings.rounds.retry_after_s
                )
                self._pending.append(_Pending(rnd.unit, ref, now, rnd.scope, now + wait))
        self.metrics.round_ended("aborted" if reason else "released", rnd.stage_durations)
        outcome = RoundOutcome(
            rnd.round_id,
            ann.cluster_id,
            ann.reference_date,
            "aborted" if reason else "released",
            (reason or "")[:MAX_REASON_CHARS],
            0 if noisy is None else noisy.contributors,
            ann.scope,
            ann.region,
        )
        for practice in rnd.practice_ids():
            session = self.transport.session(practice)
            if session is not None:
                session.send(outcome.to_envelope("coordinator"))
        self._rounds.pop(rnd.round_id, None)
        self._attempt.pop(rnd.round_id, None)
        if retry:
            return  # a retried period's aggregates wait for the retry
        if region_wide:
            self._record_region_round(region, ref, RegionRoundUse(rnd.round_id, noisy))
        else:
            self._record_sum(region, rnd.unit, ref, noisy)

    def _record_abort(
        self,
        round_id: str,
        scope: RoundScope,
        unit: str,
        ref: date,
        reason: str,
        attempt: int,
        retry: bool,
    ) -> None:
        """Record an abort in the store and the log; on a storage fault, with the reserve freed."""
        for last_try in (False, True):
            try:
                stored = self.store.round(round_id)
                if stored is not None and stored.state is not RoundState.ABORTED:
                    self.store.set_round_state(
                        round_id, RoundState.ABORTED, abort_reason=reason[:500]
                    )
                self._log_abort(round_id, scope, unit, ref, reason, attempt, retry)
                return
            except _STORAGE_ERRORS as fault:
                self._storage_fault(fault)
                if last_try:
                    log_event(
                        self._log,
                        "abort_not_recorded",
                        level=logging.ERROR,
                        round_id=round_id,
                        reason=str(fault)[:200],
                    )

    def _log_abort(
        self,
        round_id: str,
        scope: RoundScope,
        unit: str,
        ref: date,
        reason: str,
        attempt: int,
        retry: bool,
    ) -> None:
        if self.log.log.outcome_of(round_id) is not None:
            return  # recorded by an earlier try
        self.log.append(
            Kind.ROUND_ABORTED,
            {
                "round_id": round_id,
                **_where(scope, unit),
                "reference_date": ref.isoformat(),
                "manifest_hash": self.manifest_hash,
                "reason": reason[:500],
                "attempt": attempt,
                "retry": retry,
            },
        )

    def _publish(self, noisy: NoisySum, region_round: RegionRoundUse | None = None) -> str | None:
        """Store and log one aggregate's release, all or nothing; why it was withheld, or None."""
        mechanism = round_release(self.manifest, noisy.min_survivors, noisy.scope)
        layout = self.layouts[noisy.scope]
        outcome = build_release(self.manifest, layout, noisy, mechanism, region_round)
        if outcome.release is None:
            return outcome.withheld_reason
        release = outcome.release
        with self.store.atomic():  # a log entry that cannot be written rolls the store back
            release_id = self.store.record_release(release)
            stored = self.store.release(release_id)
            assert stored is not None  # recorded just now, in this transaction
            # The log binds the content: a region's publication is checked against it.
            content = release_document_sha256(release_document(stored).to_json())
            self.log.append(
                Kind.RELEASE,
                {
                    "release_id": release_id,
                    "aggregate": noisy.unit,
                    "level": noisy.level.value,
                    **({"scope": noisy.scope.value} if noisy.scope is RoundScope.REGION else {}),
                    "reference_date": noisy.reference_date.isoformat(),
                    "round_ids": list(noisy.round_ids),
                    "contributors": noisy.contributors,
                    "manifest_hash": self.manifest_hash,
                    "recipients": [
                        r.name for r in self.manifest.recipients if noisy.level.value in r.receives
                    ],
                    "suppressed": [
                        {
                            "indicator": c.indicator_id,
                            "stratum": c.stratum,
                            "cell": c.cell,
                            "reason": c.reason,
                        }
                        for c in release.suppressed
                    ],
                    "document_sha256": content,
                },
            )
        log_event(
            self._log,
            "released",
            aggregate_level=noisy.level.value,
            scope=noisy.scope.value,
            unit=noisy.unit,
            release_id=release_id,
            contributors=noisy.contributors,
            suppressed=len(release.suppressed),
        )
        return None

    def _record_sum(self, region: str, cluster: str, ref: date, noisy: NoisySum | None) -> None:
        """Keep a cluster's sum until the region's aggregate of this period can be released."""
        self._sums.setdefault((region, ref), {})[cluster] = noisy
        self._release_region(region, ref)

    def _record_region_round(self, region: str, ref: date, use: RegionRoundUse) -> None:
        self._region_rounds[region, ref] = use
        self._release_region(region, ref)

    def _release_region(self, region: str, ref: date) -> None:
        """Once every cluster of a region has finished this period, and the period's
        region-wide round (if this run holds one) has ended, release the region's aggregate."""
        sums = self._sums.get((region, ref), {})
        clusters = [c.id for c in self.federation.clusters_in(region)]
        if set(sums) != set(clusters):
            return
        if (region, ref) in self._region_rounds and self._region_rounds[region, ref] is None:
            return  # the region-wide round is still to run or running
        del self._sums[region, ref]
        region_round = self._region_rounds.pop((region, ref), None)
        released = [s for s in sums.values() if s is not None]
        if not released:
            return
        try:
            reason = self._publish(regional_sum(region, released), region_round)
        except _STORAGE_ERRORS as fault:
            self._storage_fault(fault)
            reason = f"the regional release could not be recorded ({fault})"
        if reason is not None:
            log_event(self._log, "region_withheld", region=region, reason=reason[:200])

    # --- fetch -------------------------------------------------------------------------

    def _fetch(self, peer: PeerIdentity, query: FetchQuery) -> FetchResult:
        if peer.partner_id is not None or query.scope == FETCH_PARTNER:
            return self._partner_fetch(peer, query)
        practice = self._practice.get(peer.practice_id)
        if practice is None:
            raise FetchNotFound("unknown practice")
        if query.scope in LOG_SCOPES:
            return self.log.fetch(peer.practice_id, query.scope, query.body)
        if query.scope == FETCH_NATION:
            national = national_document(self.settings.state_dir)
            if national is None:
                raise FetchNotFound("no national release imported")
            return FetchResult(query.round_id, RELEASE_MEDIA_TYPE, national)
        if query.scope == FETCH_CLUSTER:
            level, unit = Level.CLUSTER, practice.cluster
        elif query.scope == FETCH_REGION:
            level, unit = Level.REGION, practice.region
        else:
            raise FetchNotFound(f"unknown scope {query.scope!r}")
        if query.round_id:
            # The release that holds this round (a region's holds all its clusters'
            # rounds of the period): during a backfill the newest is another period's.
            found = self.store.releases(level=level, unit=unit, round_id=query.round_id)
            stored = found[-1] if found else None
        else:
            stored = self.store.latest_release(level, unit)
        if stored is None:
            raise FetchNotFound(f"nothing released for {query.scope}")
        body = json.dumps(release_document(stored).to_json(), ensure_ascii=False).encode()
        return FetchResult(",".join(stored.release.round_ids), RELEASE_MEDIA_TYPE, body)

    def _partner_fetch(self, peer: PeerIdentity, query: FetchQuery) -> FetchResult:
        """A partner's grant (manifest `[[partners]]`), or a refusal that is logged in the
        coordinator's log and the transparency log and counted by reason."""
        if peer.partner_id is None:
            identity = identity_uri(PRACTICE, peer.practice_id)
            self._refuse_partner(
                identity, NOT_A_PARTNER, "a practice's certificate cannot fetch as a partner", ""
            )
        identity = identity_uri(PARTNER, peer.partner_id)
        grant = self._grants.get(identity)
        if grant is None:
            self._refuse_partner(
                identity, NOT_DECLARED, "this partner is not declared in the manifest", ""
            )
        if query.scope != FETCH_PARTNER:
            self._refuse_partner(
                identity, PARTNER_SCOPE, f"a partner fetches only scope {FETCH_PARTNER!r}", ""
            )
        try:
            request = PartnerRequest.from_body(query.body)
        except PartnerRefused as exc:
            self._refuse_partner(identity, exc.reason, str(exc), "")
        try:
            docs = partner_bundle(grant, request, self._latest_document)
        except PartnerRefused as exc:
            self._refuse_partner(identity, exc.reason, str(exc), request.describe())
        if not docs:
            raise FetchNotFound("nothing released yet for this partner's units")
        log_event(
            self._log,
            "partner_served",
            partner_id=grant.partner.id,
            releases=len(docs),
            measures=len(grant.select(request)[1]),
        )
        round_ids = sorted({r for d in docs for r in d.round_ids})
        body = bundle_body(grant.partner.id, docs)
        return FetchResult(",".join(round_ids)[:1000], PARTNER_MEDIA_TYPE, body)

    def _latest_document(self, level: str, unit: str) -> ReleaseDocument | None:
        stored = self.store.latest_release(Level(level), unit)
        return None if stored is None else release_document(stored)

    def _refuse_partner(self, identity: str, reason: str, message: str, asked: str) -> NoReturn:
        """Count, log and (at most once a minute per identity and reason) record the refusal in
        the transparency log, then refuse with PERMISSION_DENIED."""
        self.metrics.refused(reason, source="fetch")
        log_event(self._log, "partner_refused", level=logging.WARNING, reason=reason)
        now = self._clock()
        key = (identity, reason)
        with self._lock:
            last = self._refusals_logged.get(key)
            due = last is None or now - last >= REFUSAL_LOG_QUIET_S
            if due:
                if len(self._refusals_logged) > 10_000:
                    self._refusals_logged.clear()
                self._refusals_logged[key] = now
        if due:
            try:
                self.log.append(
                    Kind.FETCH_REFUSED,
                    {
                        "identity": identity,
                        "reason": reason,
                        "asked": asked or "-",
                        "manifest_hash": self.manifest_hash,
                    },
                )
            except _STORAGE_ERRORS as exc:
                self._note_fault(exc)
        raise FetchDenied(reason, f"{reason}: {message}")


def write_trigger(trigger_dir: Path, cluster: str, ref: date, *, region: bool = False) -> Path:
    """Queue a manual round for a running coordinator (atomic: write, then rename).

    With `region`, `cluster` names a region and the round is its region-wide round.
    """
    trigger_dir.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}-{cluster}.json"
    tmp = trigger_dir / f".{name}.tmp"
    key = "region" if region else "cluster"
    tmp.write_text(json.dumps({key: cluster, "reference_date": ref.isoformat()}))
    final = trigger_dir / name
    tmp.replace(final)
    return final


def await_answer(request: Path, timeout_s: float) -> TriggerAnswer | None:
    """The coordinator's answer to a queued trigger, or None (withdrawn) when no running
    coordinator took it within `timeout_s`; it ticks every 50 ms, so an answer is quick."""
    reply = request.with_suffix(".answer")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if reply.exists():
            data = json.loads(reply.read_text(encoding="utf-8"))
            reply.unlink(missing_ok=True)
            fields = {str(k): str(v) for k, v in dict(data.get("fields") or {}).items()}
            return TriggerAnswer(bool(data["accepted"]), str(data.get("code", "")), fields)
        time.sleep(0.02)
    request.unlink(missing_ok=True)  # not taken: withdraw it, so it cannot fire later
    if reply.exists():  # taken in the last instant
        return await_answer(request, 0.5)
    return None
