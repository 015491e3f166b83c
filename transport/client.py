"""The practice agent's end of the federation: it dials out, the coordinator pushes.

Practices sit behind firewalls on the health network and can only open
outgoing connections, so the agent keeps one long-lived gRPC stream to the
coordinator and reconnects, with exponential backoff and jitter, whenever it
breaks. Jitter matters: after a coordinator restart a hundred agents must not
reconnect in the same millisecond. `resolve_target` finds the address again
before each attempt (a restarted coordinator may listen on another port).

Delivery: every envelope the agent sends stays in an outbox until the
coordinator acknowledges it (or refuses it by key), and the outbox is resent on
each new session. The coordinator drops duplicates by idempotency key, so the
handler there sees each message once even across reconnects. Envelopes from
the coordinator are deduplicated here the same way.

The handler's callbacks run on the stream's reader thread, one at a time.
Clock, sleep and randomness are injectable so backoff can be tested without
waiting.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import grpc

from common.errors import KlyngeError
from common.i18n import register, t
from common.logs import log_event
from common.version import code_version
from protocols.envelope import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    PROTOCOL_VERSION,
    DedupWindow,
    Envelope,
    EnvelopeError,
    EnvelopeKey,
    ErrorCode,
    FetchResult,
)
from protocols.generated import klynge_pb2 as pb
from transport.fetch import FetchError, fetch_release
from transport.frames import (
    SESSION_METHOD,
    PeerError,
    envelope_key,
    key_fields,
    parse_frame,
)
from transport.limits import KEEPALIVE_TIMEOUT_MS, MAX_MESSAGE_BYTES, stream_options
from transport.session import (
    FrameQueue,
    Session,
    SessionHandler,
    StreamEnd,
    deliver,
    notify,
    open_envelope,
)
from transport.tls import LoadedTls, TlsFiles, channel_credentials, load_tls, practice_of_loaded

_log = logging.getLogger("klynge.transport.agent")

register(
    {
        "agent.closed": {
            "en": "the connection to the coordinator has been closed; nothing more can be sent",
            "da": "forbindelsen til koordinatoren er lukket; der kan ikke sendes mere",
        },
        "agent.outbox_full": {
            "en": "{n} messages await acknowledgement from the coordinator; "
            "it is unreachable or stuck",
            "da": "{n} beskeder venter på kvittering fra koordinatoren; "
            "den kan ikke nås eller svarer ikke",
        },
    }
)


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: attempt n waits in [(1-jitter)·b, b], b = min(max, i·mⁿ)."""

    initial: float = 0.5
    maximum: float = 30.0
    multiplier: float = 2.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if not (
            0 < self.initial <= self.maximum and self.multiplier >= 1 and 0 <= self.jitter <= 1
        ):
            raise ValueError(
                "backoff needs 0 < initial <= maximum, multiplier >= 1, 0 <= jitter <= 1"
            )

    def delay(self, attempt: int, rand: random.Random) -> float:
        base = min(self.maximum, self.initial * self.multiplier ** min(attempt, 64))
        return base * (1.0 - self.jitter * rand.random())


# Asking a busy coordinator's Fetch again: quick at first, never more than a second apart.
_FETCH_BUSY_BACKOFF = Backoff(initial=0.05, maximum=1.0)


@dataclass(frozen=True)
class AgentConfig:
    """Where to dial and how patient to be."""

    target: str
    tls: TlsFiles
    # Called before each (re)connect to find the address again; None: always `target`.
    resolve_target: Callable[[str], str] | None = None
    backoff: Backoff = field(default_factory=Backoff)
    # Name to check the coordinator's certificate against, if not the host in `target`.
    server_name: str | None = None
    handshake_timeout: float = 10.0  # connect + Hello -> Welcome
    fetch_timeout: float = 30.0
    heartbeat_interval: float | None = None  # None: what the coordinator's Welcome says
    keepalive_time_ms: int = 30_000
    keepalive_timeout_ms: int = KEEPALIVE_TIMEOUT_MS
    max_message_bytes: int = MAX_MESSAGE_BYTES
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    max_pending: int = 1024
    agent_version: str = field(default_factory=code_version)


class TransportClosedError(KlyngeError):
    """The agent transport was closed; nothing more can be sent."""

    def __init__(self) -> None:
        super().__init__(t("agent.closed"))


class OutboxFullError(KlyngeError):
    """Too many envelopes wait for acknowledgement; the coordinator is unreachable or stuck."""

    def __init__(self, pending: int) -> None:
        self.pending = pending
        super().__init__(t("agent.outbox_full", n=pending))


class PracticeSideSession(Session):
    """One welcomed stream, as the practice's agent holds it.

    `send` goes through the transport's outbox, so an envelope outlives the
    session: it is resent on the next one until the coordinator acknowledges it.
    """

    frame_type = pb.AgentFrame

    def __init__(
        self,
        session_id: str,
        practice_id: str,
        heartbeat_interval: float,
        frames: FrameQueue,
        transport: AgentTransport,
        log: logging.Logger,
    ) -> None:
        super().__init__(practice_id, session_id, frames, log)
        self.heartbeat_interval = heartbeat_interval
        self._transport = transport

    def send(self, envelope: Envelope) -> None:
        self._transport.send(envelope)


# Callbacks run on the stream's reader thread; `on_connect` after the outbox was resent,
# and after `on_disconnect` the transport reconnects unless it was closed.
AgentHandler = SessionHandler[PracticeSideSession]


@dataclass(frozen=True)
class TransportStatus:
    """A snapshot for `klynge agent status` and health checks."""

    practice_id: str
    connected: bool
    session_id: str | None
    connected_for_s: float | None
    reconnects: int
    pending: int
    last_error: str | None


class AgentTransport:
    """A self-healing mTLS stream from one practice to the coordinator."""

    def __init__(
        self,
        config: AgentConfig,
        handler: AgentHandler,
        *,
        sleep: Callable[[float], object] | None = None,
        rand: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
    ) -> None:
        self._config = config
        self._handler = handler
        self._tls: LoadedTls = load_tls(config.tls)
        self.practice_id = practice_of_loaded(self._tls)
        self._credentials = channel_credentials(self._tls)
        self._closing = threading.Event()
        self._sleep = sleep or self._closing.wait
        self._rand = rand or random.SystemRandom()
        self._clock = clock
        self._log = logger or _log
        self._lock = threading.Lock()
        self._pending: OrderedDict[EnvelopeKey, bytes] = OrderedDict()
        self._frames: FrameQueue | None = None  # the current connection's outgoing frames
        self._call: grpc.Call | None = None
        self._session: PracticeSideSession | None = None  # set once welcomed: frames may flow
        self._connected = threading.Event()
        self._dedup = DedupWindow(10_000)
        self._thread: threading.Thread | None = None
        self._fetch_channel: grpc.Channel | None = None
        self._fetch_target: str | None = None
        self._connected_at: float | None = None
        self.reconnects = 0
        self.last_error: str | None = None

    # lifecycle ---------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("transport already started")
        self._thread = threading.Thread(
            target=self._run, name=f"klynge-agent-{self.practice_id}", daemon=True
        )
        self._thread.start()

    def close(self, timeout: float = 5.0) -> None:
        """Half-close the stream so the coordinator sees a clean goodbye, then stop."""
        self._closing.set()
        with self._lock:
            frames, call, welcomed = self._frames, self._call, self._session is not None
        if frames is not None:
            frames.end()
        if call is not None and not welcomed:
            call.cancel()  # still handshaking: nothing to say goodbye to
        if self._thread is not None:
            self._thread.join(timeout / 2)
            if self._thread.is_alive() and call is not None:
                call.cancel()
            self._thread.join(timeout / 2)
        if self._fetch_channel is not None:
            self._fetch_channel.close()
            self._fetch_channel = None

    def __enter__(self) -> AgentTransport:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float | None = None) -> bool:
        return self._connected.wait(timeout)

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._pending)

    def status(self) -> TransportStatus:
        with self._lock:
            session, since, pending = self._session, self._connected_at, len(self._pending)
        return TransportStatus(
            practice_id=self.practice_id,
            connected=session is not None,
            session_id=session.session_id if session else None,
            connected_for_s=None if since is None else self._clock() - since,
            reconnects=self.reconnects,
            pending=pending,
            last_error=self.last_error,
        )

    # sending -----------------------------------------------------------------

    def send(self, envelope: Envelope) -> None:
        """Queue an envelope; it is delivered once connected and resent until acknowledged."""
        if self._closing.is_set():
            raise TransportClosedError()
        envelope.validate(self._config.max_payload_bytes)
        if envelope.sender != self.practice_id:
            raise EnvelopeError(
                "sender", f"{envelope.sender!r} is not this agent's practice {self.practice_id!r}"
            )
        data = pb.AgentFrame(envelope=envelope.to_proto()).SerializeToString()
        with self._lock:
            if envelope.key not in self._pending and len(self._pending) >= self._config.max_pending:
                raise OutboxFullError(len(self._pending))
            self._pending[envelope.key] = data
            if self._session is not None:
                self._session._queue(data, "envelope", envelope.key)

    def _send_error(self, code: ErrorCode, reason: str, key: EnvelopeKey | None) -> None:
        with self._lock:
            session = self._session
        if session is not None:
            session.refuse(code, reason, key)

    # the connection loop -----------------------------------------------------------

    def _channel_options(self) -> list[tuple[str, object]]:
        cfg = self._config
        options = [
            *stream_options(cfg.max_message_bytes, cfg.keepalive_time_ms, cfg.keepalive_timeout_ms),
            # Reconnect pacing is ours (with jitter); keep gRPC's own retries out of it.
            ("grpc.enable_retries", 0),
            ("grpc.initial_reconnect_backoff_ms", 100),
        ]
        if cfg.server_name:
            options.append(("grpc.ssl_target_name_override", cfg.server_name))
        return options

    def _run(self) -> None:
        attempt = 0
        while not self._closing.is_set():
            welcomed = self._run_session()
            if self._closing.is_set():
                break
            if welcomed:
                attempt = 0
            delay = self._config.backoff.delay(attempt, self._rand)
            attempt += 1
            self.reconnects += 1
            log_event(
                self._log,
                "reconnect_scheduled",
                practice_id=self.practice_id,
                attempt=attempt,
                delay_s=round(delay, 3),
                last_error=self.last_error,
            )
            self._sleep(delay)

    def _requests(self, frames: FrameQueue, hello: bytes) -> Iterator[bytes]:
        yield hello
        nonce = 0
        while True:
            interval = self._session.heartbeat_interval if self._session else 5.0
            item = frames.get(timeout=max(interval, 0.05))
            if item is None:
                nonce += 1
                yield pb.AgentFrame(heartbeat=pb.Heartbeat(nonce=nonce)).SerializeToString()
                continue
            if isinstance(item, StreamEnd):
                return
            yield item

    def _run_session(self) -> bool:
        """One connection from dial to end; True if it got as far as Welcome."""
        cfg = self._config
        channel = grpc.secure_channel(
            self._current_target(), self._credentials, self._channel_options()
        )
        frames = FrameQueue()
        hello = pb.AgentFrame(
            hello=pb.Hello(
                protocol_version=PROTOCOL_VERSION,
                practice_id=self.practice_id,
                agent_version=cfg.agent_version,
            )
        ).SerializeToString()
        session: PracticeSideSession | None = None
        reason = "coordinator ended the stream"
        timer: threading.Timer | None = None
        try:
            stream: grpc.StreamStreamMultiCallable[bytes, bytes]
            stream = channel.stream_stream(SESSION_METHOD)
            call = stream(self._requests(frames, hello))
            with self._lock:
                self._call = call
                self._frames = frames
                if self._closing.is_set():
                    call.cancel()
            timer = threading.Timer(cfg.handshake_timeout, self._handshake_expired, (call,))
            timer.daemon = True
            timer.start()
            for raw in call:
                frame = parse_frame(pb.CoordinatorFrame, raw)
                if frame is None:
                    log_event(
                        self._log,
                        "frame_refused",
                        level=logging.WARNING,
                        reason="bytes are not a CoordinatorFrame",
                    )
                    self._send_error(ErrorCode.MALFORMED_FRAME, "bytes are not a frame", None)
                    continue
                kind = frame.WhichOneof("body")
                if session is None:
                    if kind != "welcome":
                        if kind == "error":
                            self._on_error(None, frame.error)
                            continue
                        reason = f"coordinator sent {kind} before welcome"
                        break
                    timer.cancel()
                    session = self._welcome(frame.welcome, frames)
                    if session is None:
                        reason = "coordinator speaks another protocol version"
                        break
                    continue
                if kind == "envelope":
                    self._on_envelope(session, frame.envelope)
                elif kind == "ack":
                    with self._lock:
                        self._pending.pop(envelope_key(frame.ack), None)
                elif kind == "error":
                    self._on_error(session, frame.error)
                elif kind == "heartbeat":
                    pass
                else:
                    self._send_error(ErrorCode.UNKNOWN_FRAME_TYPE, "frame of unknown type", None)
        except grpc.RpcError as exc:
            status = exc.code() if hasattr(exc, "code") else None
            details = exc.details() if hasattr(exc, "details") else ""
            name = status.name if status else "UNKNOWN"
            reason = f"{name}: {details}"
            level = logging.INFO if self._closing.is_set() else logging.WARNING
            log_event(
                self._log,
                "session_failed",
                level=level,
                practice_id=self.practice_id,
                status=name,
                details=details,
            )
        finally:
            if timer is not None:
                timer.cancel()
            with self._lock:
                self._call = None
                self._frames = None
                self._session = None
                self._connected_at = None
            if session is not None:
                session._end()
            else:
                frames.end()
            self._connected.clear()
            channel.close()
            if not self._closing.is_set():
                self.last_error = reason
            if session is not None:
                session._event("session_closed", reason=reason)
                notify(self._log, "on_disconnect", self._handler.on_disconnect, session, reason)
        return session is not None

    def _handshake_expired(self, call: grpc.Future) -> None:
        if not self._connected.is_set():
            log_event(
                self._log, "handshake_timeout", level=logging.WARNING, practice_id=self.practice_id
            )
            call.cancel()

    def _welcome(self, welcome: pb.Welcome, frames: FrameQueue) -> PracticeSideSession | None:
        if welcome.protocol_version != PROTOCOL_VERSION:
            log_event(
                self._log,
                "refused",
                level=logging.ERROR,
                practice_id=self.practice_id,
                reason="unsupported coordinator protocol version",
                version=welcome.protocol_version,
            )
            return None
        interval = self._config.heartbeat_interval
        if interval is None:
            interval = welcome.heartbeat_interval_ms / 1000 or 15.0
        session = PracticeSideSession(
            welcome.session_id[:64], self.practice_id, interval, frames, self, self._log
        )
        with self._lock:
            self._session = session
            self._connected_at = self._clock()
            for key, data in self._pending.items():
                session._queue(data, "envelope", key)
            resent = len(self._pending)
        self._connected.set()
        session._event("session_open", resent=resent)
        notify(self._log, "on_connect", self._handler.on_connect, session)
        return session

    def _on_envelope(self, session: PracticeSideSession, message: pb.Envelope) -> None:
        key = envelope_key(message)
        try:
            envelope = open_envelope(message, self._config.max_payload_bytes, self._log)
        except EnvelopeError as exc:
            self._send_error(exc.code, str(exc), key)
            return
        where = key_fields(key)
        done = deliver(
            self._handler, session, envelope, self._dedup, failed="agent failed on this frame"
        )
        if done.duplicate:
            log_event(self._log, "duplicate_dropped", **where)
            return
        if done.failure is not None:
            log_event(
                self._log,
                "handler_failed",
                level=logging.ERROR,
                callback="on_frame",
                error=done.failure,
            )
        if done.code is not None:
            log_event(
                self._log,
                "frame_rejected",
                level=logging.WARNING,
                **where,
                code=done.code,
                reason=done.reason,
            )
            self._send_error(done.code, done.reason, key)

    def _on_error(self, session: PracticeSideSession | None, message: pb.Error) -> None:
        error = PeerError.from_proto(message)
        if error.key is not None:
            with self._lock:
                self._pending.pop(error.key, None)  # refused by key: resending cannot help
        log_event(
            self._log,
            "coordinator_error",
            level=logging.WARNING,
            practice_id=self.practice_id,
            **error.log_fields(),
        )
        if session is not None:
            notify(
                self._log,
                "on_error",
                self._handler.on_error,
                session,
                error.code,
                error.reason,
                error.key,
            )

    def _current_target(self) -> str:
        resolve = self._config.resolve_target
        return resolve(self._config.target) if resolve is not None else self._config.target

    # fetching releases ---------------------------------------------------------

    def fetch(
        self, scope: str, round_id: str = "", timeout: float | None = None, body: bytes = b""
    ) -> FetchResult:
        """Released results for this practice's `scope` (e.g. "cluster"), or a transparency-log
        request (`body`), with a deadline."""
        if self._closing.is_set():
            raise TransportClosedError()
        with self._lock:
            target = self._current_target()
            if self._fetch_channel is None or self._fetch_target != target:
                if self._fetch_channel is not None:
                    self._fetch_channel.close()
                self._fetch_channel = grpc.secure_channel(
                    target, self._credentials, self._channel_options()
                )
                self._fetch_target = target
            channel = self._fetch_channel
        deadline = time.monotonic() + (timeout or self._config.fetch_timeout)
        attempt = 0
        while True:
            try:
                return fetch_release(channel, scope, round_id, deadline - time.monotonic(), body)
            except FetchError as exc:
                # A busy coordinator refuses at once (its Fetch slots are full, e.g. when a
                # whole region checks the log for two rounds together): wait, then ask again.
                busy = exc.status == grpc.StatusCode.RESOURCE_EXHAUSTED.name
                wait = _FETCH_BUSY_BACKOFF.delay(attempt, self._rand)
                if not busy or time.monotonic() + wait >= deadline or self._closing.is_set():
                    raise
                self._sleep(wait)
                attempt += 1
