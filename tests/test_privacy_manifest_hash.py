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
from test_privacy_support import default_manifest, make_manifest

from privacy.authoring import verification_variant
from privacy.distribution import DistributionSpec

PINNED = {
    "default": "14a004cb131d51190feee11e0b95a94707a03e8c939b17c3af3ee1c406ded992",
    "small": "04a481ca4b4e35e5b61ad9fd06f3db53b1fe3a14aedc3448b6100d4f49716ac9",
    "skellam_mu": "0cc485296155b3b1498ab3f2c5eed43374f83469831e1e9f3ca2f85878bd94ea",
    "local_laplace": "716bb5725e9b3069bffd2cc62a246d21f3dae79ea0850b0ee07d6e864f6b03c2",
    "verification": "17206467cf0dd108a55ee2a679c43932a7cdba1e41c9fed6530c9a0217fa270c",
    "distribution": "2d472c3d9f8d51d502dbbdf8e8e573433cc8c5af967403484ea78f20a52537f2",
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
