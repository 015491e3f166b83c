"""Read, verify and combine the regions' publications; write the national publication.

The one path from files to the country's figures: every publication is
checked (`privacy.publication.verify_publication`) before any is combined,
and a refusal names the file and the field.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from national.combine import National, combine, region_inputs
from national.trust import NationalTrust
from privacy.publication import (
    NationalPublication,
    VerifiedPublication,
    load_json,
    parse_publication,
    sign_national,
    verify_publication,
)


def verified_publications(
    paths: Sequence[Path], trust: NationalTrust
) -> list[tuple[str, VerifiedPublication]]:
    out = []
    for path in paths:
        publication = parse_publication(path, load_json(path))
        verified = verify_publication(
            publication, path, log_keys=trust.log_keys, authority_keys=trust.authority_keys
        )
        out.append((str(path), verified))
    return out


def national_figures(
    paths: Sequence[Path], trust: NationalTrust, *, created_at: str | None = None
) -> National:
    """The country's release from the regions' publications, each verified first."""
    verified = verified_publications(paths, trust)
    inputs = region_inputs(verified)
    first = verified[0][1]
    return combine(inputs, first.manifest.manifest, first.manifest_hash, created_at=created_at)


def national_publication(national: National, key: Ed25519PrivateKey) -> NationalPublication:
    """The signed national publication: the country's document and the regions' aggregates."""
    return sign_national(
        key,
        national.reference_date,
        national.manifest_hash,
        national.nation.to_json(),
        {name: r.aggregate.to_json() for name, r in national.regions.items()},
    )
