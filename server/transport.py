"""The coordinator's end of the federation: agent sessions over gRPC with mutual TLS.

Guarantees this module gives the round orchestration built on it:

- A session exists only for a caller whose client certificate chains to our
  CA (TLS layer), whose certificate names a practice that `admit` accepts
  (registry layer), and whose Hello claims that same practice (identity
  layer). Every envelope's `sender` must also be that practice. Each refusal
  ends the RPC with a status code and leaves one log line saying why.
- Handler callbacks run on ONE dispatcher thread, in arrival order, so the
  protocol state machines behind them need no locks. A callback that blocks
  stalls every session: hand slow work to your own executor.
- A frame whose (round_id, stage, sender, seq) was seen before is dropped with
  a log line and acknowledged as a duplicate, never handed to the handler twice.
- Bad bytes, unknown frame types, invalid envelopes and handler exceptions
  are answered with an Error frame; the session (and the server) go on.
  A session that keeps sending garbage is closed with INVALID_ARGUMENT.
- Logs are JSON lines through `log_event`, which refuses bytes: payloads and
  keys never reach them.

One practice has at most one live session: a new one (a reconnect after a
network blip the server has not noticed yet) supersedes the old, which gets
`on_disconnect`. Look the current one up with `session(practice_id)`.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass
from typing import Any, NoReturn

import grpc
from google.protobuf.message import DecodeError

from common.errors import KlyngeError
from common.logs import log_event
from protocols.envelope import (
    COORDINATOR_SENDER,
    DEFAULT_MAX_PAYLOAD_BYTES,
    FETCH_METHOD,
    PROTOCOL_VERSION,
    SERVICE_NAME,
    SESSION_METHOD,
    DedupWindow,
    Envelope,
    EnvelopeError,
    EnvelopeKey,
    ErrorCode,
    FetchNotFound,
    FetchQuery,
    FetchResult,
    FrameRejected,
    error_frame_fields,
)
from protocols.generated import klynge_pb2 as pb
from transport.tls import (
    LoadedTls,
    PeerIdentity,
    PeerIdentityError,
    TlsFiles,
    load_tls,
    peer_identity,
    server_credentials,
)

_log = logging.getLogger("klynge.transport.server")


# -- configuration and the interfaces the orchestration implements -----------


@dataclass(frozen=True)
class CoordinatorConfig:
    """Listening address and the limits that keep one bad agent from hurting others."""

    address: str = "127.0.0.1:0"
    max_sessions: int = 256
    max_message_bytes: int = 8 * 1024 * 1024
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    hello_timeout: float = 10.0
    heartbeat_interval: float = 15.0
    keepalive_time_ms: int = 20_000
    keepalive_timeout_ms: int = 10_000
    min_client_ping_interval_ms: int = 10_000
    outbound_frames: int = 4096
    max_bad_frames: int = 3
    dedup_capacity: int = 100_000
    fetch_workers: int = 8

    def __post_init__(self) -> None:
        if self.max_payload_bytes + 4096 > self.max_message_bytes:
            raise ValueError("max_message_bytes must exceed max_payload_bytes by 4 KiB")
        if self.max_sessions < 1 or self.fetch_workers < 1:
            raise ValueError("max_sessions and fetch_workers must be positive")


class AdmissionRefused(KlyngeError):
    """Raised by an `admit` callback: this practice may not connect (and why)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


Admit = Callable[[PeerIdentity], None]


def allow_list(practice_ids: Iterable[str], fingerprints: Mapping[str, str] | None = None) -> Admit:
    """An `admit` callback for a fixed registry, optionally pinning certificate fingerprints."""
    allowed = frozenset(practice_ids)
    pins = dict(fingerprints or {})

    def admit(peer: PeerIdentity) -> None:
        if peer.practice_id not in allowed:
            raise AdmissionRefused("practice is not in the registry")
        pinned = pins.get(peer.practice_id)
        if pinned is not None and pinned != peer.fingerprint:
            raise AdmissionRefused("certificate fingerprint differs from the registry's")

    return admit


class CoordinatorHandler:
    """What the round orchestration plugs in; every callback runs on the dispatcher thread.

    `on_frame` may raise `FrameRejected` (or any KlyngeError) to refuse one
    envelope: the agent gets an Error frame naming it, the session goes on.
    """

    def on_connect(self, session: AgentSession) -> None:
        """A practice completed Hello; frames sent from here follow the Welcome."""

    def on_frame(self, session: AgentSession, envelope: Envelope) -> None:
        """A new (not duplicate) envelope from `session.practice_id`."""

    def on_error(
        self, session: AgentSession, code: ErrorCode, reason: str, key: EnvelopeKey | None
    ) -> None:
        """The agent reported an error, e.g. it rejected one of our envelopes."""

    def on_disconnect(self, session: AgentSession, reason: str) -> None:
        """The session ended (agent left, network, superseded, shutdown).

        After a reconnect this can arrive *after* `on_connect` of the newer
        session of the same practice: compare `session` with
        `transport.session(session.practice_id)` before treating it as a dropout.
        """


FetchHandler = Callable[[PeerIdentity, FetchQuery], FetchResult]


class SessionClosedError(KlyngeError):
    """A frame was sent on a session that has ended; look up the current one."""


# -- one agent's session -----------------------------------------------------


@dataclass(frozen=True)
class _Close:
    status: grpc.StatusCode | None
    details: str


class _Outbound:
    """Frames waiting for gRPC to pull them; bounded, but a close always fits."""

    def __init__(self, limit: int) -> None:
        self._items: deque[bytes | _Close] = deque()
        self._limit = limit
        self._cond = threading.Condition()

    def put(self, item: bytes | _Close) -> bool:
        with self._cond:
            if isinstance(item, bytes) and len(self._items) >= self._limit:
                return False
            self._items.append(item)
            self._cond.notify()
            return True

    def get(self) -> bytes | _Close:
        with self._cond:
            while not self._items:
                self._cond.wait()
            return self._items.popleft()


class AgentSession:
    """One live stream to one practice; `send` may be called from any thread."""

    def __init__(
        self, peer: PeerIdentity, address: str, outbound_frames: int, max_payload_bytes: int
    ) -> None:
        self.practice_id = peer.practice_id
        self.max_payload_bytes = max_payload_bytes
        self.peer = peer
        self.address = address
        self.session_id = secrets.token_hex(8)
        self._outbound = _Outbound(outbound_frames)
        self._lock = threading.Lock()
        self._closed = False
        self.welcomed = False
        self.admissible = True  # False once forgotten or past the Hello deadline
        self.bad_frames = 0
        self.close_reason: str | None = None
        self.hello_timer: threading.Timer | None = None

    def __repr__(self) -> str:
        return f"AgentSession({self.practice_id!r}, {self.session_id})"

    @property
    def is_open(self) -> bool:
        with self._lock:
            return not self._closed

    def send(self, envelope: Envelope) -> None:
        """Queue an envelope for the agent; raises SessionClosedError once the session ended."""
        envelope.validate(self.max_payload_bytes)
        self._send_frame(pb.CoordinatorFrame(envelope=envelope.to_proto()))

    def close(self, code: ErrorCode, reason: str, status: grpc.StatusCode) -> None:
        """Tell the agent why, then end the RPC with `status`. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.close_reason = reason
            frame = pb.CoordinatorFrame(error=pb.Error(**error_frame_fields(code, reason)))
            self._outbound.put(frame.SerializeToString())
            self._outbound.put(_Close(status, reason))

    def _send_frame(self, frame: pb.CoordinatorFrame) -> None:
        data = frame.SerializeToString()
        with self._lock:
            if self._closed:
                raise SessionClosedError(f"session {self.session_id} of {self.practice_id} ended")
            if self._outbound.put(data):
                return
        self.close(
            ErrorCode.INTERNAL,
            "agent does not read its frames; session closed",
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        )
        raise SessionClosedError(f"session {self.session_id} of {self.practice_id}: backlog full")

    def _end(self) -> None:
        """The RPC is over (either side); wake the response loop."""
        with self._lock:
            self._closed = True
        self._outbound.put(_Close(None, ""))


# -- the transport -------------------------------------------------------------

_STOP = object()


class CoordinatorTransport:
    """A gRPC server that authenticates agents and feeds their frames to a handler."""

    def __init__(
        self,
        tls: LoadedTls | TlsFiles,
        handler: CoordinatorHandler,
        admit: Admit,
        *,
        config: CoordinatorConfig | None = None,
        fetch: FetchHandler | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self._tls = tls if isinstance(tls, LoadedTls) else load_tls(tls)
        self._handler = handler
        self._admit = admit
        self._config = config or CoordinatorConfig()
        self._fetch = fetch
        self._log = logger or _log
        self._dedup = DedupWindow(self._config.dedup_capacity)
        self._lock = threading.Lock()
        self._sessions: dict[str, AgentSession] = {}
        self._pending = 0
        self._readers: set[threading.Thread] = set()
        self._events: deque[Any] = deque()
        self._events_cond = threading.Condition()
        self._dispatcher: threading.Thread | None = None
        self._server: grpc.Server | None = None
        self._executor: futures.ThreadPoolExecutor | None = None
        self._stopping = False
        self.port: int | None = None

    # lifecycle ---------------------------------------------------------------

    def start(self) -> int:
        """Bind, start serving and return the port (useful with address `host:0`)."""
        if self._server is not None:
            raise RuntimeError("transport already started")
        cfg = self._config
        workers = cfg.max_sessions + cfg.fetch_workers
        self._executor = futures.ThreadPoolExecutor(workers, thread_name_prefix="klynge-rpc")
        options = [
            ("grpc.max_receive_message_length", cfg.max_message_bytes),
            ("grpc.max_send_message_length", cfg.max_message_bytes),
            ("grpc.keepalive_time_ms", cfg.keepalive_time_ms),
            ("grpc.keepalive_timeout_ms", cfg.keepalive_timeout_ms),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.min_ping_interval_without_data_ms", cfg.min_client_ping_interval_ms),
            ("grpc.http2.max_pings_without_data", 0),
            ("grpc.so_reuseport", 0),  # never share a port with another coordinator
        ]
        server = grpc.server(self._executor, options=options, maximum_concurrent_rpcs=workers)
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    SERVICE_NAME,
                    {
                        "Session": grpc.stream_stream_rpc_method_handler(self._session_rpc),
                        "Fetch": grpc.unary_unary_rpc_method_handler(self._fetch_rpc),
                    },
                ),
            )
        )
        port = server.add_secure_port(cfg.address, server_credentials(self._tls))
        if port == 0:
            raise OSError(f"cannot listen on {cfg.address}")
        self._dispatcher = threading.Thread(
            target=self._dispatch_loop, name="klynge-dispatch", daemon=True
        )
        self._dispatcher.start()
        server.start()
        self._server, self.port = server, port
        log_event(self._log, "coordinator_listening", address=cfg.address, port=port)
        return port

    def stop(self, grace: float = 5.0) -> None:
        """Tell agents we are going, give RPCs `grace` seconds, then release every thread."""
        if self._server is None or self._stopping:
            return
        self._stopping = True
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            session.close(
                ErrorCode.SHUTTING_DOWN,
                "coordinator shutting down",
                grpc.StatusCode.UNAVAILABLE,
            )
        self._server.stop(grace).wait()
        with self._lock:
            readers = list(self._readers)
        for reader in readers:
            reader.join(timeout=grace + 1.0)
        self._post(_STOP)
        if self._dispatcher is not None:
            self._dispatcher.join(timeout=grace + 1.0)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        log_event(self._log, "coordinator_stopped", port=self.port)

    def __enter__(self) -> CoordinatorTransport:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # queries -------------------------------------------------------------------

    def session(self, practice_id: str) -> AgentSession | None:
        """The live session of a practice, if it is connected."""
        with self._lock:
            return self._sessions.get(practice_id)

    def connected(self) -> list[str]:
        with self._lock:
            return sorted(self._sessions)

    # the Session RPC -----------------------------------------------------------------

    def _refuse(
        self,
        context: grpc.ServicerContext,
        status: grpc.StatusCode,
        event: str,
        reason: str,
        **fields: object,
    ) -> NoReturn:
        log_event(
            self._log,
            event,
            level=logging.WARNING,
            reason=reason,
            status=status.name,
            address=context.peer(),
            **fields,
        )
        context.abort(status, reason)
        raise AssertionError("grpc's abort returned")  # it raises; this satisfies NoReturn

    def _authenticate(self, context: grpc.ServicerContext, rpc: str) -> PeerIdentity:
        try:
            peer = peer_identity(context)
        except PeerIdentityError as exc:
            self._refuse(context, grpc.StatusCode.UNAUTHENTICATED, "refused", exc.reason, rpc=rpc)
        try:
            self._admit(peer)
        except AdmissionRefused as exc:
            self._refuse(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                "refused",
                f"{ErrorCode.NOT_REGISTERED.name}: {exc.reason}",
                rpc=rpc,
                practice_id=peer.practice_id,
            )
        return peer

    def _session_rpc(
        self, request_iterator: Iterator[bytes], context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        if self._stopping:
            context.abort(grpc.StatusCode.UNAVAILABLE, "coordinator shutting down")
        peer = self._authenticate(context, "Session")
        with self._lock:
            if len(self._sessions) + self._pending >= self._config.max_sessions:
                full = True
            else:
                full = False
                self._pending += 1
        if full:
            self._refuse(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "refused",
                "too many sessions",
                practice_id=peer.practice_id,
            )
        session = AgentSession(
            peer, context.peer(), self._config.outbound_frames, self._config.max_payload_bytes
        )
        if not context.add_callback(session._end):
            session._end()  # the RPC already ended; the loop below must not wait forever
        session.hello_timer = threading.Timer(
            self._config.hello_timeout, self._hello_timeout, (session,)
        )
        session.hello_timer.daemon = True
        session.hello_timer.start()
        reader = threading.Thread(
            target=self._read_loop,
            args=(session, request_iterator),
            name=f"klynge-read-{peer.practice_id}",
            daemon=True,
        )
        with self._lock:
            self._readers.add(reader)
        reader.start()
        try:
            while True:
                item = session._outbound.get()
                if isinstance(item, _Close):
                    if item.status is not None:
                        context.abort(item.status, item.details)
                    return
                yield item
        finally:
            session.hello_timer.cancel()
            session._end()
            self._forget(session)

    def _hello_timeout(self, session: AgentSession) -> None:
        with self._lock:
            if session.welcomed:
                return
            session.admissible = False
        if session.is_open:
            log_event(
                self._log,
                "refused",
                level=logging.WARNING,
                reason="no Hello in time",
                practice_id=session.practice_id,
            )
            session.close(
                ErrorCode.OUT_OF_ORDER, "no Hello in time", grpc.StatusCode.DEADLINE_EXCEEDED
            )

    def _forget(self, session: AgentSession) -> None:
        with self._lock:
            session.admissible = False
            if not session.welcomed:
                self._pending -= 1
                return
            if self._sessions.get(session.practice_id) is session:
                del self._sessions[session.practice_id]

    def _read_loop(self, session: AgentSession, request_iterator: Iterator[bytes]) -> None:
        reason = "agent closed the stream"
        try:
            for raw in request_iterator:
                self._on_raw(session, raw)
                if not session.is_open:
                    reason = "session closed by coordinator"
                    break
        except grpc.RpcError:
            reason = "connection lost"
        except Exception as exc:  # never let one session take the server down
            reason = f"reader failed: {type(exc).__name__}"
            log_event(self._log, "reader_failed", level=logging.ERROR, error=type(exc).__name__)
        finally:
            reason = session.close_reason or reason
            session._end()
            if session.welcomed:
                self._post(("disconnect", session, reason))
            log_event(
                self._log,
                "session_closed",
                practice_id=session.practice_id,
                session_id=session.session_id,
                reason=reason,
            )
            with self._lock:
                self._readers.discard(threading.current_thread())

    def _reply_error(
        self, session: AgentSession, code: ErrorCode, reason: str, key: EnvelopeKey | None = None
    ) -> None:
        frame = pb.CoordinatorFrame(error=pb.Error(**error_frame_fields(code, reason, key)))
        with contextlib.suppress(SessionClosedError):
            session._send_frame(frame)

    def _bad_frame(self, session: AgentSession, code: ErrorCode, reason: str) -> None:
        session.bad_frames += 1
        log_event(
            self._log,
            "frame_refused",
            level=logging.WARNING,
            practice_id=session.practice_id,
            code=code,
            reason=reason,
            bad_frames=session.bad_frames,
        )
        if session.bad_frames > self._config.max_bad_frames:
            session.close(code, f"too many bad frames: {reason}", grpc.StatusCode.INVALID_ARGUMENT)
        else:
            self._reply_error(session, code, reason)

    def _on_raw(self, session: AgentSession, raw: bytes) -> None:
        try:
            frame = pb.AgentFrame.FromString(raw)
        except DecodeError:
            self._bad_frame(session, ErrorCode.MALFORMED_FRAME, "bytes are not an AgentFrame")
            return
        kind = frame.WhichOneof("body")
        if kind is None:
            self._bad_frame(session, ErrorCode.UNKNOWN_FRAME_TYPE, "frame of unknown type")
        elif not session.welcomed:
            if kind == "hello":
                self._on_hello(session, frame.hello)
            else:
                self._identity_refusal(
                    session, ErrorCode.OUT_OF_ORDER, f"first frame was {kind}, not hello"
                )
        elif kind == "hello":
            self._bad_frame(session, ErrorCode.OUT_OF_ORDER, "second hello")
        elif kind == "envelope":
            self._on_envelope(session, frame.envelope)
        elif kind == "heartbeat":
            self._reply_heartbeat(session, frame.heartbeat.nonce)
        elif kind == "error":
            self._on_agent_error(session, frame.error)

    def _identity_refusal(self, session: AgentSession, code: ErrorCode, reason: str) -> None:
        status = (
            grpc.StatusCode.PERMISSION_DENIED
            if code is ErrorCode.IDENTITY_MISMATCH
            else grpc.StatusCode.FAILED_PRECONDITION
        )
        log_event(
            self._log,
            "refused",
            level=logging.WARNING,
            practice_id=session.practice_id,
            code=code,
            reason=reason,
            status=status.name,
            address=session.address,
        )
        session.close(code, reason, status)

    def _on_hello(self, session: AgentSession, hello: pb.Hello) -> None:
        if hello.protocol_version != PROTOCOL_VERSION:
            self._identity_refusal(
                session,
                ErrorCode.UNSUPPORTED_VERSION,
                f"protocol version {hello.protocol_version}; this coordinator speaks "
                f"{PROTOCOL_VERSION}",
            )
            return
        if hello.practice_id != session.practice_id:
            self._identity_refusal(
                session,
                ErrorCode.IDENTITY_MISMATCH,
                f"hello claims practice {hello.practice_id[:64]!r}, certificate names "
                f"{session.practice_id!r}",
            )
            return
        with self._lock:
            if not session.admissible or not session.is_open:
                return  # ended (or timed out) while the Hello was in flight
            previous = self._sessions.get(session.practice_id)
            self._sessions[session.practice_id] = session
            self._pending -= 1
            session.welcomed = True
        if session.hello_timer is not None:
            session.hello_timer.cancel()
        if previous is not None:
            previous.close(
                ErrorCode.SUPERSEDED,
                "a newer session of this practice replaced this one",
                grpc.StatusCode.ABORTED,
            )
        interval_ms = int(self._config.heartbeat_interval * 1000)
        welcome = pb.Welcome(
            protocol_version=PROTOCOL_VERSION,
            session_id=session.session_id,
            heartbeat_interval_ms=interval_ms,
        )
        try:
            session._send_frame(pb.CoordinatorFrame(welcome=welcome))
        except SessionClosedError:
            return
        log_event(
            self._log,
            "session_open",
            practice_id=session.practice_id,
            session_id=session.session_id,
            address=session.address,
            agent_version=hello.agent_version[:64],
            superseded=previous is not None,
        )
        self._post(("connect", session))

    def _on_envelope(self, session: AgentSession, message: pb.Envelope) -> None:
        key = EnvelopeKey(message.round_id, message.stage, message.sender, message.seq)
        try:
            envelope = Envelope.from_proto(message, self._config.max_payload_bytes)
        except EnvelopeError as exc:
            session.bad_frames += 1
            log_event(
                self._log,
                "envelope_refused",
                level=logging.WARNING,
                practice_id=session.practice_id,
                code=exc.code,
                field=exc.field,
                reason=exc.reason,
            )
            if session.bad_frames > self._config.max_bad_frames:
                session.close(exc.code, "too many bad frames", grpc.StatusCode.INVALID_ARGUMENT)
            else:
                self._reply_error(session, exc.code, str(exc), key)
            return
        if envelope.sender != session.practice_id:
            self._identity_refusal(
                session,
                ErrorCode.IDENTITY_MISMATCH,
                f"envelope sender {envelope.sender!r} is not the certificate's "
                f"practice {session.practice_id!r}",
            )
            return
        self._post(("frame", session, envelope))

    def _reply_heartbeat(self, session: AgentSession, nonce: int) -> None:
        with contextlib.suppress(SessionClosedError):
            session._send_frame(pb.CoordinatorFrame(heartbeat=pb.Heartbeat(nonce=nonce)))

    def _on_agent_error(self, session: AgentSession, error: pb.Error) -> None:
        try:
            code = ErrorCode(error.code)
        except ValueError:
            code = ErrorCode.ERROR_CODE_UNSPECIFIED
        key = (
            EnvelopeKey(error.round_id, error.stage, error.sender, error.seq)
            if error.round_id
            else None
        )
        log_event(
            self._log,
            "agent_error",
            level=logging.WARNING,
            practice_id=session.practice_id,
            code=code,
            reason=error.reason,
            round_id=error.round_id or None,
            stage=error.stage or None,
        )
        self._post(("error", session, code, error.reason[:500], key))

    # the dispatcher ---------------------------------------------------------------

    def _post(self, event: Any) -> None:
        with self._events_cond:
            self._events.append(event)
            self._events_cond.notify()

    def _dispatch_loop(self) -> None:
        while True:
            with self._events_cond:
                while not self._events:
                    self._events_cond.wait()
                event = self._events.popleft()
            if event is _STOP:
                return
            kind, session, *rest = event
            try:
                if kind == "connect":
                    self._handler.on_connect(session)
                elif kind == "frame":
                    self._dispatch_frame(session, rest[0])
                elif kind == "error":
                    self._handler.on_error(session, *rest)
                elif kind == "disconnect":
                    self._handler.on_disconnect(session, rest[0])
            except Exception as exc:
                log_event(
                    self._log,
                    "handler_failed",
                    level=logging.ERROR,
                    callback=kind,
                    practice_id=session.practice_id,
                    error=type(exc).__name__,
                )

    def _dispatch_frame(self, session: AgentSession, envelope: Envelope) -> None:
        key = envelope.key
        if not self._dedup.first_time(key):
            log_event(
                self._log,
                "duplicate_dropped",
                practice_id=session.practice_id,
                round_id=key.round_id,
                stage=key.stage,
                seq=key.seq,
            )
            self._ack(session, key, duplicate=True)
            return
        try:
            self._handler.on_frame(session, envelope)
        except FrameRejected as exc:
            self._frame_failed(session, key, exc.code, exc.reason, "frame_rejected")
        except KlyngeError as exc:
            self._frame_failed(session, key, ErrorCode.REJECTED, str(exc), "frame_rejected")
        except Exception as exc:
            self._frame_failed(
                session,
                key,
                ErrorCode.INTERNAL,
                "coordinator failed on this frame",
                "handler_failed",
                error=type(exc).__name__,
            )
        else:
            self._ack(session, key, duplicate=False)

    def _frame_failed(
        self,
        session: AgentSession,
        key: EnvelopeKey,
        code: ErrorCode,
        reason: str,
        event: str,
        **fields: object,
    ) -> None:
        log_event(
            self._log,
            event,
            level=logging.WARNING,
            practice_id=session.practice_id,
            round_id=key.round_id,
            stage=key.stage,
            seq=key.seq,
            code=code,
            reason=reason,
            **fields,
        )
        self._reply_error(session, code, reason, key)

    def _ack(self, session: AgentSession, key: EnvelopeKey, *, duplicate: bool) -> None:
        ack = pb.Ack(
            round_id=key.round_id,
            stage=key.stage,
            sender=key.sender,
            seq=key.seq,
            duplicate=duplicate,
        )
        # If the session is gone, the agent resends on its next one and gets a duplicate ack.
        with contextlib.suppress(SessionClosedError):
            session._send_frame(pb.CoordinatorFrame(ack=ack))

    # the Fetch RPC -------------------------------------------------------------------

    def _fetch_rpc(self, raw: bytes, context: grpc.ServicerContext) -> bytes:
        peer = self._authenticate(context, "Fetch")
        try:
            request = pb.FetchRequest.FromString(raw)
        except DecodeError:
            self._refuse(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "fetch_refused",
                "bytes are not a FetchRequest",
                practice_id=peer.practice_id,
            )
        if request.protocol_version != PROTOCOL_VERSION:
            self._refuse(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                "fetch_refused",
                f"protocol version {request.protocol_version} is not {PROTOCOL_VERSION}",
                practice_id=peer.practice_id,
            )
        if self._fetch is None:
            self._refuse(
                context,
                grpc.StatusCode.UNIMPLEMENTED,
                "fetch_refused",
                "this coordinator serves no releases",
                practice_id=peer.practice_id,
            )
        query = FetchQuery(scope=request.scope[:64], round_id=request.round_id[:128])
        started = time.perf_counter()
        try:
            result = self._fetch(peer, query)
        except FetchNotFound as exc:
            self._refuse(
                context,
                grpc.StatusCode.NOT_FOUND,
                "fetch_refused",
                str(exc),
                practice_id=peer.practice_id,
            )
        except KlyngeError as exc:
            self._refuse(
                context,
                grpc.StatusCode.FAILED_PRECONDITION,
                "fetch_refused",
                str(exc),
                practice_id=peer.practice_id,
            )
        except Exception as exc:
            log_event(
                self._log,
                "handler_failed",
                level=logging.ERROR,
                callback="fetch",
                practice_id=peer.practice_id,
                error=type(exc).__name__,
            )
            context.abort(grpc.StatusCode.INTERNAL, "coordinator failed to serve the fetch")
        log_event(
            self._log,
            "fetch_served",
            practice_id=peer.practice_id,
            scope=query.scope,
            round_id=result.round_id,
            bytes=len(result.body),
            ms=round((time.perf_counter() - started) * 1000, 2),
        )
        return pb.FetchResponse(
            protocol_version=PROTOCOL_VERSION,
            round_id=result.round_id,
            media_type=result.media_type,
            body=result.body,
        ).SerializeToString()


__all__ = [
    "COORDINATOR_SENDER",
    "FETCH_METHOD",
    "SESSION_METHOD",
    "AdmissionRefused",
    "Admit",
    "AgentSession",
    "CoordinatorConfig",
    "CoordinatorHandler",
    "CoordinatorTransport",
    "FetchHandler",
    "FetchNotFound",
    "FetchQuery",
    "FetchResult",
    "SessionClosedError",
    "allow_list",
]
