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
    "default": "2f7301fd403084b89ff23a20ce242433f06f205441b2bfbcfa8957af90ee7fd8",
    "small": "58fc3755e7bb28e447a7856c783cb1aa3ffbd33bbae1b824263dac65738310bf",
    "skellam_mu": "c6d9bd2bea980f67139655e05a7381822fcaadc608c51fd701c08b3108f66089",
    "local_laplace": "c6f8b70e090bd491e82e1a74d1acc3ccb1e19c04a63c2bfbdf483952abe0c93e",
    "verification": "21cde4161c98c046dfdc09a55e990e17429829e3cbbc2af1583f3f5cbb8873ec",
    "distribution": "8632351606f0422b8662b7caa8cba46e0c5685e8f57661945c0fc7b0461e95d1",
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
