"""The coordinator's per-cluster round driver, with real SecAgg+ agents and fake time."""

from __future__ import annotations

import numpy as np
import pytest

from protocols.agent import SecAggAgent
from protocols.coordinator import SecAggCoordinator
from protocols.errors import ProtocolError
from protocols.messages import Stage
from protocols.params import default_params
from protocols.simulator import make_cluster
from server.cluster_round import ClusterRound

LENGTH = 16


def setup(n: int, timeout: float = 5.0):
    cluster = make_cluster(n)
    agents = {
        p: SecAggAgent(p, cluster.identities[p], cluster.registry) for p in cluster.practice_ids
    }
    coordinator = SecAggCoordinator.new_round(
        cluster_id="K01",
        reference_date="2026-09-30",
        manifest_hash=bytes(32),
        participants=cluster.participants,
        vector_length=LENGTH,
        params=default_params(n),
    )
    rnd = ClusterRound(coordinator, timeout, now=0.0)
    rng = np.random.default_rng(1)
    vectors = {p: rng.integers(0, 1000, LENGTH, dtype=np.int64) for p in cluster.practice_ids}
    return rnd, agents, vectors


def pump(rnd, agents, vectors, outbound, now=0.0, silent=frozenset()):
    """Deliver messages until the round has nothing more to send (silent agents never answer)."""
    queue = list(outbound)
    while queue:
        item = queue.pop(0)
        if item.practice_id in silent:
            continue
        agent = agents[item.practice_id]
        reply = agent.handle(item.message, provide_input=lambda a=agent: vectors[a.practice_id])
        if reply is not None:
            queue.extend(rnd.receive(item.practice_id, reply, now))


def test_stages_close_as_soon_as_everyone_answered():
    rnd, agents, vectors = setup(6)
    pump(rnd, agents, vectors, rnd.start())
    assert rnd.result is not None and rnd.abort_reason is None
    assert np.array_equal(rnd.result.vector, np.sum(list(vectors.values()), axis=0))


def test_a_silent_practice_is_dropped_at_the_deadline():
    rnd, agents, vectors = setup(7)
    silent = {"p0003"}
    pump(rnd, agents, vectors, rnd.start(), silent=silent)
    assert rnd.stage is Stage.ADVERTISE_KEYS  # still waiting for p0003
    assert rnd.tick(4.9) == []  # deadline not reached
    now = 5.0
    while not rnd.finished:
        pump(rnd, agents, vectors, rnd.tick(now), now, silent)
        now += 5.0
    expected = sum(v for p, v in vectors.items() if p not in silent)
    assert np.array_equal(rnd.result.vector, expected)
    assert rnd.progress.dropped == {"p0003": "ADVERTISE_KEYS"}


def test_disconnect_mid_round_needs_no_deadline():
    rnd, agents, vectors = setup(7)
    leaving = "p0002"
    queue = list(rnd.start())
    while queue:
        item = queue.pop(0)
        if item.practice_id == leaving and item.message.STAGE is Stage.MASKED_INPUT:
            queue.extend(rnd.disconnected(leaving, 0.0))
            continue
        if item.practice_id == leaving and item.message.STAGE.value > Stage.MASKED_INPUT.value:
            continue
        agent = agents[item.practice_id]
        reply = agent.handle(item.message, provide_input=lambda a=agent: vectors[a.practice_id])
        if reply is not None:
            queue.extend(rnd.receive(item.practice_id, reply, 0.0))
    assert rnd.result is not None, rnd.abort_reason
    expected = sum(v for p, v in vectors.items() if p != leaving)
    assert np.array_equal(rnd.result.vector, expected)


def test_refusals_below_the_minimum_abort_and_reveal_nothing():
    rnd, agents, vectors = setup(6)
    out = rnd.start()
    for practice in ("p0000", "p0001"):
        rnd.refuse(practice, "budget_exceeded", 0.0)
    pump(rnd, agents, vectors, out, silent={"p0000", "p0001"})
    assert rnd.result is None
    assert rnd.abort_reason.startswith("round aborted at stage")  # words, not a class name
    assert "Error" not in rnd.abort_reason
    assert rnd.progress.refused == {"p0000": "budget_exceeded", "p0001": "budget_exceeded"}


def test_a_message_from_the_wrong_sender_is_refused():
    rnd, agents, _ = setup(6)
    out = rnd.start()
    reply = agents["p0001"].handle(out[1].message)
    with pytest.raises(ProtocolError):
        rnd.receive("p0002", reply, 0.0)  # p0002's session cannot speak for p0001
