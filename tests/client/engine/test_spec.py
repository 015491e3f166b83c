"""The binding semantics of issue 2 as executable examples, for both engines.

Each case is a tiny extract whose expected counts were worked out by hand
from the written definitions, so these tests pin the *meaning*, while the
agreement tests pin that the two engines implement the same meaning.
"""

from __future__ import annotations

from datetime import date

import pytest

from client.engine.fast import evaluate_fast
from client.engine.reference import evaluate_reference
from indicator_defs import load_catalogue
from tests.client.engine.builders import make_extract

CAT = load_catalogue()
R = date(2025, 6, 30)
ENGINES = {"fast": evaluate_fast, "reference": evaluate_reference}


def counts(engine, extract, ids=("DM-01", "DM-02", "BZ-02")):
    result = ENGINES[engine](extract, CAT.select(list(ids)), R)
    return {ic.indicator_id: (ic.numerator, ic.denominator) for ic in result.indicators}, result


def t2d_patient(pid, birth="1960-01-01", **kw):
    return (
        pid,
        birth,
        kw.get("sex", "F"),
        kw.get("list_start", "2010-01-01"),
        kw.get("list_end"),
        kw.get("death"),
    )


@pytest.fixture(params=sorted(ENGINES))
def engine(request):
    return request.param


def test_dm01_window_is_half_open(engine):
    # window of 365 days: R-365 excluded, R-364 included, R included, R+1 excluded
    pats = [t2d_patient(p) for p in ("a", "b", "c", "d")]
    conds = [(p, "ICPC2", "T90", "2015-01-01", None) for p in ("a", "b", "c", "d")]
    labs = [
        ("a", "2024-06-30", "NPU", "NPU27300", 50, "mmol/mol"),  # R - 365: out
        ("b", "2024-07-01", "NPU", "NPU27300", 50, "mmol/mol"),  # R - 364: in
        ("c", "2025-06-30", "NPU", "NPU27300", 50, "mmol/mol"),  # R: in
        ("d", "2025-07-01", "NPU", "NPU27300", 50, "mmol/mol"),  # after R: out
    ]
    got, _ = counts(engine, make_extract(pats, conds, lab_results=labs))
    assert got["DM-01"] == (2, 4)
    assert got["DM-02"] == (2, 4)


def test_dm01_denominator_rules(engine):
    pats = [
        t2d_patient("adult"),
        t2d_patient("turns18_on_R", birth="2007-06-30"),
        t2d_patient("turns18_tomorrow", birth="2007-07-01"),
        t2d_patient("also_t1d"),
        t2d_patient("t1d_ended"),
        t2d_patient("t2d_ended_on_R"),
        t2d_patient("t2d_starts_after_R"),
        t2d_patient("left_list_on_R", list_end="2025-06-30"),
        t2d_patient("leaves_tomorrow", list_end="2025-07-01"),
        t2d_patient("died_on_R", death="2025-06-30"),
        t2d_patient("joins_on_R", list_start="2025-06-30"),
        t2d_patient("joins_tomorrow", list_start="2025-07-01"),
    ]
    conds = [(p[0], "ICPC2", "T90", "2015-01-01", None) for p in pats]
    conds = [c for c in conds if c[0] not in ("t2d_ended_on_R", "t2d_starts_after_R")]
    conds += [
        ("also_t1d", "ICPC2", "T89", "2016-01-01", None),
        ("t1d_ended", "ICPC2", "T89", "2016-01-01", "2020-01-01"),
        ("t2d_ended_on_R", "ICPC2", "T90", "2015-01-01", "2025-06-30"),
        ("t2d_starts_after_R", "ICPC2", "T90", "2025-07-01", None),
        ("adult", "ICD10", "T90", "2015-01-01", None),  # ICD-10 code T90 is not ICPC-2 T90
    ]
    got, result = counts(engine, make_extract(pats, conds))
    # in: adult, turns18_on_R, t1d_ended, leaves_tomorrow, joins_on_R
    assert got["DM-01"] == (0, 5)
    assert result.list_size == 9  # all but left_list_on_R, died_on_R and joins_tomorrow


def test_dm02_latest_value_rules(engine):
    pats = [
        t2d_patient(p)
        for p in (
            "low_then_high",
            "high_then_low",
            "tie",
            "no_value_latest",
            "boundary",
            "only_empty",
            "local_code",
        )
    ]
    conds = [(p[0], "ICPC2", "T90", "2015-01-01", None) for p in pats]
    labs = [
        ("low_then_high", "2025-01-01", "NPU", "NPU27300", 48, "mmol/mol"),
        ("low_then_high", "2025-03-01", "NPU", "NPU27300", 60, "mmol/mol"),
        ("high_then_low", "2025-01-01", "NPU", "NPU27300", 60, "mmol/mol"),
        ("high_then_low", "2025-03-01", "NPU", "NPU27300", 48, "mmol/mol"),
        # same latest date: the highest value counts
        ("tie", "2025-03-01", "NPU", "NPU27300", 48, "mmol/mol"),
        ("tie", "2025-03-01", "NPU", "NPU27300", 54, "mmol/mol"),
        # a result without a value is measured but has no value; earlier valued result counts
        ("no_value_latest", "2025-01-01", "NPU", "NPU27300", 50, "mmol/mol"),
        ("no_value_latest", "2025-03-01", "NPU", "NPU27300", None, "mmol/mol"),
        ("boundary", "2025-03-01", "NPU", "NPU27300", 53, "mmol/mol"),
        ("only_empty", "2025-03-01", "NPU", "NPU27300", None, "mmol/mol"),
        ("local_code", "2025-03-01", "LOCAL", "AAB00092", 40, "mmol/mol"),  # not NPU27300
    ]
    got, _ = counts(engine, make_extract(pats, conds, lab_results=labs))
    assert got["DM-01"] == (6, 7)
    # at target: high_then_low, no_value_latest, boundary
    assert got["DM-02"] == (3, 7)


def test_bz02_prefix_matching_and_age(engine):
    pats = [
        ("z", "1950-01-01", "M", "2000-01-01", None, None),  # N05CF01: match
        ("bzd", "1950-01-01", "F", "2000-01-01", None, None),  # N05CD08: match
        ("anx", "1950-01-01", "F", "2000-01-01", None, None),  # N05BA01: not a hypnotic
        ("parent", "1950-01-01", "F", "2000-01-01", None, None),  # N05C: shorter than prefix
        ("young", "1960-07-01", "F", "2000-01-01", None, None),  # 64 on R
        ("exactly65", "1960-06-30", "F", "2000-01-01", None, None),  # 65 on R
        ("old_rx", "1950-01-01", "M", "2000-01-01", None, None),  # 365 days back: out
    ]
    rx = [
        ("z", "2025-01-01", "N05CF01", None),
        ("bzd", "2025-01-01", "N05CD08", 10),
        ("anx", "2025-01-01", "N05BA01", 10),
        ("parent", "2025-01-01", "N05C", 10),
        ("young", "2025-01-01", "N05CF02", 10),
        ("exactly65", "2025-01-01", "N05CF02", 10),
        ("old_rx", "2024-06-30", "N05CF02", 10),
    ]
    got, result = counts(engine, make_extract(pats, prescriptions=rx))
    assert got["BZ-02"] == (3, 6)
    strata = {s.stratum: (s.numerator, s.denominator) for s in result.by_id()["BZ-02"].strata}
    assert strata["F:65-74"] == (1, 1)  # exactly65
    assert strata["F:75-84"] == (1, 3)  # bzd; anx, parent
    assert strata["M:75-84"] == (1, 2)  # z; old_rx


def test_leap_day_birthday(engine):
    # born 29 Feb: on 28 Feb of a common year the birthday has not come yet
    pats = [("leap", "1960-02-29", "F", "2000-01-01", None, None)]
    rx = [("leap", "2025-01-01", "N05CF01", None)]
    extract = make_extract(pats, prescriptions=rx)
    for ref, expected in ((date(2025, 2, 28), (0, 0)), (date(2025, 3, 1), (1, 1))):
        result = ENGINES[engine](extract, CAT.select(["BZ-02"]), ref)
        assert (result.indicators[0].numerator, result.indicators[0].denominator) == expected


def test_event_indicator_caps_per_patient(engine):
    pats = [
        ("heavy", "1980-01-01", "F", "2000-01-01", None, None),
        ("light", "1980-01-01", "F", "2000-01-01", None, None),
        ("none", "1980-01-01", "M", "2000-01-01", None, None),
    ]
    rx = [("heavy", "2025-01-01", "J01CE02", None)] * 15 + [
        ("heavy", "2025-01-02", "J01MA02", None),
        ("light", "2025-02-01", "J01CA08", None),
    ]
    got, _ = counts(engine, make_extract(pats, prescriptions=rx), ids=("AB-01", "AB-02", "AB-03"))
    assert got["AB-01"] == (4 + 1, 3)  # heavy capped at 4; everyone listed is in the denominator
    assert got["AB-02"] == (4, 4 + 1)  # heavy: min(15 penV, 4), den capped 4; light 0/1
    assert got["AB-03"] == (1, 5)
