"""The layout of a released vector, derived from the manifest's indicator list.

The order matches `client.engine.result.PracticeResult.to_vector`: for each
indicator in manifest order, for each stratum, (numerator, denominator); then
the list size. Every party derives it from the signed manifest, so all
practices in a round produce vectors that line up coordinate by coordinate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privacy.distribution import DistributionSpec, encode_practice
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
class DistributionLayout:
    """Where the practice-rate histograms sit: after the counts, `bins` per indicator."""

    spec: DistributionSpec
    offset: int

    def block(self, vector: np.ndarray) -> np.ndarray:
        return np.asarray(vector)[self.offset : self.offset + self.spec.coordinates]

    def index_of(self, indicator_id: str) -> int:
        return self.offset + self.spec.indicators.index(indicator_id) * self.spec.bins


@dataclass(frozen=True)
class VectorLayout:
    indicators: tuple[IndicatorLayout, ...]
    length: int
    distribution: DistributionLayout | None = None

    @property
    def counts_length(self) -> int:
        """Counts and list size; the agent computes these and derives the histograms from them."""
        return self.distribution.offset if self.distribution else self.length

    @property
    def list_size_index(self) -> int:
        return self.counts_length - 1

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
        counts = offset + 1
        spec = manifest.distribution
        if spec is None:
            return cls(tuple(out), counts)
        return cls(tuple(out), counts + spec.coordinates, DistributionLayout(spec, counts))

    def label(self, index: int) -> tuple[str, str, str]:
        """(indicator id, stratum, field) of a coordinate, for error messages and records."""
        if index == self.list_size_index:
            return ("", "", "list_size")
        d = self.distribution
        if d is not None and d.offset <= index < self.length:
            which, b = divmod(index - d.offset, d.spec.bins)
            return (d.spec.indicators[which], f"bin {b + 1}/{d.spec.bins}", "distribution")
        for ind in self.indicators:
            if ind.offset <= index < ind.offset + 2 * len(ind.strata):
                stratum, field = divmod(index - ind.offset, 2)
                return (ind.indicator_id, ind.strata[stratum], ("numerator", "denominator")[field])
        raise IndexError(index)

    def check(
        self, vector: np.ndarray, what: str = "vector", *, counts: bool = False
    ) -> np.ndarray:
        """`counts`: the practice's own counts, before the histograms are appended."""
        values = np.asarray(vector)
        length = self.counts_length if counts else self.length
        if values.ndim != 1 or values.shape[0] != length:
            raise BoundingError(
                f"{what} has shape {values.shape}; the manifest's layout needs ({length},)"
            )
        if not np.issubdtype(values.dtype, np.integer):
            raise BoundingError(f"{what} must hold integers, not {values.dtype}")
        return values.astype(np.int64)


def append_distribution(counts: np.ndarray, layout: VectorLayout) -> np.ndarray:
    """The practice's bounded counts followed by its histogram block (if the manifest has one).

    The histograms are a function of the bounded totals only, so the
    distribution block's stated sensitivity holds whatever the engine did.
    """
    values = layout.check(counts, "practice vector", counts=True)
    d = layout.distribution
    if d is None:
        return values
    by_id = {ind.indicator_id: ind for ind in layout.indicators}
    totals = []
    for name in d.spec.indicators:
        ind = by_id[name]
        num = sum(int(values[ind.numerator_index(s)]) for s in range(len(ind.strata)))
        den = sum(int(values[ind.denominator_index(s)]) for s in range(len(ind.strata)))
        totals.append((num, den))
    return np.concatenate([values, encode_practice(totals, d.spec)])
