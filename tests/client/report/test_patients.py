"""Per-patient lists of the practice report: they sum to the engine's counts and agree with
the reference evaluator patient by patient."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from client.engine.fast import PreparedExtract, evaluate_fast, patient_contributions
from client.engine.reference import ReferenceEvaluator, build_patients
from client.report.patients import patients_per_indicator
from client.synth.practice import synthesize_practice
from indicator_defs import load_catalogue
from tests.client.engine.strategies import REF, extracts

CATALOGUE = load_catalogue()
AS_OF = date(2026, 9, 30)
PRACTICE = synthesize_practice(150, AS_OF, 3, rng=np.random.default_rng(7))


def _check(extract, ref):
    lists = patients_per_indicator(extract, CATALOGUE, ref)
    counts = evaluate_fast(extract, CATALOGUE, ref).by_id()
    assert list(lists) == list(CATALOGUE.indicators)
    reference = build_patients(extract)
    for ind in CATALOGUE.indicators.values():
        own = lists[ind.id]
        assert (own.numerator, own.denominator) == (
            counts[ind.id].numerator,
            counts[ind.id].denominator,
        ), ind.id
        listed = {c.patient_id: (c.numerator, c.denominator) for c in own.contributions}
        for pid, patient in reference.items():
            expected = ReferenceEvaluator(patient, ref).contribution(ind)
            assert listed.get(pid, (0, 0)) == expected, (ind.id, pid)
        ids = [c.patient_id for c in own.contributions]
        assert ids == sorted(ids)
        assert len(own.in_numerator) + len(own.not_in_numerator) == len(own.contributions)


def test_lists_of_a_synthetic_practice_match_counts_and_reference_patient_by_patient():
    _check(PRACTICE, AS_OF)
    lists = patients_per_indicator(PRACTICE, CATALOGUE, AS_OF)
    assert any(lists[i].numerator > 0 for i in lists)  # the check above is not vacuous
    events = [i for i in CATALOGUE.indicators.values() if i.unit.value == "events"]
    assert any(max((c.numerator for c in lists[i.id].contributions), default=0) > 1 for i in events)


def test_lists_at_an_earlier_reference_date():
    _check(PRACTICE, date(2025, 12, 31))


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extracts())
def test_lists_agree_with_reference_on_edge_case_extracts(extract):
    _check(extract, REF)


def test_contribution_arrays_are_aligned_with_the_patient_table():
    px = PreparedExtract.from_extract(PRACTICE)
    arrays = patient_contributions(px, CATALOGUE, AS_OF)
    assert set(arrays) == set(CATALOGUE.indicators)
    for num, den in arrays.values():
        assert num.shape == den.shape == (len(PRACTICE.patients),)
        assert (num >= 0).all() and (den >= 0).all()
        assert not ((num > 0) & (den == 0)).any()  # nobody is counted outside the denominator
