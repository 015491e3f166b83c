"""FHIR import: round trips through Bundles and Bulk Data folders, and bad input named by entry."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from client.engine.fast import evaluate_fast
from client.extract.fhir_import import FhirImportError, import_fhir
from client.extract.loader import load_extract
from client.extract.writer import extract_format, write_extract
from client.synth.fhir import extract_to_bundle, write_bulk_export, write_bundle
from client.synth.practice import synthesize_practice
from client.synth.survey import draw_survey_responses
from indicator_defs import load_catalogue
from indicator_defs.fhir_measure import NPU_LEGACY_SYSTEM
from indicator_defs.survey_loader import load_surveys

REFERENCE = date(2026, 9, 30)
PX = load_surveys()["PX"]


@pytest.fixture(scope="module")
def practice():
    return synthesize_practice(200, REFERENCE, 5, rng=np.random.default_rng(3))


@pytest.fixture(scope="module")
def bundle(practice):
    return extract_to_bundle(practice)


def _write(tmp_path: Path, bundle: dict, name: str = "bundle.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(bundle))
    return path


def test_bundle_round_trip_is_identical(practice, tmp_path) -> None:
    path = tmp_path / "bundle.json"
    write_bundle(practice, path)
    back = import_fhir([path]).extract
    assert back.same_data(practice)
    assert back.source == path
    catalogue = load_catalogue()
    assert evaluate_fast(back, catalogue, REFERENCE) == evaluate_fast(
        practice, catalogue, REFERENCE
    )


def test_bulk_export_round_trip_is_identical(practice, tmp_path) -> None:
    write_bulk_export(practice, tmp_path / "export")
    result = import_fhir([tmp_path / "export"])
    assert result.extract.same_data(practice)
    counts = result.report.resources
    assert counts["Patient"] == (len(practice.patients), len(practice.patients), 0, 0)
    assert counts["Encounter"][0] == len(practice.encounters)
    assert result.report.rows["lab_results"] == len(practice.lab_results)


def test_survey_answers_round_trip_as_questionnaire_responses_like_the_csv(
    practice, tmp_path
) -> None:
    """Synth's FHIR carries the survey answers, free text included, and importing it gives
    the very tables that synth's CSV loads as, through a Bundle and a Bulk Data folder."""
    answers = draw_survey_responses(np.random.default_rng(4), practice.patients, PX, REFERENCE)
    assert answers["text"].notna().any() and answers["patient"].notna().all()
    with_survey = replace(practice, survey_responses=answers)
    write_extract(with_survey, tmp_path / "csv", extract_format("csv"))
    from_csv = load_extract(tmp_path / "csv")
    write_bundle(with_survey, tmp_path / "bundle.json")
    from_bundle = import_fhir([tmp_path / "bundle.json"])
    assert from_bundle.extract.same_data(from_csv)
    assert (
        from_bundle.report.resources["QuestionnaireResponse"][1]
        == answers.groupby(["respondent", "date"]).ngroups
    )
    write_bulk_export(with_survey, tmp_path / "export")
    assert (tmp_path / "export" / "QuestionnaireResponse.ndjson").exists()
    assert import_fhir([tmp_path / "export"]).extract.same_data(from_csv)


def test_extension_instead_of_group_gives_the_same_extract(practice, tmp_path) -> None:
    path = _write(tmp_path, extract_to_bundle(practice, group=False))
    assert import_fhir([path]).extract.same_data(practice)


def test_legacy_npu_oid_and_medication_statement_are_accepted(practice, bundle, tmp_path) -> None:
    b = copy.deepcopy(bundle)
    for e in b["entry"]:
        r = e["resource"]
        if r["resourceType"] == "Observation":
            for c in r["code"]["coding"]:
                if c["system"] == "http://npu-terminology.org":
                    c["system"] = NPU_LEGACY_SYSTEM
        if r["resourceType"] == "MedicationRequest":
            r["resourceType"] = "MedicationStatement"
            r["effectiveDateTime"] = r.pop("authoredOn")
            del r["intent"]
            r.pop("dispenseRequest", None)  # a statement has no supply duration
    # ... so its prescriptions have no days' supply, and the DDD stand-in applies
    stated = practice.prescriptions.assign(days_supply=np.nan)
    back = import_fhir([_write(tmp_path, b)]).extract
    assert back.same_data(replace(practice, prescriptions=stated))


def test_supply_duration_becomes_days_and_a_duration_in_no_days_is_reported(
    practice, bundle, tmp_path
) -> None:
    assert practice.prescriptions["days_supply"].notna().any()  # the round trips carry it
    b = copy.deepcopy(bundle)
    requests = [
        e["resource"] for e in b["entry"] if e["resource"]["resourceType"] == "MedicationRequest"
    ]
    weeks, months, missing = requests[0], requests[1], requests[2]
    weeks["dispenseRequest"] = {"expectedSupplyDuration": {"value": 4, "code": "wk"}}
    months["dispenseRequest"] = {"expectedSupplyDuration": {"value": 3, "code": "mo"}}
    missing["dispenseRequest"] = {"expectedSupplyDuration": {"unit": "d"}}
    result = import_fhir([_write(tmp_path, b)])
    supply = result.extract.prescriptions["days_supply"]
    assert supply[0] == 28.0 and np.isnan(supply[1]) and np.isnan(supply[2])
    [reason] = [r for r in result.report.reasons if r.kind == "supply_not_days"]
    assert reason.element == "MedicationRequest.dispenseRequest.expectedSupplyDuration"
    assert reason.count == 2 and reason.outcome == "altered"
    assert months["id"] in reason.examples[0] and "'mo'" in reason.examples[0]
    assert len(result.extract.prescriptions) == len(practice.prescriptions)  # rows are kept


def _first(bundle: dict, rtype: str) -> tuple[int, dict]:
    for i, e in enumerate(bundle["entry"]):
        if e["resource"]["resourceType"] == rtype:
            return i, e["resource"]
    raise AssertionError(rtype)


def _broken(bundle: dict, rtype: str, change) -> tuple[dict, int, str]:
    b = {"resourceType": "Bundle", "type": "collection", "entry": copy.deepcopy(bundle["entry"])}
    i, resource = _first(b, rtype)
    change(resource)
    return b, i, resource.get("id", "")


@pytest.mark.parametrize(
    ("rtype", "change", "element", "kind"),
    [
        ("Patient", lambda r: r.pop("birthDate"), "Patient.birthDate", "no_birth_date"),
        ("Patient", lambda r: r.update(gender="unknown"), "Patient.gender", "gender"),
        (
            "Patient",
            lambda r: r.update(birthDate=1950),
            "Patient.$.resource.birthDate",
            "malformed",
        ),
        (
            "Condition",
            lambda r: r["code"]["coding"][0].update(system="urn:x"),
            "Condition.code",
            "no_known_code",
        ),
        (
            "Condition",
            lambda r: r.update(onsetDateTime="2020-13"),
            "Condition.onsetDateTime",
            "bad_date",
        ),
        (
            "Observation",
            lambda r: r.update(subject={"reference": "Patient/nobody"}),
            "Observation.subject",
            "unresolved_subject",
        ),
        ("Encounter", lambda r: r.pop("serviceType"), "Encounter.serviceType", "no_service_code"),
        (
            "MedicationRequest",
            lambda r: r.pop("authoredOn"),
            "MedicationRequest.authoredOn",
            "no_date",
        ),
    ],
)
def test_a_bad_resource_is_counted_and_named_not_fatal(
    bundle, tmp_path, rtype, change, element, kind
) -> None:
    b, index, rid = _broken(bundle, rtype, change)
    result = import_fhir([_write(tmp_path, b, "b.json")])
    [reason] = [r for r in result.report.reasons if r.kind == kind]
    assert reason.element == element and reason.count == 1 and reason.outcome == "dropped"
    example = reason.examples[0]
    if kind != "unresolved_subject":  # settled after reading: named by entry only
        assert rid in example
    assert f"b.json, post {index}," in example
    read, kept, altered, dropped = result.report.resources[rtype]
    assert dropped == 1 and read == kept + altered + dropped


def test_every_problem_is_reported_in_one_run(bundle, tmp_path) -> None:
    b = copy.deepcopy(bundle)
    broken = 0
    for e in b["entry"]:
        r = e["resource"]
        if r["resourceType"] == "Observation" and broken < 3:
            r["status"] = "entered-in-error"
            broken += 1
        elif r["resourceType"] == "Encounter":
            r["serviceType"]["coding"][0]["system"] = "urn:other"
    report = import_fhir([_write(tmp_path, b)]).report
    kinds = {r.kind: r.count for r in report.reasons}
    assert kinds["status:entered-in-error"] == 3
    assert kinds["no_service_code"] == report.resources["Encounter"][0]
    assert all(len(r.examples) <= 3 for r in report.reasons)


def test_wrong_top_level_resource_and_bundle_type(tmp_path) -> None:
    with pytest.raises(FhirImportError, match=r"(no usable Patient|ingen brugbare Patient)"):
        import_fhir([_write(tmp_path, {"resourceType": "Patient"})])
    with pytest.raises(FhirImportError, match="history"):
        import_fhir([_write(tmp_path, {"resourceType": "Bundle", "type": "history"})])


def test_unreadable_file_names_the_file_and_byte(tmp_path) -> None:
    path = tmp_path / "x.json"
    path.write_text('{"resourceType": "Bundle", "entry": [{not json')
    with pytest.raises(FhirImportError, match=r"x\.json, byte \d+"):
        import_fhir([path])


def test_cli_import_writes_a_loadable_extract_and_a_report(practice, tmp_path) -> None:
    import typer
    from typer.testing import CliRunner

    from client.extract.loader import load_extract
    from klynge.commands.fhir import app

    root = typer.Typer()
    root.add_typer(app, name="fhir")

    @root.callback()
    def _cb() -> None:
        pass

    write_bulk_export(practice, tmp_path / "export")
    out, report = tmp_path / "extract", tmp_path / "report.json"
    res = CliRunner().invoke(
        root,
        ["fhir", "import", str(tmp_path / "export"), "--out", str(out), "--report", str(report)],
    )
    assert res.exit_code == 0, res.output
    assert load_extract(out).same_data(practice)
    doc = json.loads(report.read_text())
    assert doc["patients"]["listed"] == len(practice.patients)
    assert doc["resources"]["Group"] == {"read": 1, "kept": 1, "altered": 0, "dropped": 0}


def _bundle_of(*resources: dict) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }


def _listed(pid: str, gender: str = "female") -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "gender": gender,
        "birthDate": "1950-01-01",
        "extension": [
            {
                "url": "https://klynge.dk/fhir/StructureDefinition/list-membership",
                "valuePeriod": {"start": "2000-01-01"},
            }
        ],
    }


def test_skipping_too_many_patients_stops_the_import(tmp_path) -> None:
    good = [_listed(f"g{i}") for i in range(20)]
    bad = [_listed(f"b{i}", "unknown") for i in range(6)]
    with pytest.raises(FhirImportError, match="--max-skipped-patients") as err:
        import_fhir([_write(tmp_path, _bundle_of(*good, *bad))])
    assert err.value.report is not None and err.value.report.patients["skipped"] == 6
    result = import_fhir([_write(tmp_path, _bundle_of(*good, *bad[:5]))])
    assert len(result.extract.patients) == 20  # five may always be skipped


def test_several_groups_need_a_choice(tmp_path) -> None:
    def group(gid: str, *pids: str) -> dict:
        members = [
            {"entity": {"reference": f"Patient/{p}"}, "period": {"start": "2001-01-01"}}
            for p in pids
        ]
        return {
            "resourceType": "Group",
            "id": gid,
            "type": "person",
            "actual": True,
            "member": members,
        }

    path = _write(
        tmp_path, _bundle_of(_listed("a"), _listed("b"), group("x", "a"), group("y", "a", "b"))
    )
    with pytest.raises(FhirImportError, match="--group-id"):
        import_fhir([path])
    chosen = import_fhir([path], group_id="x").extract.patients
    assert list(chosen.patient_id) == ["a"] and str(chosen.list_start[0].date()) == "2001-01-01"
