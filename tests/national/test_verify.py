"""Each forged or misplaced input is refused with one error naming the file and the field."""

from __future__ import annotations

import dataclasses
import json

import pytest

from national.run import national_figures
from national.trust import load_national_trust
from privacy.publication import PublicationError
from privacy.signing import generate_private_key
from privacy.transparency import TransparencyLog
from tests.langs import in_english
from tests.national.world import CATALOGUE, build_world, release_doc


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English refusals; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


IDS = list(CATALOGUE.indicators)[:2]


@pytest.fixture
def world(tmp_path):
    return build_world(
        tmp_path,
        {"Midtjylland": {i: (300, 1000) for i in IDS}, "Nordjylland": {i: (100, 500) for i in IDS}},
    )


def _refused(world, path, key_fragment: str, message: str) -> None:
    trust = load_national_trust(world.trust)
    with pytest.raises(PublicationError) as caught:
        national_figures([path], trust)
    assert caught.value.path == str(path)
    assert key_fragment in (caught.value.key or ""), caught.value
    assert message in str(caught.value)


def test_honest_publications_verify_and_combine(world):
    paths = [world.write(r) for r in world.regions]
    national = national_figures(paths, load_national_trust(world.trust))
    assert set(national.regions) == {"Midtjylland", "Nordjylland"}


def test_head_signed_by_another_key_is_refused(world):
    region = world.regions["Midtjylland"]
    impostor = generate_private_key()
    forged_log = TransparencyLog.open(world.root / "forged.log", impostor)
    forged = dataclasses.replace(region, key=impostor, log=forged_log, documents=[])
    forged.release(region.documents[0])
    _refused(world, world.write("Midtjylland", forged.publication(world.manifest_text)), "head", "")


def test_region_not_in_trust_file_is_refused(world):
    pub = world.regions["Midtjylland"].publication(world.manifest_text)
    path = world.write("Midtjylland", dataclasses.replace(pub, region="Sjælland"))
    _refused(world, path, "region", "not in the trust file")


def test_manifest_not_signed_by_a_trusted_authority_is_refused(world):
    pub = world.regions["Midtjylland"].publication(world.manifest_text)
    altered = world.manifest_text.replace("min_cell = ", "min_cell = 1", 1)
    path = world.write("Midtjylland", dataclasses.replace(pub, manifest=altered))
    _refused(world, path, "manifest", "")


def test_document_not_matching_the_log_is_refused(world):
    pub = world.regions["Midtjylland"].publication(world.manifest_text)
    release = pub.releases[0]
    doc = json.loads(json.dumps(release.document))
    doc["indicators"][0]["numerator"] += 1
    forged = dataclasses.replace(pub, releases=(dataclasses.replace(release, document=doc),))
    _refused(world, world.write("Midtjylland", forged), "releases[0].document", "does not match")


def test_cluster_level_release_is_refused(world):
    region = world.regions["Nordjylland"]
    doc = release_doc("Nordjylland", 2, world.manifest_hash, {IDS[0]: (5, 50)})
    doc["level"] = "cluster"
    region.release(doc, level="cluster")
    path = world.write("Nordjylland")
    _refused(world, path, "releases[1].entry.payload.level", "below region level")


def test_release_under_another_manifest_is_refused(world):
    region = world.regions["Nordjylland"]
    region.documents.clear()
    region.release(release_doc("Nordjylland", 3, "cd" * 32, {IDS[0]: (5, 50)}))
    _refused(world, world.write("Nordjylland"), "manifest_hash", "expected")


def test_unbound_release_is_refused(world):
    region = world.regions["Nordjylland"]
    region.documents.clear()
    region.release(
        release_doc("Nordjylland", 4, world.manifest_hash, {IDS[0]: (5, 50)}), bind=False
    )
    _refused(world, world.write("Nordjylland"), "document_sha256", "missing")


def test_inclusion_proof_must_verify(world):
    pub = world.regions["Midtjylland"].publication(world.manifest_text)
    release = pub.releases[0]
    bad = dataclasses.replace(release, proof=(b"\0" * 32, *release.proof))
    path = world.write("Midtjylland", dataclasses.replace(pub, releases=(bad,)))
    _refused(world, path, "releases[0].proof", "not in the log")
