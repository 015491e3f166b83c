"""The agent's bound-and-noise step on an engine result, as a round would run it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from test_privacy_support import make_manifest

from client.engine.result import IndicatorCount, PracticeResult, StratumCount
from privacy.contribution import prepare_contribution
from privacy.errors import MechanismError
from privacy.ledger import ChargeRequest, Ledger
from privacy.randomness import SeededStream
from privacy.release import LocalLaplaceRelease, SkellamRelease
from privacy.signing import generate_private_key


def _result(manifest, numerator=7, denominator=20, list_size=1500) -> PracticeResult:
    counts = tuple(
        IndicatorCount(
            e.id,
            tuple(StratumCount(s, numerator, denominator) for s in e.strata),
        )
        for e in manifest.indicators
    )
    return PracticeResult(date(2026, 3, 31), list_size, counts)


def test_engine_vector_is_bounded_noised_and_charged_with_the_same_release(tmp_path):
    manifest = make_manifest()
    vector = _result(manifest, numerator=30, denominator=20).to_vector(manifest.indicator_ids)
    prepared = prepare_contribution(
        manifest, vector, round_min_survivors=12, source=SeededStream(5)
    )
    assert prepared.values.shape == (manifest.vector_length,)
    assert isinstance(prepared.release, SkellamRelease) and prepared.release.n_min == 12
    # Patient-level numerators above their denominators were clipped before noise.
    assert {(c.indicator_id, c.field) for c in prepared.bounding.clips} == {
        ("DM-01", "numerator"),
        ("DM-02", "numerator"),
    }
    again = prepare_contribution(manifest, vector, round_min_survivors=12, source=SeededStream(5))
    assert np.array_equal(prepared.values, again.values)  # seeded: reproducible
    ledger = Ledger.create(tmp_path / "ledger", "p-1", generate_private_key())
    receipt = ledger.charge(
        ChargeRequest(
            "r1",
            "coordinator",
            manifest,
            date(2026, 3, 31),
            prepared.release,
            prepared.values.tobytes(),
            manifest.vector_length,
        )
    )
    assert receipt.parameters["n_min"] == 12
    assert receipt.epsilon == pytest.approx(prepared.release.cost().epsilon)


def test_sum_of_survivor_contributions_carries_variance_mu():
    manifest = make_manifest(mu=900.0)
    vector = _result(manifest).to_vector(manifest.indicator_ids)
    source = SeededStream(9)
    rounds = []
    for _ in range(200):
        total = sum(
            prepare_contribution(manifest, vector, round_min_survivors=5, source=source).values
            for _ in range(5)
        )
        rounds.append(total - 5 * vector)
    noise = np.array(rounds)
    weights = prepare_contribution(
        manifest, vector, round_min_survivors=5, source=source
    ).release.coordinate_weights()
    patient = noise[:, weights == 1].ravel()
    assert abs(patient.var() - 900.0) < 5 * 900.0 * np.sqrt(2 / patient.size)


def test_round_floor_below_the_manifest_is_refused():
    manifest = make_manifest()
    vector = _result(manifest).to_vector(manifest.indicator_ids)
    with pytest.raises(MechanismError, match="below the manifest"):
        prepare_contribution(manifest, vector, round_min_survivors=3, source=SeededStream(1))


def test_local_mechanism_noises_through_opendp():
    manifest = make_manifest(mechanism="local_discrete_laplace", scale=5.0, budget_epsilon=50.0)
    vector = _result(manifest).to_vector(manifest.indicator_ids)
    prepared = prepare_contribution(manifest, vector, round_min_survivors=5)
    assert isinstance(prepared.release, LocalLaplaceRelease)
    assert prepared.values.shape == vector.shape and not np.array_equal(prepared.values, vector)
