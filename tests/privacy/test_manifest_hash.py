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
    "default": "133a74988082d5952e32073fa7fa873cde1fec28fd36bae79b5c710762f01890",
    "small": "961afef0f7476487edc586f0a52bd2f38749e539003acea6049a1437f0abee5f",
    "skellam_mu": "3851dfb05a3bd10f2d3b6d6e5f4db8384038fbc30f9fe32702ab9e5220d2c439",
    "local_laplace": "55246895810f06a552e911a785364a23c834b6da3bb46e8039d62480a4cfba03",
    "verification": "08d2d61d3ae7275ad3b787cc462d6c2d0c5bdb79db2e767517609766c8673404",
    "distribution": "49ffb14184bc9ee3084267f5996879ea477e6453b338ca8fa79e5a93f2eff747",
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
