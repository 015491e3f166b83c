"""The agent's bound-and-noise step on an engine result, as a round would run it."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from client.engine.result import IndicatorCount, PracticeResult, StratumCount
from privacy.contribution import prepare_contribution
from privacy.errors import MechanismError
from privacy.ledger import Ledger
from privacy.randomness import SeededStream
from privacy.release import LocalLaplaceRelease, SkellamRelease
from privacy.signing import generate_private_key
from tests.privacy.builders import charge_request, cluster_length, encode, make_manifest


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
    vector = encode(manifest, _result(manifest, numerator=30, denominator=20))
    prepared = prepare_contribution(
        manifest, vector, round_min_survivors=12, source=SeededStream(5)
    )
    assert prepared.values.shape == (cluster_length(manifest),)
    assert isinstance(prepared.release, SkellamRelease) and prepared.release.n_min == 12
    # A numerator above its denominator leaves a negative "failed" cell: clipped before noise.
    assert {(c.indicator_id, c.field) for c in prepared.bounding.clips} == {
        ("DM-01", "failed"),
        ("DM-02", "failed"),
    }
    again = prepare_contribution(manifest, vector, round_min_survivors=12, source=SeededStream(5))
    assert np.array_equal(prepared.values, again.values)  # seeded: reproducible
    ledger = Ledger.create(tmp_path / "ledger", "p-1", generate_private_key())
    receipt = ledger.charge(
        charge_request(manifest, payload=prepared.values.tobytes(), release=prepared.release)
    )
    assert receipt.parameters["n_min"] == 12
    assert receipt.epsilon == pytest.approx(prepared.release.cost().epsilon)


def test_any_fellow_practice_faces_variance_mu_and_the_coordinator_more():
    """Shares are sized so n_min − 1 of them (a fellow's view) carry μ; n_min carry μ·n/(n−1)."""
    manifest = make_manifest(mu=900.0)
    vector = encode(manifest, _result(manifest))
    source = SeededStream(9)
    for shares, expected in ((4, 900.0), (5, 900.0 * 5 / 4)):
        rounds = []
        for _ in range(500):  # enough to tell μ from 5/4·μ (a tolerance of about 0.6·μ/4)
            total = sum(
                prepare_contribution(manifest, vector, round_min_survivors=5, source=source).values
                for _ in range(shares)
            )
            rounds.append(total - shares * vector)
        noise = np.array(rounds)
        weights = prepare_contribution(
            manifest, vector, round_min_survivors=5, source=source
        ).release.coordinate_weights()
        patient = noise[:, weights == 1].ravel()
        assert abs(patient.var() - expected) < 5 * expected * np.sqrt(2 / patient.size)


def test_round_floor_below_the_manifest_is_refused():
    manifest = make_manifest()
    vector = encode(manifest, _result(manifest))
    with pytest.raises(MechanismError, match="below the manifest"):
        prepare_contribution(manifest, vector, round_min_survivors=3, source=SeededStream(1))


def test_local_mechanism_noises_through_opendp():
    manifest = make_manifest(mechanism="local_discrete_laplace", scale=5.0, budget_epsilon=50.0)
    vector = encode(manifest, _result(manifest))
    prepared = prepare_contribution(manifest, vector, round_min_survivors=5)
    assert isinstance(prepared.release, LocalLaplaceRelease)
    assert prepared.values.shape == vector.shape and not np.array_equal(prepared.values, vector)
