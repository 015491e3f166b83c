"""Encounters (OK22 service codes) not already produced by lab follow-up.

Danes have about 7 GP contacts a year, a growing share of them by
e-consultation; contact rates rise with age and are higher in women of
working age. Home visits (0411) concentrate among the oldest and in the
last month of life. COPD patients get spirometry (7113/7121) and annual
reviews (0120) as often as the practice profile says.
"""

from __future__ import annotations

import numpy as np

from client.synth.events import age_rate_events, choose, regular_events
from client.synth.morbidity import ACUTE_EDGES, Morbidity
from client.synth.population import DIED, MOVED, Population
from client.synth.prescribing import Prescribing
from client.synth.quality import QualityProfile
from client.synth.rows import Coded, TableRows

# contacts a year by ACUTE_EDGES band (0-4, 5-14, 15-39, 40-64, 65-79, 80+), beyond
# follow-up visits and coded infections
_RATE_F = np.array([6.5, 3.0, 6.2, 7.2, 8.5, 11.0])
_RATE_M = np.array([6.5, 3.0, 3.5, 5.0, 8.0, 11.0])
_SERVICES = ("0101", "0201", "0105", "0127", "0125", "0411")
# service mix by band: consultation, phone, e-consultation (two codes), video, home visit
_MIX = np.array(
    [
        [0.50, 0.30, 0.12, 0.02, 0.06, 0.000],
        [0.45, 0.30, 0.17, 0.03, 0.05, 0.000],
        [0.36, 0.22, 0.30, 0.06, 0.06, 0.000],
        [0.40, 0.23, 0.29, 0.05, 0.03, 0.002],
        [0.45, 0.25, 0.24, 0.03, 0.02, 0.010],
        [0.44, 0.30, 0.10, 0.01, 0.01, 0.140],
    ]
)
_EPISODE_SERVICES = ("0101", "0201", "0105")


def draw_contacts(
    rng: np.random.Generator,
    pop: Population,
    morb: Morbidity,
    q: QualityProfile,
    rx: Prescribing,
    rows: TableRows,
) -> None:
    _routine(rng, pop, rows)
    _list_boundaries(rng, pop, rows)
    for idx, day in morb.episodes.values():
        rows.add(
            idx,
            date=day,
            service_code=Coded(_EPISODE_SERVICES, choose(rng, (0.55, 0.3, 0.15), idx.size)),
        )
    _end_of_life(rng, pop, morb, q, rows)
    _copd(rng, pop, morb, q, rows)
    _antidepressant_followup(rng, pop, q, rx, rows)


def _routine(rng: np.random.Generator, pop: Population, rows: TableRows) -> None:
    rates = np.where(pop.female[:, None], _RATE_F, _RATE_M)
    idx, day = age_rate_events(rng, pop.obs_start, pop.obs_end, pop.birth, rates, ACUTE_EDGES)
    band = np.searchsorted(np.asarray(ACUTE_EDGES), (day - pop.birth[idx]) / 365.2425, "right")
    which = np.empty(idx.size, dtype=np.int64)
    for b, mix in enumerate(_MIX):
        in_band = np.flatnonzero(band == b)
        which[in_band] = choose(rng, mix, in_band.size)
    rows.add(idx, date=day, service_code=Coded(_SERVICES, which))


def _list_boundaries(rng: np.random.Generator, pop: Population, rows: TableRows) -> None:
    """Contacts exactly on list_start (new-patient consultation) and on list_end.

    Deliberate edge cases: an engine must count these as inside the list period.
    """
    joined = np.flatnonzero((pop.list_start >= pop.history_start) & (rng.random(pop.size) < 0.05))
    rows.add(joined, date=pop.list_start[joined], service_code="0101")
    leaving = np.flatnonzero((pop.kind == MOVED) & (rng.random(pop.size) < 0.03))
    rows.add(leaving, date=pop.list_end[leaving], service_code="0201")


def _end_of_life(
    rng: np.random.Generator, pop: Population, morb: Morbidity, q: QualityProfile, rows: TableRows
) -> None:
    """Home visits in the last 30 days (PAL-01), more often for cancer deaths."""
    died = pop.kind == DIED
    p = np.where(morb.has("cancer"), q.home_visit_end_of_life, 0.5 * q.home_visit_end_of_life)
    dying = np.flatnonzero(died & (rng.random(pop.size) < p))
    visits = 1 + rng.poisson(1.0, dying.size)
    idx = np.repeat(dying, visits)
    # within (death - 30 days, death]; a few fall just outside the window on purpose
    back = rng.integers(0, 30, idx.size)
    early = rng.random(idx.size) < 0.05
    back[early] = rng.integers(30, 45, int(early.sum()))
    day = np.maximum(pop.death[idx] - back, pop.obs_start[idx])
    rows.add(idx, date=day, service_code="0411")


def _copd(
    rng: np.random.Generator, pop: Population, morb: Morbidity, q: QualityProfile, rows: TableRows
) -> None:
    copd = np.flatnonzero(morb.has("copd"))
    onset = morb.onset["copd"][copd]
    lo = np.maximum(onset, pop.obs_start[copd])
    hi = pop.obs_end[copd]
    # diagnostic spirometry: near onset if that is inside the window, else some time later
    has_spiro = rng.random(copd.size) < q.copd_spirometry
    near_onset = np.maximum(onset - rng.integers(0, 60, copd.size), pop.obs_start[copd])
    later = lo + np.floor(rng.random(copd.size) * np.maximum(hi - lo + 1, 0)).astype(np.int64)
    day = np.where(onset >= pop.obs_start[copd], near_onset, later)
    ok = has_spiro & (day <= hi)
    rows.add(
        copd[ok],
        date=day[ok],
        service_code=Coded(("7113", "7121"), (rng.random(int(ok.sum())) < 0.2).astype(int)),
    )
    # yearly reviews, some with spirometry
    w, day = regular_events(rng, lo, hi, 365.2425, cv=0.3)
    keep = rng.random(w.size) < q.copd_annual_review
    w, day = w[keep], day[keep]
    rows.add(copd[w], date=day, service_code="0120")
    spiro = rng.random(w.size) < 0.35
    rows.add(copd[w][spiro], date=day[spiro], service_code="7113")


def _antidepressant_followup(
    rng: np.random.Generator, pop: Population, q: QualityProfile, rx: Prescribing, rows: TableRows
) -> None:
    """A contact 14-42 days after starting an antidepressant (MH-02), or later, or never."""
    idx, start = rx.antidepressant_starts
    u = rng.random(idx.size)
    timely = u < q.antidepressant_followup
    late = (u >= q.antidepressant_followup) & (u < q.antidepressant_followup + 0.3)
    delay = np.where(timely, rng.integers(14, 43, idx.size), rng.integers(50, 120, idx.size))
    day = start + delay
    keep = (timely | late) & (day <= pop.obs_end[idx])
    services = choose(rng, (0.6, 0.25, 0.1, 0.05), int(keep.sum()))
    rows.add(
        idx[keep], date=day[keep], service_code=Coded(("0101", "0201", "0105", "0125"), services)
    )
