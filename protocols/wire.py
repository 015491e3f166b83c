"""How protocol messages ride in transport envelopes: the contract between
the coordinator service (`server/`) and the agent daemon (`client/`).

SecAgg+ messages travel as their own binary encoding in `Envelope.payload`;
the envelope repeats round id (hex), stage name and message kind so the
transport can deduplicate without parsing, and `from_envelope` checks that
envelope and payload agree, so neither can be swapped under the other.

Two control messages live outside SecAgg+ and are JSON:
- `Refusal` (agent -> coordinator, stage ANNOUNCE): the agent will not take
  part, and says why (unsigned manifest, budget, ...). It is logged.
- `RoundOutcome` (coordinator -> agents, stage DONE): released or aborted.

Every message is sent at most once per (round, stage, sender); a resend
after a reconnect reuses seq 0, so the transport drops duplicates.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import ClassVar, Self

from common.errors import KlyngeError
from protocols.envelope import COORDINATOR_SENDER, Envelope
from protocols.messages import SCOPE_CLUSTER, SCOPE_REGION, Message, decode_message

SEQ = 0


class WireError(KlyngeError):
    """An envelope whose payload does not match it, or a malformed control message."""


def to_envelope(message: Message, sender: str = COORDINATOR_SENDER) -> Envelope:
    return Envelope(
        round_id=message.round_id.hex(),
        stage=message.STAGE.name,
        sender=sender,
        seq=SEQ,
        payload=message.to_bytes(),
        kind=type(message).__name__,
    )


@dataclass(frozen=True)
class _Control:
    KIND: ClassVar[str] = ""
    STAGE: ClassVar[str] = ""

    round_id: str

    def to_envelope(self, sender: str) -> Envelope:
        body = json.dumps(asdict(self), sort_keys=True).encode()
        return Envelope(self.round_id, self.STAGE, sender, SEQ, body, kind=self.KIND)

    @classmethod
    def from_payload(cls, envelope: Envelope) -> Self:
        try:
            data = json.loads(envelope.payload)
            message = cls(**data)
        except (ValueError, TypeError) as exc:
            raise WireError(f"malformed {cls.KIND}: {exc}") from None
        if message.round_id != envelope.round_id:
            raise WireError(
                f"{cls.KIND} names round {message.round_id}, envelope {envelope.round_id}"
            )
        return message


@dataclass(frozen=True)
class Refusal(_Control):
    KIND: ClassVar[str] = "Refusal"
    STAGE: ClassVar[str] = "ANNOUNCE"

    reason: str  # a stable code, e.g. "budget_exceeded", "manifest_unapproved"
    detail: str  # one human-readable line, no patient data


@dataclass(frozen=True)
class RoundOutcome(_Control):
    KIND: ClassVar[str] = "RoundOutcome"
    STAGE: ClassVar[str] = "DONE"

    cluster_id: str  # "" for a region-wide round
    reference_date: str
    state: str  # "released" or "aborted"
    reason: str  # why it aborted; "" when released
    contributors: int
    scope: str = SCOPE_CLUSTER  # as in the round's announcement
    region: str = ""  # the region of a region-wide round

    @property
    def unit(self) -> str:
        return self.region if self.scope == SCOPE_REGION else self.cluster_id


CONTROL: dict[str, type[Refusal] | type[RoundOutcome]] = {
    Refusal.KIND: Refusal,
    RoundOutcome.KIND: RoundOutcome,
}


def from_envelope(envelope: Envelope) -> Message | Refusal | RoundOutcome:
    """The message an envelope carries, after checking the two agree."""
    control = CONTROL.get(envelope.kind)
    if control is not None:
        if envelope.stage != control.STAGE:
            raise WireError(f"{envelope.kind} must travel at stage {control.STAGE}")
        return control.from_payload(envelope)
    message = decode_message(envelope.payload)  # raises a typed MessageError when malformed
    if (
        message.round_id.hex() != envelope.round_id
        or message.STAGE.name != envelope.stage
        or type(message).__name__ != envelope.kind
    ):
        raise WireError("the envelope's round, stage or kind does not match its payload")
    return message


# --- Fetch: released results an agent may download -----------------------------

FETCH_CLUSTER = "cluster"  # the latest released round of the caller's own cluster
# The caller's region: the release holding the named round (a regional aggregate for a
# cluster round's id, the region-wide round's own release for its id), else the latest.
FETCH_REGION = "region"
RELEASE_MEDIA_TYPE = "application/vnd.klynge.release+json"
