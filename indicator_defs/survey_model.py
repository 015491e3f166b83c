"""The survey model: what a patient-experience survey asks and which measures it reports.

A survey is declared like an indicator (TOML under `indicator_defs/surveys/`)
and pinned by a content hash, so a manifest can name exactly the version a
practice computed. Semantics, per measure and respondent (one response per
respondent per period is the contribution bound):
- a respondent counts in a measure's denominator when they answered at least
  one of its items on the scale (a missing answer is "not applicable");
- the respondent's value is the mean over those answered items of
  1 if the answer is in the top box, else 0 (`top_box`), or of the answer
  clipped to the declared bounds (`mean`); so each value lies in a known
  interval and one respondent moves a sum by at most its width;
- the measure is the sum of values over the count of respondents.
Free-text items have no scale and no measure: their text stays in the practice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum


class MeasureKind(Enum):
    TOP_BOX = "top_box"  # share of answers in the top box, per respondent in [0, 1]
    MEAN = "mean"  # mean answer, per respondent clipped to [low, high]


class ItemKind(Enum):
    SCALE = "scale"
    FREE_TEXT = "free_text"  # shown to the practice only; never counted, never sent


@dataclass(frozen=True)
class Scale:
    """Whole answers `low`..`high`; `top_box` is the lowest answer in the top box."""

    id: str
    low: int
    high: int
    top_box: int
    labels: dict[str, tuple[str, ...]]  # per language, one label per answer low..high

    def holds(self, answer: int) -> bool:
        return self.low <= answer <= self.high


@dataclass(frozen=True)
class Item:
    id: str
    domain: str
    kind: ItemKind
    scale: Scale | None  # None for free text
    text: dict[str, str]


@dataclass(frozen=True)
class Measure:
    id: str
    kind: MeasureKind
    items: tuple[str, ...]
    low: float  # the bounds of one respondent's value: the sensitivity of the sum is high - low
    high: float
    title: dict[str, str]
    description: dict[str, str]
    direction: str = "higher"  # higher values are better, as for every item we ship

    @property
    def resolution(self) -> int:
        """Units per point of a respondent's value: lcm(1..number of items), so every mean
        over the items a respondent answered is a whole number of units."""
        return math.lcm(*range(1, len(self.items) + 1))


@dataclass(frozen=True)
class Survey:
    id: str
    version: int
    title: dict[str, str]
    description: dict[str, str]
    source: str
    scales: dict[str, Scale]
    items: dict[str, Item]  # in the order asked
    measures: dict[str, Measure]  # in the order reported
    content_hash: str
    source_file: str

    def scale_items(self) -> tuple[Item, ...]:
        return tuple(i for i in self.items.values() if i.kind is ItemKind.SCALE)
