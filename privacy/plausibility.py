"""Coordinator-side plausibility checks on an unmasked noisy sum.

The coordinator cannot see any practice's values, so it cannot clip them;
it can only notice a sum that no honest set of clipped vectors plus noise
could produce (a buggy agent, a wrong layout, a masking error). A value is
flagged when it lies more than `sigmas` noise standard deviations outside its
feasible range; at 6σ an honest round is flagged with probability below
about 1e-9 per coordinate, so a flag means garbage, not bad luck.

Feasible ranges for a sum over `contributors` practices, with L the summed
list size (bounded by contributors × max_list_size and by the noisy list
size + 6σ) and c an indicator's cap:
- list size in [0, contributors × max_list_size];
- every cell ≥ 0;
- a proportion's passed + failed in [0, c × L], and per indicator the sum
  over its groups too (each patient is in one stratum);
- a count's listed in [0, L] and its events in [0, c × listed];
- a survey measure's respondents in [0, contributors × max_list_size] (a
  respondent need not be listed) and its units in [0, max_units × respondents].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privacy.errors import BoundingError
from privacy.layout import EVENTS, LISTED, RESPONDENTS, UNITS, ReleaseLayout


@dataclass(frozen=True)
class Flag:
    index: int  # -1 for a check over a whole indicator
    indicator_id: str
    stratum: str
    field: str
    value: float
    low: float
    high: float
    reason: str


def check_plausibility(
    noisy_sum: np.ndarray,
    layout: ReleaseLayout,
    *,
    contributors: int,
    noise_sd: np.ndarray | float,
    max_list_size: int,
    sigmas: float = 6.0,
) -> tuple[Flag, ...]:
    """Every coordinate or indicator total that falls outside its feasible range by > sigmas·σ."""
    values = layout.check(noisy_sum, "noisy sum").astype(np.float64)
    sd = np.broadcast_to(np.asarray(noise_sd, dtype=np.float64), values.shape)
    if np.any(sd < 0) or not np.all(np.isfinite(sd)):
        raise BoundingError("noise standard deviations must be finite and ≥ 0")
    if contributors < 1:
        raise BoundingError(f"contributors must be ≥ 1, got {contributors}")
    flags: list[Flag] = []

    def flag(index: int, low: float, high: float, reason: str, value: float, slack: float) -> None:
        if value < low - sigmas * slack or value > high + sigmas * slack:
            ind, stratum, field = layout.label(index) if index >= 0 else ("", "", "")
            flags.append(Flag(index, ind, stratum, field, value, low, high, reason))

    li = layout.list_size_index
    list_max = float(contributors * max_list_size)
    flag(li, 0.0, list_max, "list_size_out_of_range", values[li], sd[li])
    list_hi = min(list_max, max(values[li], 0.0) + sigmas * sd[li])
    for block in layout.blocks:
        cap = block.entry.max_per_patient
        dens: list[tuple[float, float]] = []  # (value, variance) of each group's denominator
        for g in range(len(block.groups)):
            cells = [block.index(g, f) for f in block.fields]
            for i in cells:
                flag(i, 0.0, np.inf, "cell_negative", values[i], sd[i])
            if EVENTS in block.fields:
                e, n = block.index(g, EVENTS), block.index(g, LISTED)
                flag(n, 0.0, list_hi, "listed_out_of_range", values[n], sd[n])
                excess = values[e] - cap * values[n]
                slack = float(np.hypot(sd[e], cap * sd[n]))
                if excess > sigmas * slack:
                    label = layout.label(e)
                    flags.append(
                        Flag(e, *label, values[e], 0.0, cap * values[n], "events_exceed_cap")
                    )
                dens.append((values[n], sd[n] ** 2))
            else:
                dens.append((float(values[cells].sum()), float(np.sum(sd[cells] ** 2))))
        limit = cap * list_hi if EVENTS not in block.fields else list_hi
        total = sum(v for v, _ in dens)
        total_sd = float(np.sqrt(sum(var for _, var in dens)))
        if total > limit + sigmas * total_sd:
            flags.append(
                Flag(
                    -1,
                    block.indicator_id,
                    "",
                    "denominator",
                    total,
                    0.0,
                    limit,
                    "denominator_exceeds_list_size",
                )
            )
    for survey in layout.surveys:
        u, r = survey.index(UNITS), survey.index(RESPONDENTS)
        flag(r, 0.0, list_max, "respondents_out_of_range", values[r], sd[r])
        most = survey.measure.max_units * max(values[r], 0.0)
        slack = float(np.hypot(sd[u], survey.measure.max_units * sd[r]))
        flag(u, 0.0, most, "units_exceed_bound", values[u], slack)
    flags.extend(_distribution_flags(values, sd, layout, contributors, sigmas))
    return tuple(flags)


def _distribution_flags(
    values: np.ndarray, sd: np.ndarray, layout: ReleaseLayout, contributors: int, sigmas: float
) -> list[Flag]:
    """Each practice adds at most `scale` units to one indicator's bins, all of them ≥ 0."""
    d = layout.distribution
    if d is None:
        return []
    flags = []
    cap = float(d.spec.scale * contributors)
    for name in d.spec.indicators:
        start = d.index_of(name)
        idx = np.arange(start, start + d.spec.bins)
        for i in idx:
            if values[i] < -sigmas * sd[i] or values[i] > cap + sigmas * sd[i]:
                label = layout.label(int(i))
                flags.append(
                    Flag(int(i), *label, values[i], 0.0, cap, "distribution_bin_out_of_range")
                )
        total = float(values[idx].sum())
        if total > cap + sigmas * float(np.sqrt(np.sum(sd[idx] ** 2))):
            reason = "distribution_exceeds_practices"
            flags.append(Flag(-1, name, "", "distribution", total, 0.0, cap, reason))
    return flags
