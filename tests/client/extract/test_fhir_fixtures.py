"""Hand-written DK Core and MedCom-style inputs (tests/fixtures/fhir) import as a vendor expects.

The fixtures carry the cases the issue found on real sources: a condition coded
SKS-D first and ICPC-2 second, eGFR as a DNK code under the NPU system, statuses
that must not count, comparators, blood pressure as components, a patient of
unknown gender, a visitor outside the list Group, and Danish dates.
"""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from client.engine.fast import evaluate_fast
from client.extract.fhir_import import FhirImportError, import_fhir
from indicator_defs import load_catalogue
from tests import REPO_ROOT

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "fhir"
REF = date(2026, 9, 30)


def _values(extract) -> dict[str, tuple[int, int]]:
    result = evaluate_fast(extract, load_catalogue(), REF).by_id()
    return {i: (c.numerator, c.denominator) for i, c in result.items()}


@pytest.fixture(scope="module")
def bundle_import():
    return import_fhir([FIXTURES / "dk-core-practice.json"])


def test_dk_core_bundle_gives_the_intended_numbers(bundle_import) -> None:
    values = _values(bundle_import.extract)
    assert values["DM-06"] == (1, 1)  # the ICPC-2 coding came second
    assert values["CKD-01"] == (1, 2)  # eGFR DNK35302 under the NPU system, ACR '<3'
    assert values["DM-02"] == (1, 1)  # HbA1c '<48' is at target
    assert values["HT-01"] == (1, 1)  # 138/86 from the components
    assert set(bundle_import.extract.patients.patient_id) == {"a1", "a2", "a4"}


def test_dk_core_bundle_report_counts_every_resource(bundle_import) -> None:
    report = bundle_import.report
    for rtype, (read, kept, altered, dropped) in report.resources.items():
        assert read == kept + altered + dropped, rtype
    assert sum(counts[0] for counts in report.resources.values()) == 24
    kinds: dict[str, int] = {}
    for reason in report.reasons:
        kinds[reason.kind] = kinds.get(reason.kind, 0) + reason.count
    assert kinds["verificationStatus:entered-in-error"] == 1
    assert kinds["status:cancelled"] == 1 and kinds["intent:proposal"] == 1
    assert kinds["gender"] == 1 and kinds["not_listed"] == 1
    assert kinds["patient_not_listed"] == 1  # the visitor's encounter
    assert kinds["no_known_code"] == 2  # SNOMED CT and LOINC only
    assert kinds["comparator_resolved"] == 2 and kinds["ended_without_date"] == 1
    assert report.patients == {
        "read": 5,
        "listed": 3,
        "skipped": 1,
        "not_listed": 1,
        "cpr_like_ids": 0,
    }


def test_medcom_message_with_a_group_file(tmp_path) -> None:
    result = import_fhir([FIXTURES / "medcom-lab-message.json"], group=FIXTURES / "list-group.json")
    labs = result.extract.lab_results
    assert list(labs.code) == ["NPU27300"]  # the registered ACR is no result yet
    assert str(labs.date[0].date()) == "2026-09-30"  # 22:30 UTC on the 29th is the 30th here
    assert _values(result.extract)["DM-01"] == (0, 0)  # a2 has no diabetes code here
    kinds = {r.kind for r in result.report.reasons}
    assert {"not_used", "status:registered"} <= kinds


def test_bulk_export_equals_the_bundle(bundle_import) -> None:
    result = import_fhir([FIXTURES / "bulk-export"])
    assert result.extract.same_data(bundle_import.extract)
    [error] = [r for r in result.report.reasons if r.kind == "export_error"]
    assert "Immunization" in error.examples[0]


def test_a_missing_bulk_file_stops_the_import(tmp_path) -> None:
    folder = tmp_path / "export"
    shutil.copytree(FIXTURES / "bulk-export", folder)
    (folder / "Observation.ndjson").unlink()
    with pytest.raises(FhirImportError, match=r"Observation\.ndjson"):
        import_fhir([folder])
