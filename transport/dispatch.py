"""The coordinator's dispatcher: every handler callback on ONE thread, in arrival order.

So the protocol state machines behind the handler need no locks. A callback
that blocks stalls every session: slow work belongs on the handler's own
executor. Each envelope is handed over once: a frame whose (round_id, stage,
sender, seq) was seen before is dropped with a log line and acknowledged as a
duplicate; one the handler accepts is acknowledged, one it refuses (or fails
on) is answered with an Error frame naming it. A reply to a session that has
ended meanwhile is dropped by the session layer, never raised here.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from common.logs import log_event
from protocols.envelope import DedupWindow, Envelope
from transport.frames import PeerError, key_fields
from transport.session import SessionHandler, deliver, notify

if TYPE_CHECKING:
    from transport.server import CoordinatorSideSession


@dataclass(frozen=True)
class _Event:
    kind: str  # what the log says failed: connect, frame, error, disconnect
    session: CoordinatorSideSession
    call: Callable[..., object]
    args: tuple[object, ...]

    @property
    def practice_id(self) -> str:
        return self.session.practice_id


class Dispatcher:
    """A queue of session events and the one thread that hands them to the handler."""

    def __init__(
        self,
        handler: SessionHandler[CoordinatorSideSession],
        dedup_capacity: int,
        log: logging.Logger,
    ) -> None:
        self._handler = handler
        self._dedup = DedupWindow(dedup_capacity)
        self._log = log
        self._events: deque[_Event | None] = deque()  # None: stop
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="klynge-dispatch", daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Hand over what is queued, then end the thread."""
        self._post(None)
        if self._thread is not None:
            self._thread.join(timeout=timeout)

    # events, from any thread -----------------------------------------------------

    def connected(self, session: CoordinatorSideSession) -> None:
        self._post(_Event("connect", session, self._handler.on_connect, (session,)))

    def frame(self, session: CoordinatorSideSession, envelope: Envelope) -> None:
        self._post(_Event("frame", session, self.deliver, (session, envelope)))

    def error(self, session: CoordinatorSideSession, error: PeerError) -> None:
        args = (session, error.code, error.reason, error.key)
        self._post(_Event("error", session, self._handler.on_error, args))

    def disconnected(self, session: CoordinatorSideSession, reason: str) -> None:
        self._post(_Event("disconnect", session, self._handler.on_disconnect, (session, reason)))

    def _post(self, event: _Event | None) -> None:
        with self._cond:
            self._events.append(event)
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._events)
                event = self._events.popleft()
            if event is None:
                return
            notify(self._log, event.kind, event.call, *event.args, practice_id=event.practice_id)

    # one envelope --------------------------------------------------------------------

    def deliver(self, session: CoordinatorSideSession, envelope: Envelope) -> None:
        """Hand one envelope to the handler (once), then acknowledge or refuse it."""
        key = envelope.key
        where = key_fields(key)
        done = deliver(
            self._handler, session, envelope, self._dedup, failed="coordinator failed on this frame"
        )
        if done.duplicate:
            log_event(self._log, "duplicate_dropped", practice_id=session.practice_id, **where)
            session.ack(key, duplicate=True)
        elif done.code is not None:
            extra = {} if done.failure is None else {"error": done.failure}
            log_event(
                self._log,
                "frame_rejected" if done.failure is None else "handler_failed",
                level=logging.WARNING,
                practice_id=session.practice_id,
                **where,
                code=done.code,
                reason=done.reason,
                **extra,
            )
            session.refuse(done.code, done.reason, key)
        else:
            session.ack(key, duplicate=False)
