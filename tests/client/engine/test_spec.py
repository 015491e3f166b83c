"""The binding semantics of issue 2 as executable examples, for both engines.

Each case is a tiny extract whose expected counts were worked out by hand
from the written definitions, so these tests pin the *meaning*, while the
agreement tests pin that the two engines implement the same meaning.
"""

from __future__ import annotations

from datetime import date, timedelta

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
            "other_local_code",
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
        # Region Midt's point-of-care code is an alias of NPU27300 (code list hba1c_local) ...
        ("local_code", "2025-03-01", "LOCAL", "AAB00092", 40, "mmol/mol"),
        # ... but another local code, or the NPU code under the wrong system, is not
        ("other_local_code", "2025-03-01", "LOCAL", "AAB00093", 40, "mmol/mol"),
        ("other_local_code", "2025-03-02", "DNK", "NPU27300", 40, "mmol/mol"),
    ]
    got, _ = counts(engine, make_extract(pats, conds, lab_results=labs))
    assert got["DM-01"] == (7, 8)
    # at target: high_then_low, no_value_latest, boundary, local_code
    assert got["DM-02"] == (4, 8)


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


# --- issue 15: days covered, episodes and deaths ------------------------------------


def ago(days: int) -> str:
    """The date `days` before R (negative: after R)."""
    return (R - timedelta(days=days)).isoformat()


def adult(pid, sex="F", birth="1970-01-01", listed_since="2000-01-01", **kw):
    return (pid, birth, sex, listed_since, kw.get("list_end"), kw.get("death"))


def per_patient(engine, extract, indicator_id):
    """Each patient's (numerator, denominator), through the engine's own counts."""
    out = {}
    for pid in extract.patients.patient_id:
        one = make_extract(
            extract.patients[extract.patients.patient_id == pid].itertuples(index=False),
            *(
                getattr(extract, t)[getattr(extract, t).patient_id == pid].itertuples(index=False)
                for t in ("conditions", "prescriptions", "lab_results", "encounters")
            ),
        )
        got, _ = counts(engine, one, ids=(indicator_id,))
        out[pid] = got[indicator_id]
    return out


def test_op01_counts_days_covered_not_ddd(engine):
    cases = {
        # pid: prescriptions as (days before R, ddd, days_supply); expected in numerator?
        "exactly_90": ([(89, None, 90.0)], 1),  # R-89 .. R
        "89_days": ([(88, None, 89.0)], 0),
        "89.9_days": ([(120, None, 89.9)], 1),  # day d+k for k < 89.9: 90 days
        "ddd_stand_in": ([(200, 90.0, None)], 1),  # no days' supply: one DDD a day
        "explicit_zero": ([(200, 100.0, 0.0)], 0),  # a given days' supply wins over DDD
        "neither": ([(200, None, None)], 0),
        "overlap_once": ([(200, None, 60.0), (200, None, 60.0)], 0),  # 60 days, not 120
        "carried_in": ([(400, None, 200.0)], 1),  # R-364 .. R-201: 164 days in the window
        "runs_past_R": ([(10, None, 365.0)], 0),  # only R-10 .. R count: 11 days
        "after_R": ([(-1, None, 365.0)], 0),
    }
    pats = [adult(pid) for pid in cases]
    rx = [(pid, ago(back), "N02AX02", ddd, supply) for pid, (rows, _) in cases.items()
          for back, ddd, supply in rows]  # fmt: skip
    got = per_patient(engine, make_extract(pats, prescriptions=rx), "OP-01")
    assert got == {pid: (expected, 1) for pid, (_, expected) in cases.items()}


def test_op02_needs_14_days_on_both_opioid_and_benzodiazepine(engine):
    pats = [adult(p) for p in ("overlap_14", "overlap_13", "clonazepam", "benzo_only")]
    rx = [
        ("overlap_14", ago(100), "N02AX02", None, 30.0),  # R-100 .. R-71
        ("overlap_14", ago(84), "N05BA04", None, 30.0),  # R-84 .. R-55: 14 days together
        ("overlap_13", ago(100), "N02AX02", None, 30.0),
        ("overlap_13", ago(83), "N05CF01", None, 30.0),  # R-83 .. : 13 days together
        ("clonazepam", ago(100), "N02AX02", None, 30.0),
        ("clonazepam", ago(100), "N03AE01", None, 30.0),  # not N05BA/CD/CF
        ("benzo_only", ago(100), "N05BA04", None, 300.0),
    ]
    got = per_patient(engine, make_extract(pats, prescriptions=rx), "OP-02")
    assert got == {
        "overlap_14": (1, 1),
        "overlap_13": (0, 1),
        "clonazepam": (0, 1),
        "benzo_only": (0, 0),  # not an opioid user: outside the denominator
    }


def test_ab04_cystitis_episodes(engine):
    cases = {
        # pid: (U71 days before R, [(antibiotic days before R, ATC)]), expected (num, den)
        "first_line_3_before": ([10], [(13, "J01CA08")], (1, 1)),
        "first_line_3_after": ([10], [(7, "J01XE01")], (1, 1)),
        "4_days_before": ([10], [(14, "J01CA08")], (0, 0)),  # not treated in ±3 days
        "broad_only": ([10], [(10, "J01MA02")], (0, 1)),
        "untreated": ([10], [], (0, 0)),
        "last_day": ([3], [(3, "J01EB02")], (1, 1)),  # its ±3 days have ended by R
        "too_recent": ([2], [(2, "J01EB02")], (0, 0)),
        "window_start": ([367], [(367, "J01EA01")], (1, 1)),
        "before_window": ([368], [(368, "J01EA01")], (0, 0)),
        "same_day_twice": ([50, 50], [(50, "J01CA08")], (1, 1)),  # one date, one episode
        "28_days_later": ([100, 72], [(100, "J01CA08"), (72, "J01CA08")], (1, 1)),
        "29_days_later": ([100, 71], [(100, "J01CA08"), (71, "J01CA08")], (2, 2)),
        "capped": ([300, 240, 180, 120, 60], [(d, "J01CA08") for d in (300, 240, 180, 120, 60)],
                   (2, 2)),
    }  # fmt: skip
    pats = [adult(pid) for pid in cases]
    pats += [
        adult("man", sex="M"),
        adult("aged_65", birth=ago(65 * 366)),
        adult("new_to_list", listed_since=ago(120)),  # 28-day look-back not on the list
    ]
    extra = {"man": [10], "aged_65": [10], "new_to_list": [100]}
    conds = [(pid, "ICPC2", "U71", ago(back), None) for pid, (u71, _, _) in cases.items()
             for back in u71]  # fmt: skip
    conds += [(pid, "ICPC2", "U71", ago(back[0]), None) for pid, back in extra.items()]
    rx = [(pid, ago(back), atc, None) for pid, (_, abx, _) in cases.items() for back, atc in abx]
    rx += [(pid, ago(back[0]), "J01CA08", None) for pid, back in extra.items()]
    got = per_patient(engine, make_extract(pats, conds, rx), "AB-04")
    expected = {pid: want for pid, (_, _, want) in cases.items()}
    assert got == {**expected, "man": (0, 0), "aged_65": (0, 0), "new_to_list": (0, 0)}


def test_ab05_antibiotic_on_the_day_or_up_to_3_days_after_urti(engine):
    pats = [adult(p) for p in ("day_before", "same_day", "3_after", "4_after", "coded_icd10")]
    conds = [(p[0], "ICPC2", "R74", ago(20), None) for p in pats[:4]]
    conds.append(("coded_icd10", "ICD10", "R74", ago(20), None))  # ICD-10 R74 is no URTI
    rx = [
        ("day_before", ago(21), "J01CE02", None),
        ("same_day", ago(20), "J01CE02", None),
        ("3_after", ago(17), "J01CE02", None),
        ("4_after", ago(16), "J01CE02", None),
        ("coded_icd10", ago(20), "J01CE02", None),
    ]
    got = per_patient(engine, make_extract(pats, conds, rx), "AB-05")
    assert got == {
        "day_before": (0, 1),
        "same_day": (1, 1),
        "3_after": (1, 1),
        "4_after": (0, 1),
        "coded_icd10": (0, 0),
    }


def test_mh02_follow_up_14_to_42_days_after_a_new_start(engine):
    cases = {
        # pid: (start days before R, earlier N06A days before R or None, contact gap, code)
        "seen_day_14": (100, None, 14, "0101", (1, 1)),
        "seen_day_42": (100, None, 42, "0125", (1, 1)),
        "seen_day_13": (100, None, 13, "0201", (0, 1)),
        "seen_day_43": (100, None, 43, "0105", (0, 1)),
        "not_a_contact": (100, None, 20, "0127", (0, 1)),
        "start_42_before_R": (42, None, 42, "0101", (1, 1)),
        "start_41_before_R": (41, None, 41, "0101", (0, 0)),  # follow-up not over
        "prior_365_before": (100, 465, 20, "0101", (0, 0)),  # not a new start
        "prior_366_before": (100, 466, 20, "0101", (1, 1)),
    }
    pats = [adult(pid) for pid in cases]
    pats.append(adult("listed_late", listed_since=ago(400)))  # not on the list a year before
    rx, enc = [("listed_late", ago(100), "N06AB10", None)], []
    for pid, (start, prior, gap, code, _) in cases.items():
        rx.append((pid, ago(start), "N06AB10", None))
        if prior is not None:
            rx.append((pid, ago(prior), "N06AX11", None))
        enc.append((pid, ago(start - gap), code))
    got = per_patient(engine, make_extract(pats, prescriptions=rx, encounters=enc), "MH-02")
    expected = {pid: case[-1] for pid, case in cases.items()}
    assert got == {**expected, "listed_late": (0, 0)}


def test_pal01_home_visit_in_the_last_30_days_of_the_deceased_with_cancer(engine):
    cases = {
        # pid: (death days before R, list_end, cancer recorded days before R, visit days
        # before death, expected)
        "visit_day_29": (100, None, 500, 29, (1, 1)),
        "visit_day_30": (100, None, 500, 30, (0, 1)),
        "visit_on_death": (100, None, 500, 0, (1, 1)),
        "list_ends_at_death": (100, 100, 500, 5, (1, 1)),
        "left_before_death": (100, 101, 500, 5, (0, 0)),
        "cancer_after_death": (100, None, 99, 5, (0, 0)),
        "died_364_ago": (364, None, 500, 5, (1, 1)),
        "died_365_ago": (365, None, 500, 5, (0, 0)),
        "dies_after_R": (-1, None, 500, 5, (0, 0)),
    }
    pats = [adult(pid, death=ago(death), list_end=None if end is None else ago(end))
            for pid, (death, end, _, _, _) in cases.items()]  # fmt: skip
    pats.append(adult("alive"))
    conds = [(pid, "ICD10", "C50.9", ago(cancer), None)
             for pid, (_, _, cancer, _, _) in cases.items()]  # fmt: skip
    conds.append(("alive", "ICPC2", "X76", ago(500), None))
    enc = [(pid, ago(death + back), "0411") for pid, (death, _, _, back, _) in cases.items()]
    enc.append(("alive", ago(5), "0411"))
    got = per_patient(engine, make_extract(pats, conds, encounters=enc), "PAL-01")
    expected = {pid: case[-1] for pid, case in cases.items()}
    assert got == {**expected, "alive": (0, 0)}
