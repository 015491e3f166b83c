"""The JSON form of a stored release: what agents fetch and the demo writes.

Suppressed cells appear as null with their reason, never as zero, so no
reader can mistake "hidden" for "none".
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from server.store import StoredRelease


def release_document(stored: StoredRelease) -> dict[str, Any]:
    r = stored.release
    reasons: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for s in r.suppressed:
        reasons[s.indicator_id, s.stratum][s.cell] = s.reason
    indicators: dict[str, dict[str, Any]] = {}
    for cell in r.cells:
        entry = {
            "stratum": cell.stratum,
            "numerator": cell.numerator,
            "denominator": cell.denominator,
            "rate": cell.extras.get("rate"),
            "interval": cell.extras.get("interval"),  # 95 %: sampling and noise
            "noise_sd": cell.noise_sd,
            "suppressed": reasons.get((cell.indicator_id, cell.stratum), {}),
        }
        ind = indicators.setdefault(cell.indicator_id, {"id": cell.indicator_id, "strata": []})
        if cell.stratum == "total":
            ind.update({k: v for k, v in entry.items() if k != "stratum"})
        else:
            ind["strata"].append(entry)
    return {
        "release_id": stored.id,
        "created_at": stored.created_at,
        "level": str(r.level),
        "unit": r.unit,
        "reference_date": r.reference_date.isoformat(),
        "round_ids": list(r.round_ids),
        "manifest_hash": r.manifest_hash,
        **dict(r.extras),
        "indicators": list(indicators.values()),
    }


def indicator_rate(doc: dict[str, Any] | None, indicator_id: str) -> float | None:
    """The released total rate of one indicator in a release document; None if hidden or absent."""
    if doc is None:
        return None
    ind = next((i for i in doc["indicators"] if i["id"] == indicator_id), None)
    return None if ind is None else ind.get("rate")
