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
    "default": "87c304f2127087945159c557bc163655175acf25e7f986ac0d70c23fd122373a",
    "small": "859ad6d7c45611504c0fea11ca6e4084d1be57c57f759bd088be7f99d6221b72",
    "skellam_mu": "e8894eb42059a32414a126578440c22567f85c83655a8fbdca0e72dad3b72ba1",
    "local_laplace": "66f05c4f6bfb1c8a77c623bd87e8b37335569de1d0645b7d9eab1f97a29afb11",
    "verification": "01c3eb653cd64c95388c96ad5e32243b1ee9cbf5e1b7b36215f0eecd43c53b2a",
    "distribution": "427a386fb3f59749e34557ee92f1c57d478cb82b88047809312eb82936af3396",
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
