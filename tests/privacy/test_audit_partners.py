"""The audit lists every recipient, partners included, and exactly what each gets (da, en)."""

from __future__ import annotations

import json

import pytest

from privacy.audit import build_report
from privacy.defaults import default_manifest_path
from privacy.manifest import parse_manifest
from privacy.report_model import render_json, render_markdown
from tests.privacy.builders import HOSPITAL, MUNICIPALITY, MUNICIPALITY_COORDINATION


@pytest.fixture(scope="module")
def signed():
    return parse_manifest(
        default_manifest_path().read_text() + HOSPITAL + MUNICIPALITY + MUNICIPALITY_COORDINATION
    )


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        (
            "da",
            [
                "| Regionshospitalets kvalitetsafdeling | hospitalets kvalitetsafdeling | "
                "urn:klynge:partner:rh-kvalitet | klynger K1, K2 | klynge | AB-01, DM-01 |",
                "| Kommunens sundhedsafdeling | kommunens sundhedsydelser | "
                "urn:klynge:partner:kommune-sundhed | region Midtjylland",
                "klynge, region | alle manifestets 33 indikatorer og spørgeskemamål |",
                "| klynger K1 | klynge | DM-01, PX-COORDINATION |",
                "afvises (PERMISSION_DENIED)",
            ],
        ),
        (
            "en",
            [
                "| The regional hospital's quality unit | hospital quality unit | "
                "urn:klynge:partner:rh-kvalitet | clusters K1, K2 | cluster | AB-01, DM-01 |",
                "cluster, region | all 33 indicators and survey measures of the manifest |",
                "| clusters K1 | cluster | DM-01, PX-COORDINATION |",
                "is refused (PERMISSION_DENIED)",
            ],
        ),
    ],
)
def test_every_partner_is_listed_with_its_units_levels_and_measures(signed, lang, words):
    assert len(signed.manifest.indicators) == 28
    text = render_markdown(build_report(signed, lang=lang))
    for expected in words:
        assert expected in text
    annex = text[text.index("(d)") :]
    assert "Kommunens sundhedsafdeling" in annex.split("\n")[0]


def test_the_machine_readable_report_holds_each_grant(signed):
    data = json.loads(render_json(build_report(signed, lang="en")))["figures"]
    hospital, municipality, coordination = data["partners"]
    assert hospital["identity"] == "urn:klynge:partner:rh-kvalitet"
    assert hospital["clusters"] == ["K1", "K2"] and hospital["levels"] == ["cluster"]
    assert hospital["measures"] == ["AB-01", "DM-01"]
    assert municipality["region"] == "Midtjylland" and len(municipality["measures"]) == 33
    assert coordination["measures"] == ["DM-01", "PX-COORDINATION"]


def test_without_partners_the_audit_says_nobody_outside_the_scheme_receives(signed):
    plain = parse_manifest(default_manifest_path().read_text())
    text = render_markdown(build_report(plain, lang="en"))
    assert "declares no partners" in text
    assert json.loads(render_json(build_report(plain, lang="en")))["figures"]["partners"] == []
