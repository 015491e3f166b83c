"""Survey measures as FHIR MeasureReports: proportion for top-box shares, continuous-variable
for the mean score, checked against the R4 schema and Klynge's invariants."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from client.synth.fhir import extract_to_bundle
from client.synth.survey import draw_survey_responses
from indicator_defs import load_catalogue
from indicator_defs.fhir_measure import questionnaire_url
from indicator_defs.fhir_questionnaire import questionnaire_resource
from indicator_defs.fhir_survey_measure import survey_measure_resource, survey_measures
from indicator_defs.survey_loader import installed_surveys
from reporting.release_document import parse_release
from server.fhir_conformance import check_resource
from server.fhir_report import DATA_ABSENT_REASON, INTERVAL_EXT, UNCERTAIN_EXT, release_bundle
from server.fhir_survey import survey_measure_report
from tests.client.report.builders import AS_OF, PRACTICE
from tests.server.builders import release_head
from tests.server.fhir_schema import r4_problems

PX = installed_surveys()["PX"]


def _figure(kind: str, value: float | None, respondents: int, uncertain: bool = False) -> dict:
    return {
        "survey": "PX",
        "kind": kind,
        "value": value,
        "interval": None if value is None else [value - 0.05, value + 0.05],
        "respondents": respondents,
        "value_noise_sd": 0.02,
        "uncertain": uncertain,
        "reason": "too_wide" if uncertain else None,
        "cells": {"units": 100, "respondents": respondents},
        "cell_noise_sd": {"units": 90.0, "respondents": 45.0},
        "period": ["2025-10-01", "2026-09-30"],
    }


def _release() -> dict:
    return release_head(
        contributors=15,
        epsilon_per_release=0.99,
        delta_per_release=1e-6,
        indicators=[],
        surveys={
            "PX-ACCESS": _figure("top_box", 0.81, 3600),
            "PX-MEAN": _figure("mean", 4.2, 3600),
            "PX-INVOLVEMENT": _figure("top_box", None, 0, uncertain=True),
        },
    )


def _codes(group: dict) -> list[str]:
    return [p["code"]["coding"][0]["code"] for p in group["population"]]


def test_a_top_box_share_is_a_proportion_without_a_made_up_numerator():
    report = survey_measure_report(parse_release("r", _release()), PX, "PX-ACCESS", lang="en")
    assert r4_problems(report) == []
    group = report["group"][0]
    assert _codes(group) == ["initial-population", "denominator", "numerator"]
    assert group["population"][1]["count"] == 3600
    numerator = group["population"][2]
    assert "count" not in numerator
    assert numerator["_count"]["extension"][0]["url"] == DATA_ABSENT_REASON
    assert group["measureScore"] == {"value": 0.81}
    assert report["measure"].endswith("/Measure/PX-ACCESS|1")
    assert report["period"] == {"start": "2025-10-01", "end": "2026-09-30"}
    [interval] = [e for e in group["extension"] if e["url"] == INTERVAL_EXT]
    assert interval["extension"][0]["valueDecimal"] == pytest.approx(0.76)
    assert "81.0%" in report["text"]["div"] and "3,600 respondents" in report["text"]["div"]


def test_a_mean_score_is_continuous_variable_and_an_empty_measure_says_why():
    doc = parse_release("r", _release())
    mean = survey_measure_report(doc, PX, "PX-MEAN", lang="da")
    assert r4_problems(mean) == []
    assert _codes(mean["group"][0]) == ["initial-population", "measure-population"]
    assert mean["group"][0]["measureScore"] == {"value": 4.2}
    empty = survey_measure_report(doc, PX, "PX-INVOLVEMENT", lang="da")
    assert r4_problems(empty) == []
    assert "value" not in empty["group"][0]["measureScore"]
    assert {"url": UNCERTAIN_EXT, "valueBoolean": True} in empty["group"][0]["extension"]
    broken = survey_measure_report(doc, PX, "PX-MEAN")
    broken["group"][0]["population"].pop()
    assert any("needs exactly one" in p for p in r4_problems(broken))


def test_the_release_bundle_carries_indicators_and_survey_measures():
    bundle = release_bundle(parse_release("r", _release()), load_catalogue(), lang="en")
    assert r4_problems(bundle) == []
    measures = [e["resource"]["measure"].split("/")[-1] for e in bundle["entry"]]
    assert measures == ["PX-ACCESS|1", "PX-MEAN|1", "PX-INVOLVEMENT|1"]


def test_each_survey_report_names_a_published_measure_of_its_scoring_at_the_surveys_version():
    measures = survey_measures(installed_surveys())
    published = {f"{m['url']}|{m['version']}": m for m in measures.values()}
    doc = parse_release("r", _release())
    for measure_id in doc.surveys:
        report = survey_measure_report(doc, PX, measure_id, lang="da")
        measure = published[report["measure"]]  # the reference resolves
        scoring = measure["scoring"]["coding"][0]["code"]
        assert scoring == (
            "proportion"
            if PX.measures[measure_id].kind.value == "top_box"
            else "continuous-variable"
        )
        reported = {c for g in report["group"] for c in _codes(g)}
        defined = {p["code"]["coding"][0]["code"] for p in measure["group"][0]["population"]}
        assert reported <= defined  # every population reported is one the Measure defines


def test_a_survey_measures_criteria_read_its_own_items_of_its_questionnaire():
    access = survey_measure_resource(PX, PX.measures["PX-ACCESS"])
    criteria = {
        p["code"]["coding"][0]["code"]: p["criteria"]["expression"]
        for p in access["group"][0]["population"]
    }
    assert "'https://klynge.dk/fhir/Questionnaire/PX|1'" in criteria["initial-population"]
    assert "('Q01' | 'Q02')" in criteria["numerator"] and "'Q03'" not in criteria["numerator"]
    assert "$this >= 4" in criteria["numerator"]
    mean = survey_measure_resource(PX, PX.measures["PX-MEAN"], canonical_base="https://x.dk/fhir/")
    assert mean["url"] == "https://x.dk/fhir/Measure/PX-MEAN" and mean["version"] == "1"
    assert "measure-observation" in {
        p["code"]["coding"][0]["code"] for p in mean["group"][0]["population"]
    }


def test_the_questionnaire_is_r4_valid_bilingual_and_the_canonical_the_responses_name():
    questionnaire = questionnaire_resource(PX)
    assert r4_problems(questionnaire) == []
    assert f"{questionnaire['url']}|{questionnaire['version']}" == questionnaire_url("PX", 1)
    items = {i["linkId"]: i for i in questionnaire["item"]}
    assert list(items) == list(PX.items)
    q01 = items["Q01"]
    assert q01["type"] == "choice" and q01["text"] == PX.items["Q01"].text["da"]
    assert q01["_text"]["extension"][0]["extension"][1]["valueString"] == PX.items["Q01"].text["en"]
    codings = [o["valueCoding"] for o in q01["answerOption"]]
    assert [c["code"] for c in codings] == ["1", "2", "3", "4", "5"]
    assert codings[4]["display"] == "Helt enig"
    assert codings[4]["_display"]["extension"][0]["extension"][1]["valueString"] == (
        "Strongly agree"
    )
    assert items["Q11"]["type"] == "text" and "answerOption" not in items["Q11"]


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        (lambda q: q["item"].append(dict(q["item"][0])), "que-2"),
        (lambda q: q["item"][-1].update(answerOption=q["item"][0]["answerOption"]), "que-5"),
        (lambda q: q["item"][0].update(answerValueSet="https://x.dk/ValueSet/v"), "que-4"),
        (lambda q: q["item"].append({"linkId": "G", "type": "group", "text": "g"}), "que-1"),
        (lambda q: q["item"].append({"linkId": "D", "type": "display", "required": True}), "que-6"),
        (lambda q: q.update(name="px survey"), "que-0"),
    ],
)
def test_the_checker_refuses_a_questionnaire_that_breaks_an_r4_invariant(change, rule):
    questionnaire = questionnaire_resource(PX)
    change(questionnaire)
    assert any(rule in p for p in check_resource(questionnaire)), check_resource(questionnaire)


def test_synths_responses_name_the_questionnaires_canonical():
    frame = draw_survey_responses(np.random.default_rng(2), PRACTICE.patients, PX, AS_OF)
    extract = dataclasses.replace(PRACTICE, survey_responses=frame)
    bundle = extract_to_bundle(extract, group=False)
    named = {
        e["resource"]["questionnaire"]
        for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    }
    questionnaire = questionnaire_resource(PX)
    assert named == {f"{questionnaire['url']}|{questionnaire['version']}"}
