"""Survey measures: the fast computation agrees with the slow reference on answers
that sit on every rule's edge, and each skip rule counts what it skips."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from client.engine.survey import compute_survey
from client.engine.survey_reference import reference_survey
from indicator_defs.survey_loader import load_surveys

PX = load_surveys()["PX"]
START, END = date(2024, 1, 1), date(2024, 12, 31)
ITEMS = [*PX.items, "Q99"]


def frame(rows: list[tuple]) -> pd.DataFrame:
    columns = ["respondent", "survey", "version", "item", "answer", "date", "text", "patient"]
    out = pd.DataFrame(rows, columns=columns)
    out["answer"] = out["answer"].astype(float)
    out["date"] = pd.to_datetime(out["date"]).astype("datetime64[us]")
    return out


rows = st.tuples(
    st.sampled_from(["r1", "r2", "r3", "r4"]),
    st.sampled_from(["PX", "PX", "PX", "PY"]),
    st.sampled_from([1, 1, 1, 2]),
    st.sampled_from(ITEMS),
    st.one_of(st.integers(0, 6).map(float), st.just(np.nan), st.just(3.5)),
    st.sampled_from(["2023-12-31", "2024-01-01", "2024-06-01", "2024-12-31", "2025-01-01"]),
    st.just(None),
    st.just(None),
)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(st.lists(rows, max_size=40))
def test_the_fast_computation_agrees_with_the_reference(answers):
    data = frame(answers)
    assert compute_survey(data, PX, START, END) == reference_survey(data, PX, START, END)


def test_each_rule_skips_and_counts_its_rows():
    data = frame(
        [
            ("a", "PX", 1, "Q01", 5, "2024-03-01", None, None),
            ("a", "PX", 1, "Q02", 2, "2024-03-01", None, None),
            ("a", "PX", 1, "Q02", 5, "2024-03-01", None, None),  # duplicate answer
            ("a", "PX", 1, "Q01", 1, "2024-05-01", None, None),  # second response
            ("b", "PX", 1, "Q01", 4, "2024-03-02", None, None),
            ("b", "PX", 1, "Q03", 6, "2024-03-02", None, None),  # out of scale
            ("b", "PX", 1, "Q99", 4, "2024-03-02", None, None),  # unknown item
            ("b", "PX", 1, "Q11", np.nan, "2024-03-02", "Fin praksis", None),  # free text
            ("c", "PX", 1, "Q01", 1, "2025-02-01", None, None),  # outside the period
        ]
    )
    result = compute_survey(data, PX, START, END)
    assert result.skipped == {
        "unknown_item": 1,
        "out_of_scale": 1,
        "duplicate_respondent": 1,
        "duplicate_answer": 1,
    }
    assert result.respondents == 2
    access = result.measures[0]
    # a: Q01 top, Q02 not: 1/2; b: Q01 top: 1. Share 3/4 over 2 respondents.
    assert (access.numerator, access.denominator, access.resolution) == (3, 2, 2)
    assert access.estimate(0.0) == 0.75
    mean = next(m for m in result.measures if m.measure_id == "PX-MEAN")
    # a: (5 + 2)/2 = 3.5, b: 4, mean score 3.75
    assert mean.estimate(1.0) == pytest.approx(3.75)
    assert result == reference_survey(data, PX, START, END)
