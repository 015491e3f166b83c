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
    "default": "0d4f40a8483a6375eb22e9514d7b61851f8888b93538be156a683a0c9c5ead06",
    "small": "518a4f0e06905beec3d427a92f8a0b7c296aa6e1a63ab981697815ac5e604975",
    "skellam_mu": "db7fa115877e72cc08f79b66211abb297dcaf45c35e89d961cd2200840f43dfb",
    "local_laplace": "3800592e4e7834fd9590de15ade1a2ee43750f07eee2abbddc7d4970ae5ccc43",
    "verification": "87aea1b213bbfdf872be512cfb595a1e4d8f6dd01709a51c19964b9053192792",
    "distribution": "8b71506162186bf0f8537b3d5414b1d5b975c78df53f1f2025815f1966728a51",
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
