"""`klynge fhir measures|report|profiles|import`: FHIR R4 exports (definitions, releases,
Klynge's extensions) and import."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from client.extract.fhir_import import DEFAULT_MAX_SKIPPED, FhirImportError, import_fhir
from client.extract.fhir_report import ImportReport
from client.extract.writer import extract_format, write_extract
from common.i18n import current_lang, register, t
from indicator_defs import load_catalogue
from indicator_defs.fhir_extensions import structure_definitions
from indicator_defs.fhir_measure import CANONICAL_BASE, catalogue_measures
from indicator_defs.fhir_questionnaire import questionnaire_resource
from indicator_defs.fhir_survey_measure import survey_measures
from indicator_defs.survey_loader import installed_surveys
from reporting.release_document import read_results
from server.fhir_conformance import check_resource
from server.fhir_report import FhirReportError, release_bundle

app = typer.Typer(
    help="FHIR R4: Measure, MeasureReport and extension export; Bundle and Bulk Data import."
)

register(
    {
        "fhir.wrote": {"da": "Skrev {n} filer i {out}", "en": "Wrote {n} files to {out}"},
        "fhir.imported": {
            "da": "Udtræk med {patients} patienter skrevet i {out}",
            "en": "Extract with {patients} patients written to {out}",
        },
        "fhir.bad_format": {
            "da": "--format: {value} er hverken csv eller parquet",
            "en": "--format: {value} is not csv or parquet",
        },
    }
)


def _conformant(name: str, resource: dict[str, Any]) -> None:
    """Refuse the whole export before anything is written if one resource breaks an R4 rule."""
    problems = check_resource(resource)
    if problems:
        more = f" (+{len(problems) - 1})" if len(problems) > 1 else ""
        raise FhirReportError(f"{name}: {problems[0]}{more}")


def _write_json(path: Path, resource: dict[str, Any]) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(json.dumps(resource, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    temp.replace(path)


@app.command("measures")
def measures(
    out: Path = typer.Option(
        ...,
        "--out",
        help="Directory for one Measure JSON per indicator and survey measure, and the "
        "survey's Questionnaire.",
    ),
    base: str = typer.Option(CANONICAL_BASE, "--base", help="Canonical base URL."),
) -> None:
    """Export each indicator and survey measure as an R4 Measure, each survey as a Questionnaire."""
    measures = catalogue_measures(load_catalogue(), canonical_base=base)
    measures |= survey_measures(installed_surveys(), canonical_base=base)
    resources = {f"Measure-{mid}.json": resource for mid, resource in measures.items()}
    for survey in installed_surveys().values():  # the canonical the survey answers name
        resources[f"Questionnaire-{survey.id}.json"] = questionnaire_resource(survey)
    _write_all(resources, out)


def _write_all(resources: dict[str, dict[str, Any]], out: Path) -> None:
    """Check every resource first, then write them all: a refusal leaves nothing half-written."""
    for name, resource in resources.items():
        _conformant(name, resource)
    out.mkdir(parents=True, exist_ok=True)
    for name, resource in resources.items():
        _write_json(out / name, resource)
    typer.echo(t("fhir.wrote", n=len(resources), out=out))


@app.command("report")
def report(
    results_json: Path = typer.Argument(..., help="results.json written by `klynge demo`."),
    out: Path = typer.Option(..., "--out", help="Directory for one Bundle per release."),
    base: str = typer.Option(CANONICAL_BASE, "--base", help="Canonical base URL."),
) -> None:
    """Export every release in results.json as a Bundle of summary MeasureReports."""
    results = read_results(results_json)
    catalogue = load_catalogue()
    bundles: dict[str, dict[str, Any]] = {}
    for release in (*results.clusters.values(), *results.regions.values()):
        bundle = release_bundle(release, catalogue, canonical_base=base, lang=current_lang())
        bundles[f"MeasureReports-{release.level}-{release.unit}.json"] = bundle
    _write_all(bundles, out)


@app.command("profiles")
def profiles(
    out: Path = typer.Option(
        ..., "--out", help="Directory for one StructureDefinition JSON per Klynge extension."
    ),
) -> None:
    """Export Klynge's FHIR extensions as R4 StructureDefinitions, for receivers to validate."""
    resources = {f"StructureDefinition-{sd['id']}.json": sd for sd in structure_definitions()}
    _write_all(resources, out)


@app.command("import")
def import_command(
    inputs: list[Path] = typer.Argument(
        ..., help="Bundles (.json), NDJSON files or Bulk Data $export folders of one practice."
    ),
    out: Path = typer.Option(..., "--out", help="Extract directory to write (schema v1)."),
    fmt: str = typer.Option("csv", "--format", help="csv or parquet."),
    group: Path = typer.Option(
        None, "--group", help="A Group resource (JSON) naming the practice's listed patients."
    ),
    group_id: str = typer.Option(None, "--group-id", help="Which Group is the list, if several."),
    report: Path = typer.Option(None, "--report", help="Also write the import report as JSON."),
    max_skipped: float = typer.Option(
        DEFAULT_MAX_SKIPPED,
        "--max-skipped-patients",
        help="Fail if more than this share of patients must be skipped (at least 5 may be).",
    ),
) -> None:
    """Convert a practice's FHIR data into a validated extract, with a report of every resource."""
    form = extract_format(fmt)
    if form is None:
        raise FhirImportError(str(out), [t("fhir.bad_format", value=repr(fmt))], None)
    try:
        result = import_fhir(inputs, group=group, group_id=group_id, max_skipped=max_skipped)
    except FhirImportError as exc:
        if report is not None and exc.report is not None:
            _write_report(report, exc.report)
        raise
    write_extract(result.extract, out, form)
    if report is not None:
        _write_report(report, result.report)
    typer.echo(result.report.render())
    typer.echo(t("fhir.imported", patients=len(result.extract.patients), out=out))


def _write_report(path: Path, report: ImportReport) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json(path, report.to_json())
