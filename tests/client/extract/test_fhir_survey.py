"""FHIR QuestionnaireResponse import: realistic responses become the survey_responses table
through Bundles and Bulk Data NDJSON, and every response left out or altered is counted by
reason in the same import report as the other resources."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from client.engine.survey import compute_survey
from client.extract.fhir_import import import_fhir
from client.extract.loader import load_extract
from client.extract.writer import write_extract
from client.synth.fhir import write_bulk_export
from client.synth.practice import synthesize_practice
from indicator_defs.survey_loader import load_surveys

PX = load_surveys()["PX"]
CANONICAL = "https://klynge.dk/fhir/Questionnaire/PX|1"
LABELS = ("Helt uenig", "Delvist uenig", "Hverken enig eller uenig", "Delvist enig", "Helt enig")


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLYNGE_LANG", "en")


def patient(pid: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"profile": ["http://hl7.dk/fhir/core/StructureDefinition/dk-core-patient"]},
        "gender": "female",
        "birthDate": "1961-04-12",
        "extension": [
            {
                "url": "https://klynge.dk/fhir/StructureDefinition/list-membership",
                "valuePeriod": {"start": "2003-02-01"},
            }
        ],
    }


def coded(link: str, answer: int) -> dict:
    """A rated question answered as the EPJ's survey module sends it: a coding and its label."""
    return {
        "linkId": link,
        "text": PX.items[link].text["da"] if link in PX.items else "Andet",
        "answer": [
            {
                "valueCoding": {
                    "system": "https://klynge.dk/fhir/CodeSystem/agree5",
                    "code": str(answer),
                    "display": LABELS[answer - 1],
                }
            }
        ],
    }


def response(rid: str, items: list[dict], **fields: object) -> dict:
    """A completed PX response in groups per domain, as a questionnaire renderer nests it."""
    base = {
        "resourceType": "QuestionnaireResponse",
        "id": rid,
        "meta": {"lastUpdated": "2026-03-04T10:20:00+01:00"},
        "text": {"status": "generated", "div": "<div xmlns='http://www.w3.org/1999/xhtml'/>"},
        "questionnaire": CANONICAL,
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "authored": "2026-03-04T10:15:00+01:00",
        "source": {"reference": "Patient/p1"},
        "item": [{"linkId": "access", "text": "Adgang", "item": items}],
    }
    return {**base, **fields}


def bundle(*resources: dict) -> dict:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"urn:uuid:00000000-0000-0000-0000-{i:012d}", "resource": r}
            for i, r in enumerate(resources)
        ],
    }


def run(tmp_path: Path, *resources: dict):
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle(patient("p1"), patient("p2"), *resources)))
    return import_fhir([path])


def reasons(result) -> dict[tuple[str, str], tuple[str, int]]:
    return {(r.element, r.kind): (r.outcome, r.count) for r in result.report.reasons}


def test_a_completed_response_becomes_rows_with_its_patient_date_and_comment(tmp_path):
    comment = {
        "linkId": "Q11",
        "answer": [{"valueString": "Søde sekretærer, men svært at komme igennem."}],
    }
    result = run(
        tmp_path,
        response(
            "qr1",
            [coded("Q01", 4), {"linkId": "Q02", "answer": [{"valueInteger": 2}]}, comment],
        ),
    )
    frame = result.extract.survey_responses
    assert frame[["respondent", "survey", "version", "item", "patient"]].to_dict("list") == {
        "respondent": ["p1", "p1", "p1"],
        "survey": ["PX"] * 3,
        "version": [1.0] * 3,
        "item": ["Q01", "Q02", "Q11"],
        "patient": ["p1"] * 3,
    }
    assert frame["answer"].iloc[:2].tolist() == [4.0, 2.0]
    assert np.isnan(frame["answer"].iloc[2])  # free text has no answer on a scale
    assert frame["text"].iloc[2] == "Søde sekretærer, men svært at komme igennem."
    assert frame["text"].iloc[:2].isna().all()
    assert {str(d.date()) for d in frame["date"]} == {"2026-03-04"}
    assert result.report.resources["QuestionnaireResponse"] == (1, 1, 0, 0)
    assert result.report.rows["survey_responses"] == 3
    assert "Survey answers: 3 rows" in result.report.render()


def test_a_late_evening_response_is_dated_in_danish_time(tmp_path):
    late = response("qr1", [coded("Q01", 5)], authored="2025-09-30T23:30:00Z")
    frame = run(tmp_path, late).extract.survey_responses
    assert str(frame["date"].iloc[0].date()) == "2025-10-01"


@pytest.mark.parametrize(
    ("change", "element", "kind"),
    [
        ({"status": "in-progress"}, "QuestionnaireResponse.status", "status:in-progress"),
        ({"status": "entered-in-error"}, "QuestionnaireResponse.status", "status:entered-in-error"),
        ({"status": "amended"}, "QuestionnaireResponse.status", "status:amended"),
        ({"questionnaire": None}, "QuestionnaireResponse.questionnaire", "no_questionnaire"),
        (
            {"questionnaire": "https://klynge.dk/fhir/Questionnaire/PX"},
            "QuestionnaireResponse.questionnaire",
            "unknown_questionnaire",
        ),
        (
            {"questionnaire": "https://klynge.dk/fhir/Questionnaire/PX|7"},
            "QuestionnaireResponse.questionnaire",
            "unknown_questionnaire",
        ),
        ({"authored": None}, "QuestionnaireResponse.authored", "no_date"),
        ({"authored": "2026-03"}, "QuestionnaireResponse.authored", "partial_date"),
        ({"item": [coded("Q99", 4)]}, "QuestionnaireResponse.item", "no_answer"),
    ],
)
def test_a_response_that_cannot_count_is_dropped_by_reason(tmp_path, change, element, kind):
    bad = response("qr2", [coded("Q01", 4)], **change)
    result = run(tmp_path, response("qr1", [coded("Q01", 5)]), bad)
    assert result.report.resources["QuestionnaireResponse"] == (2, 1, 0, 1)
    assert reasons(result)[(element, kind)] == ("dropped", 1)
    assert result.extract.survey_responses["answer"].tolist() == [5.0]


def test_answers_that_cannot_count_are_left_out_and_the_response_counted_altered(tmp_path):
    items = [
        coded("Q01", 4),
        coded("Q01", 2),  # the same question again
        {"linkId": "Q02", "answer": [{"valueInteger": 6}]},  # off the scale
        {"linkId": "Q03", "answer": [{"valueString": "ja"}]},  # not a rated answer
        coded("Q42", 3),  # not in the survey
    ]
    result = run(tmp_path, response("qr1", items))
    assert result.extract.survey_responses["item"].tolist() == ["Q01"]
    assert result.report.resources["QuestionnaireResponse"] == (1, 0, 1, 0)
    found = reasons(result)
    assert found[("QuestionnaireResponse.item.answer", "duplicate_answer")] == ("altered", 1)
    assert found[("QuestionnaireResponse.item.answer", "out_of_scale")] == ("altered", 2)
    assert found[("QuestionnaireResponse.item.linkId", "unknown_item")] == ("altered", 1)
    examples = [e for r in result.report.reasons if r.kind == "out_of_scale" for e in r.examples]
    assert any("6 is not an answer to Q02 (a whole number 1–5)" in e for e in examples)


def test_one_patient_answering_twice_the_same_day_counts_once(tmp_path):
    result = run(
        tmp_path,
        response("qr1", [coded("Q01", 5)]),
        response("qr2", [coded("Q01", 1)], subject=None),  # source alone names the patient
    )
    assert result.extract.survey_responses["answer"].tolist() == [5.0]
    assert result.report.resources["QuestionnaireResponse"] == (2, 1, 0, 1)
    assert reasons(result)[("QuestionnaireResponse.authored", "duplicate_response")] == (
        "dropped",
        1,
    )


def test_a_second_response_on_another_day_is_kept_and_the_period_decides(tmp_path):
    later = response("qr2", [coded("Q01", 1)], authored="2026-05-04T09:00:00+02:00")
    result = run(tmp_path, response("qr1", [coded("Q01", 5)]), later)
    frame = result.extract.survey_responses
    assert frame["answer"].tolist() == [5.0, 1.0]
    assert reasons(result)[("QuestionnaireResponse.authored", "duplicate_respondent")] == (
        "kept",
        1,
    )
    counted = compute_survey(frame, PX, date(2026, 1, 1), date(2026, 12, 31))
    assert counted.respondents == 1 and counted.skipped["duplicate_respondent"] == 1


def test_the_surveys_own_pseudonym_is_the_respondent_as_in_the_csv(tmp_path):
    """An identifier under Klynge's survey-respondent system is the CSV's `respondent`: two
    waves' pseudonyms of one patient are two respondents; a CPR-like one is ignored."""

    def named(value: str) -> dict:
        return {"system": "https://klynge.dk/fhir/NamingSystem/survey-respondent", "value": value}

    result = run(
        tmp_path,
        response("qr1", [coded("Q01", 5)], identifier=named("S2025-00001")),
        response(
            "qr2",
            [coded("Q01", 1)],
            identifier=named("S2026-00007"),
            authored="2026-05-04T09:00:00+02:00",
        ),
        response(
            "qr3",
            [coded("Q01", 3)],
            identifier=named("0101701234"),
            source={"reference": "Patient/p2"},
            subject=None,
        ),
        response("qr4", [coded("Q01", 4)], identifier={"system": "urn:x", "value": "X9"}),
    )
    frame = result.extract.survey_responses
    assert frame["respondent"].tolist() == ["S2025-00001", "S2026-00007", "p2", "p1"]
    assert frame["patient"].tolist() == ["p1", "p1", "p2", "p1"]
    assert "0101701234" not in result.report.render()


def test_a_respondent_who_is_not_a_listed_patient_is_kept_without_a_link(tmp_path):
    anonymous = response("qr2", [coded("Q01", 3)], subject=None, source=None)
    stranger = response(
        "qr3", [coded("Q01", 4)], subject={"reference": "Patient/gone"}, source=None
    )
    result = run(tmp_path, anonymous, stranger)
    frame = result.extract.survey_responses
    assert frame["respondent"].tolist() == [
        "QuestionnaireResponse/qr2",
        "QuestionnaireResponse/qr3",
    ]
    assert frame["patient"].isna().all()
    assert result.report.resources["QuestionnaireResponse"] == (2, 1, 1, 0)
    assert reasons(result)[("QuestionnaireResponse.source", "patient_link_blanked")] == (
        "altered",
        1,
    )


def test_an_import_without_responses_has_no_survey_table(tmp_path):
    result = run(tmp_path)
    assert result.extract.survey_responses is None
    assert "survey_responses" not in result.report.rows


def test_bulk_data_ndjson_gives_the_same_table_as_a_bundle_and_writes_a_loadable_extract(
    tmp_path,
):
    practice = synthesize_practice(60, date(2026, 9, 30), 2, rng=np.random.default_rng(2))
    ids = practice.patients["patient_id"].tolist()[:25]
    responses = [
        response(
            f"qr{i}",
            [coded(q, 1 + (i + k) % 5) for k, q in enumerate(("Q01", "Q02", "Q03", "Q08"))],
            subject={"reference": f"Patient/{pid}"},
            source=None,
            authored=f"2026-0{1 + i % 9}-1{i % 10}T12:00:00+01:00",
        )
        for i, pid in enumerate(ids)
    ]
    folder = tmp_path / "export"
    write_bulk_export(practice, folder)
    (folder / "QuestionnaireResponse.ndjson").write_text(
        "".join(json.dumps(r) + "\n" for r in responses)
    )
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["output"].append(
        {
            "type": "QuestionnaireResponse",
            "url": "https://epj.example/files/QuestionnaireResponse.ndjson",
        }
    )
    (folder / "manifest.json").write_text(json.dumps(manifest))
    from_bulk = import_fhir([folder])
    assert from_bulk.report.resources["QuestionnaireResponse"] == (25, 25, 0, 0)
    frame = from_bulk.extract.survey_responses
    assert len(frame) == 100 and set(frame["patient"]) == set(ids)

    from client.synth.fhir import fhir_resources

    resources = [*fhir_resources(practice, group=False), *responses]
    path = tmp_path / "all.json"
    path.write_text(json.dumps(bundle(*resources)))
    assert import_fhir([path]).extract.survey_responses.equals(frame)

    write_extract(from_bulk.extract, tmp_path / "extract")
    assert load_extract(tmp_path / "extract").same_data(from_bulk.extract)
