"""Where the practice's own rate falls among the practices of its cluster and region.

The released histograms count practices (not patients). Only the region-wide
round releases them (a cluster round releases totals only), so the region's
distribution is the one a practice is placed in; a cluster release with a
histogram (an older one) is still used where it has one. The practice places
its own exactly computed rate in them locally; nothing about the placement is
sent. A decile is stated only where the release gives deciles: a histogram
whose noise or size does not support deciles does not support the
practice's own decile either, so then only the chart and the reason are shown.
"""

from __future__ import annotations

from privacy.distribution import decile_of, practice_mass, share_below
from reporting.practice_model import IndicatorPlacement, Placement
from reporting.release_document import ReleaseDocument


def bin_of(rate: float, bins: int) -> int:
    """The bin of equal-width bins over [0, 1] that holds `rate` (1.0 is in the last bin)."""
    return min(max(int(min(max(rate, 0.0), 1.0) * bins), 0), bins - 1)


def place(
    release: ReleaseDocument,
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
    cluster: ReleaseDocument | None,
    region: ReleaseDocument | None,
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
