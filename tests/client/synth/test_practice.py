"""The synthetic practice generator: valid schema-v1 data, reproducible, realistic figures."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest

from client.extract.schema import TABLES, ColumnKind
from client.extract.tables import Extract
from client.synth.practice import synthesize_practice
from client.synth.quality import QualityProfile, draw_quality

R = date(2026, 9, 30)
RT = pd.Timestamp(R)


def listed_on(patients: pd.DataFrame, ref: pd.Timestamp) -> pd.DataFrame:
    return patients[
        (patients.list_start <= ref)
        & (patients.list_end.isna() | (patients.list_end > ref))
        & (patients.death_date.isna() | (patients.death_date > ref))
    ]


def completed_age(birth: pd.Series, ref: pd.Timestamp) -> pd.Series:
    before_birthday = (birth.dt.month > ref.month) | (
        (birth.dt.month == ref.month) & (birth.dt.day > ref.day)
    )
    return ref.year - birth.dt.year - before_birthday.astype(int)


def schema_problems(extract: Extract, reference: pd.Timestamp) -> list[str]:
    """Every way `extract` breaks schema v1 or the Extract invariants (empty if none)."""
    problems: list[str] = []
    patients = extract.patients
    for table in TABLES:
        frame = getattr(extract, table.name)
        if tuple(frame.columns) != table.column_names:
            problems.append(f"{table.name}: columns {list(frame.columns)}")
            continue
        for col in table.columns:
            s = frame[col.name]
            if col.kind is ColumnKind.DATE and not pd.api.types.is_datetime64_any_dtype(s):
                problems.append(f"{table.name}.{col.name}: dtype {s.dtype}")
            if col.kind is ColumnKind.DECIMAL and s.dtype != np.float64:
                problems.append(f"{table.name}.{col.name}: dtype {s.dtype}")
            if col.kind is ColumnKind.TEXT and not pd.api.types.is_string_dtype(s):
                problems.append(f"{table.name}.{col.name}: dtype {s.dtype}")
            if col.required and s.isna().any():
                problems.append(f"{table.name}.{col.name}: {int(s.isna().sum())} empty")
            if col.allowed is not None and not set(s.dropna().unique()) <= col.allowed:
                problems.append(f"{table.name}.{col.name}: {set(s.dropna()) - col.allowed}")
            if col.kind is ColumnKind.DATE and (s.dropna() > reference).any():
                problems.append(f"{table.name}.{col.name}: date after the extract date")
        if table.name != "patients":
            unknown = int((pd.Index(patients.patient_id).get_indexer(frame.patient_id) < 0).sum())
            if unknown:
                problems.append(f"{table.name}: {unknown} rows with unknown patient ids")
    if patients.patient_id.duplicated().any():
        problems.append("patients: duplicate patient_id")
    if (patients.list_end < patients.list_start).any():
        problems.append("patients: list_end before list_start")
    if (patients.list_start < patients.birth_date).any():
        problems.append("patients: listed before birth")
    if (patients.death_date < patients.birth_date).any():
        problems.append("patients: death before birth")
    where = pd.Index(patients.patient_id)
    c = extract.conditions
    if (c.end_date < c.start_date).any():
        problems.append("conditions: end_date before start_date")
    ci = where.get_indexer(c.patient_id)
    births = patients.birth_date.to_numpy()
    if (c.start_date.to_numpy()[ci >= 0] < births[ci[ci >= 0]]).any():
        problems.append("conditions: start before birth")
    # activity only while the patient is on the list (or until death) and within history
    first = patients.list_start.to_numpy()
    last = patients.death_date.fillna(patients.list_end).fillna(reference).to_numpy()
    for name in ("prescriptions", "lab_results", "encounters"):
        frame = getattr(extract, name)
        i = where.get_indexer(frame.patient_id)
        day = frame.date.to_numpy()[i >= 0]
        i = i[i >= 0]
        outside = (day < first[i]) | (day > last[i])
        if outside.any():
            problems.append(f"{name}: {int(outside.sum())} rows outside the list period")
    return problems


@pytest.fixture(scope="module")
def large() -> Extract:
    """A 20,000-patient practice with typical quality (3 years keep the test quick)."""
    return synthesize_practice(20_000, R, 3, QualityProfile.typical(), np.random.default_rng(11))


@pytest.fixture(scope="module")
def small() -> Extract:
    return synthesize_practice(1_500, R, 10, QualityProfile.typical(), np.random.default_rng(3))


def test_same_seed_gives_identical_extract() -> None:
    a = synthesize_practice(800, R, 4, QualityProfile.typical(), np.random.default_rng(42))
    b = synthesize_practice(800, R, 4, QualityProfile.typical(), np.random.default_rng(42))
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(a, table.name), getattr(b, table.name))


def test_different_seeds_give_different_extracts() -> None:
    a = synthesize_practice(800, R, 4, QualityProfile.typical(), np.random.default_rng(1))
    b = synthesize_practice(800, R, 4, QualityProfile.typical(), np.random.default_rng(2))
    assert not a.patients.patient_id.equals(b.patients.patient_id)
    assert len(a.encounters) != len(b.encounters) or not a.encounters.equals(b.encounters)


@pytest.mark.parametrize("fixture", ["large", "small"])
def test_output_satisfies_schema_and_invariants(fixture: str, request: pytest.FixtureRequest):
    extract = request.getfixturevalue(fixture)
    assert schema_problems(extract, RT) == []


def test_schema_checker_catches_broken_extracts(small: Extract) -> None:
    """The checker above must be able to fail, or the previous test proves nothing."""
    bad_sex = small.patients.copy()
    bad_sex.loc[0, "sex"] = "X"
    bad_end = small.conditions.copy()
    bad_end.loc[0, "end_date"] = bad_end.loc[0, "start_date"] - pd.Timedelta(days=1)
    stray = small.encounters.copy()
    stray.loc[0, "patient_id"] = "no-such-patient"
    assert any("sex" in p for p in schema_problems(replace(small, patients=bad_sex), RT))
    assert any("end_date" in p for p in schema_problems(replace(small, conditions=bad_end), RT))
    assert any("unknown" in p for p in schema_problems(replace(small, encounters=stray), RT))


def test_list_size_is_exact_and_former_patients_exist(large: Extract) -> None:
    p = large.patients
    assert len(listed_on(p, RT)) == 20_000
    assert p.death_date.notna().sum() > 100  # about 1 % a year die
    assert (p.list_end.notna() & p.death_date.isna()).sum() > 2_000  # about 6 % a year move


def test_age_and_sex_distribution(large: Extract) -> None:
    listed = listed_on(large.patients, RT)
    age = completed_age(listed.birth_date, RT)
    assert 0.14 < (age < 15).mean() < 0.175  # 15.7 %
    assert 0.19 < (age >= 65).mean() < 0.23  # 20.9 %
    assert 0.035 < (age >= 80).mean() < 0.057  # 4.6 %
    assert 0.49 < (listed.sex == "F").mean() < 0.52  # 50.4 %


def test_deliberate_edge_cases_are_present(large: Extract) -> None:
    p = large.patients
    birthday = (p.birth_date.dt.month == RT.month) & (p.birth_date.dt.day == RT.day)
    assert birthday.sum() >= 20
    assert (p.list_end == RT).any()  # leaves on R: not listed on R
    assert (p.death_date == RT).any()  # dies on R: not listed on R
    assert (p.death_date.notna() & p.list_end.isna()).any()  # death recorded, list end not
    enc = large.encounters.merge(p, on="patient_id")
    assert (enc.date == enc.list_start).sum() > 50  # contact on the first listed day
    assert (enc.date == enc.list_end).sum() > 5  # ... and on the last


def _active_share(extract: Extract, codes: set[str], adults_only: bool = False) -> float:
    listed = listed_on(extract.patients, RT)
    if adults_only:
        listed = listed[completed_age(listed.birth_date, RT) >= 18]
    c = extract.conditions
    active = c[
        (c.system == "ICPC2")
        & c.code.isin(codes)
        & (c.start_date <= RT)
        & (c.end_date.isna() | (c.end_date > RT))
    ]
    return listed.patient_id.isin(active.patient_id).mean()


@pytest.mark.parametrize(
    ("codes", "adults_only", "low", "high"),
    [
        ({"T90"}, False, 0.04, 0.06),  # type 2 diabetes ~5 %
        ({"R95"}, False, 0.025, 0.04),  # COPD ~3.2 %
        ({"K86", "K87"}, True, 0.14, 0.19),  # hypertension 15-18 % of adults
        ({"K74", "K75", "K76"}, False, 0.02, 0.032),  # IHD ~2.6 %
        ({"K78"}, True, 0.024, 0.036),  # AF ~3 % of adults
        ({"R96"}, False, 0.045, 0.065),  # asthma 5-6 %
        ({"P76"}, False, 0.035, 0.065),  # depression 4-6 %
        ({"T89"}, False, 0.003, 0.008),  # type 1 diabetes
    ],
)
def test_prevalences_match_danish_figures(
    large: Extract, codes: set[str], adults_only: bool, low: float, high: float
) -> None:
    assert low <= _active_share(large, codes, adults_only) <= high


def test_antibiotic_rate_and_mix(large: Extract) -> None:
    listed = listed_on(large.patients, RT)
    rx = large.prescriptions
    year = rx[(rx.date > RT - pd.Timedelta(days=365)) & rx.patient_id.isin(listed.patient_id)]
    j01 = year[year.atc.str.startswith("J01")]
    per_1000 = len(j01) / len(listed) * 1000
    assert 320 <= per_1000 <= 390  # national 330-380 per 1,000 per year
    assert 0.26 <= (j01.atc == "J01CE02").mean() <= 0.36  # ~30 % penicillin V
    broad = j01.atc.str.match(r"J01MA|J01CR|J01D[B-E]").mean()
    assert 0.08 <= broad <= 0.20


def test_hba1c_activity_and_values(large: Extract) -> None:
    c = large.conditions
    t2d = set(c[(c.code == "T90") & c.end_date.isna()].patient_id)
    lab = large.lab_results
    year = lab[(lab.date > RT - pd.Timedelta(days=365)) & (lab.code == "NPU27300")]
    per_patient = year.patient_id.isin(t2d).sum() / len(t2d)
    assert 1.8 <= per_patient <= 3.2  # 2-3 a year, fewer for the recently diagnosed
    values = year[year.patient_id.isin(t2d)].value.dropna()
    assert 40 <= values.median() <= 60  # mmol/mol
    assert (lab.code == "NPU27300").any() and lab.value.isna().any()  # some empty values
    assert set(lab.system.unique()) == {"NPU", "DNK"}  # typical profile: no point-of-care device


def test_point_of_care_device_reports_local_code() -> None:
    q = replace(QualityProfile.typical(), poc_hba1c_share=0.5)
    ex = synthesize_practice(3_000, R, 2, q, np.random.default_rng(5))
    local = ex.lab_results[ex.lab_results.system == "LOCAL"]
    assert set(local.code) == {"AAB00092"}
    assert len(local) > 50


def test_expected_codes_appear(large: Extract) -> None:
    atc = set(large.prescriptions.atc.unique())
    for code in (
        "C10AA05",
        "A10BA02",
        "C09AA05",
        "B01AF02",
        "J01CE02",
        "N05CF01",
        "N02AX02",
        "N05AN01",
        "N06AB10",
        "M01AE01",
        "R03AC02",
        "R03BA02",
        "J07BB02",
    ):
        assert code in atc, code
    labs = set(large.lab_results.code.unique())
    assert {"NPU27300", "NPU01568", "NPU19661", "DNK35302", "NPU57947", "NPU57948"} <= labs
    services = set(large.encounters.service_code.unique())
    assert {"0101", "0120", "0201", "0105", "0125", "0411", "2101", "7113"} <= services
    assert set(large.conditions.system.unique()) == {"ICPC2", "ICD10"}


def test_better_quality_shows_in_the_data() -> None:
    """A practice at the good end of every range beats one at the bad end."""
    from client.synth.quality import _RANGES

    good = replace(QualityProfile.typical(), **{k: b for k, (_, b) in _RANGES.items()})
    bad = replace(QualityProfile.typical(), **{k: w for k, (w, _) in _RANGES.items()})

    def pen_v_share(q: QualityProfile) -> float:
        ex = synthesize_practice(4_000, R, 2, q, np.random.default_rng(9))
        j01 = ex.prescriptions[ex.prescriptions.atc.str.startswith("J01")]
        return float((j01.atc == "J01CE02").mean())

    assert pen_v_share(good) > pen_v_share(bad) + 0.1


def test_drawn_profiles_vary_and_stay_in_range() -> None:
    rng = np.random.default_rng(0)
    profiles = [draw_quality(rng) for _ in range(50)]
    rates = [p.antibiotic_rate for p in profiles]
    assert max(rates) - min(rates) > 0.03
    assert all(0.33 <= r <= 0.41 for r in rates)
    assert QualityProfile.from_pairs(profiles[0].as_pairs()) == profiles[0]


def test_rejects_nonsense_sizes() -> None:
    with pytest.raises(ValueError, match="n_patients"):
        synthesize_practice(0, R, 1, QualityProfile.typical(), np.random.default_rng(0))
    with pytest.raises(ValueError, match="years_history"):
        synthesize_practice(10, R, 0, QualityProfile.typical(), np.random.default_rng(0))
