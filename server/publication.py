"""The region's publication for the national tier (`klynge server publish`), and the national
publication it imports back (`klynge server import-national`).

A publication holds only region-level releases of one period (the regional
aggregate and the region-wide round's release), the signed manifest, the
log's signed head and an inclusion proof per release entry; nothing about a
cluster or a practice. The format and its checks are `privacy.publication`.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path

from common.atomic import atomic_write
from common.errors import KlyngeError
from common.formatting import day
from common.i18n import register, t
from privacy.log_entries import Kind, LogEntry
from privacy.publication import (
    NationalPublication,
    Publication,
    PublishedRelease,
    dump_json,
)
from privacy.transparency import TransparencyLog
from reporting.release_document import PeriodResults, ReleaseDocument, parse_release
from server.documents import release_document
from server.store import Level, Store

register(
    {
        "publish.err.unlogged": {
            "da": "udgivelse {release} for {region} ({date}) står ikke i gennemsigtighedsloggen",
            "en": "release {release} of {region} ({date}) is not in the transparency log",
        },
        "publish.err.none": {
            "da": "{region} har ingen udgivelse på regionsniveau for {date}",
            "en": "{region} has no region-level release of {date}",
        },
    }
)

NATIONAL_FILE = "national.json"  # beside the store: the imported national publication
NATIONAL_ARCHIVE = "national"  # every imported period's, for the country's line in trends


class PublishError(KlyngeError):
    """Nothing to publish for the period, or a release the log does not hold."""


def build_publication(
    store: Store, log: TransparencyLog, manifest_text: str, region: str, reference_date: date
) -> Publication:
    """The region's region-level releases of one period, each proven against the log's head."""
    head = log.head()
    entries: dict[int, LogEntry] = {
        int(e.payload["release_id"]): e
        for e in log.entries(Kind.RELEASE)
        if e.payload["level"] == Level.REGION.value and e.index < head.tree_size
    }
    releases = []
    for stored in store.releases():
        r = stored.release
        if r.level != Level.REGION or r.unit != region or r.reference_date != reference_date:
            continue
        entry = entries.get(stored.id)
        if entry is None:
            raise PublishError(
                t(
                    "publish.err.unlogged",
                    release=stored.id,
                    region=region,
                    date=day(reference_date),
                )
            )
        proof = tuple(log.inclusion_proof(entry.index, head.tree_size))
        releases.append(PublishedRelease(release_document(stored).to_json(), entry, proof))
    if not releases:
        raise PublishError(t("publish.err.none", region=region, date=day(reference_date)))
    return Publication(region, reference_date, manifest_text, head, tuple(releases))


def write_publication(publication: Publication, out: Path) -> None:
    atomic_write(out, dump_json(publication.to_json()))


def store_national(national: NationalPublication, directory: Path) -> Path:
    """Keep the checked national publication where the coordinator serves it from (atomic)."""
    body = dump_json(national.to_json())
    archive = directory / NATIONAL_ARCHIVE
    archive.mkdir(exist_ok=True)
    atomic_write(archive / f"{national.reference_date.isoformat()}.json", body)
    path = directory / NATIONAL_FILE
    atomic_write(path, body)
    return path


def national_document(directory: Path) -> bytes | None:
    """The stored national publication's country document, as agents fetch it (scope `nation`).

    It was checked on import (signature, manifest); the coordinator wrote the
    file itself, so it is read back as written.
    """
    path = directory / NATIONAL_FILE
    if not path.exists():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    return json.dumps(doc["nation"], ensure_ascii=False).encode("utf-8")


def national_release(directory: Path, reference_date: date) -> ReleaseDocument | None:
    """The imported country's release of `reference_date`, if one was imported (for reports)."""
    archived = directory / NATIONAL_ARCHIVE / f"{reference_date.isoformat()}.json"
    path = archived if archived.exists() else directory / NATIONAL_FILE
    if not path.exists():
        return None  # imported before the archive existed: only the latest is kept
    nation = parse_release(path, json.loads(path.read_text(encoding="utf-8"))["nation"])
    return nation if nation.reference_date == reference_date else None


def with_nation(results: PeriodResults, directory: Path) -> PeriodResults:
    """`results` with the imported country's release of its period and of each earlier one."""
    history = results.history
    if history is not None:
        history = tuple(
            replace(p, nation=national_release(directory, p.reference_date)) for p in history
        )
    return replace(
        results, nation=national_release(directory, results.reference_date), history=history
    )
