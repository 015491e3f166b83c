"""FHIR Measure and MeasureReport exports: shape, codes, suppression as absent-with-reason."""

from __future__ import annotations

import copy
import json

import pytest
import typer
from typer.testing import CliRunner

from indicator_defs import load_catalogue
from indicator_defs.fhir_measure import (
    ATC_SYSTEM,
    ICPC2_SYSTEM,
    LOCAL_LAB_SYSTEM,
    MEASURE_POPULATION,
    NPU_SYSTEM,
    SKS_D_SYSTEM,
    measure_resource,
)
from klynge.commands.fhir import app
from reporting.release_document import parse_release
from server.fhir_report import (
    DATA_ABSENT_REASON,
    FhirReportError,
    measure_report,
    validate_measure_report,
)

CATALOGUE = load_catalogue()


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
    assert "T90" in group["population"][1]["criteria"]["expression"]
    assert group["population"][1]["criteria"]["language"] == "text/plain"
    comps = [c["code"]["coding"][0]["code"] for c in group["stratifier"][0]["component"]]
    assert comps == ["sex", "age-band"]
    systems = {inc["system"] for vs in res["contained"] for inc in vs["compose"]["include"]}
    assert systems == {ICPC2_SYSTEM, NPU_SYSTEM, LOCAL_LAB_SYSTEM}  # HbA1c's local alias
    refs = {a["resource"] for a in res["relatedArtifact"] if a["type"] == "depends-on"}
    assert refs == {f"#{vs['id']}" for vs in res["contained"]}
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
        for inc in vs["compose"]["include"]
    }
    assert {ATC_SYSTEM, SKS_D_SYSTEM, ICPC2_SYSTEM, NPU_SYSTEM} <= all_systems


def _release() -> dict:
    strata = []
    for label in CATALOGUE.indicators["DM-01"].strata:
        strata.append(
            {
                "stratum": label,
                "numerator": 40,
                "denominator": 50,
                "rate": 0.8,
                "noise_sd": 3.5,
                "suppressed": {},
            }
        )
    strata[0].update(
        numerator=None,
        rate=None,
        suppressed={"numerator": "small_count", "rate": "numerator_suppressed"},
    )
    return {
        "release_id": 7,
        "created_at": "2026-10-01T12:00:00+00:00",
        "level": "cluster",
        "unit": "K01",
        "reference_date": "2026-09-30",
        "round_ids": ["r1"],
        "manifest_hash": "ab" * 32,
        "contributors": 6,
        "mechanism": "distributed_skellam",
        "indicators": [
            {
                "id": "DM-01",
                "numerator": 300,
                "denominator": 400,
                "rate": 0.75,
                "noise_sd": 9.0,
                "suppressed": {},
                "strata": strata,
            }
        ],
    }


def _parsed(doc: dict | None = None):
    """A release document as the exporter reads it: through the one parser."""
    return parse_release("release.json", _release() if doc is None else doc)


def test_measure_report_validates_and_suppression_is_absent_not_zero() -> None:
    report = measure_report(_parsed(), CATALOGUE, "DM-01")
    assert validate_measure_report(report) == []
    assert report["type"] == "summary" and report["status"] == "complete"
    assert report["measure"] == "https://klynge.dk/fhir/Measure/DM-01|2"  # v2: local HbA1c code
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
    report = measure_report(_parsed(), CATALOGUE, "DM-01")
    broken = copy.deepcopy(report)
    broken["type"] = "summarry"
    broken["group"][0]["population"][0]["code"]["coding"][0]["code"] = "initial-pop"
    del broken["group"][0]["stratifier"][0]["stratum"][0]["population"][2]["_count"]
    broken["group"][0]["population"][1]["count"] = 3.5
    problems = validate_measure_report(broken)
    assert any(p.startswith("type") for p in problems)
    assert any("initial-pop" in p for p in problems)
    assert any("data-absent-reason" in p for p in problems)
    assert any("not an integer" in p for p in problems)


def test_measure_report_rejects_unknown_indicator_and_stratum() -> None:
    with pytest.raises(FhirReportError, match="XX-99"):
        measure_report(_parsed(), CATALOGUE, "XX-99")
    doc = _release()
    doc["indicators"][0]["strata"][1]["stratum"] = "X:1-2"
    with pytest.raises(FhirReportError, match="X:1-2"):
        measure_report(_parsed(doc), CATALOGUE, "DM-01")


def test_cli_exports_measures_and_reports(tmp_path) -> None:
    root = typer.Typer()
    root.add_typer(app, name="fhir")

    @root.callback()
    def _cb() -> None:
        pass

    results = {"reference_date": "2026-09-30", "clusters": {"K01": _release()}, "regions": {}}
    (tmp_path / "results.json").write_text(json.dumps(results))
    runner = CliRunner()
    res = runner.invoke(root, ["fhir", "measures", "--out", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "m").glob("Measure-*.json"))) == len(CATALOGUE.indicators)
    res = runner.invoke(
        root, ["fhir", "report", str(tmp_path / "results.json"), "--out", str(tmp_path / "r")]
    )
    assert res.exit_code == 0, res.output
    bundle = json.loads((tmp_path / "r" / "MeasureReports-cluster-K01.json").read_text())
    assert [validate_measure_report(e["resource"]) for e in bundle["entry"]] == [[]]
