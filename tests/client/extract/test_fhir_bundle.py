"""FHIR Bundle import: round trip through the export, and bad bundles named by entry."""

from __future__ import annotations

import copy
import json
from datetime import date

import numpy as np
import pytest

from client.engine.fast import evaluate_fast
from client.extract.fhir_bundle import (
    FhirBundleError,
    bundle_to_extract,
    extract_to_bundle,
    load_fhir_bundle,
)
from client.synth.practice import synthesize_practice
from indicator_defs import load_catalogue
from indicator_defs.fhir_measure import NPU_LEGACY_SYSTEM

REFERENCE = date(2026, 9, 30)


@pytest.fixture(scope="module")
def practice():
    return synthesize_practice(200, REFERENCE, 5, rng=np.random.default_rng(3))


@pytest.fixture(scope="module")
def bundle(practice):
    return extract_to_bundle(practice)


def test_round_trip_is_identical(practice, bundle, tmp_path) -> None:
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    back = load_fhir_bundle(path)
    assert back.same_data(practice)
    assert back.source == path
    catalogue = load_catalogue()
    assert evaluate_fast(back, catalogue, REFERENCE) == evaluate_fast(
        practice, catalogue, REFERENCE
    )
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds == {"Patient", "Condition", "MedicationRequest", "Observation", "Encounter"}


def _first(bundle: dict, rtype: str) -> tuple[int, dict]:
    for i, e in enumerate(bundle["entry"]):
        if e["resource"]["resourceType"] == rtype:
            return i, e["resource"]
    raise AssertionError(rtype)


def test_legacy_npu_oid_and_medication_statement_are_accepted(practice, bundle) -> None:
    b = copy.deepcopy(bundle)
    for e in b["entry"]:
        r = e["resource"]
        if r["resourceType"] == "Observation":
            for c in r["code"]["coding"]:
                if c["system"] == "http://npu-terminology.org":
                    c["system"] = NPU_LEGACY_SYSTEM
        if r["resourceType"] == "MedicationRequest":
            r["resourceType"] = "MedicationStatement"
            r["effectiveDateTime"] = r.pop("authoredOn") + "T10:15:00+02:00"
    assert bundle_to_extract(b).same_data(practice)


def _broken(bundle: dict, rtype: str, change) -> tuple[dict, int, str]:
    b = {"resourceType": "Bundle", "type": "collection", "entry": copy.deepcopy(bundle["entry"])}
    i, resource = _first(b, rtype)
    change(resource)
    return b, i, resource.get("id", "")


@pytest.mark.parametrize(
    ("rtype", "change", "field"),
    [
        ("Patient", lambda r: r.pop("birthDate"), "birthDate"),
        ("Patient", lambda r: r.update(gender="unknown"), "gender"),
        ("Patient", lambda r: r.pop("extension"), "extension"),
        ("Patient", lambda r: r.update(resourceType="Practitioner"), "resourceType"),
        ("Condition", lambda r: r["code"]["coding"][0].update(system="urn:x"), "code.coding"),
        ("Condition", lambda r: r.update(onsetDateTime="2020-13"), "onsetDateTime"),
        ("Observation", lambda r: r.update(subject={"reference": "Patient/nobody"}), "subject"),
        ("Encounter", lambda r: r.pop("serviceType"), "serviceType"),
        ("MedicationRequest", lambda r: r.pop("authoredOn"), "authoredOn"),
    ],
)
def test_bad_entries_name_index_resource_and_field(bundle, rtype, change, field) -> None:
    b, index, rid = _broken(bundle, rtype, change)
    with pytest.raises(FhirBundleError) as err:
        bundle_to_extract(b, name="b.json")
    message = str(err.value)
    assert f"entry {index} (" in message and rid in message and field in message


def test_wrong_top_level_resource_type() -> None:
    with pytest.raises(FhirBundleError, match=r"resourceType.*Patient"):
        bundle_to_extract({"resourceType": "Patient"}, name="b.json")
    with pytest.raises(FhirBundleError, match="type"):
        bundle_to_extract({"resourceType": "Bundle", "type": "searchset"}, name="b.json")


def test_loader_validation_is_mapped_back_to_the_entry(bundle) -> None:
    # list_end before list_start: a rule of the CSV loader, reported at the bundle entry.
    def backwards(r: dict) -> None:
        r["extension"][0]["valuePeriod"] = {"start": "2020-01-01", "end": "2019-01-01"}

    b, index, rid = _broken(bundle, "Patient", backwards)
    with pytest.raises(FhirBundleError) as err:
        bundle_to_extract(b, name="b.json")
    assert f"entry {index} (Patient/{rid})" in str(err.value)


def test_unreadable_file(tmp_path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{not json")
    with pytest.raises(FhirBundleError, match=r"x\.json"):
        load_fhir_bundle(path)


@pytest.mark.slow
def test_cli_import_writes_a_loadable_extract(practice, bundle, tmp_path) -> None:
    import typer
    from typer.testing import CliRunner

    from client.extract.loader import load_extract
    from klynge.commands.fhir import app

    root = typer.Typer()
    root.add_typer(app, name="fhir")

    @root.callback()
    def _cb() -> None:
        pass

    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    out = tmp_path / "extract"
    res = CliRunner().invoke(root, ["fhir", "import", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert load_extract(out).same_data(practice)
