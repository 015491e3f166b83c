"""A short structure-aware fuzz in CI: mutants both ways, no catch-all reached (item 7).

`benchmarks/fuzz.py` runs the same harness with 10,000 messages.
"""

from __future__ import annotations

import random

import pytest

from protocols.envelope import Envelope
from protocols.mutations import mutate
from tests.adversarial.fuzzing import run_fuzz

pytestmark = pytest.mark.e2e


def test_mutants_of_recorded_messages_are_refused_with_a_reason_and_the_round_releases(tmp_path):
    report = run_fuzz(tmp_path, per_direction=150, seed=7)
    assert report.unhandled == [], report.unhandled[:5]
    assert report.to_coordinator >= 100 and report.to_agent >= 100
    assert report.round_state == "released" and report.contributors == 6
    # Mutants were refused for reasons, not only dropped as duplicates.
    assert sum(n for r, n in report.coordinator_answers.items() if r.startswith("REJECTED")) > 20


def test_mutations_are_seeded_and_keep_the_envelope_valid():
    envelope = Envelope("ab" * 16, "ANNOUNCE", "coordinator", 0, b"KLSA" + bytes(40), "Refusal")
    first = [mutate(envelope, random.Random(3)) for _ in range(1)]
    again = [mutate(envelope, random.Random(3)) for _ in range(1)]
    assert first == again
    rng = random.Random(5)
    for _ in range(300):
        _label, mutant = mutate(envelope, rng, [envelope])
        mutant.validate()  # payload-level and context mutations only
