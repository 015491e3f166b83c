"""Prescriptions: chronic refills, short courses, vaccines (antibiotics live in antibiotics.py).

Long-term treatment is a course (one drug per course, refilled about every
`Menu.interval_days`); occasional use is a Poisson process. Figures from
INDICATORS.md: antidepressant users about 7 %, benzodiazepine/Z-drug users
about 5 % with long-term use about 5 per 1,000; the practice profile moves
the quality-sensitive ones (hypnotics in the elderly, long-term opioids,
antipsychotics in dementia, NSAIDs in high-risk patients, SABA overuse).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np

from client.synth.antibiotics import draw_antibiotics
from client.synth.clinical import Clinical, Courses
from client.synth.days import DAYS_PER_YEAR, from_day, to_day
from client.synth.drugs import (
    ANTIDEPRESSANT,
    ANTIPSYCHOTIC,
    ANXIOLYTIC_SHORT,
    ASTHMA_ICS,
    BENZO_LONG,
    COURSE_MENUS,
    FLU_VACCINE,
    HYPNOTIC_SHORT,
    LITHIUM,
    NSAID,
    OPIOID_LONG,
    OPIOID_PALLIATIVE,
    OPIOID_SHORT,
    PARACETAMOL,
    PPI,
    SABA,
    Menu,
)
from client.synth.events import age_rate_events, poisson_events, regular_events
from client.synth.morbidity import Morbidity
from client.synth.population import DIED, Population
from client.synth.quality import QualityProfile
from client.synth.rows import TableRows


@dataclass(frozen=True)
class Prescribing:
    """What other generators need to know: when antidepressant courses began."""

    antidepressant_starts: tuple[np.ndarray, np.ndarray]  # (patient, first prescription day)


def draw_prescriptions(
    rng: np.random.Generator,
    pop: Population,
    morb: Morbidity,
    clin: Clinical,
    q: QualityProfile,
    rows: TableRows,
) -> Prescribing:
    for key, menu in COURSE_MENUS.items():
        refills(rng, pop, clin.courses[key], menu, rows)
    _respiratory(rng, pop, morb, q, rows)
    starts = _antidepressants(rng, pop, morb, rows)
    _psychotropics(rng, pop, morb, q, rows)
    _analgesics(rng, pop, morb, clin, q, rows)
    _flu_vaccine(rng, pop, morb, q, rows)
    draw_antibiotics(rng, pop, morb, q, rows)
    return Prescribing(antidepressant_starts=starts)


def refills(
    rng: np.random.Generator,
    pop: Population,
    courses: Courses,
    menu: Menu,
    rows: TableRows,
    cv: float = 0.25,
) -> tuple[np.ndarray, np.ndarray]:
    """Refill prescriptions over each course's part of the observation window.

    A course that starts inside the window gets its first prescription on its
    start day; one already running when the window opens joins at a random
    point of its refill cycle. Returns (patient, day) of courses' first
    prescriptions that fall inside the window.
    """
    p = courses.patient
    which = menu.pick(rng, p.size)
    lo = np.maximum(courses.start, pop.obs_start[p])
    hi = np.minimum(courses.stop, pop.obs_end[p])
    inside = courses.start >= pop.obs_start[p]
    first_idx: list[np.ndarray] = []
    first_day: list[np.ndarray] = []
    for mask, at_start in ((inside, True), (~inside, False)):
        sel = np.flatnonzero(mask)
        w, day = regular_events(rng, lo[sel], hi[sel], menu.interval_days, cv, at_start)
        rows_sel = sel[w]
        menu.issue(rng, rows, p[rows_sel], day, which[rows_sel])
        if at_start:
            started = np.flatnonzero(lo[sel] <= hi[sel])
            first_idx.append(p[sel[started]])
            first_day.append(lo[sel[started]])
    return np.concatenate(first_idx), np.concatenate(first_day)


def _adult_events(
    rng: np.random.Generator, pop: Population, rate: float, old_rate: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Events at `rate` a year from age 18 (at `old_rate` from 65, if given)."""
    old = rate if old_rate is None else old_rate
    rates = np.tile(np.array([0.0, rate, old]), (pop.size, 1))
    return age_rate_events(rng, pop.obs_start, pop.obs_end, pop.birth, rates, (18, 65))


def _long_term(
    rng: np.random.Generator, pop: Population, p: np.ndarray, mean_years: float
) -> Courses:
    """Courses running on the index day, begun some years earlier (never before 18)."""
    idx = np.flatnonzero(rng.random(pop.size) < p)
    end = pop.index_day[idx]
    start = end - np.floor(rng.exponential(mean_years * DAYS_PER_YEAR, idx.size)).astype(np.int64)
    start = np.minimum(np.maximum(start, pop.birth[idx] + int(18 * DAYS_PER_YEAR)), end)
    return Courses(idx, start, end)


def _adult(pop: Population) -> np.ndarray:
    return (pop.index_day - pop.birth) >= 18 * DAYS_PER_YEAR


def _elderly(pop: Population) -> np.ndarray:
    return (pop.index_day - pop.birth) >= 65 * DAYS_PER_YEAR


def _respiratory(
    rng: np.random.Generator, pop: Population, morb: Morbidity, q: QualityProfile, rows: TableRows
) -> None:
    asthma = np.flatnonzero(morb.has("asthma"))
    u = rng.random(asthma.size)
    overuse = u < q.saba_overuse  # SABA alone, often: AST-01's numerator
    ics = (u >= q.saba_overuse) & (u < 0.85)
    lo = np.maximum(morb.onset["asthma"][asthma], pop.obs_start[asthma])
    hi = pop.obs_end[asthma]
    refills(rng, pop, Courses(asthma[ics], lo[ics], hi[ics]), ASTHMA_ICS, rows, cv=0.5)
    w, day = regular_events(rng, lo[overuse], hi[overuse], 90.0, cv=0.4)
    SABA.issue(rng, rows, asthma[overuse][w], day)
    w, day = poisson_events(rng, lo[~overuse], hi[~overuse], 0.7)
    SABA.issue(rng, rows, asthma[~overuse][w], day)
    copd = np.flatnonzero(morb.has("copd"))
    lo = np.maximum(morb.onset["copd"][copd], pop.obs_start[copd])
    w, day = poisson_events(rng, lo, pop.obs_end[copd], 1.5)
    SABA.issue(rng, rows, copd[w], day)


def _antidepressants(
    rng: np.random.Generator, pop: Population, morb: Morbidity, rows: TableRows
) -> tuple[np.ndarray, np.ndarray]:
    dep = np.flatnonzero(morb.has("depression") & (rng.random(pop.size) < 0.7))
    dep_start = morb.onset["depression"][dep] + np.floor(
        rng.exponential(0.1 * DAYS_PER_YEAR, dep.size)
    ).astype(np.int64)
    rates = np.where(pop.female, 0.032, 0.016)[:, None] * np.array([0.0, 1.0])
    other, other_start = age_rate_events(rng, pop.obs_start, pop.obs_end, pop.birth, rates, (18,))
    patient = np.concatenate((dep, other))
    start = np.minimum(np.concatenate((dep_start, other_start)), pop.index_day[patient])
    length = 60 + np.floor(rng.exponential(1.2 * DAYS_PER_YEAR, patient.size)).astype(np.int64)
    stop = np.minimum(start + length, pop.index_day[patient])
    return refills(rng, pop, Courses(patient, start, stop), ANTIDEPRESSANT, rows)


def _psychotropics(
    rng: np.random.Generator, pop: Population, morb: Morbidity, q: QualityProfile, rows: TableRows
) -> None:
    adult, old = _adult(pop), _elderly(pop)
    long_benzo = np.where(adult, q.benzo_long_term * np.where(old, 1.8, 0.8), 0.0)
    refills(rng, pop, _long_term(rng, pop, long_benzo, 4.0), BENZO_LONG, rows, cv=0.3)
    idx, day = _adult_events(rng, pop, 0.035, 0.015)
    ANXIOLYTIC_SHORT.issue(rng, rows, idx, day)
    # hypnotics in the elderly: a yearly chance becomes a yearly rate
    hyp_rate = -np.log1p(-q.hypnotics_elderly)
    rates = np.tile(np.array([0.0, 0.01, hyp_rate]), (pop.size, 1))
    idx, day = age_rate_events(rng, pop.obs_start, pop.obs_end, pop.birth, rates, (18, 65))
    HYPNOTIC_SHORT.issue(rng, rows, idx, day)
    psychosis = np.where(adult & ~morb.has("dementia"), 0.012, 0.0)
    refills(rng, pop, _long_term(rng, pop, psychosis, 5.0), ANTIPSYCHOTIC, rows)
    refills(rng, pop, _long_term(rng, pop, np.where(adult, 0.0015, 0.0), 6.0), LITHIUM, rows)


def _analgesics(
    rng: np.random.Generator,
    pop: Population,
    morb: Morbidity,
    clin: Clinical,
    q: QualityProfile,
    rows: TableRows,
) -> None:
    adult, old = _adult(pop), _elderly(pop)
    long_opioid = np.where(adult, q.opioid_long_term * np.where(old, 1.8, 0.8), 0.0)
    opioid = _long_term(rng, pop, long_opioid, 3.0)
    refills(rng, pop, opioid, OPIOID_LONG, rows, cv=0.3)
    _benzo_with_opioid(rng, pop, opioid, q, rows)
    idx, day = _adult_events(rng, pop, 0.06, 0.09)
    OPIOID_SHORT.issue(rng, rows, idx, day)
    # strong opioids in the last weeks of a cancer death
    dying = np.flatnonzero((pop.kind == DIED) & morb.has("cancer") & (rng.random(pop.size) < 0.7))
    death = pop.death[dying]
    start = np.maximum(death - rng.integers(20, 121, dying.size), pop.obs_start[dying])
    refills(rng, pop, Courses(dying, start, death), OPIOID_PALLIATIVE, rows)
    # NSAIDs, less often (by the profile's factor) where they are dangerous
    n = pop.size
    high_risk = np.zeros(n, dtype=bool)
    high_risk[clin.courses["anticoagulant"].patient] = True
    high_risk[clin.courses["antiplatelet"].patient] = True
    high_risk |= (clin.egfr < 60) | morb.has("hf")
    factor = np.where(high_risk, q.nsaid_high_risk, 1.0)
    rates = factor[:, None] * np.array([0.0, 0.10, 0.10])
    idx, day = age_rate_events(rng, pop.obs_start, pop.obs_end, pop.birth, rates, (18, 65))
    NSAID.issue(rng, rows, idx, day)
    idx, day = _adult_events(rng, pop, 0.08, 0.2)
    PARACETAMOL.issue(rng, rows, idx, day)
    idx, day = _adult_events(rng, pop, 0.05, 0.1)
    PPI.issue(rng, rows, idx, day)


def _benzo_with_opioid(
    rng: np.random.Generator, pop: Population, opioid: Courses, q: QualityProfile, rows: TableRows
) -> None:
    """A benzodiazepine or Z-drug course inside some long-term opioid courses (OP-02).

    Courses of one to eight months start at a random point of the opioid
    course's last year and a half, so some overlap it by months and a few by
    only days, or end before the opioid course does.
    """
    pick = np.flatnonzero(rng.random(opioid.patient.size) < q.opioid_benzo)
    patient = opioid.patient[pick]
    hi = np.minimum(opioid.stop[pick], pop.obs_end[patient])
    lo = np.maximum(np.maximum(opioid.start[pick], pop.obs_start[patient]), hi - 540)
    ok = lo <= hi
    patient, lo, hi = patient[ok], lo[ok], hi[ok]
    start = lo + np.floor(rng.random(patient.size) * (hi - lo + 1)).astype(np.int64)
    stop = np.minimum(start + rng.integers(30, 240, patient.size), pop.obs_end[patient])
    refills(rng, pop, Courses(patient, start, stop), BENZO_LONG, rows, cv=0.3)


def _flu_vaccine(
    rng: np.random.Generator, pop: Population, morb: Morbidity, q: QualityProfile, rows: TableRows
) -> None:
    """One dose per season (1 October - 15 December) for those offered it and accepting."""
    copd = morb.has("copd")
    chronic = morb.has("t2d") | morb.has("hf") | morb.has("ihd") | morb.has("asthma")
    first_year = from_day(pop.history_start).year
    last_year = from_day(pop.reference).year
    for year in range(first_year, last_year + 1):
        season_start, season_end = to_day(date(year, 10, 1)), to_day(date(year, 12, 15))
        lo = np.maximum(pop.obs_start, season_start)
        hi = np.minimum(pop.obs_end, season_end)
        age = (season_start - pop.birth) / DAYS_PER_YEAR
        copd_then = copd & (morb.onset["copd"] <= season_start)
        p = np.select(
            [copd_then, age >= 65, chronic & (age >= 18)],
            [q.flu_vaccine, 0.85 * q.flu_vaccine, 0.5 * q.flu_vaccine],
            0.0,
        )
        idx = np.flatnonzero((lo <= hi) & (rng.random(pop.size) < p))
        day = lo[idx] + np.floor(rng.random(idx.size) * (hi - lo + 1)[idx]).astype(np.int64)
        FLU_VACCINE.issue(rng, rows, idx, day)
