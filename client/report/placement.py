"""Where the practice's own rate falls among the practices of its cluster and region.

The released histograms count practices (not patients). The practice places
its own exactly computed rate in them locally; nothing about the placement is
sent. A decile is stated only where the release gives deciles: a histogram
whose noise or size does not support deciles does not support the
practice's own decile either, so then only the chart and the reason are shown.
"""

from __future__ import annotations

from dataclasses import dataclass

from client.report.published import PublishedDistribution, PublishedRelease
from privacy.distribution import decile_of, practice_mass, share_below


@dataclass(frozen=True)
class Placement:
    """The own rate in one level's released histogram."""

    level: str  # "cluster" | "region"
    unit: str
    distribution: PublishedDistribution
    own_rate: float | None  # None: no own patients in the denominator
    own_bin: int | None  # index of the bin holding the own rate
    share_below: float | None  # only when the release gives deciles
    decile: int | None  # 1..10, only when the release gives deciles
    included: bool  # the practice took part in a round this release sums
    own_mass: float  # how much of one practice the practice counts as here (d / d_min, ≤ 1)

    @property
    def decile_given(self) -> bool:
        return self.decile is not None


@dataclass(frozen=True)
class IndicatorPlacement:
    cluster: Placement | None  # None: the cluster release has no histogram for it
    region: Placement | None

    @property
    def decile_from(self) -> Placement | None:
        """The cluster's decile first; the region's when the cluster's is withheld."""
        for place in (self.cluster, self.region):
            if place is not None and place.decile_given:
                return place
        return None

    @property
    def shown(self) -> Placement | None:
        """The histogram to draw: the one the decile comes from, else the cluster's."""
        return self.decile_from or self.cluster or self.region


def bin_of(rate: float, bins: int) -> int:
    """The bin of equal-width bins over [0, 1] that holds `rate` (1.0 is in the last bin)."""
    return min(max(int(min(max(rate, 0.0), 1.0) * bins), 0), bins - 1)


def place(
    release: PublishedRelease,
    indicator_id: str,
    numerator: int,
    denominator: int,
    sent_rounds: frozenset[str],
) -> Placement | None:
    """The own rate (`numerator / denominator`, computed locally) in `release`'s histogram."""
    dist = release.distributions.get(indicator_id)
    if dist is None:
        return None
    rate = None if denominator <= 0 else numerator / denominator
    share = decile = None
    if rate is not None and dist.deciles is not None:
        share = share_below(dist.bins, rate)
        decile = None if share is None else decile_of(share)
    return Placement(
        level=release.level,
        unit=release.unit,
        distribution=dist,
        own_rate=rate,
        own_bin=None if rate is None else bin_of(rate, len(dist.bins)),
        share_below=share,
        decile=decile,
        included=bool(sent_rounds & set(release.round_ids)),
        own_mass=practice_mass(denominator, dist.full_weight_denominator),
    )


def place_indicator(
    cluster: PublishedRelease | None,
    region: PublishedRelease | None,
    indicator_id: str,
    numerator: int,
    denominator: int,
    sent_rounds: frozenset[str],
) -> IndicatorPlacement | None:
    """Both levels' placements, or None when neither release has a histogram for it."""
    places = [
        None if r is None else place(r, indicator_id, numerator, denominator, sent_rounds)
        for r in (cluster, region)
    ]
    if places[0] is None and places[1] is None:
        return None
    return IndicatorPlacement(places[0], places[1])
