"""Clip a practice's own vector to public bounds before noise is added.

The sensitivity the manifest states holds only if each patient really moves
each indicator by at most its (max numerator, max denominator). The engines
are built to respect that; clipping is the agent's own guard against a buggy
extract or engine, so a garbage value can never leave with more weight than
the accounting assumes. Practices are assumed honest but buggy; clipping is
not a defence against a malicious practice (that needs proofs, e.g. Prio).

Bounds, with L the list size clipped to [0, max_list_size]:
- denominator in [0, max_den · L] (max_den = 1 when it counts patients);
- numerator in [0, ratio · denominator] with ratio = max_num / max_den, i.e.
  0 ≤ num ≤ den ≤ L for patient-level indicators.

Adding one patient moves L by 1, so each bound moves by at most that block's
own per-patient contribution: clipping never raises the sensitivity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privacy.layout import VectorLayout


@dataclass(frozen=True)
class Clip:
    index: int
    indicator_id: str
    stratum: str
    field: str
    before: int
    after: int


@dataclass(frozen=True)
class BoundingReport:
    """What clipping changed; kept locally by the agent, never sent."""

    clips: tuple[Clip, ...]

    @property
    def changed(self) -> bool:
        return bool(self.clips)


def bound_vector(
    vector: np.ndarray, layout: VectorLayout, max_list_size: int
) -> tuple[np.ndarray, BoundingReport]:
    values = layout.check(vector, "practice vector", counts=True)
    out = values.copy()
    clips: list[Clip] = []

    def clip(index: int, low: int, high: int) -> None:
        before = int(out[index])
        after = min(max(before, low), high)
        if after != before:
            ind, stratum, field = layout.label(index)
            clips.append(Clip(index, ind, stratum, field, before, after))
            out[index] = after

    clip(layout.list_size_index, 0, max_list_size)
    list_size = int(out[layout.list_size_index])
    for ind in layout.indicators:
        for s in range(len(ind.strata)):
            d, n = ind.denominator_index(s), ind.numerator_index(s)
            clip(d, 0, ind.max_denominator * list_size)
            clip(n, 0, (int(out[d]) * ind.max_numerator) // ind.max_denominator)
    return out, BoundingReport(tuple(clips))
