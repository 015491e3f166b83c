"""Downloaded cluster and regional releases, read strictly for the practice report.

The agent stores releases byte for byte as served (`state/releases/`). Here
they are parsed into typed values; a file that is not a release document is
an error naming the file and field, never a silently empty comparison.
Suppressed figures stay `None` with their reason, never zero.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from client.report.errors import ReleaseFileError

Z95 = 1.959963984540054  # two-sided 95% normal quantile


@dataclass(frozen=True)
class PublishedFigure:
    """One indicator's released total at one level (cluster or region)."""

    indicator_id: str
    numerator: float | None
    denominator: float | None
    rate: float | None  # a proportion; None when suppressed
    noise_sd: float | None  # of the numerator
    suppressed: dict[str, str]  # field -> reason

    @property
    def suppressed_reason(self) -> str | None:
        """Why the rate is hidden (the rate's own reason first), or None if it is shown."""
        if self.rate is not None:
            return None
        reason = self.suppressed.get("rate")
        # "numerator_suppressed" only points on: the numerator's own reason says why.
        for field in ("numerator", "denominator"):
            if reason == f"{field}_suppressed" and field in self.suppressed:
                return self.suppressed[field]
        return reason or next(iter(self.suppressed.values()), "missing")

    @property
    def interval(self) -> tuple[float, float] | None:
        """95% interval of the DP noise on the rate: rate ± 1.96·noise_sd / denominator."""
        if self.rate is None or not self.denominator:
            return None
        half = Z95 * (self.noise_sd or 0.0) / self.denominator
        return (self.rate - half, self.rate + half)


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
    )


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
        epsilon_per_release=_number(path, doc, "epsilon_per_release", ""),
        figures={f.indicator_id: f for f in figures},
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
