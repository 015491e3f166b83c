"""Clip a practice's own cells to public bounds before noise is added.

The sensitivity the manifest states holds only if each patient really moves
each indicator by at most its cap. The engines are built to respect that;
clipping is the agent's own guard against a buggy extract or engine, so a
garbage value can never leave with more weight than the accounting assumes.
Practices are assumed honest but buggy; clipping is not a defence against a
malicious practice (that needs proofs, e.g. Prio).

Bounds, with L the list size clipped to [0, max_list_size] and c the cap:
- passed in [0, c·L], failed in [0, c·L − passed] (a proportion's counted
  patients, or capped events, are at most c per listed patient);
- a count indicator's listed in [0, L] and events in [0, c·listed];
- a survey measure's respondents in [0, max_list_size] (a respondent need not
  be listed, so the public bound, not L) and units in [0, max_units·respondents].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privacy.layout import EVENTS, FAILED, LISTED, PASSED, RESPONDENTS, UNITS, ReleaseLayout


@dataclass(frozen=True)
class Clip:
    index: int
    indicator_id: str
    group: str
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
    vector: np.ndarray, layout: ReleaseLayout, max_list_size: int
) -> tuple[np.ndarray, BoundingReport]:
    values = layout.check(vector, "practice vector", counts=True)
    out = values.copy()
    clips: list[Clip] = []

    def clip(index: int, low: int, high: int) -> int:
        before = int(out[index])
        after = min(max(before, low), high)
        if after != before:
            ind, group, field = layout.label(index)
            clips.append(Clip(index, ind, group, field, before, after))
            out[index] = after
        return after

    list_size = clip(layout.list_size_index, 0, max_list_size)
    for block in layout.blocks:
        most = block.entry.max_per_patient * list_size
        for g in range(len(block.groups)):
            if EVENTS in block.fields:
                listed = clip(block.index(g, LISTED), 0, list_size)
                clip(block.index(g, EVENTS), 0, block.entry.max_per_patient * listed)
                continue
            passed = clip(block.index(g, PASSED), 0, most)
            clip(block.index(g, FAILED), 0, most - passed)
    for survey in layout.surveys:
        respondents = clip(survey.index(RESPONDENTS), 0, max_list_size)
        clip(survey.index(UNITS), 0, survey.measure.max_units * respondents)
    return out, BoundingReport(tuple(clips))
