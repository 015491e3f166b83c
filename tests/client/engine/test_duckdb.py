"""The hand-written DuckDB SQL (the benchmark's baseline) agrees with the fast engine.

A third implementation, written from the definitions in words rather than
from either engine: it expands each supply into its days where the fast
engine sweeps interval ends, and finds episode neighbours with EXISTS where
the engine binary-searches. Agreement on a synthetic practice, stratum by
stratum, is checked here so the benchmark's baseline cannot silently drift.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pytest

from client.engine.duckdb_sql import PINNED_IDS, engine_cells, load_tables, run_pinned
from client.engine.fast import evaluate_fast
from client.synth.practice import synthesize_practice
from client.synth.quality import QualityProfile
from indicator_defs import load_catalogue

REF = date(2026, 9, 30)


@pytest.fixture(scope="module")
def practice():
    # a practice with a point-of-care HbA1c device, so the local code is exercised
    quality = QualityProfile.from_pairs({**dict(QualityProfile.typical().as_pairs()),
                                         "poc_hba1c_share": 0.4, "opioid_benzo": 0.3})  # fmt: skip
    return synthesize_practice(3000, REF, 5, quality, np.random.default_rng(15))


def test_duckdb_sql_agrees_with_the_engine_in_every_stratum(practice):
    con = duckdb.connect()
    load_tables(con, practice)
    result = evaluate_fast(practice, load_catalogue().select(list(PINNED_IDS)), REF)
    assert run_pinned(con, REF) == engine_cells(result)
    for ic in result.indicators:  # agreement on empty counts would prove nothing
        assert 0 < ic.numerator < ic.denominator, ic.indicator_id
