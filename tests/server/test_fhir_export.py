"""FHIR Measure and MeasureReport exports: R4 schema and invariants, codes, versions, intervals."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest
import typer
from typer.testing import CliRunner

from indicator_defs.fhir_measure import (
    ATC_SYSTEM,
    ICPC2_SYSTEM,
    LOCAL_LAB_SYSTEM,
    MEASURE_POPULATION,
    NPU_SYSTEM,
    SKS_D_SYSTEM,
    catalogue_measures,
    measure_resource,
)
from indicator_defs.fhir_survey_measure import survey_measures
from indicator_defs.survey_loader import installed_surveys
from klynge.commands.fhir import app
from server.fhir_conformance import check_resource
from server.fhir_report import (
    DATA_ABSENT_REASON,
    DEFINITION_HASH_EXT,
    DISTRIBUTION_EXT,
    INTERVAL_EXT,
    UNCERTAIN_EXT,
    FhirReportError,
    measure_report,
    release_bundle,
)
from tests.server.fhir_releases import (
    CATALOGUE,
    distributions,
    dp_release_doc,
    parsed,
    release_doc,
)
from tests.server.fhir_schema import r4_problems, schema_problems


def _codes(group: dict) -> list[str]:
    return [p["code"]["coding"][0]["code"] for p in group["population"]]


def test_dm01_measure_has_populations_stratifiers_and_codes() -> None:
    res = measure_resource(CATALOGUE.indicators["DM-01"])
    assert res["resourceType"] == "Measure" and res["id"] == "DM-01"
    assert res["url"] == "https://klynge.dk/fhir/Measure/DM-01"
    assert res["identifier"][0]["value"] == CATALOGUE.indicators["DM-01"].content_hash
    assert res["scoring"]["coding"][0]["code"] == "proportion"
    assert res["improvementNotation"]["coding"][0]["code"] == "increase"
    group = res["group"][0]
    assert _codes(group) == ["initial-population", "denominator", "numerator"]
    assert all(p["code"]["coding"][0]["system"] == MEASURE_POPULATION for p in group["population"])
    assert group["population"][1]["criteria"] == {
        "description": group["population"][1]["description"].split("(en)\n")[1],
        "language": "text/cql",
        "expression": "Denominator",
    }
    comps = [c["code"]["coding"][0]["code"] for c in group["stratifier"][0]["component"]]
    assert comps == ["sex", "age-band"]
    systems = {inc["system"] for vs in res["contained"][1:] for inc in vs["compose"]["include"]}
    assert systems == {ICPC2_SYSTEM, NPU_SYSTEM, LOCAL_LAB_SYSTEM}  # HbA1c's local alias
    refs = {a["resource"] for a in res["relatedArtifact"] if a["type"] == "depends-on"}
    assert refs == {f"#{vs['id']}" for vs in res["contained"] if vs["resourceType"] == "ValueSet"}
    assert res["library"] == ["#lib-DM-01"]
    english = res["_title"]["extension"][0]["extension"][1]["valueString"]
    assert english == "HbA1c measured"


def test_scoring_and_code_systems_across_catalogue() -> None:
    assert (
        measure_resource(CATALOGUE.indicators["AB-01"])["scoring"]["coding"][0]["code"] == "ratio"
    )
    ab03 = measure_resource(CATALOGUE.indicators["AB-03"])
    assert ab03["scoring"]["coding"][0]["code"] == "proportion"
    assert ab03["improvementNotation"]["coding"][0]["code"] == "decrease"
    all_systems = {
        inc["system"]
        for ind in CATALOGUE.indicators.values()
        for vs in measure_resource(ind)["contained"]
        for inc in vs.get("compose", {}).get("include", [])
    }
    assert {ATC_SYSTEM, SKS_D_SYSTEM, ICPC2_SYSTEM, NPU_SYSTEM} <= all_systems


def test_measure_report_validates_and_suppression_is_absent_not_zero() -> None:
    report = measure_report(parsed(), CATALOGUE, "DM-01")
    assert r4_problems(report) == []
    assert report["type"] == "summary" and report["status"] == "complete"
    assert report["measure"] == "https://klynge.dk/fhir/Measure/DM-01"  # records no definition
    assert report["period"] == {"start": "2025-10-01", "end": "2026-09-30"}
    assert report["reporter"]["display"].endswith("K01")
    group = report["group"][0]
    counts = {p["code"]["coding"][0]["code"]: p.get("count") for p in group["population"]}
    assert counts == {"initial-population": 400, "denominator": 400, "numerator": 300}
    first = group["stratifier"][0]["stratum"][0]
    numerator = first["population"][2]
    assert "count" not in numerator
    reasons = {e["url"]: e["valueCode"] for e in numerator["_count"]["extension"]}
    assert reasons[DATA_ABSENT_REASON] == "masked"
    assert "small_count" in reasons.values()
    assert "value" not in first["measureScore"]
    assert [c["value"]["text"] for c in first["component"]] == ["F", "18-39"]
    assert "0" not in json.dumps(first["population"][2])  # no zero stands in for the hidden count
    assert report["extension"][0]["valueInteger"] == 6
    assert group["extension"][0]["valueDecimal"] == 9.0


def test_validator_catches_broken_reports() -> None:
    report = measure_report(parsed(), CATALOGUE, "DM-01")
    broken = copy.deepcopy(report)
    broken["type"] = "summarry"
    broken["group"][0]["population"][0]["code"]["coding"][0]["code"] = "initial-pop"
    del broken["group"][0]["stratifier"][0]["stratum"][0]["population"][2]["_count"]
    broken["group"][0]["population"][1]["count"] = 3.5
    broken["group"][0]["stratifier"][0]["stratum"][1]["value"] = {"text": "F"}  # mrp-2
    problems = check_resource(broken)
    assert any("mrp-2" in p for p in problems)
    assert schema_problems(broken)  # the schema knows the type codes too
    assert any(p.startswith("MeasureReport.type") for p in problems)
    assert any("initial-pop" in p for p in problems)
    assert any("data-absent-reason" in p for p in problems)
    assert any("not an integer" in p for p in problems)


def test_measure_report_rejects_unknown_indicator_and_stratum() -> None:
    with pytest.raises(FhirReportError, match="XX-99"):
        measure_report(parsed(), CATALOGUE, "XX-99")
    doc = release_doc()
    doc["indicators"][0]["strata"][1]["stratum"] = "X:1-2"
    with pytest.raises(FhirReportError, match="X:1-2"):
        measure_report(parsed(doc), CATALOGUE, "DM-01")


def test_cli_exports_measures_and_reports(tmp_path) -> None:
    root = typer.Typer()
    root.add_typer(app, name="fhir")

    @root.callback()
    def _cb() -> None:
        pass

    results = {"reference_date": "2026-09-30", "clusters": {"K01": release_doc()}, "regions": {}}
    (tmp_path / "results.json").write_text(json.dumps(results))
    runner = CliRunner()
    res = runner.invoke(root, ["fhir", "measures", "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    written = {p.name for p in (tmp_path / "m").glob("*.json")}
    assert written == {f"Measure-{i}.json" for i in MEASURES} | {"Questionnaire-PX.json"}
    assert "Measure-PX-MEAN.json" in written
    res = runner.invoke(
        root, ["fhir", "report", str(tmp_path / "results.json"), "--out", str(tmp_path / "r")]
    )
    assert res.exit_code == 0, res.output
    bundle = json.loads((tmp_path / "r" / "MeasureReports-cluster-K01.json").read_text())
    assert r4_problems(bundle) == []
    assert len(bundle["entry"]) == 1


# --- R4 conformance of every export -------------------------------------------


# Every Measure `klynge fhir measures` writes: the indicators' and the survey measures'.
MEASURES = catalogue_measures(CATALOGUE) | survey_measures(installed_surveys())


@pytest.mark.parametrize("measure_id", sorted(MEASURES))
def test_every_measure_passes_the_r4_schema_and_invariants(measure_id: str) -> None:
    measure = MEASURES[measure_id]
    assert r4_problems(measure) == []
    if measure_id in CATALOGUE.indicators:
        strat = measure["group"][0]["stratifier"][0]
        assert "code" not in strat and strat["component"]  # mea-1: components only


def test_the_checker_and_the_schema_catch_what_the_old_export_did() -> None:
    """The old export's faults each fail: a stratifier with code and components, text/plain."""
    broken = measure_resource(CATALOGUE.indicators["DM-01"])
    strat = broken["group"][0]["stratifier"][0]
    strat["code"] = {"coding": [{"system": "urn:x", "code": "sex-age-band"}]}
    broken["group"][0]["population"][0]["criteria"]["language"] = "text/plain"
    broken["contained"][1]["compose"]["include"][0]["filter"] = [
        {"property": "concept", "op": "is-a", "value": "T90"}
    ]  # vsd-3: concepts and a filter in one include
    problems = check_resource(broken)
    assert any("mea-1" in p for p in problems)
    assert any("criteria.language" in p for p in problems)
    assert any("vsd-3" in p for p in problems)
    assert any("language" in p for p in schema_problems(broken))
    orphan = measure_resource(CATALOGUE.indicators["DM-01"])
    orphan["relatedArtifact"] = orphan["relatedArtifact"][:2]
    assert any("dom-3" in p for p in check_resource(orphan))
    empty = measure_resource(CATALOGUE.indicators["DM-01"])
    empty["topic"] = []
    empty["extension"] = [{"url": "urn:x", "valueString": "a", "valueCode": "b"}]
    problems = check_resource(empty)
    assert any("empty array" in p for p in problems) and any("ext-1" in p for p in problems)


def _extensions(element: dict, url: str) -> list[dict]:
    return [e for e in element.get("extension", []) if e["url"] == url]


def test_a_report_names_the_definition_version_its_release_was_computed_under() -> None:
    """Computed under DM-01's installed version, exported after the catalogue moved on: says
    the version it was computed under."""
    old = CATALOGUE.indicators["DM-01"]
    newer = dataclasses.replace(old, version=old.version + 1, content_hash="f" * 64)
    moved = dataclasses.replace(CATALOGUE, indicators={**CATALOGUE.indicators, "DM-01": newer})
    pinned = {"DM-01": {"content_hash": old.content_hash, "version": old.version}}
    report = measure_report(parsed(dp_release_doc(definitions=pinned)), moved, "DM-01")
    assert report["measure"] == f"https://klynge.dk/fhir/Measure/DM-01|{old.version}"
    assert _extensions(report, DEFINITION_HASH_EXT)[0]["valueString"] == old.content_hash
    # Only the hash recorded: the catalogue's version where the hashes agree, else none at all.
    by_hash = {"DM-01": {"content_hash": old.content_hash}}
    doc = parsed(dp_release_doc(definitions=by_hash))
    assert measure_report(doc, CATALOGUE, "DM-01")["measure"].endswith(f"DM-01|{old.version}")
    assert measure_report(doc, moved, "DM-01")["measure"].endswith("/Measure/DM-01")
    assert r4_problems(report) == []


def test_intervals_uncertainty_and_the_mechanism_travel_in_extensions() -> None:
    report = measure_report(parsed(dp_release_doc()), CATALOGUE, "DM-01", lang="en")
    assert r4_problems(report) == []
    group = report["group"][0]
    parts = {e["url"]: e for e in _extensions(group, INTERVAL_EXT)[0]["extension"]}
    assert (parts["low"]["valueDecimal"], parts["high"]["valueDecimal"]) == (0.70, 0.80)
    assert parts["source"]["valueCode"] == "released" and parts["level"]["valueDecimal"] == 0.95
    first, second = group["stratifier"][0]["stratum"][:2]
    assert _extensions(first, UNCERTAIN_EXT) == [{"url": UNCERTAIN_EXT, "valueBoolean": True}]
    assert _extensions(second, UNCERTAIN_EXT) == []
    eps = [e for e in report["extension"] if e["url"].endswith("dp-epsilon-per-release")]
    assert eps[0]["valueDecimal"] == 0.5
    assert "75.0%" in report["text"]["div"] and "70.0–80.0%" in report["text"]["div"]
    danish = measure_report(parsed(dp_release_doc()), CATALOGUE, "DM-01")["text"]["div"]
    assert "75,0\u00a0%" in danish and "ε 0,50" in danish


def test_a_region_wide_release_carries_its_practice_rate_distribution() -> None:
    dist = distributions()
    doc = dp_release_doc(level="region", unit="Hovedstaden", scope="region", distributions=dist)
    report = measure_report(parsed(doc), CATALOGUE, "DM-01")
    assert r4_problems(report) == []
    parts = _extensions(report["group"][0], DISTRIBUTION_EXT)[0]["extension"]
    assert [p["valueDecimal"] for p in parts if p["url"] == "bin"] == [1.0, 2.5, 0.0, 4.0]
    assert {"url": "deciles-withheld", "valueCode": "too_few_practices"} in parts
    bundle = release_bundle(parsed(doc), CATALOGUE)
    assert r4_problems(bundle) == []
