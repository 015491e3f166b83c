"""A practice report for P0001 in K01 with nothing but what a test varies."""

from __future__ import annotations

from datetime import date
from typing import Any

from client.report.practice_report import PracticeReport, build_report

GENERATED_AT = "2026-10-02 08:00 UTC"


def practice_report(
    *, as_of: date, catalogue: Any, patients: Any, releases: Any, **overrides: Any
) -> PracticeReport:
    """`build_report` with no receipts and no budget unless the test passes them."""
    kwargs: dict[str, Any] = {
        "practice_id": "P0001",
        "cluster_id": "K01",
        "as_of": as_of,
        "generated_at": GENERATED_AT,
        "catalogue": catalogue,
        "patients": patients,
        "releases": releases,
        "charges": [],
        "budget": (),
    }
    return build_report(**(kwargs | overrides))
