"""Agent daemons on real gRPC over mutual TLS, against a minimal honest coordinator.

The coordinator here is a test double of the service the lead writes: the
real `SecAggCoordinator` behind the real `CoordinatorTransport`, advancing a
stage when every expected answer is in (a disconnected practice is not waited
for) or a deadline passes. Agents are
started from provisioned `agent.toml` files exactly as `klynge agent run`
starts them, several in one process, dialling a port read from a port file.
"""

from __future__ import annotations

import json
import logging
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field

import pytest

from client.agent.config import load_settings
from client.agent.daemon import run_agents, start_agents
from privacy.ledger import Ledger
from privacy.log_entries import Kind
from privacy.manifest import load_manifest
from privacy.plan import round_min_survivors
from protocols import wire
from protocols.coordinator import AggregateResult, SecAggCoordinator
from protocols.envelope import FetchNotFound, FetchQuery, FetchResult
from protocols.errors import SecAggError
from protocols.messages import Participant, Stage
from protocols.params import RoundParams
from server.log_service import SCOPES as LOG_SCOPES
from server.log_service import LogService, open_log
from server.store import Store
from tests.client.agent.world import REF, TODAY, provision_world
from tests.privacy.builders import cluster_length
from tests.transport.harness import FAST_BACKOFF, make_pki, wait_until
from transport.admission import allow_list
from transport.server import (
    CoordinatorConfig,
    CoordinatorHandler,
    CoordinatorSideSession,
    CoordinatorTransport,
)
from transport.signed_files import load_registry
from transport.tls import PeerIdentity, TlsFiles

IDS = [f"P{i + 1:04d}" for i in range(6)]
STAGE_DEADLINE_S = 10.0  # a practice that disconnects is not waited for (on_disconnect)


@dataclass
class MiniCoordinator(CoordinatorHandler):
    participants: list[Participant]
    manifest_hash: bytes
    vector_length: int
    min_survivors: int
    transport: CoordinatorTransport | None = None
    round: SecAggCoordinator | None = None
    refusals: dict[str, wire.Refusal] = field(default_factory=dict)
    result: AggregateResult | None = None
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)
    lock: threading.RLock = field(default_factory=threading.RLock)
    waiting: set[int] = field(default_factory=set)
    gone: set[int] = field(default_factory=set)
    timer: threading.Timer | None = None
    release: bytes = b""
    log: LogService | None = None  # the real transparency log and its Fetch scopes

    def start_round(self) -> None:
        n = len(self.participants)
        with self.lock:
            self.round = SecAggCoordinator.new_round(
                cluster_id="K01",
                reference_date=REF,
                manifest_hash=self.manifest_hash,
                participants=self.participants,
                vector_length=self.vector_length,
                params=RoundParams(k=n - 1, threshold=n // 2 + 1, min_survivors=self.min_survivors),
            )
            ann = self.round.announcement
            if self.log is not None:
                self.log.append(
                    Kind.ROUND_OPENED,
                    {
                        "round_id": ann.round_id.hex(),
                        "cluster": "K01",
                        "reference_date": ann.reference_date,
                        "manifest_hash": self.manifest_hash.hex(),
                        "participants": [p.practice_id for p in ann.participants],
                        "k": n - 1,
                        "t": n // 2 + 1,
                        "minimum": self.min_survivors,
                        "attempt": 1,
                        "code_version": "klynge/test",
                    },
                )
            self._expect(range(n))
            for p in ann.participants:
                self._send(p.practice_id, wire.to_envelope(ann))

    def _send(self, pid: str, envelope) -> None:
        session = self.transport.session(pid) if self.transport else None
        if session is not None:
            session.send(envelope)

    def _expect(self, indices) -> None:
        self.waiting = set(indices) - self.gone
        if self.timer is not None:
            self.timer.cancel()
        self.timer = threading.Timer(STAGE_DEADLINE_S, self._advance)
        self.timer.daemon = True
        self.timer.start()

    def on_frame(self, session: CoordinatorSideSession, envelope) -> None:
        message = wire.from_envelope(envelope)
        with self.lock:
            assert self.round is not None
            ann = self.round.announcement
            index = ann.index_of(session.practice_id)
            if isinstance(message, wire.Refusal):
                self.refusals[session.practice_id] = message
            else:
                self.round.receive(message)
            self.waiting.discard(index)
            if not self.waiting:
                self._advance()

    def on_disconnect(self, session: CoordinatorSideSession, reason: str) -> None:
        with self.lock:
            if self.round is None or self.finished.is_set():
                return
            index = self.round.announcement.index_of(session.practice_id)
            self.gone.add(index)
            self.waiting.discard(index)
            if not self.waiting:
                self._advance()

    def _advance(self) -> None:
        with self.lock:
            r = self.round
            if r is None or self.finished.is_set():
                return
            name = r.announcement.participants
            try:
                if r.stage is Stage.ADVERTISE_KEYS:
                    out = r.close_advertising()
                    self._expect(out)
                    for u, m in out.items():
                        self._send(name[u].practice_id, wire.to_envelope(m))
                elif r.stage is Stage.SHARE_KEYS:
                    out = r.close_sharing()
                    self._expect(out)
                    for u, m in out.items():
                        self._send(name[u].practice_id, wire.to_envelope(m))
                elif r.stage is Stage.MASKED_INPUT:
                    survivors = r.close_masked_input()
                    self._expect(survivors.survivors)
                    for u in survivors.survivors:
                        self._send(name[u].practice_id, wire.to_envelope(survivors))
                elif r.stage is Stage.CONSISTENCY:
                    out = r.close_consistency()
                    self._expect(out)
                    for u, m in out.items():
                        self._send(name[u].practice_id, wire.to_envelope(m))
                elif r.stage is Stage.UNMASK:
                    self.result = r.finish()
                    self._outcome()
            except SecAggError as exc:
                self.error = type(exc).__name__
                self._outcome()

    def _outcome(self) -> None:
        assert self.round is not None
        if self.timer is not None:
            self.timer.cancel()
        ann = self.round.announcement
        released = self.result is not None
        if released:
            self.release = json.dumps(
                {"round_id": ann.round_id.hex(), "contributors": self.result.count}
            ).encode()
        outcome = wire.RoundOutcome(
            ann.round_id.hex(),
            "K01",
            ann.reference_date,
            "released" if released else "aborted",
            "" if released else str(self.error),
            self.result.count if released else 0,
        )
        for p in ann.participants:
            self._send(p.practice_id, outcome.to_envelope("coordinator"))
        self.finished.set()

    def fetch(self, peer: PeerIdentity, query: FetchQuery) -> FetchResult:
        if self.log is not None and query.scope in LOG_SCOPES:
            return self.log.fetch(peer.practice_id, query.scope, query.body)
        if query.scope == wire.FETCH_CLUSTER and self.release:
            return FetchResult(query.round_id, wire.RELEASE_MEDIA_TYPE, self.release)
        raise FetchNotFound("no regional aggregate yet")


@pytest.fixture
def federation(tmp_path):
    pki = make_pki(tmp_path / "pki", IDS)
    port_file = tmp_path / "coordinator.port"
    # region_wait_s keeps the test short: give up on the (never built) region quickly
    world = provision_world(
        tmp_path, n=len(IDS), port_file=port_file, pki_dir=pki.root, region_wait_s=0.3
    )
    settings = [load_settings(a.config_path) for a in world.agents]
    m = load_manifest(world.manifest_path).manifest
    participants = [Participant(a.practice_id, a.identity_public_key) for a in world.agents]
    handler = MiniCoordinator(
        participants, bytes.fromhex(m.hash()), cluster_length(m), round_min_survivors(m, len(IDS))
    )
    store = Store.open(tmp_path / "coordinator.sqlite")
    registry = load_registry(world.registry_path, world.registry_authority.public_key)
    handler.log = LogService(
        open_log(tmp_path / "transparency.log", world.log_key, store),
        store,
        registry,
        logging.getLogger("klynge.coordinator"),
    )
    transport = CoordinatorTransport(
        TlsFiles.for_server(pki),
        handler,
        allow_list(IDS),
        config=CoordinatorConfig(address="127.0.0.1:0"),
        fetch=handler.fetch,
    )
    port = transport.start()
    handler.transport = transport
    port_file.write_text(f"{port}\n")
    try:
        yield world, settings, handler, transport
    finally:
        transport.stop(grace=0.5)
        store.close()


def test_agents_run_a_round_over_mtls_store_status_and_releases(federation, caplog):
    _world, settings, handler, transport = federation
    dropped = IDS[3]
    caplog.set_level(logging.INFO, logger="klynge")
    daemons = start_agents(
        settings, drops={dropped: "SHARE_KEYS"}, backoff=FAST_BACKOFF, today=lambda: TODAY
    )
    assert wait_until(lambda: sorted(transport.connected()) == IDS, 15)
    handler.start_round()
    run_agents(daemons, threading.Event(), once=True, timeout=30)
    assert handler.finished.is_set()
    assert handler.result is not None, handler.error
    assert handler.result.count == 5 and dropped not in handler.result.practice_ids
    assert handler.refusals == {}
    # Every charge is in the log, published by its practice before its vector left.
    assert handler.log is not None
    logged = {e.payload["practice_id"] for e in handler.log.log.entries("receipt")}
    assert logged == set(IDS) - {dropped}
    approvals = {e.payload["practice_id"] for e in handler.log.log.entries("approval")}
    assert approvals == set(IDS)

    for s in settings:
        ledger = Ledger.open(s.ledger_dir)
        status = json.loads(s.status_path.read_text())
        assert status["running"] is False and status["practice_id"] == s.practice_id
        if s.practice_id == dropped:
            assert ledger.charges() == []
            continue
        [charge] = ledger.charges()
        assert charge.sent and charge.receipt.round_id == handler.round.announcement.round_id.hex()
        last = status["last_round"]
        assert last["state"] == "released" and last["contributors"] == 5 and last["contributed"]
        assert last["reference_date"] == REF.isoformat()
        assert status["last_receipt"]["receipt_id"] == charge.receipt.receipt_id
        assert status["last_receipt"]["file"].endswith(".json")
        [row] = [b for b in status["budget"] if b["year"] == REF.year]
        assert row["releases"] == 1 and row["sent"] == 1
        assert row["epsilon_left"] == pytest.approx(3.0 - row["epsilon_spent"])
        cluster = status["releases"]["cluster"]
        assert (s.state_dir / cluster["file"]).read_bytes() == handler.release
        assert "region" not in status["releases"]  # NOT_FOUND: not built, and that is normal

    # logs are JSON lines with ids and reasons only
    agent_lines = [r.getMessage() for r in caplog.records if r.name == "klynge.agent"]
    events = [json.loads(line)["event"] for line in agent_lines]
    assert "budget_charged" in events and "release_stored" in events
    assert "dropping_out" in events and "release_not_found" in events


@pytest.mark.slow
def test_klynge_agent_run_stops_cleanly_on_sigterm(tmp_path):
    """A real process: it keeps redialling a coordinator that is not there, then SIGTERM."""
    pki = make_pki(tmp_path / "pki", IDS[:2])
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    port_file = tmp_path / "coordinator.port"
    port_file.write_text(str(port))
    world = provision_world(tmp_path, n=2, port_file=port_file, pki_dir=pki.root)
    args = [sys.executable, "-m", "klynge", "agent", "run"]
    for agent in world.agents:
        args += ["--config", str(agent.config_path)]
    process = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    statuses = [world.settings(p).status_path for p in IDS[:2]]
    try:
        started = wait_until(lambda: all(s.exists() for s in statuses), 90)
        started = started and wait_until(
            lambda: json.loads(statuses[0].read_text())["connection"]["last_error"], 60
        )
        if not started:  # on a loaded machine: say what the process was doing
            process.kill()
            out, err = process.communicate(timeout=30)
            raise AssertionError(f"the agent never reported a failed dial:\n{out}\n{err}")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    for path in statuses:
        status = json.loads(path.read_text())
        assert status["running"] is False and status["connection"]["connected"] is False
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    events = {line["event"] for line in lines}
    assert {"agent_started", "agent_stopped", "reconnect_scheduled"} <= events
    assert "Traceback" not in stderr
