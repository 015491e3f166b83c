"""Reading results.json for the benchmark reports: cells, intervals, regions and their clusters.

Only released figures are read. A cell whose rate is missing is suppressed
(or was never released) and stays None here, so no chart can draw it as 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from indicator_defs.model import Indicator
from server.report_charts import as_interval
from server.statistics import rate_interval


def indicator_cell(doc: dict[str, Any] | None, indicator_id: str) -> dict[str, Any] | None:
    """The total cell of one indicator in a release document, or None if not released."""
    if doc is None:
        return None
    return next((i for i in doc.get("indicators", []) if i["id"] == indicator_id), None)


def is_proportion(ind: Indicator) -> bool:
    """A share of patients (bounded by 1), as opposed to events per patient (unbounded)."""
    numerator, denominator = ind.max_contribution
    return denominator > 0 and numerator <= denominator


def upper_bound(ind: Indicator) -> float:
    return 1.0 if is_proportion(ind) else math.inf


def cell_rate(cell: dict[str, Any] | None) -> float | None:
    return None if cell is None else cell.get("rate")


def cell_interval(cell: dict[str, Any] | None, ind: Indicator) -> tuple[float, float] | None:
    """The released 95% interval (sampling and noise); recomputed alike for older releases."""
    rate = cell_rate(cell)
    if cell is None or rate is None:
        return None
    released = as_interval(cell.get("interval"))
    if released is not None:
        return released
    if not cell.get("denominator"):
        return None
    i = rate_interval(
        rate,
        cell["denominator"],
        cell.get("noise_sd") or 0.0,
        proportion=is_proportion(ind),
        upper=upper_bound(ind),
    )
    return i.low, i.high


def suppression_reason(cell: dict[str, Any] | None) -> str:
    """The machine reasons, e.g. 'numerator: small_count', for a tooltip."""
    if cell is None:
        return "not released"
    reasons = cell.get("suppressed") or {}
    return ", ".join(f"{k}: {v}" for k, v in sorted(reasons.items())) or "not released"


@dataclass(frozen=True)
class RegionGroup:
    """A region's release and the clusters whose rounds it sums (None: no regional release)."""

    region: str | None
    doc: dict[str, Any] | None
    clusters: list[str]


def region_groups(results: dict[str, Any]) -> list[RegionGroup]:
    """Regions in name order with their clusters; clusters without a regional release last."""
    groups = []
    placed: set[str] = set()
    for region, doc in sorted(results.get("regions", {}).items()):
        rounds = set(doc.get("round_ids", []))
        members = sorted(
            c for c, d in results["clusters"].items() if rounds & set(d.get("round_ids", []))
        )
        placed.update(members)
        groups.append(RegionGroup(region, doc, members))
    rest = sorted(c for c in results["clusters"] if c not in placed)
    if rest:
        groups.append(RegionGroup(None, None, rest))
    return groups


def region_of(results: dict[str, Any], cluster_id: str) -> RegionGroup | None:
    return next((g for g in region_groups(results) if cluster_id in g.clusters), None)


def periods_of(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Earlier periods (from "history") and this one, oldest first."""
    history = sorted(results.get("history", []), key=lambda p: p["reference_date"])
    return [*history, results]


def unit_doc(period: dict[str, Any], unit: str) -> dict[str, Any] | None:
    return period.get("clusters", {}).get(unit) or period.get("regions", {}).get(unit)


def distribution(doc: dict[str, Any] | None, indicator_id: str) -> dict[str, Any] | None:
    if doc is None:
        return None
    return (doc.get("distributions") or {}).get(indicator_id)
