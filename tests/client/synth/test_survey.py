"""Synthetic survey answers: about a tenth of listed adults answer each year, practices
differ by domain, coordination items apply to some only, free text is Danish and rare,
and bad rows appear only when asked, one per skip rule."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from client.engine.survey import compute_survey
from client.extract.loader import load_extract
from client.extract.writer import write_extract
from client.synth.practice import synthesize_practice
from client.synth.survey import RESPONSE_RATE, SURVEY_YEARS, draw_survey_responses
from indicator_defs.survey_loader import load_surveys

PX = load_surveys()["PX"]
REF = date(2026, 9, 30)
YEAR = (date(2025, 10, 1), REF)


@pytest.fixture(scope="module")
def practice():
    return synthesize_practice(4000, REF, 3, rng=np.random.default_rng(3))


def answers(practice, seed: int, **kwargs) -> pd.DataFrame:
    return draw_survey_responses(np.random.default_rng(seed), practice.patients, PX, REF, **kwargs)


def test_about_a_tenth_of_listed_adults_answer_each_year(practice):
    frame = answers(practice, 1)
    patients = practice.patients
    adults = ((pd.Timestamp(REF) - patients["birth_date"]).dt.days >= 18 * 365.25) & patients[
        "list_end"
    ].isna()
    last_year = frame[frame["date"] > pd.Timestamp(YEAR[0]) - pd.Timedelta(days=1)]
    assert last_year["respondent"].nunique() == pytest.approx(
        RESPONSE_RATE * adults.sum(), rel=0.15
    )
    assert frame["respondent"].nunique() == pytest.approx(
        SURVEY_YEARS * RESPONSE_RATE * adults.sum(), rel=0.15
    )
    assert set(frame["patient"]) <= set(patients["patient_id"])
    linked = frame.merge(patients, left_on="patient", right_on="patient_id")
    age = (linked["date"] - linked["birth_date"]).dt.days / 365.2425
    assert (age >= 18).all()
    assert (linked["list_start"] <= linked["date"]).all()


def test_one_respondent_answers_once_a_year_on_one_date(practice):
    frame = answers(practice, 1)
    assert (frame.groupby("respondent")["date"].nunique() == 1).all()
    assert not frame.duplicated(["respondent", "item"]).any()


def test_practices_differ_by_domain_beyond_sampling_noise(practice):
    shares = []
    for seed in range(8):
        result = compute_survey(answers(practice, seed), PX, *YEAR)
        access = result.measures[0]
        shares.append(access.numerator / access.resolution / access.denominator)
    # a few hundred respondents give a sampling sd of about 3 points; practices spread wider
    assert np.std(shares) > 0.04


def test_coordination_items_apply_to_fewer_respondents_than_access(practice):
    frame = answers(practice, 1)
    asked = frame.groupby("item")["respondent"].nunique()
    assert asked["Q10"] < asked["Q08"] < 0.8 * asked["Q01"]


def test_a_few_respondents_write_danish_comments_in_the_text_column_only(practice):
    frame = answers(practice, 1)
    comments = frame[frame["item"] == "Q11"]
    assert 0.03 < len(comments) / frame["respondent"].nunique() < 0.15
    assert comments["answer"].isna().all() and comments["text"].notna().all()
    assert frame.loc[frame["item"] != "Q11", "text"].isna().all()
    assert any("æ" in t or "ø" in t or "å" in t for t in comments["text"])


def test_clean_by_default_and_one_bad_row_per_rule_when_asked(practice, tmp_path):
    clean = practice.__class__(**{**practice.__dict__, "survey_responses": answers(practice, 1)})
    write_extract(clean, tmp_path / "clean")
    assert load_extract(tmp_path / "clean").warning_counts == ()
    faulty = answers(practice, 1, errors=True)
    dirty = practice.__class__(**{**practice.__dict__, "survey_responses": faulty})
    write_extract(dirty, tmp_path / "dirty")
    loaded = load_extract(tmp_path / "dirty")
    kinds = {c.kind: c.count for c in loaded.warning_counts}
    assert kinds == {
        "unknown_item": 1,
        "out_of_scale": 1,
        "duplicate_answer": 1,
        "duplicate_respondent": 1,
    }


def test_the_same_seed_gives_the_same_answers(practice):
    assert answers(practice, 5).equals(answers(practice, 5))
    assert not answers(practice, 5).equals(answers(practice, 6))
