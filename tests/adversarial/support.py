"""Small self-contained helpers for the attack tests: a PKI, a transport pair, waiting.

Real parts only: generated certificates, loopback sockets, real gRPC.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from protocols.coordinator import SecAggCoordinator
from protocols.params import RoundParams
from protocols.randomness import RandomBytes, system_random_bytes
from protocols.simulator import Cluster
from transport.admission import allow_list
from transport.client import AgentConfig, AgentHandler, AgentTransport, Backoff
from transport.pki import PkiLayout, init_pki, issue_practices
from transport.server import CoordinatorConfig, CoordinatorHandler, CoordinatorTransport
from transport.tls import TlsFiles

PRACTICES = ["p01", "p02", "p03", "p04"]


def new_round(
    cluster: Cluster,
    params: RoundParams,
    length: int = 8,
    random_bytes: RandomBytes = system_random_bytes,
) -> SecAggCoordinator:
    """A coordinator's round over a simulated cluster, for driving stages by hand."""
    return SecAggCoordinator.new_round(
        cluster_id="K01",
        reference_date="2026-09-30",
        manifest_hash=bytes(32),
        participants=cluster.participants,
        vector_length=length,
        params=params,
        random_bytes=random_bytes,
    )


FAST_BACKOFF = Backoff(initial=0.05, maximum=0.2, multiplier=2.0, jitter=0.5)


def make_pki(root: Path, practices: list[str]) -> PkiLayout:
    layout = PkiLayout(root)
    now = datetime.now(UTC)
    init_pki(layout, now=now)
    issue_practices(layout, practices, now=now)
    return layout


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


@contextmanager
def coordinator(
    layout: PkiLayout, practices: list[str], config: CoordinatorConfig
) -> Iterator[CoordinatorTransport]:
    transport = CoordinatorTransport(
        TlsFiles.for_server(layout), CoordinatorHandler(), allow_list(practices), config=config
    )
    transport.start()
    try:
        yield transport
    finally:
        transport.stop(grace=0.5)


@contextmanager
def agent(layout: PkiLayout, practice_id: str, port: int) -> Iterator[AgentTransport]:
    transport = AgentTransport(
        AgentConfig(
            target=f"127.0.0.1:{port}",
            tls=TlsFiles.for_practice(layout, practice_id),
            backoff=FAST_BACKOFF,
            handshake_timeout=3.0,
        ),
        AgentHandler(),
    )
    transport.start()
    try:
        yield transport
    finally:
        transport.close(timeout=2.0)
