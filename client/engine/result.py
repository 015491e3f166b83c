"""What an indicator engine returns: integer counts per indicator and stratum.

Both engines (fast and reference) return exactly this type, so agreement can
be checked with `==`. It is also the only thing that feeds the privacy layer, which
lays its counts out as the cells a round releases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


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

    def counts(self) -> dict[str, tuple[tuple[str, int, int], ...]]:
        """Per indicator, (stratum, numerator, denominator) in stratum order.

        The privacy layer lays these out as a round's cells
        (`privacy.layout.ReleaseLayout.encode`), so this type never decides what
        leaves the practice.
        """
        return {
            ic.indicator_id: tuple((s.stratum, s.numerator, s.denominator) for s in ic.strata)
            for ic in self.indicators
        }
