"""A partner's grant: what a request may ask, and the release documents cut to its measures."""

from __future__ import annotations

import pytest

from common.federation import Cluster, Federation
from privacy.defaults import default_manifest_path
from privacy.manifest import parse_manifest
from reporting.release_document import parse_release
from server.partners import (
    LEVEL,
    MALFORMED,
    MEASURE,
    UNIT,
    Grant,
    PartnerRefused,
    PartnerRequest,
    bundle_body,
    parse_bundle,
    partner_bundle,
)
from tests.privacy.builders import HOSPITAL, MUNICIPALITY, MUNICIPALITY_COORDINATION
from tests.reporting.builders import survey_doc, unit_doc

FEDERATION = Federation(
    "f",
    (
        Cluster("K1", "K1", "Midtjylland"),
        Cluster("K2", "K2", "Midtjylland"),
        Cluster("K3", "K3", "Nordjylland"),
    ),
    (),
)


@pytest.fixture(scope="module")
def manifest():
    text = default_manifest_path().read_text() + HOSPITAL + MUNICIPALITY
    return parse_manifest(text + MUNICIPALITY_COORDINATION).manifest


@pytest.fixture(scope="module")
def grants(manifest):
    return tuple(Grant.of(p, manifest, FEDERATION) for p in manifest.partners)


SURVEY_IDS = ("PX-ACCESS", "PX-COMMUNICATION", "PX-INVOLVEMENT", "PX-COORDINATION", "PX-MEAN")


def _released(level: str, unit: str):
    """A release as the coordinator stores it: every indicator and every survey measure."""
    surveys = {m: survey_doc(0.6, 0.02, 500) for m in SURVEY_IDS}
    doc = {
        **unit_doc(unit, 0.6, [f"{unit}-r"]),
        "level": level,
        "reference_date": "2026-09-30",
        "surveys": surveys,
    }
    return parse_release(f"{level} {unit}", doc)


def test_a_grant_is_its_units_at_its_levels_and_its_measures(grants, manifest):
    hospital, municipality, _ = grants
    assert hospital.units == (("cluster", "K1"), ("cluster", "K2"))
    assert hospital.measures == ("AB-01", "DM-01")  # in the manifest's order
    assert municipality.units == (("cluster", "K1"), ("cluster", "K2"), ("region", "Midtjylland"))
    assert municipality.measures == (*(i.id for i in manifest.indicators), *SURVEY_IDS)


def test_the_partner_gets_only_its_measures_of_only_its_units(grants):
    asked: list[tuple[str, str]] = []

    def latest(level: str, unit: str):
        asked.append((level, unit))
        return _released(level, unit)

    docs = partner_bundle(grants[0], PartnerRequest(), latest)
    assert asked == [("cluster", "K1"), ("cluster", "K2")]
    assert [d.unit for d in docs] == ["K1", "K2"]
    assert all(set(d.figures) == {"AB-01", "DM-01"} for d in docs)
    assert all(not d.surveys for d in docs)  # no survey measure was granted
    doc = docs[0]
    assert len(_released("cluster", "K1").figures) > 2  # the release held more than that
    partner, (again,) = parse_bundle(bundle_body("rh-kvalitet", [doc]), "bundle")
    assert partner == "rh-kvalitet" and again.figures == doc.figures


def test_a_narrower_request_gets_less_and_units_without_a_release_are_left_out(grants):
    def latest(level: str, unit: str):
        return None if unit == "K2" else _released(level, unit)

    municipality = grants[1]
    docs = partner_bundle(municipality, PartnerRequest(), latest)
    assert [(d.level, d.unit) for d in docs] == [("cluster", "K1"), ("region", "Midtjylland")]
    narrow = PartnerRequest(level="region", measures=("HT-01",))
    (doc,) = partner_bundle(municipality, narrow, latest)
    assert doc.unit == "Midtjylland" and set(doc.figures) == {"HT-01"}


@pytest.mark.parametrize(
    ("request_", "reason"),
    [
        (PartnerRequest(level="region"), LEVEL),
        (PartnerRequest(level="practice"), LEVEL),
        (PartnerRequest(units=("K3",)), UNIT),
        (PartnerRequest(units=("K1", "K3")), UNIT),
        (PartnerRequest(units=("Midtjylland",)), UNIT),
        (PartnerRequest(measures=("DM-01", "HT-01")), MEASURE),
    ],
)
def test_asking_for_more_than_the_grant_is_refused_whole(grants, request_, reason):
    with pytest.raises(PartnerRefused) as caught:
        partner_bundle(grants[0], request_, lambda level, unit: pytest.fail("nothing is read"))
    assert caught.value.reason == reason


@pytest.mark.parametrize(
    "body",
    [b"{", b"[]", b'{"level": 1}', b'{"units": "K1"}', b'{"everything": true}', b"x" * 70_000],
)
def test_a_malformed_request_is_refused(body):
    with pytest.raises(PartnerRefused) as caught:
        PartnerRequest.from_body(body)
    assert caught.value.reason == MALFORMED


def test_a_request_travels_as_json_and_names_what_it_asks():
    request = PartnerRequest(level="cluster", units=("K1",), measures=("DM-01",))
    assert PartnerRequest.from_body(request.to_body()) == request
    assert PartnerRequest.from_body(b"") == PartnerRequest()
    assert request.describe() == "level=cluster units=K1 measures=DM-01"


def test_a_granted_survey_measure_is_filtered_by_the_grant_exactly_as_an_indicator(grants):
    coordination = grants[2]
    assert coordination.units == (("cluster", "K1"),)
    assert coordination.measures == ("DM-01", "PX-COORDINATION")  # the manifest's order
    (doc,) = partner_bundle(coordination, PartnerRequest(), _released)
    assert set(doc.figures) == {"DM-01"} and set(doc.surveys) == {"PX-COORDINATION"}
    assert doc.surveys["PX-COORDINATION"] == _released("cluster", "K1").surveys["PX-COORDINATION"]
    (only,) = partner_bundle(coordination, PartnerRequest(measures=("PX-COORDINATION",)), _released)
    assert not only.figures and set(only.surveys) == {"PX-COORDINATION"}
    _, (again,) = parse_bundle(bundle_body("kommune-px", [only]), "bundle")
    assert again.surveys == only.surveys
    with pytest.raises(PartnerRefused) as caught:
        partner_bundle(coordination, PartnerRequest(measures=("PX-ACCESS",)), _released)
    assert caught.value.reason == MEASURE


def test_all_measures_includes_every_survey_measure(grants):
    (doc,) = partner_bundle(grants[1], PartnerRequest(level="region"), _released)
    assert tuple(doc.surveys) == SURVEY_IDS
