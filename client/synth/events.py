"""Vectorised point processes over per-patient observation windows.

Every activity in a synthetic extract (tests, prescriptions, contacts) is
drawn here, as arrays: a window per patient (or per treatment course) goes
in, a flat list of (window index, day) comes out. No Python loop runs per
patient or per event, which is what makes a 20,000-patient, 10-year practice
take seconds.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from client.synth.days import DAYS_PER_YEAR

_MAX_CELLS = 1_000_000  # bound on the (windows x steps) matrix of a renewal process


def poisson_events(
    rng: np.random.Generator,
    starts: np.ndarray,
    ends: np.ndarray,
    rate_per_year: float | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Events at `rate_per_year` in each inclusive window [start, end].

    Windows with end < start yield nothing. Returns (window index, day).
    """
    span = np.maximum(ends - starts + 1, 0)
    counts = rng.poisson(np.asarray(rate_per_year, dtype=float) * span / DAYS_PER_YEAR)
    idx = np.repeat(np.arange(starts.size), counts)
    day = starts[idx] + np.floor(rng.random(idx.size) * span[idx]).astype(np.int64)
    return idx, day


def regular_events(
    rng: np.random.Generator,
    starts: np.ndarray,
    ends: np.ndarray,
    interval_days: float | np.ndarray,
    cv: float = 0.3,
    first_at_start: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Roughly periodic events (refills, check-ups) in each window [start, end].

    A renewal process with gamma-distributed gaps (mean `interval_days`,
    coefficient of variation `cv`) and a random phase, so a patient on
    three-monthly refills really has about four a year rather than a Poisson
    clump. With `first_at_start` the first event falls on the window's first
    day (a treatment start). Returns (window index, day).
    """
    n = starts.size
    interval = np.broadcast_to(np.asarray(interval_days, dtype=float), (n,))
    span = np.maximum(ends - starts + 1, 0).astype(float)
    live = np.flatnonzero(span > 0)
    if live.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    steps_needed = span[live] / interval[live]
    steps = int(np.ceil(steps_needed.max() * 1.6 + 4 * (1 + cv) + 2))
    shape = 1.0 / (cv * cv)
    chunk = max(1, _MAX_CELLS // steps)
    out_idx: list[np.ndarray] = []
    out_day: list[np.ndarray] = []
    for lo in range(0, live.size, chunk):
        rows = live[lo : lo + chunk]
        gaps = rng.gamma(shape, interval[rows, None] / shape, size=(rows.size, steps))
        gaps[:, 0] = 0.0 if first_at_start else rng.random(rows.size) * interval[rows]
        offsets = np.floor(np.cumsum(gaps, axis=1)).astype(np.int64)
        keep = offsets < span[rows, None]
        r, _ = np.nonzero(keep)
        out_idx.append(rows[r])
        out_day.append(starts[rows[r]] + offsets[keep])
    return np.concatenate(out_idx), np.concatenate(out_day)


def choose(rng: np.random.Generator, weights: Sequence[float], size: int) -> np.ndarray:
    """Indices drawn with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=float)
    return rng.choice(p.size, size=size, p=p / p.sum())


def age_band(age_years: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Band index: 0 below edges[0], 1 from edges[0] up to edges[1], and so on."""
    return np.searchsorted(np.asarray(edges, dtype=float), age_years, side="right")


def age_rate_events(
    rng: np.random.Generator,
    starts: np.ndarray,
    ends: np.ndarray,
    birth: np.ndarray,
    rates: np.ndarray,
    edges: Sequence[float],
) -> tuple[np.ndarray, np.ndarray]:
    """Events whose yearly rate depends on age at the event (rates[i, band]).

    Drawn by thinning: candidates at each window's highest band rate, each kept
    with probability rate(age on its day) / highest rate. Exact for a
    piecewise-constant rate, so a child whose ten-year window spans two bands
    gets each band's rate in the right years.
    """
    top = rates.max(axis=1)
    idx, day = poisson_events(rng, starts, ends, top)
    if idx.size == 0:
        return idx, day
    band = age_band((day - birth[idx]) / 365.2425, edges)
    keep = rng.random(idx.size) * top[idx] < rates[idx, band]
    return idx[keep], day[keep]
