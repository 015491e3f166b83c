"""`klynge national combine|key`: the national tier, run by a national body (docs/national.md)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer

from common.atomic import atomic_write
from common.formatting import day
from common.i18n import current_lang, register, t
from common.keyfiles import load_private_key, write_private_key, write_public_key
from indicator_defs import load_catalogue
from national.run import national_figures, national_publication
from national.trust import load_national_trust
from privacy.publication import dump_json
from privacy.signing import generate_private_key
from reporting.national_page import render_national_report
from server.fhir_report import release_bundle

app = typer.Typer(help="Combine the regions' publications into national figures.")

register(
    {
        "national.written": {
            "da": "National udgivelse {date}: {regions} regioner; skrevet: {files}",
            "en": "National release {date}: {regions} regions; written: {files}",
        },
        "national.key_written": {
            "da": "National nøgle skrevet til {path} (0600); offentlig nøgle til regionerne: {pub}",
            "en": "National key written to {path} (0600); public key for the regions: {pub}",
        },
    }
)

NATIONAL_JSON = "national.json"
NATIONAL_HTML = "national-report.html"
NATIONAL_HTML_EN = "national-report.en.html"
NATIONAL_FHIR = "national-measurereports.json"


def write_national(
    publications: list[Path], trust_file: Path, key_file: Path, out: Path
) -> tuple[Path, ...]:
    """Verify, combine and write the national JSON, the reports (da, en) and FHIR."""
    trust = load_national_trust(trust_file)
    key = load_private_key(key_file)
    national = national_figures(publications, trust)
    signed = national_publication(national, key)
    catalogue = load_catalogue()
    regions = {name: r.aggregate for name, r in national.regions.items()}
    out.mkdir(parents=True, exist_ok=True)
    written = (
        out / NATIONAL_JSON,
        out / NATIONAL_HTML,
        out / NATIONAL_HTML_EN,
        out / NATIONAL_FHIR,
    )
    atomic_write(written[0], dump_json(signed.to_json()))
    for path, lang in ((written[1], current_lang()), (written[2], "en")):
        page = render_national_report(national.nation, regions, catalogue, lang)
        atomic_write(path, page.encode("utf-8"))
    bundle = release_bundle(national.nation, catalogue, lang=current_lang())
    atomic_write(written[3], json.dumps(bundle, indent=1, ensure_ascii=False).encode("utf-8"))
    return written


@app.command("combine")
def combine(
    publications: list[Path] = typer.Argument(..., help="The regions' publication files."),
    trust: Path = typer.Option(..., "--trust", help="Trust file: region log keys, authorities."),
    key: Path = typer.Option(..., "--key", help="The national body's private signing key."),
    out: Path = typer.Option(Path("national"), "--out", help="Output directory."),
) -> None:
    """Verify each region's publication and write the country's figures and reports."""
    written = write_national(publications, trust, key, out)
    doc = json.loads(written[0].read_text(encoding="utf-8"))
    typer.echo(
        t(
            "national.written",
            date=day(date.fromisoformat(doc["reference_date"])),
            regions=len(doc["regions"]),
            files=", ".join(str(p) for p in written),
        )
    )


@app.command("key")
def make_key(
    out: Path = typer.Option(..., "--out", help="Private key file to write (0600)."),
) -> None:
    """Create the national body's signing key; the regions import with its public key."""
    private = generate_private_key()
    write_private_key(out, private)
    public = out.with_name(out.name + ".pub")
    write_public_key(public, private.public_key(), form="hex", overwrite=True)
    typer.echo(t("national.key_written", path=out, pub=public))
