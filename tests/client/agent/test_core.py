"""AgentCore end to end in-process: real coordinator state machine, real ledgers and trust stores.

What a practice's agent must guarantee whatever the coordinator does: the
released sum is exactly the bounded values plus the practices' noise; budget
is charged once per round, before the masked input leaves; replays, second
rounds for the same slot, unapproved manifests and bad reference dates are
refused with a `wire.Refusal` and a log line, and nothing is charged; a
malformed envelope never crashes the agent.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from contextlib import contextmanager

import numpy as np
import pytest

from client.agent.core import RoundState
from client.agent.pipeline import compute_vector
from client.agent.status import budget_rows
from privacy.bounding import bound_vector
from privacy.layout import ReleaseLayout, RoundScope, append_distribution
from privacy.ledger import LEDGER_FILE, ChargeRequest, Ledger
from privacy.plan import manifest_release, round_release
from privacy.randomness import SeededStream
from privacy.receipts import Receipt, SignedReceipt, verify_receipt
from privacy.release import NO_NOISE
from privacy.trust import withdraw_approval
from protocols import wire
from protocols.envelope import Envelope
from protocols.messages import KeyBroadcast, RoundAnnouncement
from protocols.params import RoundParams
from protocols.registry import make_registry
from tests.client.agent.world import (
    REF,
    TODAY,
    announce,
    catalogue,
    charges,
    default_manifest,
    extract,
    make_world,
    only_refusal,
    run_round,
    with_id,
)
from tests.logcapture import captured_logs
from tests.privacy.builders import cluster_length


@contextmanager
def agent_logs():
    with captured_logs("klynge.agent") as capture:
        yield capture


def ledger_bytes(world, pid) -> bytes:
    return (world.ledger_dir(pid) / LEDGER_FILE).read_bytes()


def test_a_round_releases_exactly_the_bounded_values_plus_the_practices_noise(tmp_path):
    world = make_world(tmp_path)
    seeds = {p: [] for p in world.practice_ids}
    cores = {p: world.core(p, seeds=seeds[p]) for p in world.practice_ids}
    run = run_round(world, cores)
    assert run.refusals == {} and run.error is None
    assert run.result is not None and run.result.count == 6

    manifest = world.manifest
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    release = round_release(manifest, 5)
    truth = np.zeros(cluster_length(manifest), dtype=np.int64)
    expected = np.zeros_like(truth)
    for i, pid in enumerate(world.practice_ids):
        vector = compute_vector(extract(i), catalogue(), manifest, REF)
        bounded, _ = bound_vector(vector, layout, manifest.bounding.max_list_size)
        assert len(seeds[pid]) == 1  # one noise draw per round
        truth += append_distribution(vector, layout)
        expected += append_distribution(bounded, layout)
        expected += release.noise_share(SeededStream(seeds[pid][0]))
    assert np.array_equal(run.result.vector, expected)
    sigma = np.sqrt(release.sum_variance(6))
    assert np.all(np.abs(run.result.vector - truth) <= 6 * sigma)
    li = layout.list_size_index
    assert run.result.vector[li] == pytest.approx(6 * 300, abs=6 * sigma[li])

    for pid in world.practice_ids:
        [charge] = charges(world, pid)
        assert charge.sent and charge.receipt.round_id == run.round_id
        [masked] = [e for e in run.sent[pid] if e.kind == "MaskedInput"]
        assert charge.receipt.payload_sha256 == hashlib.sha256(masked.payload).hexdigest()
        assert charge.receipt.recipient == f"coordinator:{world.cluster}"
        [path] = world.receipts_dir(pid).glob("*.json")
        doc = json.loads(path.read_text())
        signed = SignedReceipt(
            Receipt.from_document(doc["receipt"]),
            doc["signer"]["key_id"],
            doc["signer"]["public_key"],
            doc["signature"],
        )
        verify_receipt(signed)
        assert signed.receipt == charge.receipt
        status = cores[pid].last_round()
        assert status is not None and status.state == "released" and status.contributed
        assert status.contributors == 6


def test_a_practice_that_drops_after_sharing_leaves_an_exact_sum_of_the_others(tmp_path):
    world = make_world(tmp_path)
    seeds = {p: [] for p in world.practice_ids}
    cores = {p: world.core(p, seeds=seeds[p]) for p in world.practice_ids}
    dropped = world.practice_ids[2]
    run = run_round(world, cores, drop_after={dropped: "SHARE_KEYS"})
    assert run.result is not None and run.result.count == 5
    manifest = world.manifest
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    release = round_release(manifest, 5)
    expected = np.zeros(cluster_length(manifest), dtype=np.int64)
    for i, pid in enumerate(world.practice_ids):
        if pid == dropped:
            continue
        bounded, _ = bound_vector(
            compute_vector(extract(i), catalogue(), manifest, REF),
            layout,
            manifest.bounding.max_list_size,
        )
        expected += append_distribution(bounded, layout)
        expected += release.noise_share(SeededStream(seeds[pid][0]))
    assert np.array_equal(run.result.vector, expected)
    assert charges(world, dropped) == []  # it never got as far as its input: nothing spent


def test_each_round_is_charged_once_and_a_replayed_round_is_refused(tmp_path):
    world = make_world(tmp_path, n=5)
    cores = {p: world.core(p) for p in world.practice_ids}
    run = run_round(world, cores)
    assert run.result is not None
    pid = world.practice_ids[0]
    before = ledger_bytes(world, pid)

    replay = wire.to_envelope(run.announcement)
    refusal = only_refusal(cores[pid].on_envelope(replay))
    assert refusal.reason == "round_replayed" and refusal.round_id == run.round_id

    restarted = world.core(pid)  # a fresh process: only the ledger remembers
    refusal = only_refusal(restarted.on_envelope(replay))
    assert refusal.reason == "already_contributed"
    assert ledger_bytes(world, pid) == before
    assert [c.receipt.round_id for c in charges(world, pid)] == [run.round_id]


def test_identical_redelivery_gets_the_identical_answer_and_one_charge(tmp_path):
    world = make_world(tmp_path, n=5)
    cores = {p: world.core(p) for p in world.practice_ids}
    answers: dict[tuple[str, str], list[list[Envelope]]] = {}
    original = {pid: core.on_envelope for pid, core in cores.items()}

    def twice(pid):
        def handle(envelope):
            first = original[pid](envelope)
            second = original[pid](envelope)
            answers.setdefault((pid, envelope.stage), []).extend([first, second])
            return first

        return handle

    for pid, core in cores.items():
        core.on_envelope = twice(pid)  # type: ignore[method-assign]
    run = run_round(world, cores)
    assert run.result is not None and run.result.count == 5
    for (_, stage), (first, second) in answers.items():
        if stage != "DONE":
            assert first == second and first
    for pid in world.practice_ids:
        assert len(charges(world, pid)) == 1


def test_a_second_round_for_the_same_manifest_and_date_is_refused(tmp_path):
    world = make_world(tmp_path, n=5)
    cores = {p: world.core(p) for p in world.practice_ids}
    assert run_round(world, cores).result is not None
    before = {p: ledger_bytes(world, p) for p in world.practice_ids}
    with agent_logs() as logs:
        second = run_round(world, cores)
    assert second.result is None
    assert {p: r.reason for p, r in second.refusals.items()} == {
        p: "already_contributed" for p in world.practice_ids
    }
    assert not second.sent  # no keys advertised, nothing masked
    assert {p: ledger_bytes(world, p) for p in world.practice_ids} == before
    refused = [line for line in logs.records() if line["event"] == "round_refused"]
    assert {line["practice_id"] for line in refused} == set(world.practice_ids)
    assert all(line["reason"] == "already_contributed" and line["detail"] for line in refused)
    # a later date in the schedule is a new slot: it runs (and is charged) normally
    third = run_round(world, cores, reference_date=REF.replace(month=6, day=30))
    assert third.result is not None and not third.refusals
    assert all(len(charges(world, p)) == 2 for p in world.practice_ids)


def test_an_unapproved_or_unknown_manifest_is_refused_without_a_charge(tmp_path):
    world = make_world(tmp_path, n=5)
    pid = world.practice_ids[0]
    core = world.core(pid)
    other = with_id(world.manifest, "not-approved-here")
    refusal = only_refusal(
        core.on_envelope(
            wire.to_envelope(announce(world, manifest_hash=bytes.fromhex(other.hash())))
        )
    )
    assert refusal.reason == "manifest_unknown"

    withdraw_approval(world.trust_dir(pid), world.manifest.hash())  # the practice opts out
    refusal = only_refusal(
        core.on_envelope(wire.to_envelope(announce(world, round_id=b"\x01" * 16)))
    )
    assert refusal.reason == "manifest_unapproved"
    assert "not been approved" in refusal.detail
    assert charges(world, pid) == []
    assert core.round_state(refusal.round_id) is RoundState.REFUSED


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        (REF.replace(day=29), "manifest_off_schedule"),  # not a date the manifest lists
        (REF.replace(month=12, day=31), "reference_date_in_future"),  # listed, but after today
    ],
)
def test_a_bad_reference_date_is_refused(tmp_path, reference, reason):
    world = make_world(tmp_path, n=5)
    pid = world.practice_ids[0]
    assert reference.year == TODAY.year
    refusal = only_refusal(
        world.core(pid).on_envelope(wire.to_envelope(announce(world, reference_date=reference)))
    )
    assert refusal.reason == reason
    assert charges(world, pid) == []


def test_the_announcement_must_fit_cluster_layout_and_survivor_floor(tmp_path):
    world = make_world(tmp_path, n=10)
    pid = world.practice_ids[0]
    core = world.core(pid)

    def reason(**kw) -> str:
        kw.setdefault("round_id", hashlib.sha256(repr(sorted(kw)).encode()).digest()[:16])
        return only_refusal(core.on_envelope(wire.to_envelope(announce(world, **kw)))).reason

    assert reason(cluster="K99") == "wrong_cluster"
    assert reason(vector_length=cluster_length(world.manifest) - 1) == "vector_length_mismatch"
    # 10 participants at 20 % design dropout: the noise is sized for at least 8 survivors
    assert reason(params=RoundParams(k=9, threshold=6, min_survivors=7)) == "min_survivors_too_low"
    # the signed registry places P0002 in another cluster: it cannot be in this cluster's sum
    moved = make_registry(
        [
            dataclasses.replace(e, cluster="K02") if e.practice_id == "P0002" else e
            for e in world.registry.entries
        ],
        "test authority",
        TODAY,
    )
    elsewhere = dataclasses.replace(world, registry=moved).core(pid)
    refusal = only_refusal(elsewhere.on_envelope(wire.to_envelope(announce(world))))
    assert refusal.reason == "participant_other_cluster" and "P0002" in refusal.detail

    accepted = announce(world, params=RoundParams(k=9, threshold=6, min_survivors=8))
    [advert] = core.on_envelope(wire.to_envelope(accepted))
    assert advert.kind == "KeyAdvertisement"
    assert charges(world, pid) == []  # advertising keys spends nothing


def test_the_budget_check_comes_before_keys_are_advertised(tmp_path):
    world = make_world(tmp_path, n=5)
    pid = world.practice_ids[0]
    # Another manifest of this practice already spent most of 2026's budget.
    greedy = with_id(world.manifest, "greedy", epsilon_per_release=2.95)
    Ledger.open(world.ledger_dir(pid), key=world.keys[pid]).charge(
        ChargeRequest(
            round_id="earlier",
            recipient="coordinator:K01",
            manifest=greedy,
            reference_date=REF.replace(month=3, day=31),
            release=manifest_release(greedy),
            payload=b"masked bytes",
            coordinates=cluster_length(greedy),
        )
    )
    before = ledger_bytes(world, pid)
    refusal = only_refusal(world.core(pid).on_envelope(wire.to_envelope(announce(world))))
    assert refusal.reason == "budget_exceeded"
    assert "over the yearly budget" in refusal.detail
    assert ledger_bytes(world, pid) == before


def test_a_charge_refused_at_the_last_moment_sends_nothing(tmp_path):
    """A second agent process spends the slot while this round runs: only a Refusal leaves."""
    world = make_world(tmp_path, n=5)
    cores = {p: world.core(p) for p in world.practice_ids}
    pid = world.practice_ids[1]
    raced = {"done": False}

    def tamper(target, envelope):
        if target == pid and envelope.kind == "ShareDelivery" and not raced["done"]:
            raced["done"] = True
            Ledger.open(world.ledger_dir(pid), key=world.keys[pid]).charge(
                ChargeRequest(
                    round_id="other-process",
                    recipient="coordinator:K01",
                    manifest=world.manifest,
                    reference_date=REF,
                    release=round_release(world.manifest, 5),
                    payload=b"another vector",
                    coordinates=cluster_length(world.manifest),
                )
            )
        return envelope

    run = run_round(world, cores, tamper=tamper)
    assert run.refusals[pid].reason == "already_contributed"
    assert [e.kind for e in run.sent[pid]] == ["KeyAdvertisement", "ShareBundle"]
    assert [c.receipt.round_id for c in charges(world, pid)] == ["other-process"]
    assert list(world.receipts_dir(pid).glob("*.json")) == []
    assert run.result is None  # 4 survivors are below the minimum of 5: nothing released


def test_malformed_envelopes_are_refused_or_logged_never_raised(tmp_path):
    world = make_world(tmp_path, n=5)
    cores = {p: world.core(p) for p in world.practice_ids}
    pid = world.practice_ids[0]
    core = cores[pid]
    with agent_logs() as logs:
        # an announcement that does not decode: the practice says it will not take part
        garbage = Envelope(
            "ab" * 16, "ANNOUNCE", "coordinator", 0, b"KLSA\x01junk", "RoundAnnouncement"
        )
        assert only_refusal(core.on_envelope(garbage)).reason == "malformed_message"
        # an envelope that breaks the wire contract, or does not come from the coordinator
        assert core.on_envelope(Envelope("bad id!", "ANNOUNCE", "coordinator", 0, b"")) == []
        good = wire.to_envelope(announce(world, round_id=b"\x07" * 16))
        assert core.on_envelope(dataclasses.replace(good, sender="P0002")) == []
        # a payload of one kind in an envelope claiming another
        assert core.on_envelope(dataclasses.replace(good, kind="SurvivorSet")) == []
        # a Refusal or RoundOutcome with broken JSON
        bad_outcome = Envelope("cd" * 16, "DONE", "coordinator", 0, b"{not json", "RoundOutcome")
        assert core.on_envelope(bad_outcome) == []
    events = logs.events()
    assert "round_refused" in events and "envelope_refused" in events
    assert "message_rejected" in events

    # garbage in the middle of a round is dropped and the round goes on
    def tamper(target, envelope):
        if target == pid and envelope.kind == "KeyBroadcast":
            broken = dataclasses.replace(envelope, payload=envelope.payload[:-7])
            assert core.on_envelope(broken) == []
        return envelope

    run = run_round(world, cores, tamper=tamper)
    assert run.result is not None and run.result.count == 5 and not run.refusals


def test_a_substituted_key_makes_the_practice_leave_with_a_refusal(tmp_path):
    world = make_world(tmp_path, n=5)
    cores = {p: world.core(p) for p in world.practice_ids}
    victim = world.practice_ids[0]

    def tamper(target, envelope):
        if target != victim or envelope.kind != "KeyBroadcast":
            return envelope
        message = wire.from_envelope(envelope)
        assert isinstance(message, KeyBroadcast)
        ad = message.neighbour_keys[0]
        forged = dataclasses.replace(ad, mask_key=bytes(32 * [9]))
        keys = (forged, *message.neighbour_keys[1:])
        return wire.to_envelope(dataclasses.replace(message, neighbour_keys=keys))

    run = run_round(world, cores, tamper=tamper)
    assert run.refusals[victim].reason == "invalid_signature"
    assert charges(world, victim) == []
    assert cores[victim].last_round().state == "refused"


def test_an_announcement_cannot_change_under_the_same_round_id(tmp_path):
    world = make_world(tmp_path, n=5)
    pid = world.practice_ids[0]
    core = world.core(pid)
    first = announce(world, round_id=b"\x05" * 16)
    [advert] = core.on_envelope(wire.to_envelope(first))
    assert advert.kind == "KeyAdvertisement"
    assert core.on_envelope(wire.to_envelope(first)) == [advert]  # redelivery: same answer
    changed = RoundAnnouncement(
        first.round_id,
        first.cluster_id,
        first.reference_date,
        first.manifest_hash,
        RoundParams(k=4, threshold=4, min_survivors=5),
        first.vector_length,
        first.participants,
    )
    assert only_refusal(core.on_envelope(wire.to_envelope(changed))).reason == (
        "announcement_changed"
    )


def test_a_verification_round_without_noise_releases_the_exact_sum(tmp_path):
    """Kind "none" (synthetic data only): the released sum is exactly the bounded values."""
    base = default_manifest()
    verification = dataclasses.replace(
        base,
        meta=dataclasses.replace(base.meta, id="klynge-verification-test"),
        mechanism=NO_NOISE,
        dp=None,
        budget=dataclasses.replace(base.budget, epsilon_per_year=math.inf),
        region_round=None,
    )
    world = make_world(tmp_path, n=5, manifest=verification)
    cores = {p: world.core(p) for p in world.practice_ids}
    run = run_round(world, cores)
    assert run.result is not None and not run.refusals
    layout = ReleaseLayout.for_round(verification, RoundScope.CLUSTER)
    expected = sum(
        append_distribution(
            bound_vector(
                compute_vector(extract(i), catalogue(), verification, REF),
                layout,
                verification.bounding.max_list_size,
            )[0],
            layout,
        )
        for i in range(5)
    )
    assert np.array_equal(run.result.vector, expected)
    pid = world.practice_ids[0]
    [charge] = charges(world, pid)
    assert math.isinf(charge.receipt.epsilon)
    [row] = budget_rows(Ledger.open(world.ledger_dir(pid)), verification.budget, TODAY)
    assert row["epsilon_spent"] == "inf" and row["epsilon_left"] == "inf"
    json.dumps(row, allow_nan=False)  # status.json stays strict JSON
