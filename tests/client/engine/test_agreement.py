"""The fast engine and the reference evaluator must agree on every extract.

As in ehrQL's generative tests: two very different implementations of the
same semantics, fed Hypothesis-generated data that deliberately sits on the
edges (birthdays on R, list end on R, events exactly N days back, equal
dates, empty cells, values on thresholds), agree only if both are right or
both are wrong in the same way, and the second is far less likely.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st

from client.engine.fast import PreparedExtract, evaluate_fast, patient_contributions
from client.engine.reference import ReferenceEvaluator, build_patients, evaluate_reference
from indicator_defs import load_catalogue
from tests.client.engine.strategies import EPISODIC, REF, extracts

pytestmark = pytest.mark.slow  # hundreds of generated extracts through both engines

CATALOGUE = load_catalogue()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extracts())
def test_fast_engine_agrees_with_reference(extract):
    assert evaluate_fast(extract, CATALOGUE, REF) == evaluate_reference(extract, CATALOGUE, REF)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extracts(EPISODIC))
def test_fast_engine_agrees_on_episodes_and_deaths(extract):
    assert evaluate_fast(extract, CATALOGUE, REF) == evaluate_reference(extract, CATALOGUE, REF)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extracts(), st.sampled_from([date(2023, 3, 1), date(2024, 2, 29), date(2025, 2, 28)]))
def test_agreement_at_other_reference_dates(extract, ref):
    assert evaluate_fast(extract, CATALOGUE, ref) == evaluate_reference(extract, CATALOGUE, ref)


# For find(): generate only, since the first hit answers the question and shrinking
# it would not; no deadline, since a loaded machine is not a failure.
FIND = settings(
    max_examples=500,
    database=None,
    deadline=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)
# Each new indicator, with the patients whose histories are built to reach it.
EPISODE_INDICATORS = {
    "AB-04": "infection",
    "AB-05": "infection",
    "MH-02": "mood",
    "OP-01": "pain",
    "OP-02": "pain",
    "PAL-01": "dying",
}


@pytest.mark.parametrize("side", ["numerator", "not numerator"])
@pytest.mark.parametrize("indicator_id", sorted(EPISODE_INDICATORS))
def test_episode_extracts_reach_both_sides_of_every_new_indicator(indicator_id, side):
    """Agreement on all-zero counts proves nothing: the episode generator must produce
    both counted numerators and denominators left out of the numerator."""
    one = CATALOGUE.select([indicator_id])

    def reached(extract) -> bool:
        counts = evaluate_fast(extract, one, REF).indicators[0]
        if side == "numerator":
            return counts.numerator > 0
        return counts.denominator > counts.numerator

    archetype = EPISODE_INDICATORS[indicator_id]
    find(extracts((archetype,)), reached, settings=FIND)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extracts(("recurrent", "infection", "pain", "mood", "dying", "psyche")))
def test_every_patient_contributes_the_same_and_never_more_than_the_bound(extract):
    """Patient by patient, not only in total: the engines agree on each patient's
    (numerator, denominator), and none exceeds the bound the privacy layer relies on
    (Indicator.max_contribution: 1 for patients, cap_per_patient for events)."""
    fast = patient_contributions(PreparedExtract.from_extract(extract), CATALOGUE, REF)
    patients = build_patients(extract)
    for ind in CATALOGUE.indicators.values():
        num, den = fast[ind.id]
        max_num, max_den = ind.max_contribution
        assert num.max(initial=0) <= max_num and den.max(initial=0) <= max_den
        for i, pid in enumerate(extract.patients.patient_id):
            expected = ReferenceEvaluator(patients[pid], REF).contribution(ind)
            assert (int(num[i]), int(den[i])) == expected, (ind.id, pid)


@pytest.mark.parametrize("indicator_id", ["AB-04", "AB-05"])
def test_recurrent_patients_have_more_episodes_than_the_cap(indicator_id):
    """The bound above is tested where it binds: some patient has more qualifying
    episodes than cap_per_patient before the cap."""
    ind = CATALOGUE.indicators[indicator_id]

    def over_cap(extract) -> bool:
        return any(
            ReferenceEvaluator(p, REF).count_events(ind.numerator_events) > ind.cap_per_patient
            for p in build_patients(extract).values()
        )

    find(extracts(("recurrent",)), over_cap, settings=FIND)
