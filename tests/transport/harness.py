"""Builders for the transport tests: a PKI in a tmp dir, recording handlers, waiting.

No tests here; `conftest.py` beside it holds the room's fixtures.
Everything here is real: certificates are generated, servers bind real
loopback sockets with an ephemeral port, and nothing about gRPC is mocked.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from protocols.envelope import COORDINATOR_SENDER, Envelope, EnvelopeKey, ErrorCode
from transport.admission import allow_list
from transport.client import AgentConfig, AgentHandler, AgentTransport, Backoff
from transport.pki import PkiLayout, init_pki, issue_practices
from transport.server import (
    CoordinatorConfig,
    CoordinatorHandler,
    CoordinatorSideSession,
    CoordinatorTransport,
)
from transport.tls import TlsFiles

NOW = datetime.now(UTC)
FAST_BACKOFF = Backoff(initial=0.05, maximum=0.2, multiplier=2.0, jitter=0.5)


def make_pki(root: Path, practices: list[str]) -> PkiLayout:
    layout = PkiLayout(root)
    init_pki(layout, now=NOW)
    issue_practices(layout, practices, now=NOW)
    return layout


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@dataclass
class RecordingCoordinator(CoordinatorHandler):
    """Records callbacks; echoes envelopes whose stage is 'echo'; rejects stage 'reject'."""

    connects: list[str] = field(default_factory=list)
    frames: list[Envelope] = field(default_factory=list)
    disconnects: list[tuple[str, str]] = field(default_factory=list)
    errors: list[tuple[str, ErrorCode]] = field(default_factory=list)
    threads: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def on_connect(self, session: CoordinatorSideSession) -> None:
        with self.lock:
            self.connects.append(session.practice_id)
            self.threads.add(threading.current_thread().name)

    def on_frame(self, session: CoordinatorSideSession, envelope: Envelope) -> None:
        from protocols.envelope import FrameRejected

        with self.lock:
            self.frames.append(envelope)
            self.threads.add(threading.current_thread().name)
        if envelope.stage == "reject":
            raise FrameRejected("stage closed")
        if envelope.stage == "crash":
            raise RuntimeError("secret-looking text that must not be logged")
        if envelope.stage == "echo":
            session.send(
                Envelope(
                    round_id=envelope.round_id,
                    stage="echo",
                    sender=COORDINATOR_SENDER,
                    seq=envelope.seq,
                    payload=envelope.payload,
                    kind=envelope.kind,
                )
            )

    def on_error(self, session, code, reason, key) -> None:  # type: ignore[no-untyped-def]
        with self.lock:
            self.errors.append((session.practice_id, code))

    def on_disconnect(self, session: CoordinatorSideSession, reason: str) -> None:
        with self.lock:
            self.disconnects.append((session.practice_id, reason))


@dataclass
class RecordingAgent(AgentHandler):
    connects: int = 0
    frames: list[Envelope] = field(default_factory=list)
    errors: list[tuple[ErrorCode, EnvelopeKey | None]] = field(default_factory=list)
    disconnects: list[str] = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)

    def on_connect(self, session) -> None:  # type: ignore[no-untyped-def]
        self.connects += 1

    def on_frame(self, session, envelope: Envelope) -> None:  # type: ignore[no-untyped-def]
        self.frames.append(envelope)
        self.received.set()

    def on_error(self, session, code, reason, key) -> None:  # type: ignore[no-untyped-def]
        self.errors.append((code, key))

    def on_disconnect(self, session, reason: str) -> None:  # type: ignore[no-untyped-def]
        self.disconnects.append(reason)


@contextmanager
def coordinator(
    layout: PkiLayout,
    handler: CoordinatorHandler,
    practices: list[str],
    *,
    address: str = "127.0.0.1:0",
    **config: object,
) -> Iterator[CoordinatorTransport]:
    transport = CoordinatorTransport(
        TlsFiles.for_server(layout),
        handler,
        allow_list(practices),
        config=CoordinatorConfig(address=address, **config),  # type: ignore[arg-type]
    )
    transport.start()
    try:
        yield transport
    finally:
        transport.stop(grace=0.5)


@contextmanager
def agent(
    layout: PkiLayout,
    practice_id: str,
    port: int,
    handler: AgentHandler | None = None,
    **config: object,
) -> Iterator[AgentTransport]:
    settings: dict[str, object] = {"backoff": FAST_BACKOFF, "handshake_timeout": 3.0}
    settings.update(config)
    transport = AgentTransport(
        AgentConfig(
            target=f"127.0.0.1:{port}",
            tls=TlsFiles.for_practice(layout, practice_id),
            **settings,  # type: ignore[arg-type]
        ),
        handler or RecordingAgent(),
    )
    transport.start()
    try:
        yield transport
    finally:
        transport.close(timeout=2.0)
