"""A practice report for P0001 in K01 with nothing but what a test varies, and its inputs."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from client.report.patients import patients_per_indicator
from client.report.practice_report import PracticeReport, build_report
from client.synth.practice import synthesize_practice
from indicator_defs import load_catalogue

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


AS_OF = date(2026, 9, 30)
CATALOGUE = load_catalogue().select(["AB-01", "DM-01", "DM-04", "KOL-02"])
PRACTICE = synthesize_practice(120, AS_OF, 3, rng=np.random.default_rng(3))
PATIENTS = patients_per_indicator(PRACTICE, CATALOGUE, AS_OF)


def release_doc(level="cluster", unit="K01", ref="2026-09-30", rounds=("r1",), release_id=1):
    return {
        "release_id": release_id,
        "created_at": "2026-10-01T10:00:00+00:00",
        "level": level,
        "unit": unit,
        "reference_date": ref,
        "round_ids": list(rounds),
        "manifest_hash": "ab" * 32,
        "contributors": 6,
        "mechanism": "distributed_skellam",
        "epsilon_per_release": 1.0,
        "indicators": [
            {
                "id": "DM-01",
                "numerator": 400,
                "denominator": 500,
                "rate": 0.8,
                "noise_sd": 10.0,
                "suppressed": {},
            },
            {
                "id": "DM-04",
                "numerator": None,
                "denominator": 500,
                "rate": None,
                "noise_sd": 10.0,
                "suppressed": {"numerator": "small_complement", "rate": "numerator_suppressed"},
            },
            {
                "id": "AB-01",
                "numerator": 900,
                "denominator": 2000,
                "rate": 0.45,
                "noise_sd": 20.0,
                "suppressed": {},
            },
        ],
    }
