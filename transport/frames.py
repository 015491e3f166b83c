"""The frames of the Session stream, as both ends build and read them.

`klynge.v1` frames are protobuf messages: the agent sends `AgentFrame`s, the
coordinator `CoordinatorFrame`s, and both carry `Envelope`, `Heartbeat` and
`Error` bodies. What one end writes the other reads here too, so the key of
an envelope, an error's fields and the method paths are defined once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict, TypeVar

from google.protobuf.message import DecodeError, Message

from protocols.envelope import EnvelopeKey, ErrorCode
from protocols.generated import klynge_pb2 as pb

# The gRPC method paths, from the compiled service descriptor.
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Coordinator"].full_name
SESSION_METHOD = f"/{SERVICE_NAME}/Session"
FETCH_METHOD = f"/{SERVICE_NAME}/Fetch"

# An error's reason is cut here on the wire and before a handler sees it.
MAX_REASON_CHARS = 500

F = TypeVar("F", bound=Message)


def parse_frame(frame_type: type[F], raw: bytes) -> F | None:
    """The frame in `raw`, or None if the bytes are not one."""
    try:
        return frame_type.FromString(raw)
    except DecodeError:
        return None


def envelope_key(message: pb.Envelope | pb.Ack | pb.Error) -> EnvelopeKey:
    """The idempotency key an envelope, an acknowledgement or an error names."""
    return EnvelopeKey(message.round_id, message.stage, message.sender, message.seq)


class KeyFields(TypedDict):
    round_id: str
    stage: str
    seq: int


def key_fields(key: EnvelopeKey) -> KeyFields:
    """How an envelope is named in a log line: its round, stage and sequence number."""
    return {"round_id": key.round_id, "stage": key.stage, "seq": key.seq}


def error_message(code: ErrorCode, reason: str, key: EnvelopeKey | None = None) -> pb.Error:
    """An Error body, naming the envelope when there is one."""
    error = pb.Error(code=int(code), reason=reason[:MAX_REASON_CHARS])  # type: ignore[arg-type]
    if key is not None:
        error.round_id, error.stage, error.sender, error.seq = key
    return error


@dataclass(frozen=True)
class PeerError:
    """An Error frame from the other end, read defensively (unknown codes, long reasons)."""

    code: ErrorCode
    reason: str
    key: EnvelopeKey | None  # set when the error refuses one envelope
    stage: str = ""

    @classmethod
    def from_proto(cls, error: pb.Error) -> PeerError:
        try:
            code = ErrorCode(error.code)
        except ValueError:
            code = ErrorCode.ERROR_CODE_UNSPECIFIED
        key = envelope_key(error) if error.round_id else None
        return cls(code, error.reason[:MAX_REASON_CHARS], key, error.stage)

    def log_fields(self) -> dict[str, object]:
        return {
            "code": self.code,
            "reason": self.reason,
            "round_id": self.key.round_id if self.key else None,
            "stage": self.stage or None,
        }
