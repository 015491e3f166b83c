"""Small helpers for the attack tests: a round by hand and a transport pair.

The PKI, the fast reconnect policy and waiting are the transport room's
(`tests.transport.harness`), re-exported here for the attack tests.

Real parts only: generated certificates, loopback sockets, real gRPC.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from protocols.coordinator import SecAggCoordinator
from protocols.params import RoundParams
from protocols.randomness import RandomBytes, system_random_bytes
from protocols.simulator import Cluster
from tests.transport.harness import FAST_BACKOFF, make_pki, wait_until
from transport.admission import allow_list
from transport.client import AgentConfig, AgentHandler, AgentTransport
from transport.pki import PkiLayout
from transport.server import CoordinatorConfig, CoordinatorHandler, CoordinatorTransport
from transport.tls import TlsFiles

__all__ = [
    "FAST_BACKOFF",
    "PRACTICES",
    "agent",
    "coordinator",
    "make_pki",
    "new_round",
    "wait_until",
]

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
