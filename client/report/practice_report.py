"""Build the practice report: own rates beside the cluster's and region's, receipts, budget.

Pure: everything is passed in (patient lists, parsed releases, ledger charges,
budget rows, own counts of earlier periods, clock), so the model is tested
without files. Own figures are the sums of the per-patient lists, so the
counts and the lists cannot disagree. Each indicator also carries its place
in the released distribution of practice rates (`placement`) and its trend
over the periods the practice holds releases for (`trend`).
"""

from __future__ import annotations

import math
from datetime import date
from typing import Any

from client.report.placement import place_indicator
from client.report.published import ReleaseChoice
from indicator_defs import model as m
from privacy.ledger import Charge
from reporting.practice_model import (
    BudgetYear,
    IndicatorPatients,
    IndicatorReport,
    IndicatorTrend,
    Position,
    PracticeReport,
    ReceiptRow,
)
from reporting.release_document import IndicatorFigure


def position(own: float | None, cluster: IndicatorFigure | None) -> Position:
    """Above or below only when the own rate lies outside the cluster's 95% interval.

    The interval is the released one (sampling and noise); older releases
    without it fall back to the noise's own interval (`IndicatorFigure.interval`).
    """
    if cluster is None:
        return Position.NO_RELEASE
    if cluster.rate is None:
        return Position.SUPPRESSED
    if own is None:
        return Position.NO_OWN_RATE
    interval = cluster.interval
    low, high = interval if interval else (cluster.rate, cluster.rate)
    if own > high:
        return Position.ABOVE
    if own < low:
        return Position.BELOW
    return Position.WITHIN_NOISE


def is_better(pos: Position, direction: m.Direction) -> bool | None:
    if pos is Position.ABOVE:
        return direction is m.Direction.HIGHER
    if pos is Position.BELOW:
        return direction is m.Direction.LOWER
    return None


def receipt_rows(charges: list[Charge]) -> tuple[ReceiptRow, ...]:
    rows = []
    for charge in charges:
        r = charge.receipt
        rows.append(
            ReceiptRow(
                reference_date=r.reference_date,
                charged_at=r.charged_at,
                round_id=r.round_id,
                recipient=r.recipient,
                manifest_id=r.manifest_id,
                manifest_hash=r.manifest_hash,
                payload_bytes=r.payload_bytes,
                payload_sha256=r.payload_sha256,
                coordinates=r.coordinates,
                mechanism=r.mechanism,
                epsilon=r.epsilon,
                delta=r.delta,
                sent=charge.sent,
            )
        )
    return tuple(rows)


def budget_years(rows: list[dict[str, Any]]) -> tuple[BudgetYear, ...]:
    """From `client.agent.status.budget_rows` (the ledger's composed RDP spend per year)."""

    def eps(value: float | str) -> float:
        return math.inf if value == "inf" else float(value)

    return tuple(
        BudgetYear(
            year=int(row["year"]),
            releases=int(row["releases"]),
            sent=int(row["sent"]),
            spent=eps(row["epsilon_spent"]),
            budget=eps(row["epsilon_budget"]),
            left=eps(row["epsilon_left"]),
            delta=float(row["delta"]),
        )
        for row in rows
    )


def build_report(
    *,
    practice_id: str,
    cluster_id: str,
    as_of: date,
    generated_at: str,
    catalogue: m.Catalogue,
    patients: dict[str, IndicatorPatients],
    releases: ReleaseChoice,
    charges: list[Charge],
    budget: tuple[BudgetYear, ...],
    trends: dict[str, IndicatorTrend] | None = None,
) -> PracticeReport:
    # Rounds whose masked counts were delivered: the practice is one of the practices summed.
    sent = frozenset(c.receipt.round_id for c in charges if c.sent)
    indicators = []
    for ind in catalogue.indicators.values():
        own = patients[ind.id]
        cluster = releases.cluster.figures.get(ind.id) if releases.cluster else None
        region = releases.region.figures.get(ind.id) if releases.region else None
        rate = None if own.denominator == 0 else own.numerator / own.denominator
        pos = position(rate, cluster)
        indicators.append(
            IndicatorReport(
                ind,
                own,
                cluster,
                region,
                pos,
                is_better(pos, ind.direction),
                placement=place_indicator(
                    releases.cluster,
                    # the region-wide round's histograms; an older regional release's otherwise
                    releases.region_round or releases.region,
                    ind.id,
                    own.numerator,
                    own.denominator,
                    sent,
                ),
                trend=(trends or {}).get(ind.id),
            )
        )
    return PracticeReport(
        practice_id=practice_id,
        cluster_id=cluster_id,
        as_of=as_of,
        generated_at=generated_at,
        indicators=tuple(indicators),
        cluster_release=releases.cluster,
        region_release=releases.region,
        other_release_dates=releases.other_dates,
        receipts=receipt_rows(charges),
        budget=budget,
    )
