"""What an indicator engine returns: integer counts per indicator and stratum.

Both engines (fast and reference) return exactly this type, so agreement can
be checked with `==`. It is also the only thing that feeds the privacy layer:
the vector layout below is what gets bounded, noised and masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np


@dataclass(frozen=True)
class StratumCount:
    stratum: str  # e.g. "F:18-39"
    numerator: int
    denominator: int


@dataclass(frozen=True)
class IndicatorCount:
    indicator_id: str
    strata: tuple[StratumCount, ...]  # in the definition's stratum order, all present

    @property
    def numerator(self) -> int:
        return sum(s.numerator for s in self.strata)

    @property
    def denominator(self) -> int:
        return sum(s.denominator for s in self.strata)


@dataclass(frozen=True)
class PracticeResult:
    reference_date: date
    list_size: int  # patients listed on the reference date
    indicators: tuple[IndicatorCount, ...]  # in catalogue (id) order

    def by_id(self) -> dict[str, IndicatorCount]:
        return {ic.indicator_id: ic for ic in self.indicators}

    def to_vector(self, indicator_ids: list[str] | tuple[str, ...]) -> np.ndarray:
        """Flatten to int64: for each id in order, for each stratum, (num, den); then list size.

        The order is fixed by the manifest's indicator list, so every practice
        in a round produces the same layout.
        """
        counts = self.by_id()
        values: list[int] = []
        for indicator_id in indicator_ids:
            for s in counts[indicator_id].strata:
                values.extend((s.numerator, s.denominator))
        values.append(self.list_size)
        return np.asarray(values, dtype=np.int64)
