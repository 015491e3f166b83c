"""Released cluster, regional and national results, downloaded for the practice's local report.

Only aggregates the coordinator released come here (the coordinator scopes a
`Fetch` to the caller's own cluster and region by its certificate). They are
stored byte for byte as served, one JSON file per level, named by the round
this practice took part in (`cluster-<round>.json`, `region-<round>.json`; a
region-wide round's own release is `region-<its round>.json` and says
`"scope": "region"`), so the local report shows exactly what was published.
The country's figures (the national release the region imported, scope
`nation`) belong to no round of the practice: they are named by their period
(`nation-<reference date>.json`), so a later period's never replaces them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from client.agent.errors import AgentError
from common import boundedjson
from common.atomic import atomic_write
from protocols import wire
from protocols.envelope import FetchResult

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
LEVELS = (wire.FETCH_CLUSTER, wire.FETCH_REGION)
# A release document is a few levels deep (period, indicator, cell, extras).
MAX_RELEASE_BYTES = 8 * 1024 * 1024
MAX_RELEASE_DEPTH = 16
REGION_ROUND = "region_round"  # status.json's key for a region-wide round's release


class ReleaseFormatError(AgentError):
    """The coordinator served something that is not a release document."""


@dataclass(frozen=True)
class StoredRelease:
    level: str
    round_id: str
    path: Path


def release_path(directory: Path, level: str, round_id: str) -> Path:
    return directory / f"{_SAFE.sub('_', level)}-{_SAFE.sub('_', round_id)[:128]}.json"


def store_release(
    directory: Path, level: str, requested_round: str, result: FetchResult
) -> StoredRelease:
    """Check the media type and that the body is a JSON object, then keep it atomically."""
    _checked(level, requested_round, result)
    directory.mkdir(parents=True, exist_ok=True)
    # Named by this practice's round: a regional release lists several cluster rounds.
    path = release_path(directory, level, requested_round)
    atomic_write(path, result.body)
    return StoredRelease(level, result.round_id or requested_round, path)


def store_national(directory: Path, result: FetchResult) -> StoredRelease:
    """Keep the country's release (scope `nation`) under its period: `nation-<date>.json`."""
    document = _checked(wire.FETCH_NATION, "", result)
    if document.get("level") != wire.FETCH_NATION:
        level = document.get("level")
        raise ReleaseFormatError(f"nation release: level {level!r:.40}, expected 'nation'")
    try:
        period = date.fromisoformat(str(document.get("reference_date")))
    except ValueError:
        raise ReleaseFormatError("nation release: reference_date is not a date") from None
    directory.mkdir(parents=True, exist_ok=True)
    path = release_path(directory, wire.FETCH_NATION, period.isoformat())
    atomic_write(path, result.body)
    return StoredRelease(wire.FETCH_NATION, result.round_id, path)


def _checked(level: str, requested_round: str, result: FetchResult) -> dict[str, Any]:
    """The served body as a JSON object, or `ReleaseFormatError` naming the level."""
    if result.media_type != wire.RELEASE_MEDIA_TYPE:
        raise ReleaseFormatError(
            f"{level} release: media type {result.media_type[:80]!r}, "
            f"expected {wire.RELEASE_MEDIA_TYPE!r}"
        )
    try:
        document = boundedjson.loads(
            result.body,
            source=f"{level} release",
            max_bytes=MAX_RELEASE_BYTES,
            max_depth=MAX_RELEASE_DEPTH,
        )
    except boundedjson.BoundedJsonError as exc:
        raise ReleaseFormatError(str(exc)) from None
    if not isinstance(document, dict):
        raise ReleaseFormatError(f"{level} release: body is not a JSON object")
    rounds = document.get("round_ids")
    if requested_round and isinstance(rounds, list) and requested_round not in rounds:
        raise ReleaseFormatError(
            f"{level} release: round_ids does not include the requested round {requested_round}"
        )
    return document
