"""`AgentCore`: the practice's side of every round, from envelope in to envelopes out.

No sockets, threads or clocks of its own: the daemon feeds it the
coordinator's envelopes and sends what it returns; tests drive several cores
against a real `protocols.coordinator.SecAggCoordinator` in-process.

Per round (one `SecAggAgent` each):

    RoundAnnouncement → policy checks → KeyAdvertisement     (or Refusal)
    KeyBroadcast      → ShareBundle
    ShareDelivery     → receive_shares → compute → bound + noise → mask
                        → charge ledger → signed receipt → receipt in the log
                        → MaskedInput                                    (or Refusal)

A round is a cluster round or a region-wide round (`RoundAnnouncement.scope`);
the same core takes part in both, each checked, laid out and charged for its
own scope.
    SurvivorSet       → SurvivorSignature
    UnmaskRequest     → UnmaskResponse
    RoundOutcome      → `on_outcome` hook (the daemon fetches releases)

Rules the core keeps whatever the coordinator does:
- it never raises to its caller: a refusal is a `wire.Refusal` envelope plus a
  log line, and the round is abandoned; a message that is merely stale or
  malformed for a round still running is logged and dropped (the round goes on);
- an identical redelivery gets the identical answer; a replayed round is refused;
- budget is charged, and the receipt stored and proven in the transparency
  log, before the masked input is returned for sending; `on_sent` records the
  hand-over in the ledger;
- before it advertises keys, the log's proofs must pass and the ledger must
  hold every receipt the log holds (`client.agent.log_check`); a period runs
  again only after the log proves its earlier round aborted. Without a
  `LogChecker` (in-process unit tests of the protocol) these log checks are off;
  the daemon always has one;
- logs carry ids, stages and reason codes, never values, vectors or keys.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client.agent import pipeline
from client.agent.log_check import LogChecker
from client.agent.policy import (
    ManifestGate,
    RefusalCode,
    RoundRefused,
    check_cluster,
    check_ledger,
    check_min_survivors,
    check_participants_cluster,
    check_reference,
    check_region,
    check_region_params,
    check_vector_length,
    ledger_refusal,
    round_scope,
    secagg_refusal,
)
from client.engine.fast import PreparedExtract
from common.logs import log_event
from indicator_defs import Catalogue
from indicator_defs.survey_model import Survey
from privacy.errors import PrivacyError
from privacy.layout import RoundScope
from privacy.ledger import Ledger
from privacy.manifest import SignedManifest
from privacy.plan import round_release
from privacy.randomness import RandomSource, system_source
from privacy.receipts import SignedReceipt, recipient_of
from privacy.trust import AcceptedManifest
from protocols import wire
from protocols.agent import SecAggAgent
from protocols.envelope import COORDINATOR_SENDER, Envelope, EnvelopeError
from protocols.errors import InputError, MessageError, SecAggError
from protocols.identity import IdentityKey
from protocols.messages import (
    KeyBroadcast,
    RoundAnnouncement,
    ShareDelivery,
    SurvivorSet,
    UnmaskRequest,
)
from protocols.randomness import RandomBytes, system_random_bytes
from protocols.registry import PracticeRegistry

_log = logging.getLogger("klynge.agent")
_MAX_ROUNDS = 64  # rounds remembered for replay detection; the ledger is the durable guard


def _today() -> date:
    return datetime.now(UTC).date()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AgentContext:
    """Everything a core needs, loaded and cross-checked once (`startup.load_agent`)."""

    practice_id: str
    cluster_id: str
    region: str  # the signed registry's region for this practice; "" if it names none
    identity: IdentityKey
    receipt_key: Ed25519PrivateKey  # the same Ed25519 key as `identity`, for privacy.receipts
    registry: PracticeRegistry
    manifests: tuple[SignedManifest, ...]
    gate: ManifestGate  # check_manifest against the trust store, per round
    catalogue: Catalogue
    extract: PreparedExtract
    ledger: Ledger
    receipts_dir: Path
    contributions_dir: Path | None = None  # where to keep own cells and noise (never sent)
    surveys: Mapping[str, Survey] | None = None  # survey definitions; None: the installed ones


class RoundState(StrEnum):
    ACTIVE = "active"  # taking part
    REFUSED = "refused"  # this practice said no (or left); a Refusal was sent
    FINISHED = "finished"  # answered the unmask request; waiting for the outcome
    RELEASED = "released"
    ABORTED = "aborted"


@dataclass
class _Round:
    round_id: str
    state: RoundState
    stage: str
    updated_at: str
    announcement: RoundAnnouncement | None = None
    agent: SecAggAgent | None = None
    accepted: AcceptedManifest | None = None
    reference_date: date | None = None
    scope: RoundScope = RoundScope.CLUSTER
    min_survivors: int = 0
    reason: str = ""
    charged: bool = False
    sent: bool = False
    aborted_rounds: frozenset[str] = frozenset()  # proven aborted in the log (a retry's licence)
    contributors: int | None = None
    replies: dict[bytes, list[Envelope]] = field(default_factory=dict)


@dataclass(frozen=True)
class RoundStatus:
    """The last round as `status.json` and `klynge agent status` show it."""

    round_id: str
    state: str
    stage: str
    reason: str
    reference_date: str | None
    manifest_hash: str | None
    contributed: bool
    contributors: int | None
    updated_at: str


@dataclass(frozen=True)
class ReceiptStatus:
    signed: SignedReceipt
    path: Path


class AgentCore:
    """One practice's round participation (see module docstring). Not thread-safe."""

    def __init__(
        self,
        context: AgentContext,
        *,
        today: Callable[[], date] = _today,
        now: Callable[[], datetime] = _now,
        noise_source: Callable[[], RandomSource] = system_source,
        random_bytes: RandomBytes = system_random_bytes,
        on_outcome: Callable[[wire.RoundOutcome], None] | None = None,
        logger: logging.Logger | None = None,
        log: LogChecker | None = None,
    ) -> None:
        self.context = context
        self.log_checker = log
        self._today = today
        self._now = now
        self._noise_source = noise_source
        self._random_bytes = random_bytes
        self._on_outcome = on_outcome
        self._log = logger or _log
        self._rounds: OrderedDict[str, _Round] = OrderedDict()
        self._last: str | None = None
        self.last_receipt: ReceiptStatus | None = None

    @property
    def practice_id(self) -> str:
        return self.context.practice_id

    # --- public surface -----------------------------------------------------------

    def on_envelope(self, envelope: Envelope) -> list[Envelope]:
        """The envelopes to send in answer to one coordinator envelope (often none)."""
        try:
            return self._dispatch(envelope)
        except Exception as exc:  # a bug must cost this round, never the daemon
            self._event(
                "agent_failed",
                logging.ERROR,
                round_id=envelope.round_id,
                stage=envelope.stage,
                error=type(exc).__name__,
            )
            return self._refuse(
                envelope.round_id,
                RoundRefused(
                    RefusalCode.INTERNAL_ERROR, f"the agent failed ({type(exc).__name__})"
                ),
            )

    def on_sent(self, envelope: Envelope) -> None:
        """The transport accepted `envelope`; a masked input's hand-over goes in the ledger."""
        if envelope.kind != "MaskedInput":
            return
        rnd = self._rounds.get(envelope.round_id)
        try:
            self.context.ledger.mark_sent(envelope.round_id)
        except Exception as exc:
            self._event(
                "ledger_mark_sent_failed",
                logging.ERROR,
                round_id=envelope.round_id,
                error=type(exc).__name__,
                detail=str(exc) if isinstance(exc, PrivacyError) else "",
            )
            return
        if rnd is not None:
            rnd.sent = True
        self._event("masked_input_sent", round_id=envelope.round_id)

    def last_round(self) -> RoundStatus | None:
        rnd = self._rounds.get(self._last) if self._last else None
        if rnd is None:
            return None
        ann = rnd.announcement
        return RoundStatus(
            round_id=rnd.round_id,
            state=rnd.state.value,
            stage=rnd.stage,
            reason=rnd.reason,
            reference_date=ann.reference_date if ann else None,
            manifest_hash=ann.manifest_hash.hex() if ann else None,
            contributed=rnd.sent,
            contributors=rnd.contributors,
            updated_at=rnd.updated_at,
        )

    def round_state(self, round_id: str) -> RoundState | None:
        rnd = self._rounds.get(round_id)
        return None if rnd is None else rnd.state

    @property
    def primary_manifest(self) -> SignedManifest:
        return self.context.manifests[0]

    # --- dispatch -------------------------------------------------------------------

    def _dispatch(self, envelope: Envelope) -> list[Envelope]:
        try:
            envelope.validate()
        except EnvelopeError as exc:
            self._event("envelope_refused", logging.WARNING, field=exc.field, reason=exc.reason)
            return []
        if envelope.sender != COORDINATOR_SENDER:
            self._event(
                "envelope_refused",
                logging.WARNING,
                round_id=envelope.round_id,
                reason="not from the coordinator",
            )
            return []
        rid = envelope.round_id
        rnd = self._rounds.get(rid)
        digest = hashlib.sha256(
            f"{envelope.kind}\x00{envelope.stage}\x00".encode() + envelope.payload
        ).digest()
        if rnd is not None and rnd.state in (RoundState.ACTIVE, RoundState.FINISHED):
            cached = rnd.replies.get(digest)
            if cached is not None:
                self._event("redelivery_answered", round_id=rid, stage=envelope.stage)
                return list(cached)
        try:
            message = wire.from_envelope(envelope)
        except (wire.WireError, MessageError) as exc:
            return self._malformed(envelope, rnd, str(exc))
        if isinstance(message, wire.RoundOutcome):
            self._outcome(message)
            return []
        if isinstance(message, RoundAnnouncement):
            replies = self._announcement(message, rnd)
        elif isinstance(message, KeyBroadcast | ShareDelivery | SurvivorSet | UnmaskRequest):
            replies = self._stage(message, rnd, envelope.stage)
        else:
            self._event(
                "envelope_refused",
                logging.WARNING,
                round_id=rid,
                kind=envelope.kind,
                reason="not a message the coordinator sends",
            )
            return []
        rnd = self._rounds.get(rid)
        if rnd is not None and rnd.state in (RoundState.ACTIVE, RoundState.FINISHED) and replies:
            rnd.replies[digest] = list(replies)
        return replies

    def _malformed(self, envelope: Envelope, rnd: _Round | None, detail: str) -> list[Envelope]:
        if rnd is None and envelope.kind == "RoundAnnouncement":
            # A round we cannot read is a round we cannot join: say so.
            return self._refuse(
                envelope.round_id, RoundRefused(RefusalCode.MALFORMED_MESSAGE, detail)
            )
        self._event(
            "message_rejected",
            logging.WARNING,
            round_id=envelope.round_id,
            stage=envelope.stage,
            kind=envelope.kind,
            reason=RefusalCode.MALFORMED_MESSAGE.value,
            detail=detail,
        )
        return []

    # --- ANNOUNCE -------------------------------------------------------------------

    def _announcement(self, ann: RoundAnnouncement, rnd: _Round | None) -> list[Envelope]:
        rid = ann.round_id.hex()
        if rnd is not None:
            if rnd.state is RoundState.REFUSED:
                self._event("announcement_ignored", round_id=rid, reason="already refused")
                return []
            if rnd.state is RoundState.ACTIVE:
                return self._refuse(
                    rid,
                    RoundRefused(
                        RefusalCode.ANNOUNCEMENT_CHANGED,
                        "a different announcement arrived under the same round id",
                    ),
                )
            return self._refuse(
                rid,
                RoundRefused(
                    RefusalCode.ROUND_REPLAYED,
                    f"round {rid} already ran here ({rnd.state.value}); it is not run twice",
                ),
            )
        rnd = self._remember(_Round(rid, RoundState.ACTIVE, "ANNOUNCE", self._stamp()))
        rnd.announcement = ann
        try:
            self._admit(rnd, ann)
            agent = SecAggAgent(
                self.practice_id, self.context.identity, self.context.registry, self._random_bytes
            )
            advert = agent.advertise(ann)
        except RoundRefused as refusal:
            return self._refuse(rid, refusal)
        except SecAggError as exc:
            return self._refuse(rid, secagg_refusal(exc))
        rnd.agent = agent
        rnd.stage = "ADVERTISE_KEYS"
        accepted = rnd.accepted
        assert accepted is not None
        self._event(
            "round_joined",
            round_id=rid,
            reference_date=ann.reference_date,
            scope=ann.scope,
            manifest_id=accepted.manifest.meta.id,
            manifest_version=accepted.manifest.meta.version,
            participants=len(ann.participants),
            min_survivors=ann.params.min_survivors,
        )
        return [wire.to_envelope(advert, sender=self.practice_id)]

    def _admit(self, rnd: _Round, ann: RoundAnnouncement) -> None:
        """The agent's own policy, before any key is advertised (see `policy`)."""
        ctx = self.context
        today = self._today()
        scope = round_scope(ann)
        if scope is RoundScope.REGION:
            check_region(ann, ctx.region, ctx.registry)
        else:
            check_cluster(ann, ctx.cluster_id)
            check_participants_cluster(ann, ctx.registry)
        accepted = ctx.gate.accept(ann, today)
        reference = check_reference(accepted, ann, today)
        check_vector_length(accepted, ann)
        if scope is RoundScope.REGION:
            check_region_params(accepted, ann)
        floor = check_min_survivors(accepted, ann)
        release = round_release(accepted.manifest, floor, scope)
        if self.log_checker is not None:
            view = self.log_checker.check_before_round(ctx.ledger)
            try:
                view = self.log_checker.publish_approval(accepted, view)
            except RoundRefused as refusal:  # the approval is for the public record only
                self._event(
                    "approval_not_published",
                    logging.WARNING,
                    round_id=rnd.round_id,
                    reason=refusal.code.value,
                    detail=refusal.detail,
                )
            rnd.aborted_rounds = view.aborted_rounds()
        check_ledger(
            ctx.ledger, rnd.round_id, accepted, reference, release, rnd.aborted_rounds, scope
        )
        rnd.accepted, rnd.reference_date, rnd.min_survivors = accepted, reference, floor
        rnd.scope = scope

    # --- later stages ------------------------------------------------------------------

    def _stage(
        self,
        message: KeyBroadcast | ShareDelivery | SurvivorSet | UnmaskRequest,
        rnd: _Round | None,
        stage: str,
    ) -> list[Envelope]:
        rid = message.round_id.hex()
        if rnd is None or rnd.state is not RoundState.ACTIVE or rnd.agent is None:
            self._event(
                "message_ignored",
                round_id=rid,
                stage=stage,
                reason="round unknown" if rnd is None else f"round is {rnd.state.value}",
            )
            return []
        agent = rnd.agent
        try:
            if isinstance(message, ShareDelivery):
                reply = self._contribute(rnd, agent, message)
            elif isinstance(message, KeyBroadcast):
                reply = wire.to_envelope(agent.share_keys(message), sender=self.practice_id)
            elif isinstance(message, SurvivorSet):
                reply = wire.to_envelope(agent.sign_survivors(message), sender=self.practice_id)
            else:
                reply = wire.to_envelope(agent.unmask(message), sender=self.practice_id)
                rnd.state = RoundState.FINISHED
                rnd.agent = None
        except RoundRefused as refusal:
            return self._refuse(rid, refusal)
        except SecAggError as exc:
            if not exc.aborts_round and not isinstance(exc, InputError):
                self._event(
                    "message_rejected",
                    logging.WARNING,
                    round_id=rid,
                    stage=stage,
                    reason=type(exc).__name__,
                    detail=str(exc),
                )
                return []
            return self._refuse(rid, secagg_refusal(exc))
        rnd.stage = reply.stage
        rnd.updated_at = self._stamp()
        self._event("stage_answered", round_id=rid, stage=stage, kind=reply.kind)
        return [reply]

    def _contribute(self, rnd: _Round, agent: SecAggAgent, delivery: ShareDelivery) -> Envelope:
        """receive_shares → compute → bound + noise → mask → charge → receipt (in that order)."""
        agent.receive_shares(delivery)  # every protocol check first: nothing is computed in vain
        accepted, reference = rnd.accepted, rnd.reference_date
        assert accepted is not None and reference is not None
        manifest = accepted.manifest
        ctx = self.context
        scope = rnd.scope
        try:
            vector = pipeline.compute_vector(
                ctx.extract, ctx.catalogue, manifest, reference, scope, ctx.surveys
            )
            prepared = pipeline.add_noise(
                manifest, vector, rnd.min_survivors, self._noise_source(), scope
            )
        except Exception as exc:
            raise RoundRefused(
                RefusalCode.COMPUTE_FAILED,
                f"computing the contribution failed ({type(exc).__name__})",
            ) from None
        envelope = wire.to_envelope(pipeline.mask(agent, prepared.values), sender=self.practice_id)
        try:
            receipt = pipeline.charge(
                ctx.ledger,
                round_id=rnd.round_id,
                recipient=recipient_of(
                    scope, ctx.region if scope is RoundScope.REGION else ctx.cluster_id
                ),
                manifest=manifest,
                reference_date=reference,
                prepared=prepared,
                payload=envelope.payload,
                aborted_rounds=rnd.aborted_rounds,
            )
        except Exception as exc:
            raise ledger_refusal(exc) from None
        rnd.charged = True
        try:
            signed, path = pipeline.store_receipt(receipt, ctx.receipt_key, ctx.receipts_dir)
        except Exception as exc:
            # Charged but not sent: the budget is spent, nothing leaves without its receipt.
            raise RoundRefused(
                RefusalCode.RECEIPT_FAILED,
                f"the receipt could not be stored ({type(exc).__name__}); nothing was sent",
            ) from None
        self.last_receipt = ReceiptStatus(signed, path)
        if self.log_checker is not None:
            # Charged, not sent: a receipt the log will not take means the vector stays here.
            self.log_checker.publish_receipt(signed, ctx.ledger)
        if ctx.contributions_dir is not None:
            try:
                pipeline.keep_contribution(
                    ctx.contributions_dir, rnd.round_id, reference, manifest, prepared
                )
            except OSError:  # the comparison in the local report is lost, nothing else
                self._event("contribution_not_kept", round_id=rnd.round_id)
        self._event(
            "budget_charged",
            round_id=rnd.round_id,
            scope=scope.value,
            reference_date=reference.isoformat(),
            epsilon=_epsilon(receipt.epsilon),
            year_epsilon_spent=_epsilon(receipt.year_epsilon_spent),
            payload_bytes=receipt.payload_bytes,
            receipt=path.name,
        )
        return envelope

    # --- DONE -----------------------------------------------------------------------

    def _outcome(self, outcome: wire.RoundOutcome) -> None:
        region_round = outcome.scope == RoundScope.REGION.value
        own = self.context.region if region_round else self.context.cluster_id
        if outcome.unit != own:
            what = "region" if region_round else "cluster"
            self._event(
                "outcome_ignored",
                logging.WARNING,
                round_id=outcome.round_id,
                reason=f"outcome names {what} {outcome.unit!r}",
            )
            return
        rnd = self._rounds.get(outcome.round_id)
        if rnd is None:
            rnd = self._remember(
                _Round(outcome.round_id, RoundState.ABORTED, "DONE", self._stamp())
            )
        released = outcome.state == "released"
        if rnd.state is not RoundState.REFUSED:
            rnd.state = RoundState.RELEASED if released else RoundState.ABORTED
            rnd.reason = outcome.reason
        rnd.stage = "DONE"
        rnd.agent = None
        rnd.contributors = outcome.contributors
        rnd.updated_at = self._stamp()
        self._last = rnd.round_id
        self._event(
            "round_outcome",
            round_id=outcome.round_id,
            scope=outcome.scope,
            state=outcome.state,
            reason=outcome.reason,
            contributors=outcome.contributors,
            contributed=rnd.sent,
        )
        if self._on_outcome is not None:
            try:
                self._on_outcome(outcome)
            except Exception as exc:
                self._event(
                    "outcome_hook_failed",
                    logging.ERROR,
                    round_id=outcome.round_id,
                    error=type(exc).__name__,
                )

    # --- helpers ---------------------------------------------------------------------

    def _refuse(self, round_id: str, refusal: RoundRefused) -> list[Envelope]:
        """Leave the round with one Refusal (at most one per round) and a log line."""
        rnd = self._rounds.get(round_id)
        if rnd is None:
            rnd = self._remember(_Round(round_id, RoundState.REFUSED, "ANNOUNCE", self._stamp()))
        elif rnd.state is RoundState.REFUSED:
            return []
        rnd.state = RoundState.REFUSED
        rnd.reason = refusal.code.value
        rnd.agent = None
        rnd.updated_at = self._stamp()
        self._last = round_id
        self._event(
            "round_refused",
            logging.WARNING,
            round_id=round_id,
            reason=refusal.code.value,
            detail=refusal.detail,
            charged=rnd.charged,
        )
        try:
            return [
                wire.Refusal(round_id, refusal.code.value, refusal.detail[:300]).to_envelope(
                    self.practice_id
                )
            ]
        except EnvelopeError:
            return []

    def _remember(self, rnd: _Round) -> _Round:
        self._rounds[rnd.round_id] = rnd
        self._last = rnd.round_id
        while len(self._rounds) > _MAX_ROUNDS:
            oldest = next(
                (k for k, r in self._rounds.items() if r.state is not RoundState.ACTIVE),
                next(iter(self._rounds)),
            )
            del self._rounds[oldest]
        return rnd

    def _stamp(self) -> str:
        return self._now().isoformat(timespec="seconds")

    def _event(self, event: str, level: int = logging.INFO, **fields: object) -> None:
        log_event(self._log, event, level=level, practice_id=self.practice_id, **fields)


def _epsilon(value: float) -> float | str:
    """ε for a JSON log line: ∞ (a verification round without noise) is spelled "inf"."""
    return value if math.isfinite(value) else "inf"
