"""How much one patient can move a released vector.

The privacy unit is one patient: adding or removing a patient's records
changes each block of the vector by at most its stated contribution. A patient
falls in exactly one group (a stratum, or the total) per indicator and in
exactly one cell of it, so an indicator block contributes at most its cap in
a single cell however many groups it has:

    Δ₁ = Σ_blocks l1        Δ₂² = Σ_blocks l2²

With (passed, failed) cells a patient lands in one cell per indicator, so m
patient-level indicators plus the list-size coordinate give
Δ₁ = Δ₂² = m + 1. Event-level indicators count events, so they need a
per-patient cap; the cap then enters both norms. Further blocks (for example
a practice-rate histogram) are added as extra contributions, so the
accounting never has to be edited when the vector grows.

Each block also states how many coordinates it spans and its noise weight:
the Skellam variance on its coordinates is weight × μ. In Rényi DP a block
costs about Δ₂²/(weight·μ), so the manifest's weights spread one ε over the
blocks: a heavier weight buys a block less precision for less of the budget.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from privacy.errors import MechanismError


@dataclass(frozen=True)
class Contribution:
    """One block's worst-case change when one patient is added or removed."""

    block: str
    l1: int
    l2_squared: int
    coordinates: int
    noise_weight: int = 1

    def __post_init__(self) -> None:
        if self.l1 < 0 or self.l2_squared < 0:
            raise MechanismError(f"sensitivity of block {self.block!r} must be non-negative")
        if self.coordinates < 1:
            raise MechanismError(f"block {self.block!r} must span at least one coordinate")
        if self.noise_weight < 1:
            raise MechanismError(f"block {self.block!r}: noise weight must be ≥ 1")
        # For integer vectors ||v||₂² ≤ ||v||₁² and ||v||₂² ≥ ||v||₁ (each entry ≥ 1 in size).
        if self.l2_squared > self.l1 * self.l1:
            raise MechanismError(
                f"block {self.block!r}: l2² = {self.l2_squared} exceeds l1² = {self.l1**2}"
            )


@dataclass(frozen=True)
class Sensitivity:
    l1: int
    l2_squared: int
    blocks: tuple[Contribution, ...]

    @property
    def l2(self) -> float:
        return math.sqrt(self.l2_squared)

    @property
    def dimension(self) -> int:
        return sum(b.coordinates for b in self.blocks)

    def as_dict(self) -> dict[str, object]:
        return {
            "l1": self.l1,
            "l2_squared": self.l2_squared,
            "blocks": [
                {
                    "block": b.block,
                    "l1": b.l1,
                    "l2_squared": b.l2_squared,
                    "coordinates": b.coordinates,
                    "noise_weight": b.noise_weight,
                }
                for b in self.blocks
            ],
        }

    @classmethod
    def from_dict(cls, doc: Any) -> Sensitivity:
        """Rebuild from `as_dict()`, refusing totals that are not the sums of their blocks."""
        if not isinstance(doc, dict) or set(doc) != {"l1", "l2_squared", "blocks"}:
            raise MechanismError("sensitivity must have exactly l1, l2_squared and blocks")
        blocks = doc["blocks"]
        if not isinstance(blocks, list) or not blocks:
            raise MechanismError("sensitivity blocks must be a non-empty list")
        fields = {"block", "l1", "l2_squared", "coordinates", "noise_weight"}
        parsed = []
        for block in blocks:
            if not isinstance(block, dict) or set(block) != fields:
                raise MechanismError(f"a sensitivity block has exactly {', '.join(sorted(fields))}")
            numbers = [block[k] for k in ("l1", "l2_squared", "coordinates", "noise_weight")]
            if not isinstance(block["block"], str) or not all(_is_count(v) for v in numbers):
                raise MechanismError("a sensitivity block has a name and integer sizes")
            parsed.append(Contribution(block["block"], *numbers))
        total = vector_sensitivity(parsed)
        if (doc["l1"], doc["l2_squared"]) != (total.l1, total.l2_squared):
            raise MechanismError("sensitivity totals are not the sums of their blocks")
        return total


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def cells_contribution(
    indicator_id: str, cap: int, coordinates: int, noise_weight: int = 1, *, listed: bool = False
) -> Contribution:
    """One indicator's cells: a counted patient adds at most `cap` to exactly one of them.

    For a (passed, failed) pair the patient's capped events split between the
    two cells with passed + failed ≤ cap, so ‖Δ‖₁ ≤ cap and ‖Δ‖₂² ≤ cap²;
    a patient-level indicator has cap 1. An (events, listed) pair adds the
    patient's 1 in the listed cell: ‖Δ‖₁ ≤ cap + 1, ‖Δ‖₂² ≤ cap² + 1.
    """
    if cap < 1:
        raise MechanismError(f"indicator {indicator_id}: the per-patient cap must be ≥ 1")
    extra = 1 if listed else 0
    return Contribution(
        block=f"indicator:{indicator_id}",
        l1=cap + extra,
        l2_squared=cap * cap + extra,
        coordinates=coordinates,
        noise_weight=noise_weight,
    )


def survey_contributions(
    measure_id: str, max_units: int, noise_weight: int = 1
) -> tuple[Contribution, Contribution]:
    """One survey measure's (units, respondents) cells, as two blocks of one coordinate each.

    One response per respondent per period: a respondent adds at most
    `max_units` to the units cell and 1 to the respondents cell. The units
    cell's noise weight is `noise_weight × max_units²`, so its Rényi cost
    (≈ Δ₂² / (weight·μ)) equals that of a one-person count of `noise_weight`,
    and its noise, read in the measure's own scale, is what that weight means
    for an indicator.
    """
    if max_units < 1:
        raise MechanismError(f"survey measure {measure_id}: a respondent's bound must be ≥ 1")
    return (
        Contribution(
            block=f"survey:{measure_id}:units",
            l1=max_units,
            l2_squared=max_units * max_units,
            coordinates=1,
            noise_weight=noise_weight * max_units * max_units,
        ),
        Contribution(
            block=f"survey:{measure_id}:respondents",
            l1=1,
            l2_squared=1,
            coordinates=1,
            noise_weight=noise_weight,
        ),
    )


LIST_SIZE = Contribution(block="list_size", l1=1, l2_squared=1, coordinates=1)


def list_size_contribution(noise_weight: int = 1) -> Contribution:
    """The list-size cell: one patient adds 1."""
    return Contribution(
        block="list_size", l1=1, l2_squared=1, coordinates=1, noise_weight=noise_weight
    )


def vector_sensitivity(contributions: Iterable[Contribution]) -> Sensitivity:
    """Add block contributions; blocks must have distinct names."""
    blocks = tuple(contributions)
    names = [b.block for b in blocks]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise MechanismError(f"sensitivity blocks listed twice: {', '.join(duplicates)}")
    if not blocks:
        raise MechanismError("a released vector needs at least one block")
    return Sensitivity(
        l1=sum(b.l1 for b in blocks),
        l2_squared=sum(b.l2_squared for b in blocks),
        blocks=blocks,
    )
