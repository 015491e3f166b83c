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

This module is the one place where a received payload becomes a typed value:
SecAgg+ bytes through `decode_message` (every length and range checked), the
JSON control messages through `common.boundedjson` (size and depth first)
and then their fields' types and ranges. Anything else is one `WireError`
or `MessageError` (both `KlyngeError`s) naming what was wrong, so a malformed
message is refused with a reason and never reaches a catch-all handler.

Every message is sent at most once per (round, stage, sender); a resend
after a reconnect reuses seq 0, so the transport drops duplicates.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass, fields
from typing import ClassVar, Self

from common import boundedjson
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


# Control messages are small: a refusal's line of detail, an outcome's reason.
MAX_CONTROL_BYTES = 4096
MAX_CONTROL_DEPTH = 1  # one flat JSON object of scalars
MAX_DETAIL_CHARS = 300
MAX_REASON_CHARS = 500
MAX_CONTRIBUTORS = 1 << 16
OUTCOME_STATES = ("released", "aborted")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_ROUND = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def _text(kind: str, name: str, value: object, limit: int) -> str:
    if type(value) is not str:
        raise WireError(f"{kind}.{name}: expected text, got {type(value).__name__}")
    if len(value) > limit:
        raise WireError(f"{kind}.{name}: longer than {limit} characters")
    return value


def _matching(kind: str, name: str, value: object, pattern: re.Pattern[str]) -> str:
    text = _text(kind, name, value, 128)
    if not pattern.fullmatch(text):
        raise WireError(f"{kind}.{name}: {text[:40]!r} does not match {pattern.pattern}")
    return text


@dataclass(frozen=True)
class _Control:
    """A JSON control message: one flat object whose fields are exactly the dataclass's.

    Both directions check the same rules: `__post_init__` on construction (so
    a sender cannot build an invalid one) and `from_payload` on receipt, which
    reads the JSON within `MAX_CONTROL_BYTES` and depth 1 before any field.
    """

    KIND: ClassVar[str] = ""
    STAGE: ClassVar[str] = ""

    round_id: str

    def __post_init__(self) -> None:
        _matching(self.KIND, "round_id", self.round_id, _ROUND)

    def to_envelope(self, sender: str) -> Envelope:
        body = json.dumps(asdict(self), sort_keys=True).encode()
        return Envelope(self.round_id, self.STAGE, sender, SEQ, body, kind=self.KIND)

    @classmethod
    def from_payload(cls, envelope: Envelope) -> Self:
        try:
            data = boundedjson.loads(
                envelope.payload,
                source=cls.KIND,
                max_bytes=MAX_CONTROL_BYTES,
                max_depth=MAX_CONTROL_DEPTH,
            )
        except boundedjson.BoundedJsonError as exc:
            raise WireError(f"malformed {exc}") from None
        if not isinstance(data, dict):
            raise WireError(f"malformed {cls.KIND}: not a JSON object")
        names = {f.name for f in fields(cls)}
        if set(data) != names:
            missing = sorted(names - set(data))
            unknown = sorted(set(data) - names)
            raise WireError(
                f"malformed {cls.KIND}: "
                + (f"missing {', '.join(missing)}" if missing else "")
                + ("; " if missing and unknown else "")
                + (f"unknown {', '.join(k[:40] for k in unknown[:5])}" if unknown else "")
            )
        message = cls(**data)
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

    def __post_init__(self) -> None:
        super().__post_init__()
        _matching(self.KIND, "reason", self.reason, _CODE)
        _text(self.KIND, "detail", self.detail, MAX_DETAIL_CHARS)


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

    def __post_init__(self) -> None:
        super().__post_init__()
        kind = self.KIND
        if self.scope == SCOPE_REGION:
            if self.cluster_id != "":
                raise WireError(f"{kind}.cluster_id: a region-wide round names no cluster")
            _matching(kind, "region", self.region, _NAME)
        elif self.scope == SCOPE_CLUSTER:
            _matching(kind, "cluster_id", self.cluster_id, _NAME)
            if self.region != "":
                raise WireError(f"{kind}.region: a cluster round names no region")
        else:
            raise WireError(f"{kind}.scope: expected {SCOPE_CLUSTER} or {SCOPE_REGION}")
        date_text = _text(kind, "reference_date", self.reference_date, 10)
        try:
            parsed = dt.date.fromisoformat(date_text)
        except ValueError:
            parsed = None
        if parsed is None or parsed.isoformat() != date_text:
            raise WireError(f"{kind}.reference_date: expected a date YYYY-MM-DD")
        if self.state not in OUTCOME_STATES:
            raise WireError(f"{kind}.state: expected one of {', '.join(OUTCOME_STATES)}")
        _text(kind, "reason", self.reason, MAX_REASON_CHARS)
        if type(self.contributors) is not int or not 0 <= self.contributors <= MAX_CONTRIBUTORS:
            raise WireError(f"{kind}.contributors: expected a count 0..{MAX_CONTRIBUTORS}")
        if (self.state == "released") != (self.reason == ""):
            raise WireError(f"{kind}.reason: a release has no reason, an abort has one")


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
# The country: the national publication this region imported (`klynge server import-national`),
# its `nation` document; the latest one, whatever round id is asked.
FETCH_NATION = "nation"
# A partner's grant (`[[partners]]` of the manifest): the latest releases of its units at its
# levels, holding only its measures; the body may narrow it (`server.partners.PartnerRequest`).
FETCH_PARTNER = "partner"
RELEASE_MEDIA_TYPE = "application/vnd.klynge.release+json"
PARTNER_MEDIA_TYPE = "application/vnd.klynge.partner-releases+json"
