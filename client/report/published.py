"""Downloaded cluster and regional releases, read strictly for the practice report.

The agent stores releases byte for byte as served (`state/releases/`). Here
they are parsed into typed values; a file that is not a release document is
an error naming the file and field, never a silently empty comparison.
Suppressed figures stay `None` with their reason, never zero.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any

from client.report.errors import ReleaseFileError

Z95 = 1.959963984540054  # two-sided 95% normal quantile
DECILES = 9  # the 1st..9th decile
WITHHELD_REASONS = ("too_few_practices", "too_noisy", "empty")


@dataclass(frozen=True)
class PublishedFigure:
    """One indicator's released total at one level (cluster or region)."""

    indicator_id: str
    numerator: float | None
    denominator: float | None
    rate: float | None  # a proportion; None when suppressed
    noise_sd: float | None  # of the numerator
    suppressed: dict[str, str]  # field -> reason
    released_interval: tuple[float, float] | None = None  # 95%, sampling and noise

    @property
    def interval_source(self) -> str | None:
        """ "released" (sampling and noise), "noise" (older releases: noise only) or None."""
        if self.rate is None:
            return None
        return "released" if self.released_interval is not None else "noise"

    @property
    def suppressed_reason(self) -> str | None:
        """Why the rate is hidden (the rate's own reason first), or None if it is shown."""
        if self.rate is not None:
            return None
        reason = self.suppressed.get("rate")
        # "numerator_suppressed" only points on: the numerator's own reason says why.
        for name in ("numerator", "denominator"):
            if reason == f"{name}_suppressed" and name in self.suppressed:
                return self.suppressed[name]
        return reason or next(iter(self.suppressed.values()), "missing")

    @property
    def interval(self) -> tuple[float, float] | None:
        """The released 95% interval; for older releases without one, that of the noise only.

        The fallback is rate ± 1.96·noise_sd / denominator, narrower than the
        released one since it leaves out the patients' own sampling variation.
        """
        if self.rate is None:
            return None
        if self.released_interval is not None:
            return self.released_interval
        if not self.denominator:
            return None
        half = Z95 * (self.noise_sd or 0.0) / self.denominator
        return (self.rate - half, self.rate + half)


@dataclass(frozen=True)
class PublishedDistribution:
    """The released histogram of practice rates for one indicator (`server.releasing`).

    Bins count practices, not patients, smoothed: a rate is split between the
    two nearest bin centres, and a practice with a denominator below
    `full_weight_denominator` counts as a fraction of a practice.
    """

    indicator_id: str
    bins: tuple[float, ...]  # practices per bin (noisy, shown ≥ 0)
    edges: tuple[float, ...]  # equal-width over [0, 1]; len(bins) + 1
    bin_noise_sd: float  # SD of each bin, in practices (0 without DP)
    practices: int  # contributing practices
    full_weight_denominator: int
    deciles: tuple[float, ...] | None  # nine rates, or None with `deciles_withheld`
    deciles_withheld: str | None


@dataclass(frozen=True)
class PublishedRelease:
    path: Path
    level: str  # "cluster" | "region"
    unit: str  # cluster id or region name
    reference_date: date
    release_id: int | str
    created_at: str
    round_ids: tuple[str, ...]
    manifest_hash: str
    contributors: int | None
    mechanism: str | None
    epsilon_per_release: float | None
    figures: dict[str, PublishedFigure]
    distributions: dict[str, PublishedDistribution] = field(default_factory=dict)

    @property
    def order_key(self) -> tuple[date, str, str]:
        return (self.reference_date, self.created_at, str(self.release_id))


def _field(path: Path, doc: dict[str, Any], name: str, kinds: tuple[type, ...], prefix: str = ""):
    if name not in doc:
        raise ReleaseFileError(path, prefix + name, "required field is missing")
    value = doc[name]
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise ReleaseFileError(
            path,
            prefix + name,
            f"expected {'/'.join(k.__name__ for k in kinds)}, got {value!r:.40}",
        )
    return value


def _number(path: Path, doc: dict[str, Any], name: str, prefix: str) -> float | None:
    value = doc.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ReleaseFileError(path, prefix + name, f"expected a number or null, got {value!r:.40}")
    return float(value)


def _figure(path: Path, entry: Any, index: int) -> PublishedFigure:
    prefix = f"indicators[{index}]."
    if not isinstance(entry, dict):
        raise ReleaseFileError(path, prefix[:-1], "expected an object")
    suppressed = entry.get("suppressed") or {}
    if not isinstance(suppressed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in suppressed.items()
    ):
        raise ReleaseFileError(path, prefix + "suppressed", "expected an object of reasons")
    return PublishedFigure(
        indicator_id=_field(path, entry, "id", (str,), prefix),
        numerator=_number(path, entry, "numerator", prefix),
        denominator=_number(path, entry, "denominator", prefix),
        rate=_number(path, entry, "rate", prefix),
        noise_sd=_number(path, entry, "noise_sd", prefix),
        suppressed=dict(suppressed),
        released_interval=_interval(path, entry, prefix),
    )


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _interval(path: Path, entry: dict[str, Any], prefix: str) -> tuple[float, float] | None:
    """`[low, high]` or null; absent in releases made before intervals were released."""
    value = entry.get("interval")
    if value is None:
        return None
    name = prefix + "interval"
    if not isinstance(value, list) or len(value) != 2 or not all(_finite(v) for v in value):
        raise ReleaseFileError(path, name, f"expected [low, high] or null, got {value!r:.40}")
    low, high = float(value[0]), float(value[1])
    if not 0 <= low <= high:
        raise ReleaseFileError(path, name, f"expected 0 ≤ low ≤ high, got {value!r:.40}")
    if entry.get("rate") is None:
        raise ReleaseFileError(path, name, "an interval is given for a suppressed rate")
    return (low, high)


def _numbers(path: Path, value: Any, name: str) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise ReleaseFileError(path, name, f"expected a list of numbers, got {value!r:.40}")
    for i, v in enumerate(value):
        if not _finite(v):
            raise ReleaseFileError(path, f"{name}[{i}]", f"expected a number, got {v!r:.40}")
    return tuple(float(v) for v in value)


def _count(path: Path, entry: dict[str, Any], name: str, prefix: str, least: int) -> int:
    value = _field(path, entry, name, (int,), prefix)
    if value < least:
        raise ReleaseFileError(path, prefix + name, f"expected at least {least}, got {value}")
    return value


def _distribution(path: Path, indicator_id: Any, entry: Any) -> PublishedDistribution:
    """One `distributions` entry, checked so that placing a rate in it is well defined."""
    prefix = f"distributions.{indicator_id}."
    if not isinstance(indicator_id, str) or not indicator_id:
        raise ReleaseFileError(path, "distributions", "expected indicator ids as keys")
    if not isinstance(entry, dict):
        raise ReleaseFileError(path, prefix[:-1], "expected an object")
    bins = _numbers(path, _field(path, entry, "bins", (list,), prefix), prefix + "bins")
    if any(b < 0 for b in bins):
        raise ReleaseFileError(path, prefix + "bins", "a bin holds a negative number of practices")
    edges = _numbers(path, _field(path, entry, "edges", (list,), prefix), prefix + "edges")
    n = len(bins)
    if len(edges) != n + 1 or any(abs(e - k / n) > 1e-6 for k, e in enumerate(edges)):
        raise ReleaseFileError(
            path, prefix + "edges", f"expected {len(bins) + 1} equal-width edges over [0, 1]"
        )
    sd = _field(path, entry, "bin_noise_sd", (int, float), prefix)
    if not math.isfinite(sd) or sd < 0:
        raise ReleaseFileError(path, prefix + "bin_noise_sd", f"expected ≥ 0, got {sd!r:.40}")
    raw = entry.get("deciles")
    withheld = entry.get("deciles_withheld")
    deciles = None
    if raw is not None:
        deciles = _numbers(path, raw, prefix + "deciles")
        if len(deciles) != DECILES or any(b < a for a, b in pairwise(deciles)):
            raise ReleaseFileError(path, prefix + "deciles", "expected 9 rising rates or null")
        if withheld is not None:
            raise ReleaseFileError(
                path, prefix + "deciles_withheld", "deciles are given, so must be null"
            )
    elif withheld not in WITHHELD_REASONS:
        raise ReleaseFileError(
            path,
            prefix + "deciles_withheld",
            f"expected one of {', '.join(WITHHELD_REASONS)} when deciles is null, "
            f"got {withheld!r:.40}",
        )
    return PublishedDistribution(
        indicator_id=indicator_id,
        bins=bins,
        edges=edges,
        bin_noise_sd=float(sd),
        practices=_count(path, entry, "practices", prefix, 0),
        full_weight_denominator=_count(path, entry, "full_weight_denominator", prefix, 1),
        deciles=deciles,
        deciles_withheld=withheld,
    )


def _distributions(path: Path, doc: dict[str, Any]) -> dict[str, PublishedDistribution]:
    """The `distributions` object; absent in releases made before histograms were released."""
    value = doc.get("distributions")
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ReleaseFileError(path, "distributions", f"expected an object, got {value!r:.40}")
    return {k: _distribution(path, k, v) for k, v in value.items()}


def _epsilon(path: Path, doc: dict[str, Any]) -> float | None:
    """ε per release; a release without DP (`--no-dp`) states it as the string "inf"."""
    if doc.get("epsilon_per_release") == "inf":
        return math.inf
    return _number(path, doc, "epsilon_per_release", "")


def parse_release(path: Path, doc: Any) -> PublishedRelease:
    """A release document (`server.documents.release_document`) as typed values."""
    if not isinstance(doc, dict):
        raise ReleaseFileError(path, None, "a release must be a JSON object")
    level = _field(path, doc, "level", (str,))
    if level not in ("cluster", "region"):
        raise ReleaseFileError(path, "level", f"expected cluster or region, got {level!r:.40}")
    try:
        ref = date.fromisoformat(_field(path, doc, "reference_date", (str,)))
    except ValueError:
        raise ReleaseFileError(path, "reference_date", "not an ISO date") from None
    round_ids = _field(path, doc, "round_ids", (list,))
    if not all(isinstance(r, str) for r in round_ids):
        raise ReleaseFileError(path, "round_ids", "expected a list of round ids")
    contributors = doc.get("contributors")
    if contributors is not None and (
        isinstance(contributors, bool) or not isinstance(contributors, int)
    ):
        raise ReleaseFileError(path, "contributors", "expected a whole number")
    mechanism = doc.get("mechanism")
    indicators = _field(path, doc, "indicators", (list,))
    figures = [_figure(path, entry, i) for i, entry in enumerate(indicators)]
    return PublishedRelease(
        path=path,
        level=level,
        unit=_field(path, doc, "unit", (str,)),
        reference_date=ref,
        release_id=_field(path, doc, "release_id", (int, str)),
        created_at=_field(path, doc, "created_at", (str,)),
        round_ids=tuple(round_ids),
        manifest_hash=_field(path, doc, "manifest_hash", (str,)),
        contributors=contributors,
        mechanism=mechanism if isinstance(mechanism, str) else None,
        epsilon_per_release=_epsilon(path, doc),
        figures={f.indicator_id: f for f in figures},
        distributions=_distributions(path, doc),
    )


def read_releases(directory: Path) -> list[PublishedRelease]:
    """Every `*.json` in the agent's releases directory; none yet is an empty list."""
    if not directory.is_dir():
        return []
    out = []
    for path in sorted(directory.glob("*.json")):
        try:
            doc = json.loads(path.read_bytes())
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            raise ReleaseFileError(path, None, f"cannot read as JSON ({exc})") from None
        out.append(parse_release(path, doc))
    return out


@dataclass(frozen=True)
class ReleaseChoice:
    cluster: PublishedRelease | None
    region: PublishedRelease | None
    other_dates: tuple[date, ...]  # reference dates downloaded but not compared with


def latest_cluster_date(releases: list[PublishedRelease], cluster_id: str) -> date | None:
    dates = [r.reference_date for r in releases if r.level == "cluster" and r.unit == cluster_id]
    return max(dates) if dates else None


def choose_releases(
    releases: list[PublishedRelease], cluster_id: str, as_of: date
) -> ReleaseChoice:
    """The newest cluster and regional release for exactly `as_of`.

    A release for another date is not compared with: the practice's own value
    is computed at `as_of`, and a rate from another quarter would mislead.
    """
    same = [r for r in releases if r.reference_date == as_of]
    clusters = sorted(
        (r for r in same if r.level == "cluster" and r.unit == cluster_id),
        key=lambda r: r.order_key,
    )
    cluster = clusters[-1] if clusters else None
    regions = sorted((r for r in same if r.level == "region"), key=lambda r: r.order_key)
    if cluster is not None:
        # the region this cluster's round was folded into, if downloaded
        linked = [r for r in regions if set(cluster.round_ids) & set(r.round_ids)]
        regions = linked or regions
    region = regions[-1] if regions else None
    others = sorted({r.reference_date for r in releases} - {as_of})
    return ReleaseChoice(cluster, region, tuple(others))
