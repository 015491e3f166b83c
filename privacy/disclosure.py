"""Statistical disclosure control for releases *without* differential privacy.

On a DP release nothing is hidden by its noisy value: suppressing small
noisy counts keeps exactly the cells whose noise happened to push them up,
biasing every small figure that survives (by about +9 in the old demo). What
a DP release contains is fixed in advance by the manifest, the noise bounds
what it reveals, and a figure too uncertain to use is labelled so in words
(`server.releasing`). Only the minimum number of contributing practices
applies to every release, enforced by the SecAgg+ survivor floor.

A release without noise (the verification manifest, synthetic data only)
gets the conventional rules reviewers and registries expect, so a published
table never *shows* a small count:
- an aggregate with fewer than `min_practices` contributors is not released;
- counts below `min_cell` are suppressed (Statistics Denmark requires ≥ 3,
  Klynge's default is 5); zero and negative noisy counts are below it too;
- optionally, a numerator whose complement (denominator − numerator) is below
  `min_cell` is suppressed, since "all but 2 patients" discloses as much as "2";
- complementary suppression: within an indicator, the total equals the sum of
  its strata, so if exactly one stratum's count is hidden while the total is
  shown (or the total hidden while all strata are shown), the next smallest
  count is hidden too, or the total when no other stratum is left;
- a rate is shown only when its numerator and denominator are shown and the
  denominator is at least `min_denominator_for_rate`;
- shown counts are rounded to `rounding_base` if it is above 1, and rates are
  computed from the shown (rounded) counts.
Every hidden value is recorded with its reason.

Totals are computed from the noisy strata (post-processing, no extra privacy
cost), so strata and totals are always consistent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privacy.errors import BoundingError, DisclosureError
from privacy.layout import TOTAL, IndicatorBlock, ReleaseLayout
from privacy.manifest import PASS_FAIL, Disclosure

TOO_FEW_PRACTICES = "too_few_practices"
SMALL_COUNT = "small_count"
SMALL_COMPLEMENT = "small_complement"
DENOMINATOR_SUPPRESSED = "denominator_suppressed"
NUMERATOR_SUPPRESSED = "numerator_suppressed"
COMPLEMENTARY = "complementary"
RATE_DENOMINATOR_TOO_SMALL = "rate_denominator_too_small"
# Every reason a release can give for a hidden value; a report must have words for each.
REASONS: tuple[str, ...] = (
    TOO_FEW_PRACTICES,
    SMALL_COUNT,
    SMALL_COMPLEMENT,
    DENOMINATOR_SUPPRESSED,
    NUMERATOR_SUPPRESSED,
    COMPLEMENTARY,
    RATE_DENOMINATOR_TOO_SMALL,
)


@dataclass(frozen=True)
class SuppressedCell:
    aggregate: str
    level: str
    indicator_id: str  # "" for the list size
    stratum: str  # a stratum label, "total", or "*" for a whole indicator
    field: str  # numerator | denominator | rate | list_size | all
    reason: str


@dataclass(frozen=True)
class ReleasedCell:
    stratum: str
    numerator: int | None
    denominator: int | None
    rate: float | None


@dataclass(frozen=True)
class ReleasedIndicator:
    indicator_id: str
    strata: tuple[ReleasedCell, ...]
    total: ReleasedCell


@dataclass(frozen=True)
class DisclosedRelease:
    aggregate: str
    level: str
    contributors: int
    list_size: int | None
    indicators: tuple[ReleasedIndicator, ...]
    suppressed: tuple[SuppressedCell, ...]


def _round(value: int, base: int) -> int:
    if base <= 1:
        return value
    return int(base * np.floor(value / base + 0.5))


class _Table:
    """One indicator's cells while suppression is decided; index len(strata) is the total."""

    def __init__(self, block: IndicatorBlock, values: np.ndarray):
        pairs = [block.group_counts(values, g) for g in range(len(block.groups))]
        nums, dens = [p[0] for p in pairs], [p[1] for p in pairs]
        if block.groups == (TOTAL,):  # a cluster round: the total is the only group
            self.labels: tuple[str, ...] = (TOTAL,)
            self.num, self.den = nums, dens
        else:
            self.labels = (*block.groups, TOTAL)
            self.num = [*nums, sum(nums)]
            self.den = [*dens, sum(dens)]
        self.hidden: dict[tuple[str, int], str] = {}  # (field, cell) -> reason

    def hide(self, field: str, cell: int, reason: str) -> bool:
        if (field, cell) in self.hidden:
            return False
        self.hidden[(field, cell)] = reason
        return True

    def shown(self, field: str, cell: int) -> bool:
        return (field, cell) not in self.hidden


def _primary(table: _Table, rules: Disclosure) -> None:
    for c in range(len(table.labels)):
        if table.den[c] < rules.min_cell:
            table.hide("denominator", c, SMALL_COUNT)
        if table.num[c] < rules.min_cell:
            table.hide("numerator", c, SMALL_COUNT)
        elif rules.suppress_small_complement and table.den[c] - table.num[c] < rules.min_cell:
            table.hide("numerator", c, SMALL_COMPLEMENT)


def _consistency(table: _Table) -> bool:
    """Hide numerators of hidden denominators; returns whether anything changed."""
    changed = False
    for c in range(len(table.labels)):
        if not table.shown("denominator", c):
            changed |= table.hide("numerator", c, DENOMINATOR_SUPPRESSED)
    return changed


def _complementary(table: _Table, field: str) -> bool:
    values = table.num if field == "numerator" else table.den
    strata = range(len(table.labels) - 1)
    total = len(table.labels) - 1
    hidden = [c for c in strata if not table.shown(field, c)]
    total_shown = table.shown(field, total)
    if (total_shown and len(hidden) == 1) or (not total_shown and not hidden):
        candidates = [c for c in strata if table.shown(field, c)]
        if candidates:
            smallest = min(candidates, key=lambda c: (values[c], c))
            return table.hide(field, smallest, COMPLEMENTARY)
        if total_shown:
            return table.hide(field, total, COMPLEMENTARY)
    return False


def _suppress(table: _Table, rules: Disclosure) -> None:
    _primary(table, rules)
    changed = True
    while changed:
        changed = _consistency(table)
        changed |= _complementary(table, "denominator")
        changed |= _complementary(table, "numerator")


def apply_disclosure_control(
    noisy_sum: np.ndarray,
    layout: ReleaseLayout,
    rules: Disclosure,
    *,
    aggregate: str,
    level: str,
    contributors: int,
) -> DisclosedRelease:
    """The publishable form of one aggregate's noisy vector, with every suppression recorded."""
    try:
        values = layout.check(noisy_sum, f"aggregate {aggregate}")
    except BoundingError as exc:
        raise DisclosureError(str(exc)) from None
    if contributors < 0:
        raise DisclosureError(f"aggregate {aggregate}: contributors must be ≥ 0")
    suppressed: list[SuppressedCell] = []
    if contributors < rules.min_practices:
        for block in layout.blocks:
            suppressed.append(
                SuppressedCell(aggregate, level, block.indicator_id, "*", "all", TOO_FEW_PRACTICES)
            )
        suppressed.append(SuppressedCell(aggregate, level, "", "", "list_size", TOO_FEW_PRACTICES))
        return DisclosedRelease(aggregate, level, contributors, None, (), tuple(suppressed))

    raw_list = int(values[layout.list_size_index])
    list_size: int | None = _round(raw_list, rules.rounding_base)
    if raw_list < rules.min_cell:
        list_size = None
        suppressed.append(SuppressedCell(aggregate, level, "", "", "list_size", SMALL_COUNT))

    released = []
    for ind in layout.blocks:
        table = _Table(ind, values)
        ratio_bound = 1.0 if ind.entry.cells == PASS_FAIL else float(ind.entry.max_per_patient)
        _suppress(table, rules)
        cells = []
        for c, label in enumerate(table.labels):
            num = _round(table.num[c], rules.rounding_base) if table.shown("numerator", c) else None
            den = (
                _round(table.den[c], rules.rounding_base) if table.shown("denominator", c) else None
            )
            for field in ("denominator", "numerator"):
                reason = table.hidden.get((field, c))
                if reason is not None:
                    suppressed.append(
                        SuppressedCell(aggregate, level, ind.indicator_id, label, field, reason)
                    )
            rate: float | None = None
            rate_reason = None
            if den is None:
                rate_reason = DENOMINATOR_SUPPRESSED
            elif num is None:
                rate_reason = NUMERATOR_SUPPRESSED
            elif den < rules.min_denominator_for_rate or den <= 0:
                rate_reason = RATE_DENOMINATOR_TOO_SMALL
            else:
                # Noise can push num above its bound; clamp, as any post-processing may.
                rate = min(max(num / den, 0.0), ratio_bound)
            if rate_reason is not None:
                suppressed.append(
                    SuppressedCell(aggregate, level, ind.indicator_id, label, "rate", rate_reason)
                )
            cells.append(ReleasedCell(label, num, den, rate))
        released.append(ReleasedIndicator(ind.indicator_id, tuple(cells[:-1]), cells[-1]))
    return DisclosedRelease(
        aggregate, level, contributors, list_size, tuple(released), tuple(suppressed)
    )


def too_uncertain(rules: Disclosure, half_width: float, rate: float, *, proportion: bool) -> bool:
    """The manifest's rule for the "for usikker til at bruge" label, in one place for the
    coordinator's releases and the national step: a proportion whose 95 % half-width
    exceeds `uncertain_half_width`, or a rate whose half-width exceeds
    `uncertain_relative_half_width` of itself."""
    limit = rules.uncertain_half_width if proportion else rules.uncertain_relative_half_width * rate
    return not half_width <= limit
