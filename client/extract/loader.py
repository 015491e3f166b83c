"""Load an extract directory into a validated `Extract`, or explain why not.

This is the only way patient data enters Klynge. It either returns an
`Extract` that satisfies every invariant in `client.extract.tables`, or raises
`ExtractError` listing every fatal problem it found (not just the first), so
one run tells the practice all it must fix. Nothing partial is ever returned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd

from client.extract.errors import ExtractError
from client.extract.issues import DEFAULT_CAP, IssueLog
from client.extract.messages import text
from client.extract.schema import OPTIONAL_TABLES, PATIENTS, TABLES
from client.extract.sources import RawTable, read_table
from client.extract.tables import Extract, ExtractIssue
from client.extract.validate import known_patient_ids, validate_table
from indicator_defs.survey_loader import installed_surveys
from indicator_defs.survey_model import Survey

Progress = Callable[[str, int], None]
"""Called as progress(table_name, rows_read) once per table, after it is read."""


def load_extract(
    directory: Path | str,
    *,
    strict: bool = False,
    progress: Progress | None = None,
    cap: int = DEFAULT_CAP,
    surveys: Mapping[str, Survey] | None = None,
) -> Extract:
    """Read and validate the extract in `directory` (CSV or Parquet per table).

    With `strict`, every warning is fatal. `cap` bounds how many example
    issues are kept per file; counts are always exact. `surveys` are the
    definitions survey answers are checked against (default: those shipped).
    """
    directory = Path(directory)
    if not directory.is_dir():
        issue = ExtractIssue(
            str(directory), None, None, text("not_a_directory"), True, "not_a_directory"
        )
        raise ExtractError(directory, [issue])

    log = IssueLog(strict=strict, cap=cap, file_order=_schema_order)
    raws: dict[str, RawTable] = {}
    for spec in (*TABLES, *OPTIONAL_TABLES):
        raw = read_table(directory, spec, log, optional=spec in OPTIONAL_TABLES)
        if raw is not None:
            raws[spec.name] = raw
            if progress is not None:
                progress(spec.name, raw.n_rows)

    frames: dict[str, pd.DataFrame] = {}
    skipped: dict[str, int] = {}
    patients = raws.get(PATIENTS.name)
    patients_file = patients.file if patients else f"{PATIENTS.name}.csv"
    known = None
    if patients is not None:
        frames[PATIENTS.name], skipped[PATIENTS.name] = validate_table(
            patients, log, None, patients_file
        )
        if "patient_id" in frames[PATIENTS.name]:
            known = known_patient_ids(frames[PATIENTS.name])
    if any(t.name in raws for t in OPTIONAL_TABLES) and surveys is None:
        surveys = installed_surveys()
    for name, raw in raws.items():
        if name != PATIENTS.name:
            frames[name], skipped[name] = validate_table(
                raw, log, known, patients_file, surveys=surveys
            )

    report = log.report()
    if report.fatal:
        raise ExtractError(
            directory,
            report.fatal,
            counts=report.fatal_counts,
            warnings=report.warnings,
            warning_counts=report.warning_counts,
        )
    return Extract(
        **frames,
        source=directory,
        warnings=report.warnings,
        warning_counts=report.warning_counts,
        skipped_rows=skipped,
    )


def _schema_order(file: str) -> int:
    """Report files in schema order (patients first), whatever order they failed in."""
    stem = file.rsplit(".", 1)[0]
    names = [t.name for t in (*TABLES, *OPTIONAL_TABLES)]
    return names.index(stem) if stem in names else len(names)
