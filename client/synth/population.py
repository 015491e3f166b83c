"""Who is on a synthetic practice's list, and who was: ages, sex, list periods, deaths.

Figures (INDICATORS.md, "Synthetic population"): 0-14 years 15.7 %, 15-64
63.4 %, 65+ 20.9 % of which 80+ 4.6 %; 50.4 % female, more so among the
oldest. Turnover is about 6 % a year moving away and about 1 % a year dying
(Denmark: roughly 57,000 deaths in 5.9 million people), so a 10-year extract
also holds about 0.7 list-sizes of former patients.

The current list is exactly `n_listed` patients listed on the reference date
R, so the practice's list size is known in advance and matches what an
engine computes. Former patients left (list_end <= R) or died (death_date <= R).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property

import numpy as np

from client.synth.days import (
    DAYS_PER_YEAR,
    NO_DATE,
    same_day_years_before,
    to_day,
    years_before,
)

MAX_AGE = 104
MOVE_RATE = 0.06  # per person-year
DEATH_RATE = 0.0098  # per person-year
BIRTHDAY_ON_R_SHARE = 0.004  # deliberate edge cases: birthday exactly on R

CURRENT, MOVED, DIED = 0, 1, 2


@dataclass(frozen=True)
class Population:
    """Per-patient arrays, indexed alike and sorted by pseudonym."""

    patient_id: np.ndarray  # str pseudonyms, unique, sorted
    female: np.ndarray  # bool
    birth: np.ndarray  # day numbers
    list_start: np.ndarray
    list_end: np.ndarray  # NO_DATE while listed
    death: np.ndarray  # NO_DATE if alive
    kind: np.ndarray  # CURRENT, MOVED or DIED
    reference: int  # day number of R
    history_start: int  # first day of recorded activity

    @property
    def size(self) -> int:
        return int(self.patient_id.size)

    @cached_property
    def obs_start(self) -> np.ndarray:
        """First day this patient's activity can appear in the extract."""
        return np.maximum(self.list_start, self.history_start)

    @cached_property
    def obs_end(self) -> np.ndarray:
        """Last day: R while listed, the list end for movers, the death date for the dead."""
        end = np.full(self.size, self.reference, dtype=np.int64)
        moved = self.kind == MOVED
        end[moved] = self.list_end[moved]
        died = self.kind == DIED
        end[died] = self.death[died]
        return end

    @cached_property
    def index_day(self) -> np.ndarray:
        """The day at which a patient's morbidity is defined (R or when they left)."""
        return self.obs_end


def _band_weights(bands: list[tuple[int, int, float]]) -> np.ndarray:
    w = np.zeros(MAX_AGE + 1)
    for lo, hi, share in bands:
        w[lo : hi + 1] = share / (hi - lo + 1)
    return w


def current_age_weights() -> np.ndarray:
    """Single-year age distribution of a Danish practice list."""
    w = _band_weights(
        [(0, 4, 0.053), (5, 14, 0.104), (15, 24, 0.123), (25, 44, 0.248), (45, 64, 0.263)]
    )
    w[65:80] = 0.163 / 15
    old = 0.86 ** np.arange(MAX_AGE - 80 + 1)  # steadily fewer each year past 80
    w[80:] = 0.046 * old / old.sum()
    return w / w.sum()


def _female_share(age: np.ndarray) -> np.ndarray:
    return np.select([age >= 80, age >= 65], [0.61, 0.52], 0.4945)


def _mover_age_weights() -> np.ndarray:
    mobility = np.ones(MAX_AGE + 1)
    mobility[0:5], mobility[5:15], mobility[20:35] = 1.2, 0.8, 2.8
    mobility[50:65], mobility[65:80], mobility[80:] = 0.6, 0.5, 0.9
    w = current_age_weights() * mobility
    return w / w.sum()


def _death_age_weights() -> np.ndarray:
    ages = np.arange(MAX_AGE + 1)
    w = _band_weights([(0, 0, 0.003), (1, 14, 0.002), (15, 39, 0.012), (40, 64, 0.12)])
    w[65:80] = 0.31 / 15
    bump = np.exp(-0.5 * ((ages[80:] - 87) / 6.0) ** 2)
    w[80:] = 0.553 * bump / bump.sum()
    return w / w.sum()


def _pseudonyms(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unique 10-hex-digit ids, shaped like a truncated keyed hash of a CPR number."""
    values = rng.integers(0, 16**10, size=n, dtype=np.int64)
    while True:
        uniq, first = np.unique(values, return_index=True)
        if uniq.size == n:
            break
        dup = np.setdiff1d(np.arange(n), first)
        values[dup] = rng.integers(0, 16**10, size=dup.size, dtype=np.int64)
    return np.array([f"{v:010x}" for v in values.tolist()])


def _birth_from_age(
    rng: np.random.Generator, ages: np.ndarray, on_day: np.ndarray | int
) -> np.ndarray:
    """A birth day giving roughly `ages` completed years on `on_day`."""
    years = ages + rng.random(ages.size)
    return (np.asarray(on_day) - np.floor(years * DAYS_PER_YEAR)).astype(np.int64)


def draw_population(
    rng: np.random.Generator, n_listed: int, reference: date, years_history: int
) -> Population:
    ref = to_day(reference)
    hist = to_day(years_before(reference, years_history))
    span = ref - hist

    # --- currently listed -------------------------------------------------
    ages = rng.choice(MAX_AGE + 1, size=n_listed, p=current_age_weights())
    birth = _birth_from_age(rng, ages, ref)
    birth = np.minimum(birth, ref)
    on_r = rng.random(n_listed) < BIRTHDAY_ON_R_SHARE
    birth[on_r] = same_day_years_before(reference, ages[on_r])
    female = rng.random(n_listed) < _female_share(ages)
    tenure = np.floor(rng.exponential(11.0 * DAYS_PER_YEAR, n_listed)).astype(np.int64)
    list_start = np.maximum(birth, ref - tenure)
    joined_today = rng.random(n_listed) < 0.0005  # edge case: list_start == R
    list_start[joined_today] = ref
    cur = (
        female,
        birth,
        list_start,
        np.full(n_listed, NO_DATE),
        np.full(n_listed, NO_DATE),
        np.full(n_listed, CURRENT),
    )

    # --- moved away during the history -----------------------------------
    n_moved = int(rng.poisson(n_listed * MOVE_RATE * years_history))
    end = hist + 1 + np.floor(rng.random(n_moved) * span).astype(np.int64)
    if n_moved:
        end[0] = ref  # edge case: list ends exactly on R, so not listed on R
    m_ages = rng.choice(MAX_AGE + 1, size=n_moved, p=_mover_age_weights())
    m_birth = np.minimum(_birth_from_age(rng, m_ages, end), end)
    m_female = rng.random(n_moved) < _female_share(m_ages)
    m_tenure = np.floor(rng.exponential(6.0 * DAYS_PER_YEAR, n_moved)).astype(np.int64) + 1
    m_start = np.minimum(np.maximum(m_birth, end - m_tenure), end)
    moved = (m_female, m_birth, m_start, end, np.full(n_moved, NO_DATE), np.full(n_moved, MOVED))

    # --- died during the history -------------------------------------------
    n_died = int(rng.poisson(n_listed * DEATH_RATE * years_history))
    death = hist + 1 + np.floor(rng.random(n_died) * span).astype(np.int64)
    if n_died:
        death[0] = ref  # edge case: dies on R, so not listed on R
    d_ages = rng.choice(MAX_AGE + 1, size=n_died, p=_death_age_weights())
    d_birth = np.minimum(_birth_from_age(rng, d_ages, death), death)
    d_female = rng.random(n_died) < _female_share(d_ages)
    d_tenure = np.floor(rng.exponential(15.0 * DAYS_PER_YEAR, n_died)).astype(np.int64) + 1
    d_start = np.minimum(np.maximum(d_birth, death - d_tenure), death)
    # Deregistration usually follows the death register the same day; some
    # extracts lag a few days, and a few never record the list end at all.
    lag = np.where(rng.random(n_died) < 0.07, rng.integers(1, 21, n_died), 0)
    d_end = np.where(death + lag <= ref, death + lag, death)
    d_end[rng.random(n_died) < 0.05] = NO_DATE
    died = (d_female, d_birth, d_start, d_end, death, np.full(n_died, DIED))

    cols = [np.concatenate(parts) for parts in zip(cur, moved, died, strict=True)]
    ids = _pseudonyms(rng, n_listed + n_moved + n_died)
    order = np.argsort(ids, kind="stable")
    female, birth, list_start, list_end, death_day, kind = (c[order] for c in cols)
    return Population(
        patient_id=ids[order],
        female=female.astype(bool),
        birth=birth.astype(np.int64),
        list_start=list_start.astype(np.int64),
        list_end=list_end.astype(np.int64),
        death=death_day.astype(np.int64),
        kind=kind.astype(np.int8),
        reference=ref,
        history_start=hist,
    )
