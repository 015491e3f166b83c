"""results.json: every released cluster and regional figure of one period, for machines."""

from __future__ import annotations

from datetime import date
from typing import Any

from reporting.release_document import AbortedRound, PeriodResults, ReleaseDocument
from server.documents import release_document
from server.store import Level, Store


def period_results(store: Store, reference_date: date) -> PeriodResults:
    """Per cluster and per region (its aggregate, and its region-wide round's release): each
    indicator's released figures, noise and suppressions.

    Rounds that released nothing are listed with their abort reason, so a
    reader sees a gap as a gap.
    """
    clusters: dict[str, ReleaseDocument] = {}
    regions: dict[str, ReleaseDocument] = {}
    region_rounds: dict[str, ReleaseDocument] = {}
    for stored in store.releases():
        if stored.release.reference_date != reference_date:
            continue
        doc = release_document(stored)
        if stored.release.level == Level.CLUSTER:
            target = clusters
        else:
            target = region_rounds if doc.scope == "region" else regions
        target[stored.release.unit] = doc
    aborted = tuple(
        AbortedRound(r.id, r.unit, r.abort_reason)
        for r in store.rounds()
        if r.reference_date == reference_date and r.abort_reason
    )
    return PeriodResults(reference_date, clusters, regions, aborted, region_rounds=region_rounds)


def results_document(store: Store, reference_date: date) -> dict[str, Any]:
    """`period_results` as the JSON of results.json."""
    return period_results(store, reference_date).to_json()
