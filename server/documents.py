"""A stored release as the release document the coordinator publishes.

What agents fetch and results.json files is `ReleaseDocument.to_json()`:
the document's shape is defined once, in `reporting.release_document`, and
this module only maps the store's records onto it. Suppressed cells appear
as null with their reason, never as zero, so no reader can mistake "hidden"
for "none".
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from reporting.release_document import (
    Definition,
    IndicatorFigure,
    RegionRoundNote,
    ReleaseDocument,
    StratumFigure,
    parse_distributions,
    parse_surveys,
)
from server.store import ReleasedCell, StoredRelease


def _interval(cell: ReleasedCell) -> tuple[float, float] | None:
    value = cell.extras.get("interval")  # 95 %: sampling and noise
    return None if value is None else (value[0], value[1])


def _estimate(cell: ReleasedCell) -> dict[str, Any]:
    """What a DP release adds to a cell: uncertainty, the rate's noise, the raw noisy cells."""
    x = cell.extras
    return {
        "uncertain": bool(x.get("uncertain", False)),
        "rate_noise_sd": x.get("rate_noise_sd"),
        "cells": dict(x.get("cells") or {}),
        "cell_noise_sd": dict(x.get("cell_noise_sd") or {}),
    }


def release_document(stored: StoredRelease) -> ReleaseDocument:
    r = stored.release
    reasons: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for s in r.suppressed:
        reasons[s.indicator_id, s.stratum][s.cell] = s.reason
    totals: dict[str, ReleasedCell] = {}
    strata: dict[str, list[StratumFigure]] = defaultdict(list)
    for cell in r.cells:
        if cell.stratum == "total":
            totals[cell.indicator_id] = cell
            strata.setdefault(cell.indicator_id, [])
            continue
        strata[cell.indicator_id].append(
            StratumFigure(
                cell.stratum,
                cell.numerator,
                cell.denominator,
                cell.extras.get("rate"),
                cell.noise_sd,
                reasons.get((cell.indicator_id, cell.stratum), {}),
                _interval(cell),
                **_estimate(cell),
            )
        )
    figures = {}
    for indicator_id, its_strata in strata.items():
        total = totals[indicator_id]
        figures[indicator_id] = IndicatorFigure(
            indicator_id,
            total.numerator,
            total.denominator,
            total.extras.get("rate"),
            total.noise_sd,
            reasons.get((indicator_id, "total"), {}),
            _interval(total),
            **_estimate(total),
            strata=tuple(its_strata),
        )
    extras: dict[str, Any] = dict(r.extras)
    where = f"release {stored.id}"
    eps = extras.get("epsilon_per_release")
    return ReleaseDocument(
        release_id=stored.id,
        created_at=stored.created_at,
        level=r.level.value,
        unit=r.unit,
        reference_date=r.reference_date,
        round_ids=tuple(r.round_ids),
        manifest_hash=r.manifest_hash,
        contributors=extras.get("contributors"),
        mechanism=extras.get("mechanism"),
        epsilon_per_release=float("inf") if eps == "inf" else eps,
        figures=figures,
        distributions=parse_distributions(where, extras.get("distributions")),
        delta_per_release=extras.get("delta_per_release"),
        parameters=extras.get("parameters"),
        list_size=extras.get("list_size"),
        list_size_suppressed=extras.get("list_size_suppressed"),
        scope=str(extras.get("scope", "cluster")),
        region_round=_region_round(extras.get("region_round")),
        definitions={
            k: Definition(str(v["content_hash"]), v.get("version"))
            for k, v in (extras.get("definitions") or {}).items()
        },
        surveys=parse_surveys(where, extras.get("surveys")),
    )


def _region_round(value: Any) -> RegionRoundNote | None:
    if not isinstance(value, dict):
        return None
    return RegionRoundNote(str(value["round_id"]), str(value["totals"]))
