"""Is this practice better or worse than its peers? Only beyond chance, noise and many looks.

A practice report makes about two dozen comparisons on one page; at 95 % one of
them would be "significant" by chance alone. A verdict is therefore given only
beyond the 99.8 % limits of Spiegelhalter's funnel plots (z = 3.09), which keeps
the chance of a false verdict on a page of 23 indicators near 5 %; a page with
more (the indicators and the survey measures together) uses Bonferroni's limit
for all of them (`reporting.versus_country.page_limit`). One rule for both:
the survey's own share or score is judged by `judge_survey` with the same
limit and the same wording.

The practice compares itself with the *rest* of its cluster where it can: it
knows its own exact cells and its own noise share (kept locally by the agent,
never sent), so the cluster's release minus both is the other practices' sum
carrying only their noise. Comparing with the whole cluster would compare the
practice partly with itself. Where the practice kept no record of that round,
it compares with the cluster's released interval instead, and says so.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from privacy.estimation import Z95, Z998, GroupEstimate, estimate_release, sampling_variance
from privacy.layout import TOTAL, ReleaseLayout, RoundScope
from privacy.manifest import PASS_FAIL, Manifest
from privacy.plan import round_release
from reporting.practice_model import Position, SurveyMeasureResult
from reporting.release_document import IndicatorFigure, ReleaseDocument, SurveyMeasureFigure

REST = "rest_of_cluster"
CLUSTER = "cluster"


@dataclass(frozen=True)
class OwnContribution:
    """What the agent kept of one round: its bounded cells and its noise share."""

    round_id: str
    manifest_hash: str
    min_survivors: int
    bounded: np.ndarray
    noise: np.ndarray


@dataclass(frozen=True)
class Verdict:
    position: Position
    compared_with: str | None  # REST, CLUSTER, or None when there was nothing to compare
    z: float | None


def read_contribution(directory: Path, round_ids: tuple[str, ...]) -> OwnContribution | None:
    """The kept record of the first of `round_ids` this practice contributed to, if any."""
    for round_id in round_ids:
        path = directory / f"{round_id}.json"
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
            return OwnContribution(
                str(doc["round_id"]),
                str(doc["manifest_hash"]),
                int(doc["min_survivors"]),
                np.asarray(doc["bounded"], dtype=np.float64),
                np.asarray(doc["noise"], dtype=np.float64),
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # no record (or an unreadable one): fall back to the cluster figure
    return None


def rest_of_cluster(
    manifest: Manifest, release: ReleaseDocument, own: OwnContribution
) -> dict[str, GroupEstimate] | None:
    """The other practices' figures: the release minus this practice's cells and noise.

    Their noise is that of contributors − 1 shares, as the round's mechanism states.
    None when the release does not carry the raw cells this needs (no DP, older format).
    """
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    contributors = release.contributors or 0
    if (
        own.manifest_hash != release.manifest_hash
        or contributors < 2
        or release.list_size is None
        or own.bounded.size != layout.length
    ):
        return None
    values = np.zeros(layout.length, dtype=np.float64)
    for block in layout.blocks:
        figure = release.figures.get(block.indicator_id)
        if figure is None or set(figure.cells) != set(block.fields):
            return None
        for field in block.fields:
            values[block.index(0, field)] = figure.cells[field]
    values[layout.list_size_index] = release.list_size
    rest = values - own.bounded - own.noise
    variance = np.asarray(
        round_release(manifest, own.min_survivors).sum_variance(contributors - 1), np.float64
    )
    estimates = estimate_release(layout, rest, variance)
    return {ind: est for (ind, group), est in estimates.items() if group == TOTAL}


def judge(
    own_rate: float | None,
    own_denominator: int,
    *,
    rest: GroupEstimate | None,
    cluster: IndicatorFigure | None,
    proportion: bool,
    limit: float = Z998,
) -> Verdict:
    """Above or below only when the difference exceeds the page's limits (`limit`, z) of
    chance and noise: 99.8 % unless the page makes more than ~23 comparisons."""
    if own_rate is None:
        return Verdict(Position.NO_OWN_RATE, None, None)
    if rest is not None and rest.denominator > 0 and math.isfinite(rest.rate):
        centre = _clamped(rest.rate, proportion)
        spread = (
            sampling_variance(centre, own_denominator, proportion=proportion)
            + sampling_variance(centre, rest.denominator, proportion=proportion)
            + rest.rate_noise_variance
        )
        return _verdict(own_rate, centre, spread, REST, limit)
    if cluster is None:
        return Verdict(Position.NO_RELEASE, None, None)
    if cluster.rate is None:
        return Verdict(Position.SUPPRESSED, None, None)
    bounds = cluster.interval
    noise = ((bounds[1] - bounds[0]) / (2 * Z95)) ** 2 if bounds else 0.0
    spread = sampling_variance(cluster.rate, own_denominator, proportion=proportion) + noise
    return _verdict(own_rate, cluster.rate, spread, CLUSTER, limit)


def judge_survey(
    own: SurveyMeasureResult, cluster: SurveyMeasureFigure | None, limit: float = Z998
) -> Verdict:
    """The practice's own share or score against its cluster's released figure.

    The two are independent measurements with their own 95 % intervals: the
    practice's sampling interval (its respondents are a sample of its
    patients) and the cluster's interval for noise and chance. Each interval's
    half-width over 1.96 is taken as its standard deviation (the t interval of
    a small practice is wider, so this errs towards "no certain difference").
    The cluster includes the practice's own respondents, which only pulls the
    two together: a verdict given is not made by that overlap. No verdict
    against a cluster figure the release labels too uncertain.
    """
    if own.value is None or own.too_few or own.interval is None:
        return Verdict(Position.NO_OWN_RATE, None, None)
    if cluster is None or cluster.value is None:
        return Verdict(Position.NO_RELEASE, None, None)
    if cluster.uncertain or cluster.interval is None:
        return Verdict(Position.UNCERTAIN, None, None)
    spread = sum(((high - low) / (2 * Z95)) ** 2 for low, high in (own.interval, cluster.interval))
    return _verdict(own.value, cluster.value, spread, CLUSTER, limit)


def _verdict(own: float, centre: float, variance: float, against: str, limit: float) -> Verdict:
    if not variance > 0 or not math.isfinite(variance):
        return Verdict(Position.WITHIN_NOISE, against, None)
    z = (own - centre) / math.sqrt(variance)
    if z > limit:
        return Verdict(Position.ABOVE, against, z)
    if z < -limit:
        return Verdict(Position.BELOW, against, z)
    return Verdict(Position.WITHIN_NOISE, against, z)


def _clamped(rate: float, proportion: bool) -> float:
    return min(max(rate, 0.0), 1.0) if proportion else max(rate, 0.0)


def is_proportion(manifest: Manifest, indicator_id: str) -> bool:
    return manifest.indicator(indicator_id).cells == PASS_FAIL
