"""The layout of a released vector, derived from the manifest's indicator list.

The order matches `client.engine.result.PracticeResult.to_vector`: for each
indicator in manifest order, for each stratum, (numerator, denominator); then
the list size. Every party derives it from the signed manifest, so all
practices in a round produce vectors that line up coordinate by coordinate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privacy.errors import BoundingError
from privacy.manifest import Manifest


@dataclass(frozen=True)
class IndicatorLayout:
    indicator_id: str
    unit: str
    max_numerator: int
    max_denominator: int
    strata: tuple[str, ...]
    offset: int  # index of the first stratum's numerator

    def numerator_index(self, stratum: int) -> int:
        return self.offset + 2 * stratum

    def denominator_index(self, stratum: int) -> int:
        return self.offset + 2 * stratum + 1

    @property
    def ratio_bound(self) -> float:
        """numerator ≤ ratio_bound × denominator for true counts.

        1 for patient-level and for event indicators whose numerator events are
        a subset of the denominator's; the per-patient cap when the denominator
        counts patients and the numerator counts their (capped) events.
        """
        return self.max_numerator / self.max_denominator if self.max_numerator else 0.0


@dataclass(frozen=True)
class VectorLayout:
    indicators: tuple[IndicatorLayout, ...]
    length: int

    @property
    def list_size_index(self) -> int:
        return self.length - 1

    @classmethod
    def from_manifest(cls, manifest: Manifest) -> VectorLayout:
        out = []
        offset = 0
        for entry in manifest.indicators:
            out.append(
                IndicatorLayout(
                    entry.id,
                    entry.unit,
                    entry.max_numerator,
                    entry.max_denominator,
                    entry.strata,
                    offset,
                )
            )
            offset += 2 * len(entry.strata)
        return cls(tuple(out), offset + 1)

    def label(self, index: int) -> tuple[str, str, str]:
        """(indicator id, stratum, field) of a coordinate, for error messages and records."""
        if index == self.list_size_index:
            return ("", "", "list_size")
        for ind in self.indicators:
            if ind.offset <= index < ind.offset + 2 * len(ind.strata):
                stratum, field = divmod(index - ind.offset, 2)
                return (ind.indicator_id, ind.strata[stratum], ("numerator", "denominator")[field])
        raise IndexError(index)

    def check(self, vector: np.ndarray, what: str = "vector") -> np.ndarray:
        values = np.asarray(vector)
        if values.ndim != 1 or values.shape[0] != self.length:
            raise BoundingError(
                f"{what} has shape {values.shape}; the manifest's layout needs ({self.length},)"
            )
        if not np.issubdtype(values.dtype, np.integer):
            raise BoundingError(f"{what} must hold integers, not {values.dtype}")
        return values.astype(np.int64)
