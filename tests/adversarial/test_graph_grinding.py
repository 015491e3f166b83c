"""The coordinator cannot choose the neighbour graph (issue 12, item 6).

The graph's seed hashes the round id with every advertised practice's fresh graph
nonce (each signed in its key advertisement); agents check their own and their
neighbours' nonces, and survivor signatures bind the digest of the whole list.
"""

from __future__ import annotations

import numpy as np

from protocols.agent import SecAggAgent
from protocols.errors import SecAggError
from protocols.messages import KeyBroadcast
from protocols.neighbours import build_graph
from protocols.params import RoundParams
from protocols.randomness import seeded_random_bytes
from protocols.simulator import make_cluster, simulate_round
from protocols.texts import reason
from protocols.transcript import nonce_digest
from tests.adversarial.support import new_round

CLUSTER = make_cluster(30, seeded_random_bytes("grind"))
PARAMS = RoundParams(k=8, threshold=5, min_survivors=15)


def _vectors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(3)
    return {p: rng.integers(0, 1000, 8) for p in CLUSTER.practice_ids}


def test_one_practices_nonce_reshapes_the_whole_graph():
    members = tuple(range(30))
    nonces = [bytes([i]) * 16 for i in range(30)]
    base = build_graph(bytes(16), members, 8, nonce_digest(nonces))
    nonces[17] = bytes(16)
    other = build_graph(bytes(16), members, 8, nonce_digest(nonces))
    changed = sum(base.neighbours_of(m) != other.neighbours_of(m) for m in members)
    assert changed > 20  # not a local change: a fresh random ring


def test_honest_rounds_draw_a_different_graph_each_time_even_with_the_same_round_id():
    graphs = []
    for seed in ("a", "b"):
        out = simulate_round(
            CLUSTER, _vectors(), params=PARAMS, random_bytes=seeded_random_bytes(seed)
        )
        assert out.exact
        graphs.append(out.coordinator.graph)
    assert graphs[0].neighbours_of(0) != graphs[1].neighbours_of(0)


def test_a_substituted_nonce_is_refused_by_its_owner_and_its_neighbours_in_the_new_graph():
    """A coordinator that steers the graph by inventing one practice's nonce (and sends
    every practice consistent keys for the steered graph) loses that practice and all its
    neighbours: it pays k + 1 participants per try, on top of what excluding costs."""
    rb = seeded_random_bytes("grind-sub")
    coordinator = new_round(CLUSTER, PARAMS, random_bytes=rb)
    ann = coordinator.announcement
    agents = [
        SecAggAgent(p.practice_id, CLUSTER.identities[p.practice_id], CLUSTER.registry, rb)
        for p in ann.participants
    ]
    ads = [agent.advertise(ann) for agent in agents]
    members = tuple(range(len(agents)))
    victim = 4
    nonces = [ad.graph_nonce for ad in ads]
    nonces[victim] = bytes(16)
    steered = build_graph(ann.round_id, members, PARAMS.k, nonce_digest(nonces))
    refused: dict[int, SecAggError] = {}
    for u, agent in enumerate(agents):
        broadcast = KeyBroadcast(
            ann.round_id,
            u,
            members,
            tuple(ads[v] for v in steered.neighbours_of(u)),
            tuple(nonces),
        )
        try:
            agent.share_keys(broadcast)
        except SecAggError as exc:
            refused[u] = exc
    assert set(refused) == {victim, *steered.neighbours_of(victim)}
    assert all(reason("graph_nonce_altered") in str(e) for e in refused.values())
