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
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from client.engine.fast import evaluate_fast
from client.engine.reference import evaluate_reference
from indicator_defs import load_catalogue
from tests.client.engine.strategies import REF, extracts

pytestmark = pytest.mark.slow  # hundreds of generated extracts through both engines

CATALOGUE = load_catalogue()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extracts())
def test_fast_engine_agrees_with_reference(extract):
    assert evaluate_fast(extract, CATALOGUE, REF) == evaluate_reference(extract, CATALOGUE, REF)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extracts(), st.sampled_from([date(2023, 3, 1), date(2024, 2, 29), date(2025, 2, 28)]))
def test_agreement_at_other_reference_dates(extract, ref):
    assert evaluate_fast(extract, CATALOGUE, ref) == evaluate_reference(extract, CATALOGUE, ref)
