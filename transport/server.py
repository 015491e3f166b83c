"""The coordinator's end of the federation: agent sessions over gRPC with mutual TLS.

Guarantees this module gives the round orchestration built on it:

- A session exists only for a caller whose client certificate chains to our
  CA (TLS layer), whose certificate names a practice that `admit` accepts
  (registry layer, `transport.admission`), and whose Hello claims that same
  practice (identity layer). Every envelope's `sender` must also be that
  practice. Each refusal ends the RPC with a status code and leaves one log
  line saying why.
- Handler callbacks run on ONE dispatcher thread, in arrival order
  (`transport.dispatch`), so the protocol state machines behind them need no
  locks. A frame seen before is acknowledged as a duplicate, never handed to
  the handler twice.
- Bad bytes, unknown frame types, invalid envelopes and handler exceptions
  are answered with an Error frame; the session (and the server) go on.
  A session that keeps sending garbage is closed with INVALID_ARGUMENT.
- Sending to a session that has ended meanwhile is a logged no-op
  (`transport.session`): one practice leaving never fails another's message.
- Logs are JSON lines through `log_event`, which refuses bytes: payloads and
  keys never reach them.

Fair admission (no certificate, however noisy, locks out another practice):
- at most `max_sessions_per_practice` streams per certificate's practice,
  welcomed or still waiting for their Hello (a reconnect overlapping the old
  stream needs two; a flood gets no more than that);
- a stream that has not said Hello within `hello_timeout` (seconds, short)
  is closed, so idle streams cannot hold slots;
- `max_sessions` overall, which the coordinator sizes to its registry: every
  registered practice plus one practice's worth of spare, so even with one
  certificate at its cap every other practice still finds a slot.
Refused streams end at once with RESOURCE_EXHAUSTED and one log line.

One practice has at most one live session: a new one (a reconnect after a
network blip the server has not noticed yet) supersedes the old, which gets
`on_disconnect`. That callback can arrive *after* `on_connect` of the newer
session: compare with `session(practice_id)` before treating it as a dropout.
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import HealthServicer

from common.logs import log_event
from protocols.envelope import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    PROTOCOL_VERSION,
    Envelope,
    EnvelopeError,
    EnvelopeKey,
    ErrorCode,
)
from protocols.generated import klynge_pb2 as pb
from transport.admission import Admit, Gate
from transport.dispatch import Dispatcher
from transport.fetch import FetchHandler, FetchService
from transport.frames import SERVICE_NAME, PeerError, envelope_key, error_message, parse_frame
from transport.limits import (
    FRAME_OVERHEAD_BYTES,
    KEEPALIVE_TIMEOUT_MS,
    MAX_MESSAGE_BYTES,
    stream_options,
)
from transport.session import FrameQueue, Session, SessionHandler, StreamEnd, open_envelope
from transport.tls import LoadedTls, PeerIdentity, TlsFiles, load_tls, server_credentials

_log = logging.getLogger("klynge.transport.server")


@dataclass(frozen=True)
class CoordinatorConfig:
    """Listening address and the limits that keep one bad agent from hurting others."""

    address: str = "127.0.0.1:0"
    max_sessions: int = 256
    max_sessions_per_practice: int = 3
    max_streams_per_connection: int = 8
    max_message_bytes: int = MAX_MESSAGE_BYTES
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    hello_timeout: float = 2.0
    heartbeat_interval: float = 15.0
    keepalive_time_ms: int = 20_000
    keepalive_timeout_ms: int = KEEPALIVE_TIMEOUT_MS
    min_client_ping_interval_ms: int = 10_000
    outbound_frames: int = 4096
    max_bad_frames: int = 3
    dedup_capacity: int = 100_000
    fetch_workers: int = 8
    # RPCs that may wait for a worker: a flood's refusals are cheap but many, and
    # past grpc's own concurrency cap it refuses *everyone*, honest practices too.
    queued_rpcs: int = 512
    reflection: bool = False  # grpc.reflection.v1alpha, for grpcurl and the like

    def __post_init__(self) -> None:
        if self.max_payload_bytes + FRAME_OVERHEAD_BYTES > self.max_message_bytes:
            raise ValueError("max_message_bytes must exceed max_payload_bytes by 4 KiB")
        caps = (self.max_sessions, self.fetch_workers, self.max_sessions_per_practice)
        if min(caps) < 1 or self.queued_rpcs < 0:
            raise ValueError(
                "session caps and fetch_workers must be positive, queued_rpcs not negative"
            )

    @classmethod
    def for_registry(cls, practices: int, address: str, per_practice: int = 3) -> CoordinatorConfig:
        """Limits sized to a registry of `practices`: each may hold a session, and one
        practice's full allowance is spare, so a flooding certificate crowds nobody out."""
        return cls(
            address=address,
            max_sessions=max(1, practices) + per_practice,
            max_sessions_per_practice=per_practice,
            # Each practice asks for the log's proofs at each round it joins, and a
            # region-wide round runs beside the cluster rounds: room for a region's
            # practices at once, up to a bound on idle threads (agents retry when busy).
            fetch_workers=max(8, min(practices, 64)),
        )


class CoordinatorSideSession(Session):
    """One live stream to one practice, as the coordinator holds it.

    `send` may be called from any thread; on a session that has ended it
    returns False and logs, it never raises.
    """

    def __init__(
        self,
        peer: PeerIdentity,
        address: str,
        outbound_frames: int,
        max_payload_bytes: int,
        log: logging.Logger,
    ) -> None:
        super().__init__(peer.practice_id, secrets.token_hex(8), FrameQueue(outbound_frames), log)
        self.max_payload_bytes = max_payload_bytes
        self.peer = peer
        self.address = address
        self.welcomed = False
        self.admissible = True  # False once forgotten or past the Hello deadline
        self.bad_frames = 0
        self.close_reason: str | None = None
        self.hello_timer: threading.Timer | None = None

    frame_type = pb.CoordinatorFrame

    def send(self, envelope: Envelope) -> bool:
        """Queue an envelope for the agent; False if the session ended meanwhile."""
        envelope.validate(self.max_payload_bytes)
        return self._send_body("envelope", envelope.to_proto(), envelope.key)

    def ack(self, key: EnvelopeKey, *, duplicate: bool) -> bool:
        # If the session is gone, the agent resends on its next one and gets a duplicate ack.
        return self._send_body("ack", pb.Ack(**key._asdict(), duplicate=duplicate), key)

    def heartbeat(self, nonce: int) -> bool:
        return self._send_body("heartbeat", pb.Heartbeat(nonce=nonce))

    def welcome(self, heartbeat_interval: float) -> bool:
        interval_ms = int(heartbeat_interval * 1000)
        welcome = pb.Welcome(
            protocol_version=PROTOCOL_VERSION,
            session_id=self.session_id,
            heartbeat_interval_ms=interval_ms,
        )
        return self._send_body("welcome", welcome)

    def close(self, code: ErrorCode, reason: str, status: grpc.StatusCode) -> None:
        """Tell the agent why, then end the RPC with `status`. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self.close_reason = reason
            frame = pb.CoordinatorFrame(error=error_message(code, reason))
            self._frames.put(frame.SerializeToString())
            self._frames.end(status, reason)

    def _backlog_full(self) -> None:
        self.close(
            ErrorCode.INTERNAL,
            "agent does not read its frames; session closed",
            grpc.StatusCode.RESOURCE_EXHAUSTED,
        )


CoordinatorHandler = SessionHandler[CoordinatorSideSession]


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
        self._config = config or CoordinatorConfig()
        self._log = logger or _log
        self._gate = Gate(admit, self._log)
        self._fetch = FetchService(self._gate, fetch, self._log)
        self._dispatcher = Dispatcher(handler, self._config.dedup_capacity, self._log)
        self._lock = threading.Lock()
        self._sessions: dict[str, CoordinatorSideSession] = {}
        self._pending = 0
        self._streams: dict[str, int] = {}  # practice -> its admitted streams (any state)
        self._readers: set[threading.Thread] = set()
        self._server: grpc.Server | None = None
        self._executor: futures.ThreadPoolExecutor | None = None
        self._stopping = False
        self._health: HealthServicer | None = None
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
            *stream_options(cfg.max_message_bytes, cfg.keepalive_time_ms, cfg.keepalive_timeout_ms),
            ("grpc.http2.min_ping_interval_without_data_ms", cfg.min_client_ping_interval_ms),
            ("grpc.so_reuseport", 0),  # never share a port with another coordinator
            # An agent needs one Session stream and the odd Fetch per connection; a
            # flooding client must open (and pay TLS for) a connection per few streams.
            ("grpc.max_concurrent_streams", cfg.max_streams_per_connection),
        ]
        server = grpc.server(
            self._executor, options=options, maximum_concurrent_rpcs=workers + cfg.queued_rpcs
        )
        server.add_generic_rpc_handlers(
            (
                grpc.method_handlers_generic_handler(
                    SERVICE_NAME,
                    {
                        "Session": grpc.stream_stream_rpc_method_handler(self._session_rpc),
                        "Fetch": grpc.unary_unary_rpc_method_handler(self._fetch),
                    },
                ),
            )
        )
        # The standard health service (grpc.health.v1), so ordinary probes can check us;
        # it answers over the same mutual TLS as everything else.
        self._health = HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        if cfg.reflection:
            from grpc_reflection.v1alpha import reflection

            reflection.enable_server_reflection(
                (
                    SERVICE_NAME,
                    health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                    reflection.SERVICE_NAME,
                ),
                server,
            )
        port = server.add_secure_port(cfg.address, server_credentials(self._tls))
        if port == 0:
            raise OSError(f"cannot listen on {cfg.address}")
        self._dispatcher.start()
        server.start()
        for service in ("", SERVICE_NAME):
            self._health.set(service, health_pb2.HealthCheckResponse.SERVING)
        self._server, self.port = server, port
        log_event(self._log, "coordinator_listening", address=cfg.address, port=port)
        return port

    def stop(self, grace: float = 5.0) -> None:
        """Tell agents we are going, give RPCs `grace` seconds, then release every thread."""
        if self._server is None or self._stopping:
            return
        self._stopping = True
        if self._health is not None:
            self._health.enter_graceful_shutdown()  # NOT_SERVING while we drain
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
        self._dispatcher.stop(timeout=grace + 1.0)
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        log_event(self._log, "coordinator_stopped", port=self.port)

    def __enter__(self) -> CoordinatorTransport:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # queries -------------------------------------------------------------------

    def session(self, practice_id: str) -> CoordinatorSideSession | None:
        """The live session of a practice, if it is connected."""
        with self._lock:
            return self._sessions.get(practice_id)

    def connected(self) -> list[str]:
        with self._lock:
            return sorted(self._sessions)

    # the Session RPC -----------------------------------------------------------------

    def _session_rpc(
        self, request_iterator: Iterator[bytes], context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        if self._stopping:
            context.abort(grpc.StatusCode.UNAVAILABLE, "coordinator shutting down")
        peer = self._gate.authenticate(context, "Session")
        cfg = self._config
        with self._lock:
            mine = self._streams.get(peer.practice_id, 0)
            if mine >= cfg.max_sessions_per_practice:
                full = "too many sessions for this practice"
            elif len(self._sessions) + self._pending >= cfg.max_sessions:
                full = "too many sessions"
            else:
                full = ""
                self._pending += 1
                self._streams[peer.practice_id] = mine + 1
        if full:
            self._gate.refuse(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                "refused",
                full,
                practice_id=peer.practice_id,
            )
        session = CoordinatorSideSession(
            peer, context.peer(), cfg.outbound_frames, cfg.max_payload_bytes, self._log
        )
        if not context.add_callback(session._end):
            session._end()  # the RPC already ended; the loop below must not wait forever
        session.hello_timer = threading.Timer(cfg.hello_timeout, self._hello_timeout, (session,))
        session.hello_timer.daemon = True
        session.hello_timer.start()
        reader = threading.Thread(
            target=self._read_loop,
            args=(session, request_iterator),
            name=f"klynge-read-{peer.practice_id}",
            daemon=True,
        )
        with self._lock:  # started under the lock: `stop` never joins a thread not yet started
            self._readers.add(reader)
            reader.start()
        try:
            while True:
                item = session.next_frame()
                if isinstance(item, StreamEnd):
                    if item.status is not None:
                        context.abort(item.status, item.details)
                    return
                assert isinstance(item, bytes)
                yield item
        finally:
            session.hello_timer.cancel()
            session._end()
            self._forget(session)

    def _hello_timeout(self, session: CoordinatorSideSession) -> None:
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

    def _forget(self, session: CoordinatorSideSession) -> None:
        with self._lock:
            session.admissible = False
            left = self._streams.get(session.practice_id, 0) - 1
            if left > 0:
                self._streams[session.practice_id] = left
            else:
                self._streams.pop(session.practice_id, None)
            if not session.welcomed:
                self._pending -= 1
                return
            if self._sessions.get(session.practice_id) is session:
                del self._sessions[session.practice_id]

    def _read_loop(
        self, session: CoordinatorSideSession, request_iterator: Iterator[bytes]
    ) -> None:
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
                self._dispatcher.disconnected(session, reason)
            session._event("session_closed", reason=reason)
            with self._lock:
                self._readers.discard(threading.current_thread())

    # frames from the agent --------------------------------------------------------------

    def _bad_frame(
        self,
        session: CoordinatorSideSession,
        code: ErrorCode,
        reason: str,
        key: EnvelopeKey | None = None,
        *,
        closing: str,
    ) -> None:
        """Answer a bad frame (already counted) with an Error, or end a session with too many."""
        if session.bad_frames > self._config.max_bad_frames:
            session.close(code, closing, grpc.StatusCode.INVALID_ARGUMENT)
        else:
            session.refuse(code, reason, key)

    def _garbage(self, session: CoordinatorSideSession, code: ErrorCode, reason: str) -> None:
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
        self._bad_frame(session, code, reason, closing=f"too many bad frames: {reason}")

    def _on_raw(self, session: CoordinatorSideSession, raw: bytes) -> None:
        frame = parse_frame(pb.AgentFrame, raw)
        if frame is None:
            self._garbage(session, ErrorCode.MALFORMED_FRAME, "bytes are not an AgentFrame")
            return
        kind = frame.WhichOneof("body")
        if kind is None:
            self._garbage(session, ErrorCode.UNKNOWN_FRAME_TYPE, "frame of unknown type")
        elif not session.welcomed:
            if kind == "hello":
                self._on_hello(session, frame.hello)
            else:
                self._identity_refusal(
                    session, ErrorCode.OUT_OF_ORDER, f"first frame was {kind}, not hello"
                )
        elif kind == "hello":
            self._garbage(session, ErrorCode.OUT_OF_ORDER, "second hello")
        elif kind == "envelope":
            self._on_envelope(session, frame.envelope)
        elif kind == "heartbeat":
            session.heartbeat(frame.heartbeat.nonce)
        elif kind == "error":
            error = PeerError.from_proto(frame.error)
            log_event(
                self._log,
                "agent_error",
                level=logging.WARNING,
                practice_id=session.practice_id,
                **error.log_fields(),
            )
            self._dispatcher.error(session, error)

    def _identity_refusal(
        self, session: CoordinatorSideSession, code: ErrorCode, reason: str
    ) -> None:
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

    def _on_hello(self, session: CoordinatorSideSession, hello: pb.Hello) -> None:
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
        if not session.welcome(self._config.heartbeat_interval):
            return
        session._event(
            "session_open",
            address=session.address,
            agent_version=hello.agent_version[:64],
            superseded=previous is not None,
        )
        self._dispatcher.connected(session)

    def _on_envelope(self, session: CoordinatorSideSession, message: pb.Envelope) -> None:
        key = envelope_key(message)
        try:
            envelope = open_envelope(
                message, self._config.max_payload_bytes, self._log, practice_id=session.practice_id
            )
        except EnvelopeError as exc:
            session.bad_frames += 1
            self._bad_frame(session, exc.code, str(exc), key, closing="too many bad frames")
            return
        if envelope.sender != session.practice_id:
            self._identity_refusal(
                session,
                ErrorCode.IDENTITY_MISMATCH,
                f"envelope sender {envelope.sender!r} is not the certificate's "
                f"practice {session.practice_id!r}",
            )
            return
        self._dispatcher.frame(session, envelope)
