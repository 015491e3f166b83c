"""A manifest's identity must not move when the code that writes its document changes.

Practices approve manifests by hash and receipts name them, so a refactoring
of `to_document` that changed one byte of the canonical form would silently
un-approve every manifest in the field. These hashes were recomputed when the
release layout became version 2 (pass/fail cells, populations, the region-wide
round); any later change must give the same. If you change the shipped
default manifest or the test builders on purpose, recompute them (and say so
in the commit).
"""

from __future__ import annotations

import pytest

from privacy.authoring import verification_variant
from privacy.distribution import DistributionSpec
from tests.privacy.builders import default_manifest, make_manifest

PINNED = {
    "default": "d9c37932cade5864780d7daeb14bdead4099ec7f5394cdb192e551f759b92a74",
    "small": "33432923f2c4c9723f549e7ccd7f4b64e2f2402ab7a0a1360c938c4d4d510944",
    "skellam_mu": "49841ed9ae7343713a4a0ae5ce62c2e5b770da77f64469e07b4bb759f2c68390",
    "local_laplace": "7fe82ef4e78dc14d13921afe92f718d429dcfd56c149cd0c14583eba0f236005",
    "verification": "08d2d61d3ae7275ad3b787cc462d6c2d0c5bdb79db2e767517609766c8673404",
    "distribution": "7dbaecd14f8f06580304258059914faf0fa304dbd9f42bd67830058d7d5bbb39",
}


def _variants():
    spec = DistributionSpec(("DM-01",), 10, 100, 1000, 100)
    return {
        "default": default_manifest,
        "small": make_manifest,
        "skellam_mu": lambda: make_manifest(mu=400.0),
        "local_laplace": lambda: make_manifest(mechanism="local_discrete_laplace", scale=3.0),
        "verification": lambda: verification_variant(make_manifest()),
        "distribution": lambda: make_manifest(distribution=spec),
    }


@pytest.mark.parametrize("name", sorted(PINNED))
def test_the_canonical_hash_is_what_it_was_before_the_document_was_derived(name):
    manifest = _variants()[name]()
    assert manifest.hash() == PINNED[name], (
        f"the canonical hash of the {name!r} manifest changed: every practice's approval and "
        "every receipt names the old one"
    )
