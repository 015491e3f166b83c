"""Build the practice report: own rates beside the cluster's, region's and country's, receipts,
budget.

Pure: everything is passed in (patient lists, parsed releases, ledger charges,
budget rows, own counts of earlier periods, clock), so the model is tested
without files. Own figures are the sums of the per-patient lists, so the
counts and the lists cannot disagree. Each indicator also carries its place
in the released distribution of practice rates (`placement`) and its trend
over the periods the practice holds releases for (`trend`).
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date
from typing import Any

from client.report.placement import place_indicator
from client.report.published import ReleaseChoice
from client.report.verdict import judge, judge_survey
from indicator_defs import model as m
from privacy.estimation import GroupEstimate
from privacy.ledger import Charge
from reporting.practice_model import (
    BudgetYear,
    IndicatorPatients,
    IndicatorReport,
    IndicatorTrend,
    Position,
    PracticeReport,
    PracticeSurvey,
    ReceiptRow,
)
from reporting.release_document import ReleaseDocument
from reporting.versus_country import page_limit


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
    rest: dict[str, GroupEstimate] | None = None,
    proportions: dict[str, bool] | None = None,
    surveys: tuple[PracticeSurvey, ...] = (),
) -> PracticeReport:
    """`rest`: the rest of the cluster (`verdict.rest_of_cluster`) where the practice kept its
    own cells and noise; otherwise verdicts compare with the whole cluster's interval.
    `surveys`: the patient-experience sections from the practice's own answers."""
    # Rounds whose masked counts were delivered: the practice is one of the practices summed.
    sent = frozenset(c.receipt.round_id for c in charges if c.sent)
    # Every verdict on the page counts towards its limit: the indicators and each survey
    # measure the cluster released.
    released = releases.cluster.surveys if releases.cluster else {}
    comparisons = len(catalogue.indicators) + sum(
        1 for s in surveys for r in s.measures if r.measure.id in released
    )
    limit = page_limit(comparisons)
    indicators = []
    for ind in catalogue.indicators.values():
        own = patients[ind.id]
        cluster = releases.cluster.figures.get(ind.id) if releases.cluster else None
        region = releases.region.figures.get(ind.id) if releases.region else None
        nation = releases.nation.figures.get(ind.id) if releases.nation else None
        rate = None if own.denominator == 0 else own.numerator / own.denominator
        proportion = (proportions or {}).get(ind.id, ind.scale == 100)
        verdict = judge(
            rate,
            own.denominator,
            rest=(rest or {}).get(ind.id),
            cluster=cluster,
            proportion=proportion,
            limit=limit,
        )
        indicators.append(
            IndicatorReport(
                ind,
                own,
                cluster,
                region,
                verdict.position,
                is_better(verdict.position, ind.direction),
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
                compared_with=verdict.compared_with,
                nation=nation,
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
        nation_release=releases.nation,
        surveys=tuple(
            _beside_released(s, releases.cluster, releases.region, limit) for s in surveys
        ),
        comparisons=comparisons,
    )


def _beside_released(
    section: PracticeSurvey,
    cluster: ReleaseDocument | None,
    region: ReleaseDocument | None,
    limit: float,
) -> PracticeSurvey:
    """The section with each measure's cluster and region figures and its verdict."""
    measures = []
    for result in section.measures:
        mid = result.measure.id
        theirs = cluster.surveys.get(mid) if cluster else None
        verdict = judge_survey(result, theirs, limit)
        better = None
        if verdict.position in (Position.ABOVE, Position.BELOW):
            better = (verdict.position is Position.ABOVE) == (result.measure.direction == "higher")
        measures.append(
            replace(
                result,
                cluster=theirs,
                region=region.surveys.get(mid) if region else None,
                position=verdict.position,
                better=better,
            )
        )
    return replace(section, measures=tuple(measures))
