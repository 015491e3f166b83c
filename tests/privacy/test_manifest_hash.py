"""A manifest's identity must not move when the code that writes its document changes.

Practices approve manifests by hash and receipts name them, so a refactoring
of `to_document` that changed one byte of the canonical form would silently
un-approve every manifest in the field. These hashes were computed with the
hand-written `to_document` of commit 8700d92; the derived one must give the
same. If you change the shipped default manifest or the test builders on
purpose, recompute them (and say so in the commit).
"""

from __future__ import annotations

import pytest

from privacy.authoring import verification_variant
from privacy.distribution import DistributionSpec
from tests.privacy.builders import default_manifest, make_manifest

PINNED = {
    "default": "e84fc2036e1535c8e96022a0452e6acc755be04223e912f5ae79d80a57e9fddb",
    "small": "708634185b95605128802aef3608b46577861f40a03f1afe5069c6b5e1d15ef9",
    "skellam_mu": "86a5a8e81a858f9f5bcd72fd469835e8ae308cbdf920c865c0b3980403e3abe1",
    "local_laplace": "6575c3fc316df6dbbdf50f01e7a9c55cce4d6a617471a39078357489af4f8ad3",
    "verification": "1e7dc17c366ae23e3414d8da5c37a000e14b7b9e4feb9660005ad6e58bf84357",
    "distribution": "006952440f2825dd1ad56b035b4a5b1219f536284618e2bae4563f6fc295edab",
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
