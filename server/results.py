"""results.json: every released cluster and regional figure of one period, for machines."""

from __future__ import annotations

from datetime import date
from typing import Any

from server.documents import release_document
from server.store import Level, Store


def results_document(store: Store, reference_date: date) -> dict[str, Any]:
    """Per cluster and per region: each indicator's released figures, noise and suppressions.

    Rounds that released nothing are listed with their abort reason, so a
    reader sees a gap as a gap.
    """
    clusters: dict[str, Any] = {}
    regions: dict[str, Any] = {}
    for stored in store.releases():
        if stored.release.reference_date != reference_date:
            continue
        doc = release_document(stored)
        target = clusters if stored.release.level == Level.CLUSTER else regions
        target[stored.release.unit] = doc
    aborted = [
        {"round_id": r.id, "cluster": r.cluster, "reason": r.abort_reason}
        for r in store.rounds()
        if r.reference_date == reference_date and r.abort_reason
    ]
    return {
        "reference_date": reference_date.isoformat(),
        "clusters": clusters,
        "regions": regions,
        "aborted_rounds": aborted,
    }
