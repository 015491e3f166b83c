"""The session layer both ends share: one live Session stream and what it carries.

A session is one gRPC Session stream between one practice and the
coordinator. Each end holds its own view of it (`transport.server` the
coordinator's, `transport.client` the practice's), and both are built from
the same parts:

- `FrameQueue`: the frames waiting for gRPC to pull them, ending with a
  `StreamEnd` that always fits, even when the queue is full.
- `Session`: the queue behind a lock, with the one rule for sending on a
  stream that has ended: **it is a no-op with a log line, never an error.**
  The sender is often handling *another* practice's message (a round moving
  on to its next stage); refusing that message because this practice left
  would abort the round for everyone. The frame is lost either way.
- `SessionHandler`: the four callbacks the layer above implements.
- `deliver`: what becomes of one received envelope (duplicate, accepted,
  refused by the handler, or a handler failure), the same at both ends.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

import grpc
from google.protobuf.message import Message

from common.errors import KlyngeError
from common.logs import log_event
from protocols.envelope import (
    DedupWindow,
    Envelope,
    EnvelopeError,
    EnvelopeKey,
    ErrorCode,
    FrameRejected,
)
from protocols.generated import klynge_pb2 as pb
from transport.frames import error_message, key_fields


@dataclass(frozen=True)
class StreamEnd:
    """The last item of a stream's frames; a `status` aborts the RPC with it (coordinator)."""

    status: grpc.StatusCode | None = None
    details: str = ""


class FrameQueue:
    """Serialised frames waiting for gRPC to pull them; bounded by `limit`, but the end fits."""

    def __init__(self, limit: int | None = None) -> None:
        self._items: deque[bytes | StreamEnd] = deque()
        self._limit = limit
        self._cond = threading.Condition()

    def put(self, frame: bytes) -> bool:
        """False, and nothing queued, if the queue is full."""
        with self._cond:
            if self._limit is not None and len(self._items) >= self._limit:
                return False
            self._items.append(frame)
            self._cond.notify()
            return True

    def end(self, status: grpc.StatusCode | None = None, details: str = "") -> None:
        with self._cond:
            self._items.append(StreamEnd(status, details))
            self._cond.notify()

    def get(self, timeout: float | None = None) -> bytes | StreamEnd | None:
        """The next frame or the end; None if `timeout` seconds pass first."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._items, timeout):
                return None
            return self._items.popleft()


class Session:
    """One live Session stream as one end holds it; frames may be queued from any thread."""

    frame_type: type[pb.AgentFrame] | type[pb.CoordinatorFrame]  # what this end sends

    def __init__(
        self, practice_id: str, session_id: str, frames: FrameQueue, log: logging.Logger
    ) -> None:
        self.practice_id = practice_id
        self.session_id = session_id
        self._frames = frames
        self._log = log
        self._lock = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.practice_id!r}, {self.session_id})"

    @property
    def is_open(self) -> bool:
        with self._lock:
            return not self._closed

    def _queue(self, frame: bytes, body: str, key: EnvelopeKey | None = None) -> bool:
        """Queue one serialised frame; True if it was queued.

        The one place a send meets a session that has ended: it is dropped and
        logged, and the caller goes on (see the module's docstring).
        """
        with self._lock:
            closed = self._closed
            if not closed and self._frames.put(frame):
                return True
        full = not closed
        if full:
            self._backlog_full()
        level = logging.WARNING if full else logging.INFO
        reason = "backlog full" if full else "session closed"
        if key is None:
            self._event("send_dropped", level=level, frame=body, reason=reason)
        else:
            self._event("send_dropped", level=level, frame=body, reason=reason, **key_fields(key))
        return False

    def _send_body(self, body: str, message: Message, key: EnvelopeKey | None = None) -> bool:
        """Queue a frame with one body (envelope, ack, error, heartbeat, welcome)."""
        frame = self.frame_type()
        getattr(frame, body).CopyFrom(message)
        return self._queue(frame.SerializeToString(), body, key)

    def refuse(self, code: ErrorCode, reason: str, key: EnvelopeKey | None = None) -> bool:
        """An Error frame to the other end, naming the envelope it refuses if one; goes on."""
        return self._send_body("error", error_message(code, reason, key), key)

    def _event(self, event: str, *, level: int = logging.INFO, **fields: object) -> None:
        """One log line about this session, naming the practice and the session."""
        log_event(
            self._log,
            event,
            level=level,
            practice_id=self.practice_id,
            session_id=self.session_id,
            **fields,
        )

    def next_frame(self, timeout: float | None = None) -> bytes | StreamEnd | None:
        """What gRPC sends next: a frame, the end, or None after `timeout` seconds idle."""
        return self._frames.get(timeout)

    def _backlog_full(self) -> None:
        """The peer does not read its frames; an end with a bounded queue closes the session."""

    def _end(self) -> None:
        """The RPC is over (either side): nothing more is queued, and the stream's reader wakes."""
        with self._lock:
            self._closed = True
        self._frames.end()


S = TypeVar("S", bound=Session)


class SessionHandler(Generic[S]):
    """What the layer above a transport plugs in.

    `on_frame` may raise `FrameRejected` (or any KlyngeError) to refuse one
    envelope: the other end gets an Error frame naming it, the session goes on.
    """

    def on_connect(self, session: S) -> None:
        """A session was welcomed; frames may flow."""

    def on_frame(self, session: S, envelope: Envelope) -> None:
        """A new (not duplicate) envelope from the other end."""

    def on_error(self, session: S, code: ErrorCode, reason: str, key: EnvelopeKey | None) -> None:
        """The other end reported an error; `key` names the envelope it refused, if one."""

    def on_disconnect(self, session: S, reason: str) -> None:
        """The session ended."""


def open_envelope(
    message: pb.Envelope, max_payload_bytes: int, log: logging.Logger, **fields: object
) -> Envelope:
    """The checked envelope of a received frame; an invalid one is logged, then raised."""
    try:
        return Envelope.from_proto(message, max_payload_bytes)
    except EnvelopeError as exc:
        log_event(
            log,
            "envelope_refused",
            level=logging.WARNING,
            **fields,
            code=exc.code,
            field=exc.field,
            reason=exc.reason,
        )
        raise


@dataclass(frozen=True)
class Delivery:
    """What became of one received envelope."""

    duplicate: bool = False
    code: ErrorCode | None = None  # the refusal's code, when the handler refused it
    reason: str = ""
    failure: str | None = None  # the exception's type, when the handler failed on it

    @property
    def refused(self) -> bool:
        return self.code is not None


def deliver(
    handler: SessionHandler[S],
    session: S,
    envelope: Envelope,
    seen: DedupWindow,
    *,
    failed: str,
) -> Delivery:
    """Hand a new envelope to `handler.on_frame` once; map what it raises to a refusal.

    `failed` is the reason the other end reads when the handler crashed: the
    exception itself may hold values, so only its type is kept (for logs).
    """
    if not seen.first_time(envelope.key):
        return Delivery(duplicate=True)
    try:
        handler.on_frame(session, envelope)
    except FrameRejected as exc:
        return Delivery(code=exc.code, reason=exc.reason)
    except KlyngeError as exc:
        return Delivery(code=ErrorCode.REJECTED, reason=str(exc))
    except Exception as exc:
        return Delivery(code=ErrorCode.INTERNAL, reason=failed, failure=type(exc).__name__)
    return Delivery()


def notify(
    log: logging.Logger,
    callback: str,
    call: Callable[..., object],
    *args: object,
    **fields: object,
) -> None:
    """Run one handler callback; what it raises is logged by type only and goes no further."""
    try:
        call(*args)
    except Exception as exc:
        log_event(
            log,
            "handler_failed",
            level=logging.ERROR,
            callback=callback,
            error=type(exc).__name__,
            **fields,
        )
