"""The practice's own rate over the periods it holds cluster releases for, beside them.

The own rate at each period's reference date is recomputed locally from the
extract, which holds the history: the extract is prepared once and evaluated
once per period. Released figures stay as released: a suppressed one is a
gap in the trend, never a zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from client.engine.fast import PreparedExtract, evaluate_prepared
from client.report.published import choose_releases
from indicator_defs import model as m
from reporting.practice_model import IndicatorTrend, TrendPoint
from reporting.release_document import ReleaseDocument

OwnCounts = dict[date, dict[str, tuple[int, int]]]  # date -> indicator -> (numerator, denominator)


def trend_dates(releases: Iterable[ReleaseDocument], cluster_id: str, as_of: date) -> list[date]:
    """Reference dates, up to `as_of`, of the practice's own cluster's downloaded releases."""
    return sorted(
        {
            r.reference_date
            for r in releases
            if r.level == "cluster" and r.unit == cluster_id and r.reference_date <= as_of
        }
    )


def own_counts(
    prepared: PreparedExtract,
    catalogue: m.Catalogue,
    dates: Iterable[date],
    known: OwnCounts | None = None,
) -> OwnCounts:
    """Own totals at each of `dates`: one engine evaluation per date not already in `known`."""
    known = known or {}
    out: OwnCounts = {}
    for d in dates:
        if d in known:
            out[d] = known[d]
            continue
        result = evaluate_prepared(prepared, catalogue, d)
        out[d] = {c.indicator_id: (c.numerator, c.denominator) for c in result.indicators}
    return out


def build_trends(
    catalogue: m.Catalogue,
    releases: list[ReleaseDocument],
    cluster_id: str,
    own: OwnCounts,
) -> dict[str, IndicatorTrend]:
    """Per indicator, a point for each date in `own` with that date's cluster and region figures."""
    dates = sorted(own)
    chosen = {d: choose_releases(releases, cluster_id, d) for d in dates}
    trends = {}
    for ind in catalogue.indicators.values():
        points = []
        for d in dates:
            choice = chosen[d]
            num, den = own[d].get(ind.id, (0, 0))
            points.append(
                TrendPoint(
                    reference_date=d,
                    numerator=num,
                    denominator=den,
                    cluster=choice.cluster.figures.get(ind.id) if choice.cluster else None,
                    region=choice.region.figures.get(ind.id) if choice.region else None,
                )
            )
        trends[ind.id] = IndicatorTrend(ind.id, tuple(points))
    return trends
