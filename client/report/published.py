"""The releases the agent downloaded, and which of them a report compares with.

The agent stores releases byte for byte as served (`state/releases/`); each
is read with the kit's one parser (`reporting.release_document`), so a file
that is not a release document is an error naming the file and key, never
a silently empty comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from reporting.release_document import ReleaseDocument, read_release


def read_releases(directory: Path) -> list[ReleaseDocument]:
    """Every `*.json` in the agent's releases directory; none yet is an empty list."""
    if not directory.is_dir():
        return []
    return [read_release(path) for path in sorted(directory.glob("*.json"))]


@dataclass(frozen=True)
class ReleaseChoice:
    cluster: ReleaseDocument | None
    region: ReleaseDocument | None  # the region's aggregate of its cluster sums
    other_dates: tuple[date, ...]  # reference dates downloaded but not compared with
    region_round: ReleaseDocument | None = None  # the period's region-wide round, if any
    nation: ReleaseDocument | None = None  # the country's release of the period, if fetched


def latest_cluster_date(releases: list[ReleaseDocument], cluster_id: str) -> date | None:
    dates = [r.reference_date for r in releases if r.level == "cluster" and r.unit == cluster_id]
    return max(dates) if dates else None


def choose_releases(releases: list[ReleaseDocument], cluster_id: str, as_of: date) -> ReleaseChoice:
    """The newest cluster, regional and national release, and region-wide round, for `as_of`.

    A release for another date is not compared with: the practice's own value
    is computed at `as_of`, and a rate from another quarter would mislead.
    """
    same = [r for r in releases if r.reference_date == as_of]
    clusters = sorted(
        (r for r in same if r.level == "cluster" and r.unit == cluster_id),
        key=lambda r: r.order_key,
    )
    cluster = clusters[-1] if clusters else None
    regional = sorted((r for r in same if r.level == "region"), key=lambda r: r.order_key)
    regions = [r for r in regional if r.scope != "region"]
    if cluster is not None:
        # the region this cluster's round was folded into, if downloaded
        linked = [r for r in regions if r.shares_round_with(cluster)]
        regions = linked or regions
    region = regions[-1] if regions else None
    rounds = [r for r in regional if r.scope == "region"]
    if region is not None:  # the region-wide round of the aggregate's own region
        rounds = [r for r in rounds if r.unit == region.unit] or rounds
    nations = sorted((r for r in same if r.level == "nation"), key=lambda r: r.order_key)
    others = sorted({r.reference_date for r in releases} - {as_of})
    return ReleaseChoice(
        cluster,
        region,
        tuple(others),
        rounds[-1] if rounds else None,
        nations[-1] if nations else None,
    )
