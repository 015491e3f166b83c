"""The envelope every protocol message travels in, and the transport's log lines.

The transport treats protocol messages as opaque bytes. What it does know is
the envelope around them: protocol version, round id, stage, sender and a
sequence number. (round_id, stage, sender, seq) is the idempotency key, so a
frame resent after a reconnect is dropped rather than handled twice. The
caller chooses `seq`: a resend of the same logical message must reuse it, and
two different messages of one sender in one (round, stage) must not share it.

Log lines are JSON objects whose values may only be scalars, so payload bytes
and key material cannot reach a log through `log_event` by construction; long
strings are cut, because an error text is the only place a value could hide.
(`log_event`/`JsonLineFormatter` would sit better in a `klynge/logs.py`; they
live here until the lead moves them.)
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import IntEnum
from typing import NamedTuple

from common.cpr import mask_cpr
from common.errors import KlyngeError
from common.i18n import register, t
from protocols.generated import klynge_pb2 as pb

PROTOCOL_VERSION = 1
COORDINATOR_SENDER = "coordinator"
# The gRPC method paths, from the compiled service descriptor (one place for both sides).
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["Coordinator"].full_name
SESSION_METHOD = f"/{SERVICE_NAME}/Session"
FETCH_METHOD = f"/{SERVICE_NAME}/Fetch"
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
    """What an agent asks `Fetch` for; the coordinator scopes it to the caller's cluster/region."""

    scope: str
    round_id: str


@dataclass(frozen=True)
class FetchResult:
    """Released results as the coordinator serves them: opaque bytes of a stated media type."""

    round_id: str
    media_type: str
    body: bytes = field(repr=False)


class FetchNotFound(KlyngeError):
    """Nothing is released for the query: raised by fetch handlers, and by agents on NOT_FOUND."""


def error_frame_fields(
    code: ErrorCode, reason: str, key: EnvelopeKey | None = None
) -> dict[str, object]:
    """Keyword arguments for `pb.Error`, naming the envelope when there is one."""
    fields: dict[str, object] = {"code": int(code), "reason": reason[:500]}
    if key is not None:
        fields.update(round_id=key.round_id, stage=key.stage, sender=key.sender, seq=key.seq)
    return fields


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


# -- structured logs ---------------------------------------------------------

LogValue = str | int | float | bool | None
_MAX_LOG_TEXT = 300


def _log_value(name: str, value: object) -> LogValue:
    if isinstance(value, bytes | bytearray | memoryview):
        raise TypeError(f"log field {name!r}: bytes are never logged")
    if isinstance(value, IntEnum):
        return value.name
    if isinstance(value, str):
        text = "".join(c if c.isprintable() else "?" for c in value)
        return text if len(text) <= _MAX_LOG_TEXT else text[:_MAX_LOG_TEXT] + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    raise TypeError(f"log field {name!r}: {type(value).__name__} is not a scalar")


def log_event(
    logger: logging.Logger, event: str, *, level: int = logging.INFO, **fields: object
) -> None:
    """Log one JSON object `{"event": ..., **fields}`; scalar fields only."""
    if not logger.isEnabledFor(level):
        return
    document = {"event": event, **{k: _log_value(k, v) for k, v in fields.items()}}
    logger.log(level, json.dumps(document, ensure_ascii=False, sort_keys=True))


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line with time, level and logger around the event fields."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        try:
            body = json.loads(message)
            if not isinstance(body, dict):
                body = {"message": message}
        except ValueError:
            body = {"message": message}
        document = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            **body,
        }
        return mask_cpr(json.dumps(document, ensure_ascii=False, sort_keys=True))  # never a CPR
