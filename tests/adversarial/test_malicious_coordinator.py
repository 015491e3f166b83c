"""A malicious coordinator against real agent processes (issue 12, item 8).

The coordinator here is the attacker: a real gRPC server with the federation's
server certificate and mutual TLS, driving the real `SecAggCoordinator` but
lying where the classic attack lies. The practices are real `klynge agent run`
processes with their own keys, ledgers and extracts. In-process versions of
these attacks (and more) are `tests/test_secagg_threats.py`.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import time
from dataclasses import dataclass, field

import pytest

from common.keyfiles import load_private_key, load_public_key, public_bytes
from privacy.layout import ReleaseLayout, RoundScope
from privacy.log_entries import Kind
from privacy.manifest import load_manifest
from privacy.plan import round_min_survivors
from protocols import wire
from protocols.coordinator import SecAggCoordinator
from protocols.envelope import Envelope, FetchNotFound, FetchQuery, FetchResult
from protocols.messages import (
    Message,
    Participant,
    SurvivorSet,
    UnmaskResponse,
)
from protocols.params import RoundParams, default_params
from server.log_service import SCOPES as LOG_SCOPES
from server.log_service import LogService, open_log
from server.store import Store
from tests.adversarial.federation import LiveFederation
from transport.admission import allow_list
from transport.pki import PkiLayout
from transport.server import CoordinatorHandler, CoordinatorSideSession, CoordinatorTransport
from transport.signed_files import load_registry
from transport.tls import PeerIdentity, TlsFiles

pytestmark = pytest.mark.e2e


@dataclass
class Inbox(CoordinatorHandler):
    """Every agent message, decoded, in arrival order."""

    messages: queue.Queue[tuple[str, Message | wire.Refusal]] = field(default_factory=queue.Queue)

    def on_frame(self, session: CoordinatorSideSession, envelope: Envelope) -> None:
        message = wire.from_envelope(envelope)
        assert not isinstance(message, wire.RoundOutcome)
        self.messages.put((session.practice_id, message))


def _collect(inbox: Inbox, expected: int, seconds: float = 60.0):
    got: list[tuple[str, Message | wire.Refusal]] = []
    deadline = time.monotonic() + seconds
    while len(got) < expected and time.monotonic() < deadline:
        with contextlib.suppress(queue.Empty):
            got.append(inbox.messages.get(timeout=0.2))
    return got


def test_claiming_a_live_practice_dropped_yields_its_key_never_its_vector(tmp_path):
    with LiveFederation.prepare(tmp_path) as fed:
        layout = fed.layout
        cluster = layout.federation.clusters[0].id
        practices = fed.practices(cluster)
        manifest = load_manifest(layout.manifest).manifest
        registry = load_registry(
            layout.out / "registry.json",
            public_bytes(load_public_key(layout.out / "authority" / "registry-authority.pub")),
        )
        inbox = Inbox()
        # The coordinator keeps an honest log (agents refuse a round without one); its lie is
        # in the round itself.
        layout.transparency_log.parent.mkdir(parents=True, exist_ok=True)
        store = Store.open(layout.store)
        log = LogService(
            open_log(
                layout.transparency_log,
                load_private_key(layout.coordinator_dir / "log.key"),
                store,
            ),
            store,
            registry,
            logging.getLogger("klynge.coordinator"),
        )

        def fetch(peer: PeerIdentity, query: FetchQuery) -> FetchResult:
            if query.scope in LOG_SCOPES:
                return log.fetch(peer.practice_id, query.scope, query.body)
            raise FetchNotFound("no releases here")

        server = CoordinatorTransport(
            TlsFiles.for_server(PkiLayout(layout.out / "pki")),
            inbox,
            allow_list(practices),
            fetch=fetch,
        )
        server.start()
        try:
            (layout.coordinator_dir / "coordinator.port").write_text(f"{server.port}\n")
            fed.agent_process(practices)
            deadline = time.monotonic() + 90
            while len(server.connected()) < len(practices) and time.monotonic() < deadline:
                time.sleep(0.1)
            assert len(server.connected()) == len(practices)

            def send(pid: str, message: Message | wire.RoundOutcome) -> None:
                session = server.session(pid)
                assert session is not None
                envelope = (
                    message.to_envelope("coordinator")
                    if isinstance(message, wire.RoundOutcome)
                    else wire.to_envelope(message)
                )
                session.send(envelope)

            n = len(practices)
            base = default_params(n)
            params = RoundParams(base.k, base.threshold, round_min_survivors(manifest, n))
            coordinator = SecAggCoordinator.new_round(
                cluster_id=cluster,
                reference_date=fed.options.reference_date,
                manifest_hash=bytes.fromhex(manifest.hash()),
                participants=[Participant(p, registry.identity_key(p)) for p in practices],
                vector_length=ReleaseLayout.for_round(manifest, RoundScope.CLUSTER).length,
                params=params,
            )
            ann = coordinator.announcement
            log.append(
                Kind.ROUND_OPENED,
                {
                    "round_id": ann.round_id.hex(),
                    "cluster": cluster,
                    "reference_date": ann.reference_date,
                    "manifest_hash": manifest.hash(),
                    "participants": [p.practice_id for p in ann.participants],
                    "k": params.k,
                    "t": params.threshold,
                    "minimum": params.min_survivors,
                    "attempt": 1,
                    "code_version": "klynge/test",
                },
            )
            name = [p.practice_id for p in ann.participants]

            def stage(outbound: dict[int, Message]) -> None:
                for u, message in outbound.items():
                    send(name[u], message)
                for _pid, message in _collect(inbox, len(outbound)):
                    assert not isinstance(message, wire.Refusal), message
                    coordinator.receive(message)

            stage({u: ann for u in range(n)})
            stage(coordinator.close_advertising())
            stage(coordinator.close_sharing())
            honest = coordinator.close_masked_input()
            assert len(honest.survivors) == n  # everyone sent a masked input
            # The lie: tell everyone else the victim dropped; tell the victim the truth.
            victim = 0
            lie = SurvivorSet(ann.round_id, tuple(u for u in honest.survivors if u != victim))
            for u in honest.survivors:
                send(name[u], honest if u == victim else lie)
            signatures = _collect(inbox, n)
            for _pid, message in signatures:
                coordinator.receive(message)
            requests = coordinator.close_consistency()
            for u, request in requests.items():
                send(name[u], request)
            answers = _collect(inbox, len(requests), seconds=30)
            responses = [m for _p, m in answers if isinstance(m, UnmaskResponse)]
            refusals = {p: m for p, m in answers if isinstance(m, wire.Refusal)}
            # The victim saw no t neighbours sign *its* set, and revealed nothing.
            assert name[victim] in refusals and name[victim] not in {
                name[r.sender] for r in responses
            }
            # Nobody revealed the victim's self-mask seed: its vector stays masked by it.
            assert all(s.owner != victim for r in responses for s in r.self_mask_shares)
            # What the lie bought: the victim's mask key, from the holders who believed it.
            assert sum(s.owner == victim for r in responses for s in r.key_shares) >= (
                params.threshold
            )
            for pid in practices:
                send(
                    pid,
                    wire.RoundOutcome(
                        ann.round_id.hex(), cluster, ann.reference_date, "aborted", "test over", 0
                    ),
                )
            for pid in practices:  # each charged once for the one input it sent
                assert len(fed.ledger(pid).charges()) == 1
        finally:
            server.stop(grace=0.5)
