"""[[partners]]: partners in the wider health system declared as recipients of the manifest."""

from __future__ import annotations

import pytest

from common.federation import Cluster, Federation
from privacy.defaults import default_manifest_path
from privacy.errors import ManifestError
from privacy.manifest import ALL_MEASURES, parse_manifest, partners_problem
from privacy.manifest_toml import render_manifest
from tests.langs import in_english
from tests.privacy.builders import HOSPITAL, MUNICIPALITY, MUNICIPALITY_COORDINATION


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


def _base() -> str:
    return default_manifest_path().read_text(encoding="utf-8")


def _fails(text: str, key: str, words: str) -> None:
    with pytest.raises(ManifestError) as caught:
        parse_manifest(text, "manifest.toml")
    message = str(caught.value)
    assert "manifest.toml" in message and key in message and words in message, message


def test_an_absent_section_leaves_the_manifest_and_its_hash_as_they_were():
    plain = parse_manifest(_base()).manifest
    assert plain.partners is None
    assert "partners" not in plain.canonical_document()
    with_partner = parse_manifest(_base() + HOSPITAL).manifest
    assert with_partner.hash() != plain.hash()  # declaring a recipient is a change of meaning


def test_partners_are_read_with_their_grant_and_render_back_to_the_same_manifest():
    manifest = parse_manifest(_base() + HOSPITAL + MUNICIPALITY).manifest
    assert manifest.partners is not None
    hospital, municipality = manifest.partners
    assert hospital.name.en == "The regional hospital's quality unit"
    assert hospital.clusters == ("K1", "K2") and hospital.region is None
    assert hospital.measure_ids(("AB-01", "DM-01", "HT-01")) == ("AB-01", "DM-01")
    assert municipality.measures == ALL_MEASURES and municipality.name.da == municipality.name.en
    assert manifest.partner("urn:klynge:partner:rh-kvalitet") is hospital
    assert manifest.partner("urn:klynge:practice:rh-kvalitet") is None
    again = parse_manifest(render_manifest(manifest)).manifest
    assert again == manifest and again.hash() == manifest.hash()


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ('"AB-01"]', '"XX-99"]', "partners[0].measures", "XX-99 is not one of"),
        ('"AB-01"]', '"PX-NOPE"]', "partners[0].measures", "indicators or survey measures"),
        (
            '"urn:klynge:partner:rh-kvalitet"',
            '"urn:klynge:practice:P001"',
            "partners[0].identity",
            "is a practice's identity",
        ),
        (
            '"urn:klynge:partner:rh-kvalitet"',
            '"CN=rh-kvalitet"',
            "partners[0].identity",
            "must be urn:klynge:partner:<id>",
        ),
        (
            '"urn:klynge:partner:rh-kvalitet"',
            '"urn:klynge:partner:someone-else"',
            "partners[0].identity",
            "not this partner's id 'rh-kvalitet'",
        ),
        ('levels = ["cluster"]', 'levels = ["practice"]', "partners[0].levels", "no figure"),
        ('levels = ["cluster"]', 'levels = ["nation"]', "partners[0].levels", "'nation'"),
        ('levels = ["cluster"]', 'levels = ["region"]', "partners[0].levels", "region ="),
        ('clusters = ["K1", "K2"]', 'clusters = ["K1", "K1"]', "partners[0].clusters", "twice"),
        ('clusters = ["K1", "K2"]', 'region = "Atlantis"', "partners[0].region", "unknown region"),
        (
            'clusters = ["K1", "K2"]',
            'clusters = ["K1"]\nregion = "Midtjylland"',
            "partners[0].clusters",
            "not both",
        ),
        ('kind = "hospital_quality_unit"', 'kind = "insurer"', "partners[0].kind", "'insurer'"),
        ('measures = ["DM-01", "AB-01"]', 'measures = "some"', "partners[0].measures", "array"),
        ('measures = ["DM-01", "AB-01"]', "", "partners[0].measures", "missing"),
        ('levels = ["cluster"]', 'levels = ["cluster"]\nextra = 1', "partners[0].extra", "unknown"),
    ],
)
def test_a_bad_partner_is_refused_naming_its_key(old, new, key, words):
    assert old in HOSPITAL
    _fails(_base() + HOSPITAL.replace(old, new), key, words)


def test_an_identity_declared_twice_is_refused():
    renamed = HOSPITAL.replace('name = { da = "Regionshospitalets', 'name = { da = "Hospitalets')
    _fails(_base() + HOSPITAL + renamed, "partners", "identity urn:klynge:partner:rh-kvalitet")


def _federation(*clusters: tuple[str, str]) -> Federation:
    return Federation("f", tuple(Cluster(c, c, region) for c, region in clusters), ())


def test_units_resolve_against_the_federation_and_unknown_ones_are_named():
    manifest = parse_manifest(_base() + HOSPITAL + MUNICIPALITY).manifest
    assert manifest.partners is not None
    hospital, municipality = manifest.partners
    federation = _federation(("K1", "Midtjylland"), ("K2", "Midtjylland"), ("K3", "Nordjylland"))
    assert partners_problem(manifest, federation) is None
    assert municipality.units("cluster", federation) == ("K1", "K2")
    assert municipality.units("region", federation) == ("Midtjylland",)
    assert hospital.units("cluster", federation) == ("K1", "K2")
    assert hospital.units("region", federation) == ()  # not granted
    assert partners_problem(manifest, _federation(("K1", "Midtjylland"))) == (
        "partners[0].clusters",
        "unknown cluster 'K2'",
    )
    elsewhere = _federation(("K1", "Nordjylland"), ("K2", "Nordjylland"))
    assert partners_problem(manifest, elsewhere) == (
        "partners[1].region",
        "no cluster of the federation is in Midtjylland",
    )


def test_a_partner_may_be_granted_survey_measures_in_the_manifests_order():
    manifest = parse_manifest(_base() + MUNICIPALITY_COORDINATION).manifest
    assert manifest.partners is not None
    (partner,) = manifest.partners
    assert partner.measures == ("PX-COORDINATION", "DM-01")  # as written
    assert partner.measure_ids(manifest.released_measure_ids) == ("DM-01", "PX-COORDINATION")
    assert manifest.released_measure_ids[-5:] == tuple(m.id for _, m in manifest.survey_measures())
    again = parse_manifest(render_manifest(manifest)).manifest
    assert again == manifest and again.hash() == manifest.hash()
