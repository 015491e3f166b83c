"""Klynge's FHIR extensions as StructureDefinitions: R4-valid, one per URL an export writes,
and every exported extension checked against its published definition."""

from __future__ import annotations

import copy
import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from client.synth.fhir import extract_to_bundle
from client.synth.practice import synthesize_practice
from indicator_defs.fhir_extensions import (
    EXTENSION_BASE,
    EXTENSIONS,
    markdown_table,
    profiles_bundle,
    structure_definition,
    structure_definitions,
)
from indicator_defs.fhir_measure import catalogue_measures
from indicator_defs.fhir_questionnaire import questionnaire_resource
from indicator_defs.fhir_survey_measure import survey_measures
from indicator_defs.survey_loader import installed_surveys
from klynge.commands.fhir import app
from server.fhir_conformance import check_resource
from server.fhir_report import measure_report, release_bundle
from tests.server.fhir_releases import CATALOGUE, distributions, dp_release_doc, parsed
from tests.server.fhir_schema import klynge_extension_urls, r4_problems

DOC = Path(__file__).parents[2] / "docs" / "fhir.md"
DISTRIBUTION = distributions(deciles=[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
DM01 = CATALOGUE.indicators["DM-01"]
PINNED = {"DM-01": {"content_hash": DM01.content_hash, "version": DM01.version}}


def exported() -> list[dict[str, Any]]:
    """What the exporters write: every Measure, a suppressed, a DP and a region-wide release,
    and what synth's FHIR (the worked example for EPJs) sends."""
    region = dp_release_doc(
        level="region", unit="Hovedstaden", scope="region", distributions=DISTRIBUTION
    )
    practice = synthesize_practice(40, date(2026, 9, 30), 2, rng=np.random.default_rng(5))
    return [
        *catalogue_measures(CATALOGUE).values(),
        *survey_measures(installed_surveys()).values(),
        *(questionnaire_resource(s) for s in installed_surveys().values()),
        release_bundle(parsed(), CATALOGUE),
        release_bundle(parsed(dp_release_doc(definitions=PINNED)), CATALOGUE),
        release_bundle(parsed(region), CATALOGUE),
        extract_to_bundle(practice, group=False),
    ]


@pytest.mark.parametrize("definition", structure_definitions(), ids=lambda sd: sd["id"])
def test_every_definition_passes_the_r4_schema_and_invariants(definition: dict) -> None:
    assert r4_problems(definition) == []
    assert (definition["kind"], definition["type"], definition["derivation"]) == (
        "complex-type",
        "Extension",
        "constraint",
    )
    assert definition["baseDefinition"] == "http://hl7.org/fhir/StructureDefinition/Extension"
    elements = {el["id"]: el for el in definition["differential"]["element"]}
    assert elements["Extension.url"]["fixedUri"] == definition["url"]
    assert definition["url"] == f"{EXTENSION_BASE}/{definition['id']}"


def test_the_definitions_travel_as_one_valid_bundle() -> None:
    bundle = profiles_bundle()
    assert r4_problems(bundle) == []
    assert len(bundle["entry"]) == len(EXTENSIONS)


def test_every_exported_extension_url_has_exactly_one_definition_and_none_is_unused() -> None:
    resources = exported()
    used = {url for resource in resources for url in klynge_extension_urls(resource)}
    urls = [sd["url"] for sd in structure_definitions()]
    for url in used:
        assert urls.count(url) == 1, url
    assert used == set(urls)  # the table has no definition that nothing writes or reads
    for resource in resources[:-1]:  # the exports proper: their values match the definitions
        assert check_resource(resource) == []


def _report() -> dict:
    doc = dp_release_doc(
        level="region", unit="Hovedstaden", scope="region", distributions=DISTRIBUTION
    )
    return measure_report(parsed(doc), CATALOGUE, "DM-01")


def _find(element: dict, name: str) -> dict:
    return next(e for e in element["extension"] if e["url"] == f"{EXTENSION_BASE}/{name}")


def test_the_checker_refuses_values_parts_and_places_the_definitions_do_not_allow() -> None:
    clean = _report()
    assert check_resource(clean) == []

    def problems(change) -> list[str]:
        report = copy.deepcopy(clean)
        change(report)
        return check_resource(report)

    group = "MeasureReport.group[0]"

    def interval_as_string(r: dict) -> None:
        low = _find(r["group"][0], "interval")["extension"][0]
        low["valueString"] = str(low.pop("valueDecimal"))

    assert any("valueString is not allowed" in p for p in problems(interval_as_string))

    def no_low(r: dict) -> None:
        parts = _find(r["group"][0], "interval")["extension"]
        parts[:] = [p for p in parts if p["url"] != "low"]

    assert any("0 × 'low', the definition allows 1..1" in p for p in problems(no_low))

    def stray_part(r: dict) -> None:
        _find(r["group"][0], "interval")["extension"].append({"url": "median", "valueDecimal": 1})

    assert any("'median' is not a part of" in p for p in problems(stray_part))

    def ten_deciles(r: dict) -> None:
        dist = _find(r["group"][0], "practice-rate-distribution")["extension"]
        dist.append({"url": "decile", "valueDecimal": 0.95})

    assert any("10 × 'decile'" in p for p in problems(ten_deciles))

    def uncertain_on_the_report(r: dict) -> None:
        r["extension"].append({"url": f"{EXTENSION_BASE}/uncertain", "valueBoolean": True})

    found = problems(uncertain_on_the_report)
    assert any("uncertain is not defined on MeasureReport" in p for p in found), found

    def boolean_as_decimal(r: dict) -> None:
        _find(r, "dp-epsilon-per-release")["valueDecimal"] = True

    assert any("is not a decimal" in p for p in problems(boolean_as_decimal))

    def unpublished(r: dict) -> None:
        r["group"][0]["extension"].append({"url": f"{EXTENSION_BASE}/median", "valueDecimal": 1})

    found = problems(unpublished)
    assert any(p.startswith(group) and "no published StructureDefinition" in p for p in found)

    def on_a_count(r: dict) -> None:
        noise = _find(r["group"][0], "dp-noise-sd")
        r["group"][0]["population"][0]["_count"] = {"extension": [noise]}

    assert any("dp-noise-sd is not defined on" in p for p in problems(on_a_count))


def test_the_definition_checks_catch_a_broken_differential() -> None:
    clean = structure_definition(EXTENSIONS[1])  # interval: a complex extension

    def problems(change) -> list[str]:
        definition = copy.deepcopy(clean)
        change(definition)
        return check_resource(definition)

    def elements(d: dict) -> list[dict]:
        return d["differential"]["element"]

    def by_id(d: dict, element_id: str) -> dict:
        return next(e for e in elements(d) if e["id"] == element_id)

    assert check_resource(clean) == []
    wrong_url = problems(lambda d: by_id(d, "Extension.url").update(fixedUri="urn:x"))
    assert any("Extension.url must be fixed" in p for p in wrong_url)
    part_url = problems(lambda d: by_id(d, "Extension.extension:low.url").update(fixedUri="x"))
    assert any("fixed to its name 'low'" in p for p in part_url)
    assert any("sdf-8a" in p for p in problems(lambda d: elements(d)[1].update(path="Quantity")))
    typed_root = problems(lambda d: elements(d)[0].update(type=[{"code": "Extension"}]))
    assert any("sdf-15a" in p for p in typed_root)
    twice = problems(lambda d: elements(d)[2].update(id=elements(d)[1]["id"]))
    assert any("not unique" in p for p in twice)
    assert any("eld-2" in p for p in problems(lambda d: elements(d)[2].update(min=2)))
    assert any("sdf-5" in p for p in problems(lambda d: d.pop("context")))
    assert any("sdf-0" in p for p in problems(lambda d: d.update(name="rate interval")))


def test_the_doc_holds_the_generated_table() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = r"<!-- generated from [^\n]*-->\n(.*?)<!-- end of generated table -->"
    found = re.search(table, text, re.S)
    assert found is not None
    assert found.group(1) == markdown_table()


def test_cli_writes_one_valid_definition_per_extension(tmp_path: Path) -> None:
    root = typer.Typer()
    root.add_typer(app, name="fhir")

    @root.callback()
    def _cb() -> None:
        pass

    res = CliRunner().invoke(root, ["fhir", "profiles", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    written = sorted(tmp_path.glob("StructureDefinition-*.json"))
    assert len(written) == len(EXTENSIONS)
    for path in written:
        definition = json.loads(path.read_text(encoding="utf-8"))
        assert path.name == f"StructureDefinition-{definition['id']}.json"
        assert definition == structure_definition(
            next(e for e in EXTENSIONS if e.name == definition["id"])
        )
