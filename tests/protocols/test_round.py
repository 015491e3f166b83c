"""End-to-end rounds: the unmasked sum equals the plain sum exactly, under dropouts.

Clusters here are small (8 practices, complete graph; 24 practices, ring
graph) so each round takes tens of milliseconds; the arithmetic and the
dropout logic do not depend on the size.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols.agent import SecAggAgent
from protocols.coordinator import SecAggCoordinator
from protocols.errors import BelowMinimumError, InputError, ReconstructionError
from protocols.messages import Participant, ShareDelivery, Stage
from protocols.neighbours import NeighbourGraph
from protocols.params import RoundParams, default_params
from protocols.randomness import seeded_random_bytes
from protocols.simulator import (
    DROPOUT_STAGES,
    DropoutPattern,
    make_cluster,
    plain_sum,
    simulate_round,
)

INT64 = np.iinfo(np.int64)
SMALL = make_cluster(8, seeded_random_bytes("round-small"))
SMALL_PARAMS = default_params(8)  # k=7 (complete), t=4, m=5
RING = make_cluster(24, seeded_random_bytes("round-ring"))
RING_PARAMS = RoundParams(k=8, threshold=5, min_survivors=12)


def _vectors(cluster, length: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        p: rng.integers(INT64.min, INT64.max, length, dtype=np.int64, endpoint=True)
        for p in cluster.practice_ids
    }


def test_no_dropout_sum_is_exact_and_agents_finish() -> None:
    rng = np.random.default_rng(1)
    vectors = _vectors(SMALL, 64, rng)
    out = simulate_round(SMALL, vectors, params=SMALL_PARAMS, random_bytes=seeded_random_bytes(1))
    assert out.error is None and out.exact
    assert out.result is not None and out.result.count == 8
    np.testing.assert_array_equal(out.result.vector, plain_sum(list(vectors.values()), 64))
    assert all(agent.stage == Stage.DONE for agent in out.agents.values())
    assert out.coordinator is not None and out.coordinator.stage == Stage.DONE


@pytest.mark.parametrize("value", [INT64.min, INT64.max, -1, 0])
def test_extremes_wrap_like_int64(value: int) -> None:
    vectors = {p: np.full(5, value, dtype=np.int64) for p in SMALL.practice_ids}
    out = simulate_round(SMALL, vectors, params=SMALL_PARAMS, random_bytes=seeded_random_bytes(2))
    assert out.exact
    expected = np.full(5, value, dtype=np.int64)
    with np.errstate(over="ignore"):
        expected = (expected.view(np.uint64) * np.uint64(8)).view(np.int64)
    np.testing.assert_array_equal(out.result.vector, expected)  # type: ignore[union-attr]


def test_counts_sum_is_the_true_total() -> None:
    """Realistic input: non-negative counts, whose true sum fits in int64."""
    rng = np.random.default_rng(3)
    vectors = {p: rng.integers(0, 10_000, 32, dtype=np.int64) for p in SMALL.practice_ids}
    out = simulate_round(SMALL, vectors, params=SMALL_PARAMS, random_bytes=seeded_random_bytes(3))
    assert out.result is not None
    assert out.result.vector.tolist() == [
        sum(int(v[i]) for v in vectors.values()) for i in range(32)
    ]


def _predicted_complete(assignment: dict[str, str], n: int, params: RoundParams) -> type | None:
    """The outcome a complete-graph round must have: None (exact sum) or the error type."""
    gone = {s: {p for p, stage in assignment.items() if stage == s} for s in DROPOUT_STAGES}
    u1 = n - len(gone["before_advertising"])
    u2 = u1 - len(gone["after_advertising"])
    survivors = u2 - len(gone["after_sharing"])
    signers = survivors - len(gone["after_masked_input"])
    responders = signers - len(gone["during_unmasking"]) if signers - 1 >= params.threshold else 0
    if min(u1, u2, survivors) < params.min_survivors:
        return BelowMinimumError
    if responders < params.threshold + 1:
        return ReconstructionError
    return None


def _predicted_ring(
    assignment: dict[str, str], graph: NeighbourGraph, params: RoundParams
) -> type | None:
    """The outcome a ring-graph round must have, from who drops when and whose neighbour is who.

    Member i is RING.practice_ids[i]. A signer is asked to unmask only if at least t of its
    neighbours signed; every survivor's seed and every dropped sharer's key needs t shares
    from neighbours that answer.
    """
    index = {pid: i for i, pid in enumerate(RING.practice_ids)}
    gone = {s: {index[p] for p, stage in assignment.items() if stage == s} for s in DROPOUT_STAGES}
    advertised = set(index.values()) - gone["before_advertising"]
    shared = advertised - gone["after_advertising"]
    survivors = shared - gone["after_sharing"]
    if min(len(advertised), len(shared), len(survivors)) < params.min_survivors:
        return BelowMinimumError
    signers = survivors - gone["after_masked_input"]
    asked = {u for u in signers if len(set(graph.neighbours_of(u)) & signers) >= params.threshold}
    responders = asked - gone["during_unmasking"]
    for owner in shared:
        if len(set(graph.neighbours_of(owner)) & responders) < params.threshold:
            return ReconstructionError
    return None


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    assignment=st.dictionaries(
        st.sampled_from(SMALL.practice_ids), st.sampled_from(DROPOUT_STAGES), max_size=4
    ),
    seed=st.integers(0, 2**32),
)
def test_every_dropout_pattern_complete_graph(assignment: dict[str, str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    vectors = _vectors(SMALL, 16, rng)
    out = simulate_round(
        SMALL,
        vectors,
        params=SMALL_PARAMS,
        dropout=DropoutPattern.at_stages(assignment),
        random_bytes=seeded_random_bytes(seed),
    )
    predicted = _predicted_complete(assignment, 8, SMALL_PARAMS)
    if predicted is None:
        assert out.error is None and out.exact, out.error
    else:
        assert isinstance(out.error, predicted)
        assert out.result is None
    # Whatever happened, nobody revealed both shares of anyone.
    for response in out.responses.values():
        owners = [s.owner for s in response.self_mask_shares + response.key_shares]
        assert len(owners) == len(set(owners))


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    assignment=st.dictionaries(
        st.sampled_from(RING.practice_ids), st.sampled_from(DROPOUT_STAGES), max_size=5
    ),
    seed=st.integers(0, 2**32),
)
def test_dropout_patterns_ring_graph(assignment: dict[str, str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    vectors = _vectors(RING, 8, rng)
    out = simulate_round(
        RING,
        vectors,
        params=RING_PARAMS,
        dropout=DropoutPattern.at_stages(assignment),
        random_bytes=seeded_random_bytes(seed),
    )
    assert out.coordinator is not None and out.coordinator.graph is not None
    predicted = _predicted_ring(assignment, out.coordinator.graph, RING_PARAMS)
    if predicted is None:
        assert out.error is None and out.exact, out.error
    else:
        assert isinstance(out.error, predicted), out.error
        assert out.result is None


def test_one_dropout_at_every_stage_ring_graph() -> None:
    ids = RING.practice_ids
    dropout = DropoutPattern(
        before_advertising=frozenset(ids[0:1]),
        after_advertising=frozenset(ids[3:4]),
        after_sharing=frozenset(ids[6:8]),
        after_masked_input=frozenset(ids[10:11]),
        during_unmasking=frozenset(ids[14:15]),
    )
    vectors = _vectors(RING, 40, np.random.default_rng(5))
    # A seed whose graph survives this pattern: with k = 8 and six of 24 gone, about 60%
    # of graphs leave every needed secret t live holders (the graph depends on the nonces).
    out = simulate_round(
        RING, vectors, params=RING_PARAMS, dropout=dropout, random_bytes=seeded_random_bytes(6)
    )
    assert out.error is None and out.exact
    assert out.result is not None
    assert set(out.result.practice_ids) == set(ids) - set(ids[0:1] + ids[3:4] + ids[6:8])


def test_wire_round_trip_gives_the_same_sum() -> None:
    vectors = _vectors(SMALL, 24, np.random.default_rng(6))
    dropout = DropoutPattern(after_sharing=frozenset(SMALL.practice_ids[2:3]))
    plain = simulate_round(
        SMALL, vectors, params=SMALL_PARAMS, dropout=dropout, random_bytes=seeded_random_bytes(6)
    )
    wired = simulate_round(
        SMALL,
        vectors,
        params=SMALL_PARAMS,
        dropout=dropout,
        random_bytes=seeded_random_bytes(6),
        wire=True,
    )
    assert plain.exact and wired.exact
    np.testing.assert_array_equal(plain.result.vector, wired.result.vector)  # type: ignore[union-attr]


def test_seeded_rounds_replay_bit_for_bit_and_system_rounds_differ() -> None:
    vectors = _vectors(SMALL, 8, np.random.default_rng(7))
    a = simulate_round(SMALL, vectors, params=SMALL_PARAMS, random_bytes=seeded_random_bytes(7))
    b = simulate_round(SMALL, vectors, params=SMALL_PARAMS, random_bytes=seeded_random_bytes(7))
    c = simulate_round(SMALL, vectors, params=SMALL_PARAMS)  # OS CSPRNG
    assert a.announcement.round_id == b.announcement.round_id != c.announcement.round_id
    assert a.responses == b.responses
    assert a.exact and c.exact


def test_coordinator_partial_results_parallel_map_agree() -> None:
    vectors = _vectors(RING, 16, np.random.default_rng(8))
    dropout = DropoutPattern(after_sharing=frozenset(RING.practice_ids[:3]))
    one = simulate_round(
        RING, vectors, params=RING_PARAMS, dropout=dropout, random_bytes=seeded_random_bytes(8)
    )
    three = simulate_round(
        RING,
        vectors,
        params=RING_PARAMS,
        dropout=dropout,
        random_bytes=seeded_random_bytes(8),
        jobs=3,
    )
    assert one.exact and three.exact


# --- the privacy seam and idempotency -----------------------------------------------


def _start(cluster, params, seed: object, length: int = 4):
    rb = seeded_random_bytes(seed)
    coordinator = SecAggCoordinator.new_round(
        cluster_id="c",
        reference_date="2025-03-31",
        manifest_hash=bytes(32),
        participants=[
            Participant(p, cluster.identities[p].public_key) for p in cluster.practice_ids
        ],
        vector_length=length,
        params=params,
        random_bytes=rb,
    )
    ann = coordinator.announcement
    agents = {
        i: SecAggAgent(p.practice_id, cluster.identities[p.practice_id], cluster.registry, rb)
        for i, p in enumerate(ann.participants)
    }
    return coordinator, agents


def _to_masked_stage(coordinator, agents) -> dict[int, ShareDelivery]:
    for agent in agents.values():
        coordinator.receive(agent.advertise(coordinator.announcement))
    for i, msg in coordinator.close_advertising().items():
        coordinator.receive(agents[i].share_keys(msg))
    return coordinator.close_sharing()


def test_input_is_requested_only_after_every_protocol_check_passed() -> None:
    coordinator, agents = _start(SMALL, SMALL_PARAMS, "seam")
    deliveries = _to_masked_stage(coordinator, agents)
    calls: list[int] = []

    def provide(i: int):
        def inner() -> np.ndarray:
            calls.append(i)
            return np.arange(4, dtype=np.int64)

        return inner

    # A tampered delivery fails before the vector is asked for (no budget spent).
    bad = deliveries[0]
    first = bad.shares[0]
    forged = type(first)(first.sender, first.recipient, bytes(len(first.ciphertext)))
    tampered = ShareDelivery(bad.round_id, bad.recipient, (forged, *bad.shares[1:]))
    with pytest.raises(Exception):  # noqa: B017 - the type is tested in the threat tests
        agents[0].handle(tampered, provide(0))
    assert calls == []
    # Honest deliveries: exactly one call each, at the masked-input step.
    for i in range(1, 8):
        assert not agents[i].ready_for_input
        agents[i].receive_shares(deliveries[i])
        assert agents[i].ready_for_input
        coordinator.receive(agents[i].masked_input(provide(i)()))
    assert calls == list(range(1, 8))


def test_redelivery_is_idempotent_and_a_second_vector_is_refused() -> None:
    coordinator, agents = _start(SMALL, SMALL_PARAMS, "idem")
    ann = coordinator.announcement
    adverts = {i: a.advertise(ann) for i, a in agents.items()}
    assert all(agents[i].advertise(ann) is adverts[i] for i in agents)
    for ad in adverts.values():
        coordinator.receive(ad)
        coordinator.receive(ad)  # duplicates are ignored
    broadcasts = coordinator.close_advertising()
    bundles = {i: agents[i].share_keys(m) for i, m in broadcasts.items()}
    assert all(agents[i].share_keys(broadcasts[i]) is bundles[i] for i in agents)
    for b in bundles.values():
        coordinator.receive(b)
    deliveries = coordinator.close_sharing()
    x = np.array([1, 2, 3, 4], dtype=np.int64)
    agents[0].receive_shares(deliveries[0])
    agents[0].receive_shares(deliveries[0])
    first = agents[0].masked_input(x)
    assert agents[0].masked_input(x.copy()) is first
    with pytest.raises(InputError):
        agents[0].masked_input(x + 1)  # would reveal x' - x to the coordinator
    assert agents[0].stage == Stage.CONSISTENCY


@pytest.mark.parametrize(
    "vector",
    [
        np.zeros(3, dtype=np.int64),
        np.zeros((2, 2), dtype=np.int64),
        np.zeros(4, dtype=np.float64),
        np.array([True, False, True, False]),
        np.array([2**63, 0, 0, 0], dtype=np.uint64),
    ],
)
def test_bad_vectors_are_refused_without_ending_the_round(vector: np.ndarray) -> None:
    coordinator, agents = _start(SMALL, SMALL_PARAMS, "vectors")
    deliveries = _to_masked_stage(coordinator, agents)
    agents[1].receive_shares(deliveries[1])
    with pytest.raises(InputError):
        agents[1].masked_input(vector)
    assert agents[1].ready_for_input  # still able to send a good vector
    out = agents[1].masked_input(np.array([1, 2, 3, 4], dtype=np.uint8))
    assert out.length == 4


def test_ring_round_aborts_when_too_few_neighbours_answer() -> None:
    """Both outcomes are reachable: four of one survivor's eight neighbours vanish at unmasking."""
    vectors = _vectors(RING, 8, np.random.default_rng(7))
    first = simulate_round(RING, vectors, params=RING_PARAMS, random_bytes=seeded_random_bytes(7))
    assert first.error is None and first.exact
    assert first.coordinator is not None and first.coordinator.graph is not None
    neighbours = first.coordinator.graph.neighbours_of(0)  # the same round id, the same graph
    assignment = {RING.practice_ids[v]: "during_unmasking" for v in neighbours[:4]}
    assert _predicted_ring(assignment, first.coordinator.graph, RING_PARAMS) is ReconstructionError
    out = simulate_round(
        RING,
        vectors,
        params=RING_PARAMS,
        dropout=DropoutPattern.at_stages(assignment),
        random_bytes=seeded_random_bytes(7),
    )
    assert isinstance(out.error, ReconstructionError), out.error
    assert out.result is None
