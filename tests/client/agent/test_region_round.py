"""The agent's side of a region-wide round: checked, laid out and charged for its own scope.

Real coordinator state machine, real ledgers, trust stores and receipts, as
in `test_agent_core`. A region-wide round runs only on the dates the
manifest's `[region_round]` lists, only with participants the signed
registry places in the practice's own region, only with the region layout's
length and the manifest's SecAgg parameters; a practice is charged once per
scope and period, so it can take part in its cluster round and its region's
round of the same date, but in neither twice.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from client.agent.pipeline import compute_vector
from privacy.bounding import bound_vector
from privacy.layout import ReleaseLayout, RoundScope, append_distribution
from privacy.manifest import Manifest
from privacy.plan import round_params, round_release
from privacy.randomness import SeededStream
from protocols import wire
from protocols.identity import IdentityKey
from protocols.params import RoundParams
from protocols.registry import RegistryEntry, make_registry
from tests.client.agent.world import (
    REF,
    REGION,
    announce,
    catalogue,
    charges,
    default_manifest,
    extract,
    make_world,
    only_refusal,
    run_round,
)
from tests.privacy.builders import cluster_length


def region_round_on(manifest: Manifest, day) -> Manifest:
    """The default manifest with its region-wide round of `day`'s year moved to `day`."""
    region_round = manifest.region_round
    assert region_round is not None
    dates = {d for d in region_round.reference_dates if d.year != day.year} | {day}
    return dataclasses.replace(
        manifest,
        region_round=dataclasses.replace(region_round, reference_dates=tuple(sorted(dates))),
    )


@pytest.fixture
def world(tmp_path):
    return make_world(tmp_path, manifest=region_round_on(default_manifest(), REF))


def test_a_region_round_releases_the_strata_and_histograms_and_is_charged_to_the_region(world):
    seeds = {p: [] for p in world.practice_ids}
    cores = {p: world.core(p, seeds=seeds[p]) for p in world.practice_ids}
    run = run_round(world, cores, region=REGION)
    assert run.refusals == {} and run.error is None
    assert run.result is not None and run.result.count == 6

    manifest = world.manifest
    layout = ReleaseLayout.for_round(manifest, RoundScope.REGION)
    assert layout.length > cluster_length(manifest)  # strata and histograms
    release = round_release(manifest, run.announcement.params.min_survivors, RoundScope.REGION)
    expected = np.zeros(layout.length, dtype=np.int64)
    for i, pid in enumerate(world.practice_ids):
        vector = compute_vector(extract(i), catalogue(), manifest, REF, RoundScope.REGION)
        bounded, _ = bound_vector(vector, layout, manifest.bounding.max_list_size)
        expected += append_distribution(bounded, layout)
        expected += release.noise_share(SeededStream(seeds[pid][0]))
    assert np.array_equal(run.result.vector, expected)

    for pid in world.practice_ids:
        [charge] = charges(world, pid)
        assert charge.sent and charge.receipt.round_id == run.round_id
        assert charge.receipt.recipient == f"coordinator:region:{REGION}"
        assert charge.receipt.coordinates == layout.length
        assert charge.receipt.epsilon == pytest.approx(release.cost().epsilon)
        status = cores[pid].last_round()
        assert status is not None and status.state == "released" and status.contributed


def test_a_practice_is_charged_once_per_scope_and_period(world):
    cores = {p: world.core(p) for p in world.practice_ids}
    assert run_round(world, cores, region=REGION).result is not None
    # its cluster round of the same date is another release: allowed, and charged
    cluster = run_round(world, cores)
    assert cluster.refusals == {} and cluster.result is not None
    # a second region-wide round of the date is refused, by the ledger, before any key
    again = run_round(world, cores, region=REGION)
    assert {p: r.reason for p, r in again.refusals.items()} == {
        p: "already_contributed" for p in world.practice_ids
    }
    for pid in world.practice_ids:
        recipients = sorted(c.receipt.recipient for c in charges(world, pid))
        assert recipients == sorted(
            [f"coordinator:region:{REGION}", f"coordinator:{world.cluster}"]
        )


def test_a_region_round_off_the_manifests_region_dates_is_refused(tmp_path):
    world = make_world(tmp_path)  # the default manifest: region rounds on 31 December only
    core = world.core(world.practice_ids[0])
    refusal = only_refusal(core.on_envelope(wire.to_envelope(announce(world, region=REGION))))
    assert refusal.reason == "manifest_off_schedule"
    assert "region-wide round date" in refusal.detail and "2026-12-31" in refusal.detail
    assert charges(world, world.practice_ids[0]) == []


def test_a_region_round_of_another_region_is_refused(world):
    core = world.core(world.practice_ids[0])
    refusal = only_refusal(
        core.on_envelope(wire.to_envelope(announce(world, region="Hovedstaden")))
    )
    assert refusal.reason == "wrong_region"
    assert "'Hovedstaden'" in refusal.detail and f"'{REGION}'" in refusal.detail


def test_a_participant_the_registry_places_in_another_region_is_refused(world):
    foreign = world.practice_ids[-1]
    world.registry = make_registry(
        (
            RegistryEntry(
                p,
                IdentityKey(world.keys[p]).public_key,
                cluster=world.cluster,
                region="Hovedstaden" if p == foreign else REGION,
            )
            for p in world.practice_ids
        ),
        issuer="test authority",
        issued=REF,
    )
    core = world.core(world.practice_ids[0])
    refusal = only_refusal(core.on_envelope(wire.to_envelope(announce(world, region=REGION))))
    assert refusal.reason == "participant_other_region"
    assert foreign in refusal.detail and "Hovedstaden" in refusal.detail


def test_a_practice_without_a_registered_region_takes_part_in_no_region_round(world):
    world.registry = make_registry(
        (
            RegistryEntry(p, IdentityKey(world.keys[p]).public_key, cluster=world.cluster)
            for p in world.practice_ids
        ),
        issuer="test authority",
        issued=REF,
    )
    world.region = ""
    refusal = only_refusal(
        world.core(world.practice_ids[0]).on_envelope(
            wire.to_envelope(announce(world, region=REGION))
        )
    )
    assert refusal.reason == "wrong_region" and "no region" in refusal.detail


def test_a_region_round_needs_the_region_layout_and_the_manifests_parameters(world):
    core = world.core(world.practice_ids[0])
    cluster_sized = announce(world, region=REGION, vector_length=cluster_length(world.manifest))
    refusal = only_refusal(core.on_envelope(wire.to_envelope(cluster_sized)))
    assert refusal.reason == "vector_length_mismatch"

    n = len(world.practice_ids)
    wanted = round_params(world.manifest, n, RoundScope.REGION)
    looser = RoundParams(wanted.k, wanted.threshold - 1, wanted.min_survivors)
    core = world.core(world.practice_ids[1])
    refusal = only_refusal(
        core.on_envelope(wire.to_envelope(announce(world, region=REGION, params=looser)))
    )
    assert refusal.reason == "unsafe_parameters"
    assert f"t = {wanted.threshold}" in refusal.detail
    assert all(charges(world, p) == [] for p in world.practice_ids)


def test_a_large_region_round_takes_the_manifests_neighbours_and_threshold():
    manifest = default_manifest()
    params = round_params(manifest, 400, RoundScope.REGION)
    assert (params.k, params.threshold) == (
        manifest.secagg.neighbours,
        manifest.secagg.threshold,
    )
    assert params.min_survivors >= 0.8 * 400  # sized for the design dropout
    # a cluster round keeps the defaults (a complete graph at cluster sizes)
    assert round_params(manifest, 15, RoundScope.CLUSTER).k == 14
