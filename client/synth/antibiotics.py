"""Antibiotic prescriptions, calibrated to each practice's rate and drug mix.

Some antibiotics follow a coded episode (cystitis, URTI, strep throat,
otitis ...) with a clinically typical choice; most Danish GP antibiotic
prescriptions carry no diagnosis code. The uncoded remainder is drawn so
that, in expectation, the practice hits its profile: total J01 rate per
person-year (national: 330-380 per 1,000, goal <= 350), penicillin V share
(about 30 %) and broad-spectrum share (J01MA, J01CR, J01DB-DE).
"""

from __future__ import annotations

import numpy as np

from client.synth.days import DAYS_PER_YEAR
from client.synth.drugs import (
    BROAD_SPECTRUM,
    OTHER_ANTIBIOTIC,
    PENICILLIN_V,
    UTI_FIRST_LINE,
    Menu,
)
from client.synth.events import age_band, age_rate_events
from client.synth.morbidity import ACUTE_EDGES, Morbidity
from client.synth.population import Population
from client.synth.quality import QualityProfile
from client.synth.rows import TableRows

SKIN = Menu((("J01CF01", 0.8, (7, 10)), ("J01FA01", 0.2, (7, 10))))

# episode -> (chance of an antibiotic, share penicillin V, share broad-spectrum, other menu)
EPISODE_TREATMENT: dict[str, tuple[float, float, float, Menu]] = {
    "urti": (0.0, 0.60, 0.05, OTHER_ANTIBIOTIC),  # chance comes from the profile
    "strep_throat": (0.90, 0.85, 0.03, OTHER_ANTIBIOTIC),
    "sinusitis": (0.60, 0.65, 0.10, OTHER_ANTIBIOTIC),
    "bronchitis": (0.35, 0.40, 0.05, OTHER_ANTIBIOTIC),
    "pneumonia": (0.95, 0.55, 0.15, OTHER_ANTIBIOTIC),
    "otitis": (0.70, 0.80, 0.05, OTHER_ANTIBIOTIC),
    "skin_infection": (0.70, 0.0, 0.10, SKIN),
}

# relative antibiotic use by ACUTE_EDGES band (0-4, 5-14, 15-39, 40-64, 65-79, 80+)
_FACTOR_F = np.array([1.5, 0.8, 1.15, 0.95, 1.2, 1.5])
_FACTOR_M = np.array([1.5, 0.8, 0.65, 0.75, 1.1, 1.45])


def draw_antibiotics(
    rng: np.random.Generator,
    pop: Population,
    morb: Morbidity,
    q: QualityProfile,
    rows: TableRows,
) -> None:
    coded = _Counter()
    # cystitis: first-line choice is the quality lever (AB-04)
    idx, day = morb.episodes["cystitis"]
    treat = rng.random(idx.size) < 0.85
    idx, day = idx[treat], _rx_day(rng, pop, idx[treat], day[treat])
    first = rng.random(idx.size) < q.uti_first_line
    UTI_FIRST_LINE.issue(rng, rows, idx[first], day[first])
    BROAD_SPECTRUM.issue(rng, rows, idx[~first], day[~first])
    coded.add(total=idx.size, broad=int((~first).sum()))

    for key, (p, pv, broad, other) in EPISODE_TREATMENT.items():
        idx, day = morb.episodes[key]
        chance = q.urti_antibiotic if key == "urti" else p
        treat = rng.random(idx.size) < chance
        idx, day = idx[treat], _rx_day(rng, pop, idx[treat], day[treat])
        kind = rng.choice(3, size=idx.size, p=[pv, broad, 1 - pv - broad])
        PENICILLIN_V.issue(rng, rows, idx[kind == 0], day[kind == 0])
        BROAD_SPECTRUM.issue(rng, rows, idx[kind == 1], day[kind == 1])
        other.issue(rng, rows, idx[kind == 2], day[kind == 2])
        coded.add(total=idx.size, pv=int((kind == 0).sum()), broad=int((kind == 1).sum()))

    # the uncoded remainder, sized and mixed to hit the profile in expectation: the
    # age/sex factors shape who gets it, normalised over this practice's person-time
    factors = np.where(pop.female[:, None], _FACTOR_F, _FACTOR_M)
    mid_age = ((pop.obs_start + pop.obs_end) / 2 - pop.birth) / DAYS_PER_YEAR
    years = np.maximum(pop.obs_end - pop.obs_start + 1, 0) / DAYS_PER_YEAR
    band = age_band(mid_age, ACUTE_EDGES)
    weighted_years = float((factors[np.arange(pop.size), band] * years).sum())
    target = q.antibiotic_rate * float(years.sum())
    remainder = max(target - coded.total, 0.15 * target, 1e-9)
    scale = remainder / weighted_years if weighted_years > 0 else 0.0
    idx, day = age_rate_events(
        rng, pop.obs_start, pop.obs_end, pop.birth, factors * scale, ACUTE_EDGES
    )
    pv_share = np.clip((q.penicillin_v_share * target - coded.pv) / remainder, 0.02, 0.9)
    broad_share = np.clip((q.broad_spectrum_share * target - coded.broad) / remainder, 0.0, 0.6)
    broad_share = min(broad_share, 0.98 - pv_share)
    kind = rng.choice(3, size=idx.size, p=[pv_share, broad_share, 1 - pv_share - broad_share])
    PENICILLIN_V.issue(rng, rows, idx[kind == 0], day[kind == 0])
    BROAD_SPECTRUM.issue(rng, rows, idx[kind == 1], day[kind == 1])
    OTHER_ANTIBIOTIC.issue(rng, rows, idx[kind == 2], day[kind == 2])


class _Counter:
    def __init__(self) -> None:
        self.total = self.pv = self.broad = 0

    def add(self, total: int, pv: int = 0, broad: int = 0) -> None:
        self.total += total
        self.pv += pv
        self.broad += broad


def _rx_day(
    rng: np.random.Generator, pop: Population, idx: np.ndarray, day: np.ndarray
) -> np.ndarray:
    """Mostly the same day; sometimes a day or two later (a phone follow-up)."""
    later = np.where(rng.random(idx.size) < 0.15, rng.integers(1, 3, idx.size), 0)
    return np.minimum(day + later, pop.obs_end[idx])
