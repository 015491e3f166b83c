"""The envelope every protocol message travels in.

The transport treats protocol messages as opaque bytes. What it does know is
the envelope around them: protocol version, round id, stage, sender and a
sequence number. (round_id, stage, sender, seq) is the idempotency key, so a
frame resent after a reconnect is dropped rather than handled twice. The
caller chooses `seq`: a resend of the same logical message must reuse it, and
two different messages of one sender in one (round, stage) must not share it.

Pure: the gRPC frames around envelopes, and the service's method paths, are
`transport.frames`; log lines are `common.logs`.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

from common.errors import KlyngeError
from common.i18n import register, t
from protocols.generated import klynge_pb2 as pb

PROTOCOL_VERSION = 1
COORDINATOR_SENDER = "coordinator"
DEFAULT_MAX_PAYLOAD_BYTES = 4 * 1024 * 1024

_ROUND_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_STAGE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_SENDER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_KIND = re.compile(r"[A-Za-z0-9._-]{0,64}")
_MAX_U64 = (1 << 64) - 1

register(
    {
        "envelope.invalid": {
            "en": "invalid envelope: field {field}: {reason}",
            "da": "ugyldig kuvert: felt {field}: {reason}",
        },
    }
)


class ErrorCode(IntEnum):
    """Mirror of `klynge.v1.ErrorCode`; a test keeps the two identical."""

    ERROR_CODE_UNSPECIFIED = 0
    MALFORMED_FRAME = 1
    UNKNOWN_FRAME_TYPE = 2
    UNSUPPORTED_VERSION = 3
    INVALID_ENVELOPE = 4
    PAYLOAD_TOO_LARGE = 5
    IDENTITY_MISMATCH = 6
    NOT_REGISTERED = 7
    OUT_OF_ORDER = 8
    REJECTED = 9
    INTERNAL = 10
    SHUTTING_DOWN = 11
    SUPERSEDED = 12


class EnvelopeError(KlyngeError):
    """An envelope whose fields break the wire contract; `code` says which way."""

    def __init__(self, field: str, reason: str, code: ErrorCode = ErrorCode.INVALID_ENVELOPE):
        self.field = field
        self.reason = reason
        self.code = code
        super().__init__(t("envelope.invalid", field=field, reason=reason))


class FrameRejected(KlyngeError):
    """Raised by a frame handler to refuse one envelope with a code the peer sees."""

    def __init__(self, reason: str, code: ErrorCode = ErrorCode.REJECTED) -> None:
        self.reason = reason
        self.code = code
        super().__init__(reason)


class EnvelopeKey(NamedTuple):
    round_id: str
    stage: str
    sender: str
    seq: int


@dataclass(frozen=True)
class Envelope:
    """One protocol message in transit; `payload` is opaque to the transport."""

    round_id: str
    stage: str
    sender: str
    seq: int
    payload: bytes = field(repr=False)
    kind: str = ""
    protocol_version: int = PROTOCOL_VERSION

    def __repr__(self) -> str:  # never print payload bytes, only their size
        return (
            f"Envelope(round_id={self.round_id!r}, stage={self.stage!r}, "
            f"sender={self.sender!r}, seq={self.seq}, kind={self.kind!r}, "
            f"payload=<{len(self.payload)} bytes>)"
        )

    @property
    def key(self) -> EnvelopeKey:
        return EnvelopeKey(self.round_id, self.stage, self.sender, self.seq)

    def validate(self, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> Envelope:
        if self.protocol_version != PROTOCOL_VERSION:
            raise EnvelopeError(
                "protocol_version",
                f"{self.protocol_version} is not supported; this side speaks {PROTOCOL_VERSION}",
                ErrorCode.UNSUPPORTED_VERSION,
            )
        for name, pattern in (
            ("round_id", _ROUND_ID),
            ("stage", _STAGE),
            ("sender", _SENDER),
            ("kind", _KIND),
        ):
            value = getattr(self, name)
            if not isinstance(value, str) or not pattern.fullmatch(value):
                raise EnvelopeError(name, f"must match {pattern.pattern}")
        if not isinstance(self.seq, int) or not 0 <= self.seq <= _MAX_U64:
            raise EnvelopeError("seq", "must be an unsigned 64-bit integer")
        if not isinstance(self.payload, bytes):
            raise EnvelopeError("payload", "must be bytes")
        if len(self.payload) > max_payload_bytes:
            raise EnvelopeError(
                "payload",
                f"{len(self.payload)} bytes exceeds the limit of {max_payload_bytes}",
                ErrorCode.PAYLOAD_TOO_LARGE,
            )
        return self

    def to_proto(self) -> pb.Envelope:
        return pb.Envelope(
            protocol_version=self.protocol_version,
            round_id=self.round_id,
            stage=self.stage,
            sender=self.sender,
            seq=self.seq,
            kind=self.kind,
            payload=self.payload,
        )

    @classmethod
    def from_proto(
        cls, message: pb.Envelope, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    ) -> Envelope:
        return cls(
            round_id=message.round_id,
            stage=message.stage,
            sender=message.sender,
            seq=message.seq,
            payload=bytes(message.payload),
            kind=message.kind,
            protocol_version=message.protocol_version,
        ).validate(max_payload_bytes)


@dataclass(frozen=True)
class FetchQuery:
    """What an agent asks `Fetch` for; the coordinator scopes it to the caller's cluster/region.

    `body` carries a log scope's request document (`privacy.log_proofs`); it is
    empty for releases.
    """

    scope: str
    round_id: str
    body: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class FetchResult:
    """Released results as the coordinator serves them: opaque bytes of a stated media type."""

    round_id: str
    media_type: str
    body: bytes = field(repr=False)


class FetchNotFound(KlyngeError):
    """Nothing is released for the query: raised by fetch handlers, and by agents on NOT_FOUND."""


class FetchDenied(KlyngeError):
    """The caller may not have what it asked for (PERMISSION_DENIED on the wire).

    Raised by a fetch handler after it has recorded the refusal; `reason` is a
    short code for logs and metrics, the message says why in words.
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class DedupWindow:
    """The last `capacity` idempotency keys seen; thread-safe.

    Bounded so a long-lived coordinator cannot be made to grow without limit;
    a key older than the window is long past its round's deadline, where the
    protocol's own stale-message check rejects it anyway.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self._capacity = capacity
        self._keys: OrderedDict[EnvelopeKey, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, key: EnvelopeKey) -> bool:
        """True the first time `key` is offered, False for a duplicate."""
        with self._lock:
            if key in self._keys:
                self._keys.move_to_end(key)
                return False
            self._keys[key] = None
            if len(self._keys) > self._capacity:
                self._keys.popitem(last=False)
            return True

    def __len__(self) -> int:
        with self._lock:
            return len(self._keys)
