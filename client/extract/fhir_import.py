"""A practice's FHIR data (Bundles, Bulk Data NDJSON exports, a list Group) as a validated Extract.

The import finds the inputs (files, Bulk Data folders and their manifest),
streams every resource through the mapping rules (`fhir_map`), then lets
`fhir_assemble` settle what needs the whole picture. The result is the same
typed tables the CSV loader produces, so the engines cannot tell the
difference, plus an `ImportReport` that counts every resource kept, altered
or dropped.

Bad patients are skipped and counted; the import fails only when more
than `max_skipped` of the patients had to be skipped, when no patient is
left, or when an input is unreadable or incomplete (docs/fhir.md).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from client.extract.fhir_assemble import EXAMPLES, assemble
from client.extract.fhir_codes import Thresholds
from client.extract.fhir_json import (
    BLANK,
    Batch,
    FhirReadError,
    Malformed,
    NotABundle,
    decode_resource,
    read_bundle,
    read_json,
    read_ndjson,
)
from client.extract.fhir_map import Mapper
from client.extract.fhir_messages import text
from client.extract.fhir_model import Entry, Resource
from client.extract.fhir_report import ImportReport, reasons_from
from client.extract.issues import Effect, IssueLog
from client.extract.tables import Extract
from common.cpr import mask_cpr
from common.errors import KlyngeError
from indicator_defs import load_catalogue
from indicator_defs import model as m

DEFAULT_MAX_SKIPPED = 0.01
BUNDLE_TYPES = frozenset({"collection", "transaction", "batch", "searchset", "document", "message"})
# Bulk Data outputs are read in this order, so patients and lists are known early.
_TYPE_ORDER = {"Group": 0, "Patient": 1, "Medication": 2}
_URL_TAIL = re.compile(r"[^/?#]+(?=[?#]|$)")


class FhirImportError(KlyngeError):
    """A FHIR import that cannot become an extract; `report` still counts everything read."""

    def __init__(self, name: str, problems: Sequence[str], report: ImportReport | None) -> None:
        self.report = report
        self.problems = tuple(problems)
        head = text("error_head", path=mask_cpr(name))
        super().__init__("\n".join([head, *(f"  {mask_cpr(p)}" for p in problems)]))


@dataclass(frozen=True)
class FhirImport:
    extract: Extract
    report: ImportReport


@dataclass(frozen=True)
class _Source:
    path: Path
    kind: str  # bundle | ndjson | resource
    resource_type: str | None = None  # from the Bulk Data manifest


def import_fhir(
    inputs: Sequence[Path | str],
    *,
    group: Path | str | None = None,
    group_id: str | None = None,
    catalogue: m.Catalogue | None = None,
    max_skipped: float = DEFAULT_MAX_SKIPPED,
) -> FhirImport:
    """FHIR files and folders as an Extract and its import report; or FhirImportError."""
    paths = [Path(p) for p in inputs]
    name = ", ".join(str(p) for p in paths)
    log = IssueLog(cap=EXAMPLES)
    fatal: list[str] = []
    sources = _discover(paths, group, log, fatal)
    labels = [s.path.name for s in sources]
    mapper = Mapper(labels, log, Thresholds.of(catalogue or load_catalogue()))
    with _no_cycle_collection():
        for index, source in enumerate(sources):
            try:
                _read(source, index, mapper, fatal)
            except FhirReadError as exc:
                fatal.append(str(exc))
        extract = assemble(mapper, group_id, max_skipped, fatal) if not fatal else None
    report = _report(mapper, labels, extract, fatal)
    if extract is None or fatal:
        raise FhirImportError(name, fatal, report)
    warnings = log.report()
    extract = replace(
        extract,
        source=paths[0] if len(paths) == 1 else None,
        warnings=warnings.warnings,
        warning_counts=warnings.warning_counts,
    )
    return FhirImport(extract, report)


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The import makes millions of short-lived acyclic objects; cycle collection only slows it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# --- finding and reading the inputs ------------------------------------------------------


def _discover(
    paths: list[Path], group: Path | str | None, log: IssueLog, fatal: list[str]
) -> list[_Source]:
    sources: list[_Source] = []
    if group is not None:
        sources.append(_Source(Path(group), "resource", "Group"))
    for path in paths:
        if path.is_dir():
            sources += _folder(path, log, fatal)
        elif path.suffix == ".ndjson":
            sources.append(_Source(path, "ndjson"))
        elif path.exists():
            sources.append(_Source(path, "bundle"))
        else:
            fatal.append(f"{path}: {text('no_input')}")
    sources.sort(key=lambda s: _TYPE_ORDER.get(s.resource_type or "", 9))
    return sources


def _folder(path: Path, log: IssueLog, fatal: list[str]) -> list[_Source]:
    manifest_path = path / "manifest.json"
    if not manifest_path.exists():
        found = sorted(path.glob("*.ndjson")) + sorted(
            p for p in path.glob("*.json") if p.name != "manifest.json"
        )
        if not found:
            fatal.append(f"{path}: {text('no_input')}")
        elif any(p.suffix == ".ndjson" for p in found):
            log.add(path.name, "no_manifest", text("no_manifest"), Effect.IGNORED)
        return [_Source(p, "ndjson" if p.suffix == ".ndjson" else "bundle") for p in found]
    try:
        manifest = read_json(manifest_path)
    except FhirReadError as exc:
        fatal.append(str(exc))
        return []
    outputs = manifest.get("output") if isinstance(manifest, dict) else None
    if not isinstance(outputs, list):
        fatal.append(f"{manifest_path}: {text('bad_manifest', value='output')}")
        return []
    sources: list[_Source] = []
    for kind, listed in (("ndjson", outputs), ("error", manifest.get("error") or [])):
        for item in listed:
            url = item.get("url") if isinstance(item, dict) else None
            tail = _URL_TAIL.search(url) if isinstance(url, str) else None
            if tail is None:
                fatal.append(f"{manifest_path}: {text('bad_manifest', value=repr(item))}")
                continue
            file = path / tail.group(0)
            if not file.exists():
                fatal.append(f"{manifest_path}: {text('missing_output', value=tail.group(0))}")
                continue
            rtype = item.get("type") if isinstance(item.get("type"), str) else None
            sources.append(_Source(file, "ndjson", rtype if kind == "ndjson" else "error"))
    return sources


def _read(source: _Source, index: int, mapper: Mapper, fatal: list[str]) -> None:
    if source.kind == "ndjson":
        for batch in read_ndjson(source.path):
            _items(batch, index, mapper, source.resource_type == "error")
        return
    if source.kind == "resource":
        _one_resource(source.path, index, mapper)
        return
    try:
        header = read_bundle(source.path, lambda batch: _items(batch, index, mapper, False))
    except NotABundle:
        _one_resource(source.path, index, mapper)
        return
    if header.type not in BUNDLE_TYPES:
        fatal.append(f"{source.path}: {text('bundle_type', value=repr(header.type))}")
    if header.type == "searchset" and header.next_link:
        fatal.append(f"{source.path}: {text('incomplete_searchset')}")


def _one_resource(path: Path, index: int, mapper: Mapper) -> None:
    document = read_json(path)
    item = decode_resource(document if isinstance(document, dict) else {"resourceType": None})
    _items((1, [item]), index, mapper, False)


def _items(batch: Batch, source: int, mapper: Mapper, errors: bool) -> None:
    first, items = batch
    for k, item in enumerate(items):
        number = first + k
        kind = type(item)
        if kind is Entry:
            resource = item.resource  # type: ignore[union-attr]
            if resource is None:
                mapper.set_position(source, number)
                request = item.request  # type: ignore[union-attr]
                mapper.no_resource(request.method if request is not None else None)
                continue
            mapper.resource(resource, source, number, item.fullUrl)  # type: ignore[union-attr]
        elif kind is Resource:
            if errors:
                _export_error(item, source, number, mapper)  # type: ignore[arg-type]
            else:
                mapper.resource(item, source, number, None)  # type: ignore[arg-type]
        elif item is not BLANK:
            bad: Malformed = item  # type: ignore[assignment]
            mapper.set_position(source, number)
            mapper.malformed(bad.resource_type, bad.resource_id, bad.path, bad.problem)


def _export_error(res: Resource, source: int, line: int, mapper: Mapper) -> None:
    """An OperationOutcome from the export's error files: data the server could not export."""
    details = [
        str(issue.get("diagnostics") or issue.get("code"))
        for issue in res.issue or ()
        if isinstance(issue, dict)
    ]
    mapper.export_error(source, line, "; ".join(details) or "?")


def _report(
    mapper: Mapper, labels: list[str], extract: Extract | None, fatal: list[str]
) -> ImportReport:
    outcomes = {key: outcome.value for key, outcome in mapper.outcomes.items()}
    rows = {} if extract is None else {n: len(extract.table(n)) for n in extract.present_tables()}
    totals = mapper.patient_totals or {"read": len(mapper.patients)}
    return ImportReport(
        sources=tuple(mask_cpr(label) for label in labels),
        resources={k: tuple(v) for k, v in mapper.counts.items()},  # type: ignore[misc]
        rows=rows,
        patients=totals,
        reasons=reasons_from(mapper.log, outcomes),
        fatal=tuple(mask_cpr(f) for f in fatal),
    )
