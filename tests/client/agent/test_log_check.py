"""The agent and the transparency log, in-process: real cores, a real log and its service.

Every round the agent proves the log to itself before it advertises keys, and
publishes each receipt (proven) before its vector leaves. A ledger behind the
log, a log that hides a receipt or rewrites its past, and a retry without a
logged abort are all refused with a reason in words.
"""

from __future__ import annotations

import logging
import shutil

import pytest

from client.agent.core import AgentCore
from client.agent.log_check import LogChecker, compare_with_ledger, recover_ledger
from client.agent.policy import RefusalCode, RoundRefused
from privacy.ledger import LEDGER_FILE, Ledger
from privacy.log_entries import Kind
from privacy.log_proofs import VerifiedView
from privacy.signing import generate_private_key
from protocols import wire
from protocols.envelope import Envelope
from server.log_service import LogService, open_log
from server.store import Store
from tests.client.agent.world import REF, TODAY, make_world, run_round
from transport.fetch import FetchError

LOGGER = logging.getLogger("klynge.test")


class Coordinator:
    """The log side of a coordinator: its log, its Fetch scopes, and the entries it appends."""

    def __init__(self, world, tmp_path, name: str = "log"):
        self.key = generate_private_key()
        self.store = Store.open(tmp_path / f"{name}.sqlite")
        self.service = LogService(
            open_log(tmp_path / f"{name}.jsonl", self.key, self.store),
            self.store,
            world.registry,
            LOGGER,
        )
        self.reachable = True

    def fetch(self, practice_id: str):
        def call(scope: str, body: bytes) -> bytes:
            if not self.reachable:
                raise FetchError("UNAVAILABLE", "connection refused")
            return self.service.fetch(practice_id, scope, body).body

        return call

    def opened(self, envelope: Envelope) -> None:
        """Log the round the first time its announcement goes out (as the coordinator does)."""
        message = wire.from_envelope(envelope)
        round_id = message.round_id.hex()
        if any(e.payload["round_id"] == round_id for e in self.service.log.entries("round_opened")):
            return
        self.service.append(
            Kind.ROUND_OPENED,
            {
                "round_id": round_id,
                "cluster": message.cluster_id,
                "reference_date": message.reference_date,
                "manifest_hash": message.manifest_hash.hex(),
                "participants": [p.practice_id for p in message.participants],
                "k": message.params.k,
                "t": message.params.threshold,
                "minimum": message.params.min_survivors,
                "attempt": 1,
                "code_version": "klynge/test",
            },
        )

    def aborted(self, round_id: str, reason: str = "too few survivors") -> None:
        self.service.append(
            Kind.ROUND_ABORTED,
            {
                "round_id": round_id,
                "cluster": "K01",
                "reference_date": REF.isoformat(),
                "manifest_hash": "0" * 64,
                "reason": reason,
                "attempt": 1,
                "retry": True,
            },
        )


def _cores(world, coordinator, ids=None) -> dict[str, AgentCore]:
    cores = {}
    for pid in ids or world.practice_ids:
        checker = LogChecker(
            pid,
            world.keys[pid],
            coordinator.key.public_key(),
            coordinator.fetch(pid),
            world.root / pid / "log_head.json",
        )
        cores[pid] = AgentCore(world.context(pid), today=lambda: TODAY, log=checker)
    return cores


def _run(world, coordinator, cores, **kw):
    def tamper(pid, envelope):
        if envelope.kind == "RoundAnnouncement":
            coordinator.opened(envelope)
        return envelope

    return run_round(world, cores, tamper=tamper, **kw)


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path, n=5)


def test_every_receipt_is_in_the_log_before_its_vector_leaves(world, tmp_path):
    coordinator = Coordinator(world, tmp_path)
    run = _run(world, coordinator, _cores(world, coordinator))
    assert run.result is not None and run.refusals == {}
    log = coordinator.service.log
    logged = {e.payload["practice_id"]: e for e in log.entries("receipt")}
    assert set(logged) == set(world.practice_ids)
    assert {e.payload["practice_id"] for e in log.entries("approval")} == set(world.practice_ids)
    for pid in world.practice_ids:
        [charge] = Ledger.open(world.ledger_dir(pid)).charges()
        assert charge.sent and logged[pid].payload == charge.receipt.document()
        head = (world.root / pid / "log_head.json").read_text()
        assert '"tree_size"' in head


def test_a_ledger_behind_the_log_charges_nothing_until_it_is_recovered(world, tmp_path):
    coordinator = Coordinator(world, tmp_path)
    pid = world.practice_ids[0]
    backup = (world.ledger_dir(pid) / LEDGER_FILE).read_bytes()
    assert _run(world, coordinator, _cores(world, coordinator)).result is not None
    spent = Ledger.open(world.ledger_dir(pid)).spent(REF.year, 1e-6)
    (world.ledger_dir(pid) / LEDGER_FILE).write_bytes(backup)  # restored from an old copy

    later = REF.replace(month=6, day=30)
    cores = _cores(world, coordinator)
    run = _run(world, coordinator, cores, reference_date=later)
    assert run.refusals[pid].reason == RefusalCode.LEDGER_BEHIND_LOG.value
    assert "recover-ledger" in run.refusals[pid].detail
    assert Ledger.open(world.ledger_dir(pid)).charges() == []  # nothing charged meanwhile

    checker = cores[pid].log_checker
    assert checker is not None
    ledger, aside, _ = recover_ledger(checker, world.ledger_dir(pid), world.keys[pid], TODAY)
    assert ledger.spent(REF.year, 1e-6) == pytest.approx(spent)
    assert aside is not None and aside.read_bytes() == backup


def test_a_rewritten_log_is_refused_before_any_key_is_advertised(world, tmp_path):
    coordinator = Coordinator(world, tmp_path)
    assert _run(world, coordinator, _cores(world, coordinator)).result is not None
    # The operator starts a fresh log under the same key: the practices' heads expose it.
    log_file = coordinator.service.log.path
    shutil.move(log_file, tmp_path / "old.jsonl")
    for path in tmp_path.glob("log.sqlite*"):
        path.unlink()
    fresh = Coordinator.__new__(Coordinator)
    fresh.key = coordinator.key
    fresh.store = Store.open(tmp_path / "log2.sqlite")
    fresh.service = LogService(
        open_log(log_file, fresh.key, fresh.store), fresh.store, world.registry, LOGGER
    )
    fresh.reachable = True
    for i in range(20):
        fresh.aborted(f"r{i}")
    run = _run(world, fresh, _cores(world, fresh), reference_date=REF.replace(month=6, day=30))
    assert {r.reason for r in run.refusals.values()} == {RefusalCode.LOG_UNVERIFIABLE.value}
    assert all("does not extend the head" in r.detail for r in run.refusals.values())
    assert fresh.service.log.entries("receipt") == []


def test_a_retry_is_joined_only_when_the_log_shows_the_first_round_aborted(world, tmp_path):
    coordinator = Coordinator(world, tmp_path)
    # Two practices vanish after sending their vectors: the round aborts below the minimum,
    # after everyone paid.
    gone = dict.fromkeys(world.practice_ids[:2], "MASKED_INPUT")
    first = _run(world, coordinator, _cores(world, coordinator), drop_after=gone)
    assert first.result is None
    retry = _run(world, coordinator, _cores(world, coordinator))
    assert {r.reason for r in retry.refusals.values()} == {"already_contributed"}
    coordinator.aborted(first.round_id)
    again = _run(world, coordinator, _cores(world, coordinator))
    assert again.result is not None and again.refusals == {}
    for pid in world.practice_ids:
        rounds = [c.receipt.round_id for c in Ledger.open(world.ledger_dir(pid)).charges()]
        assert rounds == [first.round_id, again.round_id]


def test_an_unreachable_log_refuses_the_round_and_charges_nothing(world, tmp_path):
    coordinator = Coordinator(world, tmp_path)
    coordinator.reachable = False
    run = _run(world, coordinator, _cores(world, coordinator))
    assert {r.reason for r in run.refusals.values()} == {RefusalCode.LOG_UNVERIFIABLE.value}
    for pid in world.practice_ids:
        assert Ledger.open(world.ledger_dir(pid)).charges() == []


def test_a_sent_receipt_missing_from_the_log_is_named(world, tmp_path):
    coordinator = Coordinator(world, tmp_path)
    assert _run(world, coordinator, _cores(world, coordinator)).result is not None
    pid = world.practice_ids[0]
    charges = Ledger.open(world.ledger_dir(pid)).charges()
    view = VerifiedView(coordinator.service.log.head(), (), {})  # a log that left it out
    with pytest.raises(RoundRefused) as info:
        compare_with_ledger(view, charges)
    assert info.value.code is RefusalCode.RECEIPT_NOT_LOGGED
    assert "missing from the coordinator's transparency log" in info.value.detail
