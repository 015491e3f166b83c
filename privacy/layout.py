"""What one round releases, coordinate by coordinate, derived from the signed manifest.

Every party derives the layout from the manifest, so all practices of a round
produce vectors that line up. A round has a scope:

- a *cluster* round releases one group per indicator, its total;
- a *region-wide* round releases one group per age/sex stratum of every
  indicator, then the practice-rate histograms.

Within a group a PASS_FAIL indicator has two cells, (passed, failed): a
patient counted by it lands in exactly one of them, in exactly one group, so
one patient moves the block by at most its cap in one cell (Δ₁ = cap,
Δ₂² = cap²). The (numerator, denominator) of the first layout put a passing
patient into two cells and cost twice that. A COUNT indicator (events per
listed patient) has (events, listed): one patient adds at most its cap to
the first and 1 to the second (Δ₁ = cap + 1, Δ₂² = cap² + 1). After the indicators
come the survey measures, one group each in either scope (answers carry no age or
sex): (units, respondents), a respondent adding at most the measure's `max_units`
to the first and 1 to the second. Then the list size, then (region-wide rounds
only) the histograms.

The survey's blocks are in the same vector as the indicators', and the
round's sensitivity is the sum of all blocks: a respondent is counted as if
they were also a listed patient (the worst case), so no link between answers
and patients is needed for the bound, and the round is one release, one
charge and one ledger entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from privacy.distribution import DistributionSpec, distribution_contribution, encode_practice
from privacy.errors import BoundingError
from privacy.manifest import (
    PASS_FAIL,
    IndicatorEntry,
    Manifest,
    SurveyEntry,
    SurveyMeasureEntry,
)
from privacy.sensitivity import (
    Contribution,
    cells_contribution,
    list_size_contribution,
    survey_contributions,
)

TOTAL = "total"
PASSED, FAILED, EVENTS, LISTED = "passed", "failed", "events", "listed"
UNITS, RESPONDENTS = "units", "respondents"

# One indicator's counts as the engine reports them: (stratum, numerator, denominator) each.
Counts = Mapping[str, Sequence[tuple[str, int, int]]]
# One survey measure's counts as `client.engine.survey` reports them: (units, respondents).
SurveyCounts = Mapping[str, tuple[int, int]]


class RoundScope(StrEnum):
    CLUSTER = "cluster"
    REGION = "region"


@dataclass(frozen=True)
class IndicatorBlock:
    """One indicator's cells: `fields` for each of its `groups`, group by group."""

    entry: IndicatorEntry
    groups: tuple[str, ...]  # (TOTAL,) in a cluster round, the strata in a region-wide round
    offset: int

    @property
    def indicator_id(self) -> str:
        return self.entry.id

    @property
    def fields(self) -> tuple[str, ...]:
        return (PASSED, FAILED) if self.entry.cells == PASS_FAIL else (EVENTS, LISTED)

    @property
    def width(self) -> int:
        return len(self.groups) * len(self.fields)

    def index(self, group: int, field: str) -> int:
        return self.offset + group * len(self.fields) + self.fields.index(field)

    def contribution(self) -> Contribution:
        return cells_contribution(
            self.entry.id,
            self.entry.max_per_patient,
            self.width,
            self.entry.noise_weight,
            listed=self.entry.cells != PASS_FAIL,
        )

    def cells(self, numerator: int, denominator: int) -> tuple[int, int]:
        """A group's cells from the engine's (numerator, denominator)."""
        if self.entry.cells == PASS_FAIL:
            return (numerator, denominator - numerator)
        return (numerator, denominator)

    def group_counts(self, vector: np.ndarray, group: int) -> tuple[int, int]:
        """(numerator, denominator) of one group, back from its cells."""
        first, second = (int(vector[self.index(group, f)]) for f in self.fields)
        return (first, first + second) if self.entry.cells == PASS_FAIL else (first, second)


@dataclass(frozen=True)
class SurveyBlock:
    """One survey measure's two cells, (units, respondents): one group in either scope."""

    survey: SurveyEntry
    measure: SurveyMeasureEntry
    offset: int
    fields: tuple[str, ...] = (UNITS, RESPONDENTS)
    groups: tuple[str, ...] = (TOTAL,)

    @property
    def measure_id(self) -> str:
        return self.measure.id

    @property
    def width(self) -> int:
        return len(self.fields)

    def index(self, field: str) -> int:
        return self.offset + self.fields.index(field)

    def contributions(self) -> tuple[Contribution, Contribution]:
        return survey_contributions(
            self.measure.id, self.measure.max_units, self.survey.noise_weight
        )

    def counts(self, vector: np.ndarray) -> tuple[int, int]:
        """(units, respondents), back from the vector."""
        return int(vector[self.index(UNITS)]), int(vector[self.index(RESPONDENTS)])


@dataclass(frozen=True)
class DistributionLayout:
    """Where the practice-rate histograms sit: after the list size, `bins` per indicator."""

    spec: DistributionSpec
    offset: int

    def block(self, vector: np.ndarray) -> np.ndarray:
        return np.asarray(vector)[self.offset : self.offset + self.spec.coordinates]

    def index_of(self, indicator_id: str) -> int:
        return self.offset + self.spec.indicators.index(indicator_id) * self.spec.bins


@dataclass(frozen=True)
class ReleaseLayout:
    scope: RoundScope
    blocks: tuple[IndicatorBlock, ...]
    list_size_index: int
    length: int
    distribution: DistributionLayout | None = None
    list_size_noise_weight: int = 1
    surveys: tuple[SurveyBlock, ...] = ()

    @property
    def counts_length(self) -> int:
        """The cells and the list size: what the agent computes before the histograms."""
        return self.list_size_index + 1

    @classmethod
    def for_round(cls, manifest: Manifest, scope: RoundScope) -> ReleaseLayout:
        blocks = []
        offset = 0
        for entry in manifest.indicators:
            groups = (TOTAL,) if scope is RoundScope.CLUSTER else entry.strata
            block = IndicatorBlock(entry, groups, offset)
            blocks.append(block)
            offset += block.width
        surveys = []
        for survey, measure in manifest.survey_measures():
            survey_block = SurveyBlock(survey, measure, offset)
            surveys.append(survey_block)
            offset += survey_block.width
        list_size_index = offset
        counts = offset + 1
        spec = manifest.distribution if scope is RoundScope.REGION else None
        weight = manifest.bounding.list_size_noise_weight
        if spec is None:
            return cls(scope, tuple(blocks), list_size_index, counts, None, weight, tuple(surveys))
        return cls(
            scope,
            tuple(blocks),
            list_size_index,
            counts + spec.coordinates,
            DistributionLayout(spec, counts),
            weight,
            tuple(surveys),
        )

    def block(self, indicator_id: str) -> IndicatorBlock:
        for b in self.blocks:
            if b.indicator_id == indicator_id:
                return b
        raise KeyError(indicator_id)

    def survey_block(self, measure_id: str) -> SurveyBlock:
        for b in self.surveys:
            if b.measure_id == measure_id:
                return b
        raise KeyError(measure_id)

    def contributions(self) -> tuple[Contribution, ...]:
        """The sensitivity blocks of this layout, in vector order."""
        out = [b.contribution() for b in self.blocks]
        for survey in self.surveys:
            out.extend(survey.contributions())
        out.append(list_size_contribution(self.list_size_noise_weight))
        d = self.distribution
        if d is not None:
            caps = [self.block(name).entry.max_per_patient for name in d.spec.indicators]
            out.append(distribution_contribution(d.spec, caps))
        return tuple(out)

    def label(self, index: int) -> tuple[str, str, str]:
        """(indicator id, group, field) of a coordinate, for error messages and records."""
        if index == self.list_size_index:
            return ("", "", "list_size")
        d = self.distribution
        if d is not None and d.offset <= index < self.length:
            which, b = divmod(index - d.offset, d.spec.bins)
            return (d.spec.indicators[which], f"bin {b + 1}/{d.spec.bins}", "distribution")
        for block in self.blocks:
            if block.offset <= index < block.offset + block.width:
                group, field = divmod(index - block.offset, len(block.fields))
                return (block.indicator_id, block.groups[group], block.fields[field])
        for survey in self.surveys:
            if survey.offset <= index < survey.offset + survey.width:
                return (survey.measure_id, TOTAL, survey.fields[index - survey.offset])
        raise IndexError(index)

    def encode(
        self, counts: Counts, list_size: int, surveys: SurveyCounts | None = None
    ) -> np.ndarray:
        """The cells and list size of one practice, from its engine counts (never sent as such).

        `surveys`: (units, respondents) per survey measure; a measure it lacks (a
        practice without answers) gets zeros, so such a practice still takes part.
        """
        values: list[int] = []
        for block in self.blocks:
            rows = counts.get(block.indicator_id)
            if rows is None:
                raise BoundingError(f"the engine gave no counts for {block.indicator_id}")
            if self.scope is RoundScope.CLUSTER:
                values.extend(block.cells(sum(r[1] for r in rows), sum(r[2] for r in rows)))
                continue
            by_stratum = {r[0]: r for r in rows}
            for group in block.groups:
                row = by_stratum.get(group)
                if row is None:
                    raise BoundingError(
                        f"the engine gave no counts for {block.indicator_id} stratum {group}"
                    )
                values.extend(block.cells(row[1], row[2]))
        for survey in self.surveys:
            values.extend((surveys or {}).get(survey.measure_id, (0, 0)))
        values.append(list_size)
        return np.asarray(values, dtype=np.int64)

    def check(
        self, vector: np.ndarray, what: str = "vector", *, counts: bool = False
    ) -> np.ndarray:
        """`counts`: the practice's own cells, before the histograms are appended."""
        values = np.asarray(vector)
        length = self.counts_length if counts else self.length
        if values.ndim != 1 or values.shape[0] != length:
            raise BoundingError(
                f"{what} has shape {values.shape}; the manifest's layout needs ({length},)"
            )
        if not np.issubdtype(values.dtype, np.integer):
            raise BoundingError(f"{what} must hold integers, not {values.dtype}")
        return values.astype(np.int64)

    def totals(self, vector: np.ndarray, indicator_id: str) -> tuple[int, int]:
        """(numerator, denominator) of one indicator summed over its groups."""
        block = self.block(indicator_id)
        pairs = [block.group_counts(vector, g) for g in range(len(block.groups))]
        return sum(p[0] for p in pairs), sum(p[1] for p in pairs)


def append_distribution(counts: np.ndarray, layout: ReleaseLayout) -> np.ndarray:
    """The practice's bounded cells followed by its histogram block (region-wide rounds).

    The histograms are a function of the bounded totals only, so the
    distribution block's stated sensitivity holds whatever the engine did.
    """
    values = layout.check(counts, "practice vector", counts=True)
    d = layout.distribution
    if d is None:
        return values
    totals = [layout.totals(values, name) for name in d.spec.indicators]
    return np.concatenate([values, encode_practice(totals, d.spec)])
