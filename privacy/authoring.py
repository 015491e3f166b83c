"""Making and signing manifests from code, by the same rules as `klynge manifest init|sign`.

The CLI commands are thin shells over these functions, so a manifest the demo
builds here is byte for byte what `klynge manifest init [--no-dp]` followed by
`klynge manifest sign` would write. Every result is rendered, parsed back and
budget-checked before it is signed or written: code cannot produce a manifest
the agent's loader would refuse.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from common.atomic import atomic_write
from privacy.catalogue import InstalledCatalogue, installed_catalogue, pin_catalogue
from privacy.defaults import default_manifest_path
from privacy.errors import ManifestError
from privacy.manifest import (
    Manifest,
    Signature,
    SignedManifest,
    Text,
    load_manifest,
    parse_manifest,
)
from privacy.manifest_toml import render_manifest, with_signature
from privacy.plan import validate_plan
from privacy.release import NO_NOISE
from privacy.signing import SIGNATURE_ALGORITHM, key_id, sign

VERIFICATION_ID = "klynge-verification"

_VERIFICATION_TITLE = Text(
    "VERIFIKATION UDEN DIFFERENTIAL PRIVACY (kun syntetiske data)",
    "VERIFICATION WITHOUT DIFFERENTIAL PRIVACY (synthetic data only)",
)
_VERIFICATION_RATIONALE = Text(
    "Verifikationsmanifest: mekanismen 'none' lægger ingen støj til, så hver udgivet klyngesum "
    "er præcis summen af praksissernes egne resultater (`klynge compute`) og kan kontrolleres "
    "mod dem. Der er INGEN differential privacy (ε = ∞): manifestet må kun bruges med syntetiske "
    "data og aldrig godkendes af en agent, der læser rigtige patientdata. Diskretionskontrol og "
    "sikker aggregering gælder uændret.",
    "Verification manifest: mechanism 'none' adds no noise, so every released cluster sum is "
    "exactly the sum of the practices' own results (`klynge compute`) and can be checked against "
    "them. There is NO differential privacy (ε = ∞): use it only with synthetic data and never "
    "approve it for an agent that reads real patient data. Disclosure control and secure "
    "aggregation apply unchanged.",
)
_VERIFICATION_PURPOSE = Text(
    "Verifikation af Klynge-føderationen med syntetiske data: præcise klyngesummer sammenlignes "
    "med hver praksis' lokale resultat. Ikke til patientdata.",
    "Verification of the Klynge federation with synthetic data: exact cluster sums are compared "
    "with each practice's local result. Not for patient data.",
)


def verification_variant(manifest: Manifest, manifest_id: str = VERIFICATION_ID) -> Manifest:
    """The same protocol with no noise and no DP guarantee, for checking sums on synthetic data.

    Indicators, schedule, disclosure control, SecAgg and recipients are kept,
    so the verification run exercises exactly the production path except the
    noise. Title, rationale and purpose say what it is, and the id differs, so
    receipts and reports can never pass it off as the DP manifest.
    """
    meta = replace(
        manifest.meta,
        id=manifest_id,
        title=Text(
            f"{manifest.meta.title.da}: {_VERIFICATION_TITLE.da}",
            f"{manifest.meta.title.en}: {_VERIFICATION_TITLE.en}",
        ),
        rationale=_VERIFICATION_RATIONALE,
    )
    return replace(
        manifest,
        meta=meta,
        legal=replace(manifest.legal, purpose=_VERIFICATION_PURPOSE),
        mechanism=NO_NOISE,
        dp=None,
        budget=replace(manifest.budget, epsilon_per_year=math.inf),
        region_round=None
        if manifest.region_round is None
        else replace(manifest.region_round, epsilon_per_release=None),
    )


def default_manifest(
    no_dp: bool = False,
    *,
    template: Path | str | None = None,
    installed: InstalledCatalogue | None = None,
) -> Manifest:
    """The shipped default (or `template`), pinned to the installed indicator definitions.

    With `no_dp`, its verification variant (mechanism none). Unsigned; pass it
    to `write_signed` or `signed_text`.
    """
    source = template if template is not None else default_manifest_path()
    catalogue = installed if installed is not None else installed_catalogue()
    manifest = pin_catalogue(load_manifest(source).manifest, catalogue)
    return verification_variant(manifest) if no_dp else manifest


def checked_text(manifest: Manifest, where: str = "manifest") -> tuple[str, Manifest]:
    """The manifest's TOML and the manifest parsed back from it, after every loader check.

    Parsing the rendered text applies the loader's rules (not only the
    dataclass invariants), and `validate_plan` refuses a schedule the budget
    cannot pay for.
    """
    text = render_manifest(manifest)
    parsed = parse_manifest(text, where).manifest
    validate_plan(parsed, where)
    return text, parsed


def sign_manifest(manifest: Manifest, key: Ed25519PrivateKey, where: str = "manifest") -> Signature:
    """The authority's Ed25519 signature over the canonical form; refuses an unrunnable plan."""
    validate_plan(manifest, where)
    return Signature(
        SIGNATURE_ALGORITHM,
        key_id(key.public_key()),
        manifest.hash(),
        sign(key, manifest.signing_message()),
    )


def signed_text(manifest: Manifest, key: Ed25519PrivateKey, where: str = "manifest") -> str:
    """Commented TOML with the signature table appended, as `klynge manifest sign` writes it."""
    text, parsed = checked_text(manifest, where)
    return with_signature(text, sign_manifest(parsed, key, where), where)


def write_signed(
    path: Path | str, manifest: Manifest, key: Ed25519PrivateKey, *, overwrite: bool = False
) -> SignedManifest:
    """Write the signed manifest atomically and return it as an agent will load it."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ManifestError(path, None, "already exists; refusing to overwrite")
    text = signed_text(manifest, key, str(path))
    atomic_write(path, text.encode("utf-8"))
    return parse_manifest(text, path)
