"""A malicious coordinator against honest agents: every attack fails visibly or gains nothing.

The threat model (ARCHITECTURE.md): the coordinator may drop or reorder
messages, claim practices dropped out, substitute public keys, invent
participants and rerun rounds. Each test plays one of these by editing what
the honest coordinator would have sent, and checks what the agents do and,
where they answer, that the coordinator cannot learn a single practice's
vector (it never gets t self-mask shares *and* t mask-key shares of anyone).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from protocols import shamir
from protocols.agent import SecAggAgent
from protocols.coordinator import SecAggCoordinator, UnmaskJob, run_unmask_job
from protocols.errors import (
    BelowMinimumError,
    ConsistencyError,
    ParameterError,
    ProtocolError,
    ReconstructionError,
    SecAggError,
    ShareAuthenticationError,
    SignatureError,
    StaleMessageError,
    UnknownParticipantError,
)
from protocols.identity import IdentityKey
from protocols.messages import (
    EncryptedShare,
    KeyAdvertisement,
    KeyBroadcast,
    MaskedInput,
    OwnerShare,
    Participant,
    RoundAnnouncement,
    ShareDelivery,
    Stage,
    SurvivorSet,
    SurvivorSignature,
    UnmaskRequest,
    UnmaskResponse,
)
from protocols.params import RoundParams, default_params
from protocols.randomness import seeded_random_bytes
from protocols.simulator import DropoutPattern, make_cluster, simulate_round
from protocols.transcript import DOMAIN_SURVIVORS

CLUSTER = make_cluster(9, seeded_random_bytes("threats"))
PARAMS = default_params(9)  # complete graph: k=8, t=5
T = PARAMS.threshold
RING = make_cluster(24, seeded_random_bytes("threats-ring"))
RING_PARAMS = RoundParams(k=8, threshold=5, min_survivors=12)
ATTACKER = IdentityKey.generate(seeded_random_bytes("attacker"))
LENGTH = 6


class Round:
    """An honest coordinator and its agents, advanced stage by stage by the test."""

    def __init__(self, cluster=CLUSTER, params=PARAMS, seed: object = 0) -> None:
        self.rb = seeded_random_bytes(("round", seed).__repr__())
        self.cluster = cluster
        self.coordinator = SecAggCoordinator.new_round(
            cluster_id="K01",
            reference_date="2025-03-31",
            manifest_hash=bytes(range(32)),
            participants=cluster.participants,
            vector_length=LENGTH,
            params=params,
            random_bytes=self.rb,
        )
        self.ann = self.coordinator.announcement
        self.agents = {
            i: SecAggAgent(
                p.practice_id, cluster.identities[p.practice_id], cluster.registry, self.rb
            )
            for i, p in enumerate(self.ann.participants)
        }
        rng = np.random.default_rng(abs(hash(repr(seed))) % 2**32)
        self.x = {i: rng.integers(0, 1000, LENGTH, dtype=np.int64) for i in self.agents}
        self.adverts: dict[int, KeyAdvertisement] = {}
        self.masked: dict[int, MaskedInput] = {}

    def advertise(self) -> dict[int, KeyBroadcast]:
        for i, agent in self.agents.items():
            self.adverts[i] = agent.advertise(self.ann)
            self.coordinator.receive(self.adverts[i])
        return self.coordinator.close_advertising()

    def share(self, skip: frozenset[int] = frozenset()) -> dict[int, ShareDelivery]:
        broadcasts = self.advertise()
        for i, msg in broadcasts.items():
            if i not in skip:
                self.coordinator.receive(self.agents[i].share_keys(msg))
        return self.coordinator.close_sharing()

    def mask(self) -> SurvivorSet:
        for i, msg in self.share().items():
            self.agents[i].receive_shares(msg)
            self.masked[i] = self.agents[i].masked_input(self.x[i])
            self.coordinator.receive(self.masked[i])
        return self.coordinator.close_masked_input()


def _reply(agent: SecAggAgent, message) -> object | SecAggError:
    try:
        return agent.handle(message)
    except SecAggError as exc:
        return exc


def _revealed(responses: list[UnmaskResponse], owner: int) -> tuple[int, int]:
    seeds = sum(1 for r in responses for s in r.self_mask_shares if s.owner == owner)
    keys = sum(1 for r in responses for s in r.key_shares if s.owner == owner)
    return seeds, keys


# --- substituted keys ------------------------------------------------------------------


@pytest.mark.parametrize("field", ["encryption_key", "mask_key", "self_mask_commitment"])
def test_substituted_round_key_is_detected(field: str) -> None:
    r = Round(seed=field)
    broadcasts = r.advertise()
    victim = 0
    b = broadcasts[victim]
    forged = dataclasses.replace(b.neighbour_keys[2], **{field: bytes(range(1, 33))})
    tampered = dataclasses.replace(
        b, neighbour_keys=(*b.neighbour_keys[:2], forged, *b.neighbour_keys[3:])
    )
    with pytest.raises(SignatureError) as info:
        r.agents[victim].share_keys(tampered)
    assert info.value.fields["participant"] == r.ann.participants[forged.sender].practice_id
    assert r.agents[victim].stage == Stage.ABORTED
    # Nothing can be extracted afterwards, not even with the honest broadcast.
    with pytest.raises(ProtocolError):
        r.agents[victim].share_keys(b)


def test_keys_moved_between_practices_or_resigned_by_attacker_are_detected() -> None:
    r = Round(seed="moved")
    broadcasts = r.advertise()
    b = broadcasts[0]
    first, second = b.neighbour_keys[0], b.neighbour_keys[1]
    moved = dataclasses.replace(second, sender=first.sender)  # second's keys claimed as first's
    with pytest.raises(SignatureError):
        r.agents[0].share_keys(
            dataclasses.replace(b, neighbour_keys=(moved, *b.neighbour_keys[1:]))
        )

    r = Round(seed="resigned")
    b = r.advertise()[0]
    ad = b.neighbour_keys[0]
    resigned = dataclasses.replace(ad, signature=ATTACKER.sign(b"anything", b"x"))
    with pytest.raises(SignatureError):
        r.agents[0].share_keys(
            dataclasses.replace(b, neighbour_keys=(resigned, *b.neighbour_keys[1:]))
        )


def test_withheld_or_extra_neighbour_keys_are_refused() -> None:
    r = Round(seed="withheld")
    b = r.advertise()[0]
    with pytest.raises(ProtocolError):
        r.agents[0].share_keys(dataclasses.replace(b, neighbour_keys=b.neighbour_keys[1:]))


# --- invented participants -------------------------------------------------------------


def _announce(participants: list[Participant], params: RoundParams = PARAMS) -> RoundAnnouncement:
    return RoundAnnouncement(
        bytes(16),
        "K01",
        "2025-03-31",
        bytes(32),
        params,
        LENGTH,
        tuple(sorted(participants, key=lambda p: p.practice_id)),
    )


def _agent(pid: str, cluster=CLUSTER) -> SecAggAgent:
    return SecAggAgent(pid, cluster.identities[pid], cluster.registry, seeded_random_bytes(pid))


def test_invented_participant_not_in_registry_is_refused_by_everyone() -> None:
    sybil = Participant("p9999", ATTACKER.public_key)
    ann = _announce([*CLUSTER.participants, sybil], default_params(10))
    for pid in CLUSTER.practice_ids:
        agent = _agent(pid)
        with pytest.raises(UnknownParticipantError) as info:
            agent.advertise(ann)
        assert info.value.fields["practice_id"] == "p9999"
        assert agent.stage == Stage.ABORTED


def test_registered_practice_with_a_substituted_identity_is_refused() -> None:
    participants = list(CLUSTER.participants)
    participants[3] = Participant(participants[3].practice_id, ATTACKER.public_key)
    with pytest.raises(UnknownParticipantError) as info:
        _agent("p0000").advertise(_announce(participants))
    assert info.value.fields["practice_id"] == participants[3].practice_id
    # The victim itself announced under another key.
    participants = list(CLUSTER.participants)
    participants[0] = Participant("p0000", ATTACKER.public_key)
    with pytest.raises(UnknownParticipantError):
        _agent("p0000").advertise(_announce(participants))


def test_a_practice_not_announced_does_not_take_part() -> None:
    ann = _announce(list(CLUSTER.participants[1:]), default_params(8))
    with pytest.raises(UnknownParticipantError):
        _agent("p0000").advertise(ann)


# --- claiming a live practice dropped ------------------------------------------------------


def test_claiming_a_live_practice_dropped_yields_only_its_key_not_its_vector() -> None:
    r = Round(seed="claimed")
    honest = r.mask()
    victim = 4
    lie = SurvivorSet(r.ann.round_id, tuple(u for u in honest.survivors if u != victim))
    with pytest.raises(ConsistencyError):
        r.agents[victim].sign_survivors(lie)  # the victim knows it sent its input
    sigs = {i: r.agents[i].sign_survivors(lie) for i in lie.survivors}
    responses = [
        r.agents[i].unmask(
            UnmaskRequest(r.ann.round_id, i, tuple(s for j, s in sigs.items() if j != i))
        )
        for i in lie.survivors
    ]
    seeds, keys = _revealed(responses, victim)
    assert seeds == 0 and keys >= T
    # With the victim's mask key the coordinator strips every pairwise mask from its
    # input, and is left with x + PRG(self-mask seed): the vector stays hidden.
    points = []
    for resp in responses:
        for s in resp.key_shares:
            if s.owner == victim:
                points.append((r.coordinator.graph.share_x(victim, resp.sender), s.share))
    private = shamir.reconstruct(sorted(points)[:T]).to_bytes(32, "big")
    partners = tuple((v, r.adverts[v].mask_key) for v in r.coordinator.graph.neighbours_of(victim))
    pairwise = run_unmask_job(UnmaskJob(r.ann.round_id, LENGTH, (), ((victim, private, partners),)))
    stripped = r.masked[victim].vector - pairwise
    assert not np.any(stripped.view(np.int64) == r.x[victim])


@pytest.mark.parametrize("in_view", range(0, 9))
def test_split_survivor_views_never_give_both_shares_complete_graph(in_view: int) -> None:
    """`in_view` of the victim's 8 neighbours are told it survived, the rest that it dropped."""
    r = Round(seed=("split", in_view))
    honest = r.mask()
    victim = 0
    neighbours = [i for i in r.agents if i != victim]
    told_alive = set(neighbours[:in_view]) | {victim}
    view_alive = honest
    view_dropped = SurvivorSet(r.ann.round_id, tuple(u for u in honest.survivors if u != victim))
    sigs = {}
    for i, agent in r.agents.items():
        got = _reply(agent, view_alive if i in told_alive else view_dropped)
        if isinstance(got, SurvivorSignature):
            sigs[i] = got
    # The attacker forwards every signature it holds; agents must sort them out.
    responses = []
    for i in sigs:
        got = _reply(r.agents[i], UnmaskRequest(r.ann.round_id, i, tuple(sigs.values())))
        if isinstance(got, UnmaskResponse):
            responses.append(got)
    seeds, keys = _revealed(responses, victim)
    assert not (seeds >= T and keys >= T)
    # The attack is real: with a lopsided split the coordinator does get one kind.
    if in_view == 0:
        assert keys >= T
    if in_view == len(neighbours):
        assert seeds >= T
    for resp in responses:
        owners = [s.owner for s in resp.self_mask_shares + resp.key_shares]
        assert len(owners) == len(set(owners))


@pytest.mark.parametrize("in_view", [3, 4, 5])
def test_split_survivor_views_never_give_both_shares_ring_graph(in_view: int) -> None:
    r = Round(RING, RING_PARAMS, seed=("ring-split", in_view))
    honest = r.mask()
    victim = 7
    neighbours = list(r.coordinator.graph.neighbours_of(victim))
    told_dropped = set(neighbours[in_view:])
    view_dropped = SurvivorSet(r.ann.round_id, tuple(u for u in honest.survivors if u != victim))
    sigs = {}
    for i, agent in r.agents.items():
        got = _reply(agent, view_dropped if i in told_dropped else honest)
        if isinstance(got, SurvivorSignature):
            sigs[i] = got
    responses = [
        got
        for i in sigs
        if isinstance(
            got := _reply(r.agents[i], UnmaskRequest(r.ann.round_id, i, tuple(sigs.values()))),
            UnmaskResponse,
        )
    ]
    seeds, keys = _revealed(responses, victim)
    assert not (seeds >= RING_PARAMS.threshold and keys >= RING_PARAMS.threshold)


def test_an_agent_signs_one_survivor_set_only() -> None:
    r = Round(seed="once")
    honest = r.mask()
    first = r.agents[1].sign_survivors(honest)
    assert r.agents[1].sign_survivors(honest) is first  # idempotent
    other = SurvivorSet(r.ann.round_id, tuple(u for u in honest.survivors if u != 2))
    with pytest.raises(ConsistencyError):
        r.agents[1].sign_survivors(other)
    assert r.agents[1].stage == Stage.ABORTED
    with pytest.raises(ProtocolError):
        r.agents[1].unmask(UnmaskRequest(r.ann.round_id, 1, ()))


def test_unmasking_without_t_genuine_neighbour_signatures_reveals_nothing() -> None:
    r = Round(seed="forged")
    honest = r.mask()
    sigs = {i: r.agents[i].sign_survivors(honest) for i in honest.survivors}
    me = 1
    genuine = [s for j, s in sigs.items() if j != me]
    payload_forgery = [
        SurvivorSignature(r.ann.round_id, j, ATTACKER.sign(DOMAIN_SURVIVORS, b"x"))
        for j in range(9)
    ]
    attempts = [
        tuple(genuine[: T - 1]),  # one short
        tuple(payload_forgery),  # signed by the attacker, labelled as neighbours
        (sigs[me],) * T,  # the agent's own signature, repeated
        (*genuine[: T - 1], genuine[0]),  # a duplicate does not count twice
    ]
    for attempt in attempts:
        agent = r.agents[me]
        with pytest.raises(ConsistencyError):
            agent.unmask(UnmaskRequest(r.ann.round_id, me, attempt))
        assert agent.stage == Stage.ABORTED
        r = Round(seed="forged")
        honest = r.mask()
        sigs = {i: r.agents[i].sign_survivors(honest) for i in honest.survivors}
        genuine = [s for j, s in sigs.items() if j != me]


def test_survivor_signatures_from_non_neighbours_do_not_count() -> None:
    """In a ring graph an agent counts only its own neighbours' signatures over the set."""
    r = Round(RING, RING_PARAMS, seed="non-neighbours")
    honest = r.mask()
    sigs = {i: r.agents[i].sign_survivors(honest) for i in honest.survivors}
    me = 0
    neighbours = set(r.coordinator.graph.neighbours_of(me))
    strangers = [s for j, s in sigs.items() if j != me and j not in neighbours]
    assert len(strangers) >= RING_PARAMS.threshold
    with pytest.raises(ConsistencyError):
        r.agents[me].unmask(UnmaskRequest(r.ann.round_id, me, tuple(strangers)))
    assert r.agents[me].stage == Stage.ABORTED
    # the same request with its neighbours' signatures is answered
    other = 1
    theirs = tuple(sigs[j] for j in r.coordinator.graph.neighbours_of(other))
    response = r.agents[other].unmask(UnmaskRequest(r.ann.round_id, other, theirs))
    assert isinstance(response, UnmaskResponse)


# --- replays -----------------------------------------------------------------------------


def test_replayed_messages_from_an_old_round_are_refused() -> None:
    old = Round(seed="old")
    old_broadcasts = old.advertise()
    old_deliveries = {}
    for i, msg in old_broadcasts.items():
        old.coordinator.receive(old.agents[i].share_keys(msg))
    old_deliveries = old.coordinator.close_sharing()

    new = Round(seed="new")
    assert new.ann.round_id != old.ann.round_id
    broadcasts = new.advertise()
    agent = new.agents[0]
    # An old-round message as a whole: rejected, and the round goes on.
    with pytest.raises(StaleMessageError):
        agent.share_keys(old_broadcasts[0])
    assert agent.stage == Stage.SHARE_KEYS
    with pytest.raises(StaleMessageError):
        agent.advertise(old.ann)
    with pytest.raises(StaleMessageError):
        new.coordinator.receive(old.adverts[3])
    # Old signed keys re-wrapped as this round's: the signatures bind the round.
    rewrapped = tuple(
        dataclasses.replace(ad, round_id=new.ann.round_id)
        for ad in old_broadcasts[0].neighbour_keys
    )
    with pytest.raises(SignatureError):
        agent.share_keys(dataclasses.replace(broadcasts[0], neighbour_keys=rewrapped))

    # Old encrypted shares inside this round's delivery: keys and AAD bind the round.
    new = Round(seed="new")
    deliveries = new.share()
    stale_shares = tuple(old_deliveries[0].shares)
    with pytest.raises(ShareAuthenticationError):
        new.agents[0].receive_shares(dataclasses.replace(deliveries[0], shares=stale_shares))


def test_replayed_survivor_signatures_do_not_count() -> None:
    old = Round(seed="old-sigs")
    old_set = old.mask()
    old_sigs = [old.agents[i].sign_survivors(old_set) for i in old_set.survivors]
    new = Round(seed="new-sigs")
    new_set = new.mask()
    new.agents[0].sign_survivors(new_set)
    replayed = tuple(
        dataclasses.replace(s, round_id=new.ann.round_id) for s in old_sigs if s.sender != 0
    )
    with pytest.raises(ConsistencyError):
        new.agents[0].unmask(UnmaskRequest(new.ann.round_id, 0, replayed))


# --- below the minimum ----------------------------------------------------------------------


def test_honest_coordinator_aborts_below_minimum_before_any_reveal() -> None:
    gone = frozenset(CLUSTER.practice_ids[:4])  # 5 of 9 left; minimum is 6
    vectors = {p: np.ones(LENGTH, dtype=np.int64) for p in CLUSTER.practice_ids}
    out = simulate_round(
        CLUSTER,
        vectors,
        params=PARAMS,
        dropout=DropoutPattern(after_sharing=gone),
        random_bytes=seeded_random_bytes("below"),
    )
    assert isinstance(out.error, BelowMinimumError)
    assert out.responses == {} and out.result is None
    assert out.coordinator is not None and out.coordinator.stage == Stage.ABORTED


@pytest.mark.parametrize("missing", [PARAMS.min_survivors - 1, PARAMS.min_survivors])
def test_honest_coordinator_routes_no_share_below_the_minimum(missing: int) -> None:
    """Fewer sharers than the minimum: the round stops at key sharing, before any share moves."""
    skip = frozenset(range(len(CLUSTER.practice_ids) - missing))
    r = Round(seed=("share-minimum", missing))
    if missing < PARAMS.min_survivors:
        with pytest.raises(BelowMinimumError) as refused:
            r.share(skip)
        assert refused.value.fields == {
            "stage": "SHARE_KEYS",
            "count": missing,
            "minimum": PARAMS.min_survivors,
        }
        assert r.coordinator.stage == Stage.ABORTED
    else:
        deliveries = r.share(skip)
        assert sorted(deliveries) == sorted(set(range(len(CLUSTER.practice_ids))) - skip)


def test_agents_refuse_a_survivor_set_below_the_minimum() -> None:
    r = Round(seed="small-set")
    honest = r.mask()
    small = SurvivorSet(r.ann.round_id, honest.survivors[: PARAMS.min_survivors - 1])
    for i in small.survivors:
        with pytest.raises(BelowMinimumError):
            r.agents[i].sign_survivors(small)
        with pytest.raises(ProtocolError):
            r.agents[i].unmask(UnmaskRequest(r.ann.round_id, i, ()))


def test_agents_refuse_rounds_below_the_privacy_floor_or_with_unsafe_parameters() -> None:
    four = list(CLUSTER.participants[:4])
    with pytest.raises(ParameterError):
        _agent("p0000").advertise(_announce(four, RoundParams(3, 2, 4)))
    with pytest.raises(ParameterError):  # minimum below the floor of 5
        _agent("p0000").advertise(_announce(list(CLUSTER.participants), RoundParams(8, 5, 3)))
    with pytest.raises(ParameterError):  # t not a majority: both shares could be collected
        _agent("p0000").advertise(_announce(list(CLUSTER.participants), RoundParams(8, 4, 6)))
    with pytest.raises(ParameterError):
        SecAggCoordinator(_announce(four, RoundParams(3, 2, 4)))


def test_agents_refuse_an_advertised_set_below_the_minimum() -> None:
    r = Round(seed="small-advertised")
    b = r.advertise()[0]
    few = b.advertised[: PARAMS.min_survivors - 1]
    with pytest.raises(BelowMinimumError):
        r.agents[0].share_keys(dataclasses.replace(b, advertised=few))


# --- cutting a practice off --------------------------------------------------------------


def test_withholding_shares_to_isolate_a_practice_is_refused() -> None:
    r = Round(seed="isolate")
    deliveries = r.share()
    d = deliveries[0]
    with pytest.raises(ConsistencyError):
        r.agents[0].receive_shares(dataclasses.replace(d, shares=d.shares[: T - 1]))
    assert r.agents[0].stage == Stage.ABORTED


def test_misrouted_shares_are_refused() -> None:
    r = Round(RING, RING_PARAMS, seed="misroute")
    deliveries = r.share()
    graph = r.coordinator.graph
    me = 0
    stranger = next(u for u in deliveries if u != me and u not in graph.neighbours_of(me))
    foreign = deliveries[stranger].shares[0]
    rerouted = EncryptedShare(stranger, me, foreign.ciphertext)
    with pytest.raises(ProtocolError):
        r.agents[me].receive_shares(
            dataclasses.replace(deliveries[me], shares=(*deliveries[me].shares, rerouted))
        )


# --- the coordinator's own checks ------------------------------------------------------------


def test_coordinator_rejects_equivocation_and_malformed_inputs() -> None:
    r = Round(seed="coord")
    ann = r.ann
    ad = r.agents[0].advertise(ann)
    r.coordinator.receive(ad)
    r.coordinator.receive(ad)
    with pytest.raises(ProtocolError):
        r.coordinator.receive(dataclasses.replace(ad, mask_key=bytes(32)))
    for i in range(1, 8):
        r.coordinator.receive(r.agents[i].advertise(ann))
    broadcasts = r.coordinator.close_advertising()
    with pytest.raises(StaleMessageError):  # too late: the advertising stage is closed
        r.coordinator.receive(r.agents[8].advertise(ann))
    bundle = r.agents[0].share_keys(broadcasts[0])
    with pytest.raises(ProtocolError):  # not exactly its neighbours
        r.coordinator.receive(dataclasses.replace(bundle, shares=bundle.shares[1:]))
    r.coordinator.receive(bundle)
    for i in range(1, 8):
        r.coordinator.receive(r.agents[i].share_keys(broadcasts[i]))
    deliveries = r.coordinator.close_sharing()
    r.agents[0].receive_shares(deliveries[0])
    with pytest.raises(ProtocolError):
        r.coordinator.receive(MaskedInput(ann.round_id, 0, bytes(8 * (LENGTH + 1))))


def test_corrupted_share_is_caught_by_the_commitment() -> None:
    r = Round(seed="corrupt")
    honest = r.mask()
    for i in honest.survivors:
        r.coordinator.receive(r.agents[i].sign_survivors(honest))
    for i, req in r.coordinator.close_consistency().items():
        resp = r.agents[i].unmask(req)
        # A buggy practice returns wrong values for every self-mask share it holds.
        bad = tuple(
            OwnerShare(s.owner, (s.share + 1) % shamir.PRIME) for s in resp.self_mask_shares
        )
        r.coordinator.receive(dataclasses.replace(resp, self_mask_shares=bad))
    with pytest.raises(ReconstructionError) as info:
        r.coordinator.finish()
    assert "commitment" in str(info.value.fields["reason"])
    assert r.coordinator.stage == Stage.ABORTED
