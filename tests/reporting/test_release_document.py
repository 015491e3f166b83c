"""The one release document: what the coordinator serves, read and written back unchanged."""

from __future__ import annotations

import json
import math
from datetime import date

import pytest

from reporting.release_document import (
    ReleaseDocumentError,
    parse_release,
    parse_results,
)
from server.documents import release_document
from server.store import Level, Release, ReleasedCell, RoundState, Store, SuppressedCell
from tests.langs import in_english


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


# A cluster release as the coordinator serves it (shortened from a demo run): the store's
# extras come back in key order, strata before the total's own figures.
SERVED = {
    "release_id": 2,
    "created_at": "2026-12-01T22:45:23.957+00:00",
    "level": "cluster",
    "unit": "K02",
    "reference_date": "2026-06-30",
    "round_ids": ["2f68e450d7ec585e9836bce7c6f888af"],
    "manifest_hash": "a9" * 32,
    "contributors": 6,
    "delta_per_release": 1e-06,
    "distributions": {
        "DM-01": {
            "bin_noise_sd": 3.249,
            "bins": [0.0, 0.0, 6.62, 0.0, 0.0, 0.0, 2.45, 0.0, 3.08, 0.0],
            "deciles": None,
            "deciles_withheld": "too_few_practices",
            "edges": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
            "full_weight_denominator": 100,
            "practices": 6,
        }
    },
    "epsilon_per_release": 0.9999510461126573,
    "list_size": 11981,
    "list_size_suppressed": False,
    "mechanism": "distributed_skellam",
    "parameters": {"lambda": 141.9, "mu": 1419.0, "n_min": 5},
    "indicators": [
        {
            "id": "AB-01",
            "strata": [
                {
                    "stratum": "F:0-14",
                    "numerator": 612,
                    "denominator": 847,
                    "rate": 0.7225501770956316,
                    "interval": [0.0, 2.137373],
                    "noise_sd": 495.18,
                    "suppressed": {},
                },
                {
                    "stratum": "M:0-14",
                    "numerator": None,
                    "denominator": 1384,
                    "rate": None,
                    "interval": None,
                    "noise_sd": 495.18,
                    "suppressed": {"numerator": "complementary", "rate": "numerator_suppressed"},
                },
            ],
            "numerator": 3405,
            "denominator": 14254,
            "rate": 0.23888031429774098,
            "interval": [0.040716, 0.437045],
            "noise_sd": 1400.58,
            "suppressed": {},
        },
        {
            "id": "AB-02",
            "strata": [],
            "numerator": None,
            "denominator": 3405,
            "rate": None,
            "interval": None,
            "noise_sd": 1400.58,
            "suppressed": {"numerator": "small_count", "rate": "numerator_suppressed"},
        },
    ],
}


def test_a_served_document_is_written_back_byte_for_byte():
    doc = parse_release("release-2.json", SERVED)
    assert json.dumps(doc.to_json(), ensure_ascii=False) == json.dumps(SERVED, ensure_ascii=False)
    assert parse_release("again", doc.to_json()) == doc
    ab01, ab02 = doc.figures["AB-01"], doc.figures["AB-02"]
    assert ab01.strata[1].suppressed_reason == "complementary"  # the numerator's own reason
    assert ab02.rate is None and ab02.suppressed_reason == "small_count"
    assert doc.distributions["DM-01"].deciles is None and doc.rate("AB-02") is None


def test_a_release_without_dp_states_epsilon_as_inf_both_ways():
    doc = parse_release("nodp.json", {**SERVED, "mechanism": "none", "epsilon_per_release": "inf"})
    assert doc.epsilon_per_release == math.inf
    assert doc.to_json()["epsilon_per_release"] == "inf"


def _results(**cluster: object) -> dict:
    nested = {k: v for k, v in SERVED.items() if k not in ("level", "unit", "reference_date")}
    return {
        "reference_date": "2026-06-30",
        "clusters": {"K02": {**nested, **cluster}},
        "regions": {},
        "aborted_rounds": [{"round_id": "r9", "cluster": "K09", "reason": "too few practices"}],
    }


def test_results_json_files_releases_by_level_unit_and_period():
    results = parse_results("results.json", _results())
    (doc,) = results.clusters.values()
    assert (doc.level, doc.unit, doc.reference_date) == ("cluster", "K02", date(2026, 6, 30))
    assert results.aborted_rounds[0].cluster == "K09" and results.history is None
    for contradiction, key in (
        ({"unit": "K01"}, "clusters.K02.unit"),
        ({"level": "region"}, "clusters.K02.level"),
        ({"reference_date": "2026-03-31"}, "clusters.K02.reference_date"),
    ):
        with pytest.raises(ReleaseDocumentError) as err:
            parse_results("results.json", _results(**contradiction))
        assert err.value.key == key and "results.json, key" in str(err.value)


def test_a_count_must_be_a_whole_number():
    broken = json.loads(json.dumps(SERVED))
    broken["indicators"][0]["strata"][0]["numerator"] = 612.5
    with pytest.raises(ReleaseDocumentError) as err:
        parse_release("r.json", broken)
    assert err.value.key == "indicators[0].strata[0].numerator"


def test_the_coordinator_serves_what_it_stored(tmp_path):
    store = Store.open(tmp_path / "store.sqlite")
    try:
        store.create_round(
            "r1", cluster="K01", region="R", reference_date=date(2026, 9, 30), manifest_hash="ab"
        )
        store.set_round_state("r1", RoundState.RUNNING)
        store.record_release(
            Release(
                Level.CLUSTER,
                "K01",
                ("r1",),
                date(2026, 9, 30),
                "ab",
                (
                    ReleasedCell("DM-01", "F:18-39", None, 40, 3.5, 6, {"rate": None}),
                    ReleasedCell(
                        "DM-01", "total", 300, 400, 9.0, 6, {"rate": 0.75, "interval": [0.7, 0.8]}
                    ),
                ),
                (SuppressedCell("DM-01", "F:18-39", "numerator", "small_count"),),
                {
                    "mechanism": "distributed_skellam",
                    "contributors": 6,
                    "list_size": None,
                    "list_size_suppressed": True,
                    "epsilon_per_release": 1.0,
                },
            )
        )
        (stored,) = store.releases()
    finally:
        store.close()
    served = release_document(stored).to_json()
    assert list(served) == [
        "release_id",
        "created_at",
        "level",
        "unit",
        "reference_date",
        "round_ids",
        "manifest_hash",
        "contributors",
        "epsilon_per_release",
        "list_size",
        "list_size_suppressed",
        "mechanism",
        "indicators",
    ]
    assert served["list_size"] is None and served["list_size_suppressed"] is True
    (dm01,) = served["indicators"]
    assert dm01["interval"] == [0.7, 0.8] and dm01["rate"] == 0.75
    assert dm01["strata"] == [
        {
            "stratum": "F:18-39",
            "numerator": None,
            "denominator": 40,
            "rate": None,
            "interval": None,
            "noise_sd": 3.5,
            "suppressed": {"numerator": "small_count"},
        }
    ]
    assert parse_release("served", served) == release_document(stored)


def test_definitions_round_trip_and_a_bad_version_names_its_key():
    """The definitions a release was computed under survive the parser and the writer."""
    from reporting.release_document import Definition

    definitions = {"DM-01": {"content_hash": "ab" * 32, "version": 3}}
    definitions["AB-01"] = {"content_hash": "cd" * 32}
    doc = {**SERVED, "definitions": definitions}
    release = parse_release("release.json", doc)
    assert release.definitions["DM-01"] == Definition("ab" * 32, 3)
    assert release.definitions["AB-01"].version is None
    assert parse_release("again.json", release.to_json()).definitions == release.definitions
    doc["definitions"]["DM-01"]["version"] = 0
    with pytest.raises(ReleaseDocumentError) as err:
        parse_release("release.json", doc)
    assert err.value.key == "definitions.DM-01.version"
