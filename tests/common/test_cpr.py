"""CPR numbers may sit in a practice's own extract, but never in a message, a log or a report."""

from __future__ import annotations

import json
import logging

import pytest

from client.extract.errors import ExtractError
from client.extract.fhir_import import FhirImportError, import_fhir
from client.extract.loader import load_extract
from client.extract.writer import write_extract
from common.cpr import has_cpr, mask_cpr
from common.logs import JsonLineFormatter
from tests.client.engine.builders import make_extract

CPR = "010150-1234"


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("0101501234", True),
        ("010150-1234", True),
        ("Patient/2902001234", True),  # 29 Feb in a leap century
        ("3213501234", False),  # no 32nd day
        ("01015012345", False),  # eleven digits
        ("a3f9c0e1", False),
    ],
)
def test_cpr_like(text: str, found: bool) -> None:
    assert has_cpr(text) is found
    assert ("<CPR>" in mask_cpr(text)) is found


def test_loader_messages_mask_cpr_patient_ids(tmp_path) -> None:
    patients = [(CPR, "1950-01-01", "F", "2000-01-01", None, None)] * 2
    write_extract(make_extract(patients), tmp_path)
    with pytest.raises(ExtractError) as err:
        load_extract(tmp_path)
    assert "duplicate_patient" in {i.kind for i in err.value.issues}
    assert not has_cpr(str(err.value)) and "<CPR>" in str(err.value)


def test_import_report_and_errors_never_show_a_cpr(tmp_path) -> None:
    entries = [
        {
            "resource": {
                "resourceType": "Patient",
                "id": "0101501234",
                "gender": "unknown",
                "birthDate": "1950-01-01",
            }
        },
        {
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "subject": {"reference": "Patient/0101501234"},
                "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
                "effectiveDateTime": "2026-01-01",
            }
        },
    ]
    path = tmp_path / "0101501234.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    with pytest.raises(FhirImportError) as err:
        import_fhir([path])
    report = err.value.report
    assert report is not None and report.reasons
    for shown in (str(err.value), report.render(), json.dumps(report.to_json())):
        assert not has_cpr(shown)


def test_log_lines_mask_cpr() -> None:
    record = logging.LogRecord("x", logging.INFO, "", 0, json.dumps({"patient": CPR}), (), None)
    line = JsonLineFormatter().format(record)
    assert not has_cpr(line) and "<CPR>" in line
