"""Diagnoses: chronic conditions with onset dates, resolved episodes, and acute infections.

Prevalences are registered (coded) prevalences on the patient's index day
(R, or the day they left or died), by age band 0-14 / 15-39 / 40-64 / 65-79 /
80+, tuned so the whole list reproduces INDICATORS.md: type 2 diabetes about
5 %, COPD 3.2 %, hypertension 15-18 % of adults, IHD 2.6 %, AF 3 % of adults,
depression 4-6 %, asthma 5-6 %. Diagnoses from hospital discharge letters
appear as ICD-10 rows beside (or, rarely, instead of) the GP's ICPC-2 code.
Deceased patients carry more disease (`died_rr`), so end-of-life indicators
have cases.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from client.synth.days import DAYS_PER_YEAR, NO_DATE
from client.synth.events import age_band, age_rate_events
from client.synth.population import DIED, Population
from client.synth.quality import QualityProfile
from client.synth.rows import Coded, TableRows

PREVALENCE_EDGES = (15, 40, 65, 80)
ACUTE_EDGES = (5, 15, 40, 65, 80)


@dataclass(frozen=True)
class Chronic:
    key: str
    # (ICPC-2 code, ICD-10 code, weight among women, weight among men)
    codes: tuple[tuple[str, str, float, float], ...]
    prevalence: tuple[float, float, float, float, float]  # by PREVALENCE_EDGES band
    female_rr: float = 1.0
    male_rr: float = 1.0
    mean_years: float = 6.0  # mean time from onset to index day
    min_onset_age: float = 18.0
    died_rr: float = 1.5
    icd10_share: float = 0.2  # also coded by the hospital
    icd10_only: float = 0.02  # coded by the hospital only
    resolved: float = 0.0  # ended episodes per active case
    resolved_years: float = 1.0  # mean length of an ended episode


# fmt: off
CHRONIC: tuple[Chronic, ...] = (
    Chronic(
        "t1d",
        codes=(("T89", "E10", 1, 1),),
        prevalence=(0.004, 0.006, 0.006, 0.005, 0.004),
        female_rr=0.9, male_rr=1.1, mean_years=15, min_onset_age=1,
        died_rr=1.5, icd10_share=0.2, icd10_only=0.0,
    ),
    Chronic(
        "t2d",
        codes=(("T90", "E11", 1, 1),),
        prevalence=(0, 0.0085, 0.059, 0.15, 0.17),
        female_rr=0.85, male_rr=1.15, mean_years=8, min_onset_age=25,
        died_rr=1.3, icd10_share=0.1, icd10_only=0.01,
        resolved=0.02, resolved_years=2,
    ),
    Chronic(
        "hypertension",
        codes=(("K86", "I10", 0.9, 0.9), ("K87", "I11", 0.1, 0.1)),
        prevalence=(0, 0.02, 0.14, 0.38, 0.50),
        mean_years=9, min_onset_age=20,
        died_rr=1.2, icd10_share=0.05, icd10_only=0.0,
        resolved=0.04, resolved_years=2,
    ),
    Chronic(
        "ihd",
        codes=(("K74", "I20", 0.35, 0.35), ("K75", "I21", 0.25, 0.35), ("K76", "I25", 0.40, 0.30)),
        prevalence=(0, 0.0005, 0.022, 0.088, 0.15),
        female_rr=0.6, male_rr=1.4, mean_years=7, min_onset_age=30,
        died_rr=1.8, icd10_share=0.35, icd10_only=0.02,
    ),
    Chronic(
        "hf",
        codes=(("K77", "I50", 1, 1),),
        prevalence=(0, 0.0005, 0.004, 0.03, 0.10),
        female_rr=0.8, male_rr=1.2, mean_years=4, min_onset_age=30,
        died_rr=3.0, icd10_share=0.3, icd10_only=0.02,
    ),
    Chronic(
        "af",
        codes=(("K78", "I48", 1, 1),),
        prevalence=(0, 0.001, 0.01, 0.08, 0.17),
        female_rr=0.75, male_rr=1.25, mean_years=5, min_onset_age=25,
        died_rr=1.8, icd10_share=0.3, icd10_only=0.02,
        resolved=0.08, resolved_years=0.5,
    ),
    Chronic(
        "stroke",
        codes=(("K90", "I63", 0.5, 0.5), ("K89", "G45", 0.35, 0.35), ("K91", "I67", 0.15, 0.15)),
        prevalence=(0, 0.001, 0.01, 0.05, 0.10),
        female_rr=0.9, male_rr=1.1, mean_years=5, min_onset_age=30,
        died_rr=2.0, icd10_share=0.4, icd10_only=0.03,
    ),
    Chronic(
        "pad",
        codes=(("K92", "I70", 1, 1),),
        prevalence=(0, 0, 0.004, 0.03, 0.05),
        female_rr=0.8, male_rr=1.2, mean_years=5, min_onset_age=40,
        died_rr=2.0, icd10_share=0.2, icd10_only=0.02,
    ),
    Chronic(
        "copd",
        codes=(("R95", "J44", 1, 1),),
        prevalence=(0, 0.002, 0.037, 0.097, 0.12),
        mean_years=7, min_onset_age=35,
        died_rr=2.5, icd10_share=0.2, icd10_only=0.01,
    ),
    Chronic(
        "asthma",
        codes=(("R96", "J45", 1, 1),),
        prevalence=(0.06, 0.065, 0.055, 0.045, 0.035),
        mean_years=12, min_onset_age=1,
        died_rr=1.0, icd10_share=0.05, icd10_only=0.0,
        resolved=0.3, resolved_years=4,
    ),
    Chronic(
        "dementia",
        codes=(("P70", "F03", 0.6, 0.6), ("P70", "G30", 0.4, 0.4)),
        prevalence=(0, 0, 0.001, 0.03, 0.15),
        female_rr=1.2, male_rr=0.8, mean_years=3, min_onset_age=50,
        died_rr=4.0, icd10_share=0.3, icd10_only=0.03,
    ),
    Chronic(
        "depression",
        codes=(("P76", "F32", 1, 1),),
        prevalence=(0.003, 0.05, 0.06, 0.05, 0.06),
        female_rr=1.35, male_rr=0.65, mean_years=2, min_onset_age=10,
        died_rr=1.2, icd10_share=0.05, icd10_only=0.0,
        resolved=1.0, resolved_years=1.2,
    ),
    Chronic(
        "cancer",
        # ICPC-2 malignancy codes with their ICD-10 counterparts, weighted by sex
        codes=(
            ("X76", "C50", 0.30, 0.0), ("Y77", "C61", 0.0, 0.28), ("D75", "C18", 0.13, 0.14),
            ("R84", "C34", 0.08, 0.09), ("S77", "C43", 0.12, 0.11), ("U76", "C67", 0.03, 0.08),
            ("B72", "C81", 0.02, 0.02), ("B74", "C85", 0.04, 0.05), ("B73", "C91", 0.02, 0.03),
            ("D76", "C25", 0.02, 0.02), ("U75", "C64", 0.02, 0.03), ("X75", "C53", 0.04, 0.0),
            ("A79", "C80", 0.18, 0.15),
        ),
        prevalence=(0.0005, 0.003, 0.04, 0.12, 0.16),
        mean_years=4, min_onset_age=1,
        died_rr=2.5, icd10_share=0.3, icd10_only=0.1,
        resolved=0.4, resolved_years=3,
    ),
    # Distractors that a careless code list would confuse with the real thing:
    # raised blood pressure without hypertension (K85) and lipid disorder (T93).
    Chronic(
        "raised_bp",
        codes=(("K85", "R03", 1, 1),),
        prevalence=(0, 0.01, 0.03, 0.03, 0.02),
        mean_years=3, died_rr=1.0, icd10_share=0, icd10_only=0,
    ),
    Chronic(
        "lipid_disorder",
        codes=(("T93", "E78", 1, 1),),
        prevalence=(0, 0.01, 0.06, 0.08, 0.05),
        mean_years=5, died_rr=1.0, icd10_share=0.02, icd10_only=0,
    ),
)
# fmt: on

# Acute episodes: (ICPC-2, yearly rate by ACUTE_EDGES band for women, for men)
# fmt: off
ACUTE: dict[str, tuple[str, tuple[float, ...], tuple[float, ...]]] = {
    "cystitis": ("U71", (0.01, 0.02, 0.07, 0.06, 0.08, 0.12),
                 (0.003, 0.002, 0.004, 0.01, 0.03, 0.05)),
    "urti": ("R74", (0.33, 0.13, 0.08, 0.055, 0.055, 0.055),
             (0.30, 0.12, 0.065, 0.045, 0.05, 0.05)),
    "strep_throat": ("R72", (0.03, 0.06, 0.045, 0.012, 0.005, 0.005),
                     (0.03, 0.06, 0.035, 0.008, 0.005, 0.005)),
    "sinusitis": ("R75", (0.002, 0.01, 0.035, 0.035, 0.02, 0.01),
                  (0.002, 0.01, 0.025, 0.025, 0.015, 0.01)),
    "bronchitis": ("R78", (0.05, 0.02, 0.02, 0.03, 0.05, 0.06),
                   (0.05, 0.02, 0.015, 0.025, 0.05, 0.06)),
    "pneumonia": ("R81", (0.02, 0.005, 0.004, 0.008, 0.02, 0.045),
                  (0.02, 0.005, 0.004, 0.01, 0.025, 0.055)),
    "otitis": ("H71", (0.25, 0.06, 0.005, 0.003, 0.002, 0.002),
               (0.28, 0.06, 0.005, 0.003, 0.002, 0.002)),
    "skin_infection": ("S76", (0.01, 0.01, 0.015, 0.015, 0.02, 0.03),
                       (0.01, 0.012, 0.018, 0.018, 0.02, 0.03)),
}
# fmt: on


@dataclass(frozen=True)
class Morbidity:
    """True disease state that drives activity (whether or not it is ICPC-coded)."""

    onset: dict[str, np.ndarray]  # onset day of a condition active on the index day, or NO_DATE
    episodes: dict[str, tuple[np.ndarray, np.ndarray]]  # acute: (patient index, day)

    def has(self, key: str) -> np.ndarray:
        return self.onset[key] != NO_DATE


def draw_morbidity(
    rng: np.random.Generator, pop: Population, profile: QualityProfile, conditions: TableRows
) -> Morbidity:
    index_day = pop.index_day
    age = (index_day - pop.birth) / DAYS_PER_YEAR
    band = age_band(age, PREVALENCE_EDGES)
    died = pop.kind == DIED
    onset: dict[str, np.ndarray] = {}
    for spec in CHRONIC:
        p = (
            np.asarray(spec.prevalence)[band]
            * np.where(pop.female, spec.female_rr, spec.male_rr)
            * np.where(died, spec.died_rr, 1.0)
            * profile.morbidity
            * profile.coding_completeness
        )
        p = np.minimum(p, 0.95)
        has = rng.random(pop.size) < p
        if spec.key == "t2d":
            # a few type 1 patients are also (wrongly) coded type 2: DM-01 must exclude them
            has |= (onset["t1d"] != NO_DATE) & (rng.random(pop.size) < 0.05)
        onset[spec.key] = _onsets(rng, pop, spec, has, index_day)
        _condition_rows(rng, pop, spec, onset[spec.key], conditions)
        if spec.resolved:
            _resolved_rows(rng, pop, spec, p * spec.resolved, index_day, conditions)
    episodes = _acute(rng, pop, conditions)
    return Morbidity(onset=onset, episodes=episodes)


def _onsets(
    rng: np.random.Generator,
    pop: Population,
    spec: Chronic,
    has: np.ndarray,
    index_day: np.ndarray,
) -> np.ndarray:
    idx = np.flatnonzero(has)
    years = rng.exponential(spec.mean_years, idx.size)
    start = index_day[idx] - np.floor(years * DAYS_PER_YEAR).astype(np.int64)
    earliest = pop.birth[idx] + int(spec.min_onset_age * DAYS_PER_YEAR)
    start = np.minimum(np.maximum(start, earliest), index_day[idx])
    on_index = rng.random(idx.size) < 0.002  # edge case: diagnosed on the index day itself
    start[on_index] = index_day[idx][on_index]
    out = np.full(pop.size, NO_DATE, dtype=np.int64)
    out[idx] = start
    return out


def _pick_codes(
    rng: np.random.Generator, spec: Chronic, female: np.ndarray
) -> tuple[np.ndarray, tuple[str, ...], tuple[str, ...]]:
    icpc = tuple(c[0] for c in spec.codes)
    icd = tuple(c[1] for c in spec.codes)
    wf = np.array([c[2] for c in spec.codes], dtype=float)
    wm = np.array([c[3] for c in spec.codes], dtype=float)
    cum_f, cum_m = np.cumsum(wf / wf.sum()), np.cumsum(wm / wm.sum())
    u = rng.random(female.size)
    which = np.where(
        female,
        np.searchsorted(cum_f, u, side="right"),
        np.searchsorted(cum_m, u, side="right"),
    )
    return np.minimum(which, len(icpc) - 1), icpc, icd


def _condition_rows(
    rng: np.random.Generator, pop: Population, spec: Chronic, onset: np.ndarray, rows: TableRows
) -> None:
    idx = np.flatnonzero(onset != NO_DATE)
    which, icpc, icd = _pick_codes(rng, spec, pop.female[idx])
    start = onset[idx]
    u = rng.random(idx.size)
    icd_only = u < spec.icd10_only
    with_icd = u < spec.icd10_only + spec.icd10_share
    keep = ~icd_only
    rows.add(
        idx[keep],
        system="ICPC2",
        code=Coded(icpc, which[keep]),
        start_date=start[keep],
        end_date=None,
    )
    letter = start[with_icd] + rng.integers(0, 31, int(with_icd.sum()))
    letter = np.minimum(letter, pop.index_day[idx[with_icd]])
    rows.add(
        idx[with_icd],
        system="ICD10",
        code=Coded(icd, which[with_icd]),
        start_date=letter,
        end_date=None,
    )


def _resolved_rows(
    rng: np.random.Generator,
    pop: Population,
    spec: Chronic,
    p: np.ndarray,
    index_day: np.ndarray,
    rows: TableRows,
) -> None:
    """Episodes that started and ended before the index day (remission, cure, recovery)."""
    idx = np.flatnonzero(rng.random(pop.size) < p)
    gap = 1 + np.floor(rng.exponential(2.5 * DAYS_PER_YEAR, idx.size)).astype(np.int64)
    end = index_day[idx] - gap
    length = 14 + np.floor(rng.exponential(spec.resolved_years * DAYS_PER_YEAR, idx.size))
    start = end - length.astype(np.int64)
    earliest = pop.birth[idx] + int(min(spec.min_onset_age, 1) * DAYS_PER_YEAR)
    ok = end > earliest
    idx, start, end = idx[ok], np.maximum(start[ok], earliest[ok]), end[ok]
    which, icpc, _ = _pick_codes(rng, spec, pop.female[idx])
    rows.add(idx, system="ICPC2", code=Coded(icpc, which), start_date=start, end_date=end)


def _acute(
    rng: np.random.Generator, pop: Population, rows: TableRows
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    episodes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    starts, ends = pop.obs_start, pop.obs_end
    for key, (code, rate_f, rate_m) in ACUTE.items():
        rates = np.where(pop.female[:, None], np.asarray(rate_f), np.asarray(rate_m))
        idx, day = age_rate_events(rng, starts, ends, pop.birth, rates, ACUTE_EDGES)
        end = day + rng.integers(5, 15, idx.size)
        end = np.where(end <= pop.reference, end, NO_DATE)  # still open on R
        rows.add(idx, system="ICPC2", code=code, start_date=day, end_date=end)
        episodes[key] = (idx, day)
    return episodes
