"""The signed practice registry, built on the region's machine from public keys only.

Why: the registry lists each practice's Ed25519 identity key, and the region
needs only its public half. Each practice sends the `identity.pub` that
`klynge agent init` wrote; the region never sees a practice's private key.
Which cluster and region a practice belongs to comes from the region's own
federation file, never from what a practice sent. A practice of the
federation without a key, or a key for a practice the federation does not
list, is refused with the file named: a registry never leaves a practice out
silently, and never lists one the coordinator would not schedule.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path

from common.errors import FileKeyError
from common.federation import Federation
from common.keyfiles import load_public_key, public_bytes
from protocols.identity import IdentityKey
from protocols.registry import PracticeRegistry, RegistryEntry, make_registry
from transport.signed_files import write_registry

PUBLIC_KEY_SUFFIX = ".pub"


class PracticeKeysError(FileKeyError):
    """A folder or option of practices' public keys that does not match the federation."""


def public_keys_in(folder: Path) -> dict[str, Path]:
    """`PRACTICE.pub` files of a folder, by practice id (the file name without `.pub`)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise PracticeKeysError(folder, None, "not a folder of practices' public keys (*.pub)")
    keys = {p.name.removesuffix(PUBLIC_KEY_SUFFIX): p for p in folder.glob(f"*{PUBLIC_KEY_SUFFIX}")}
    if not keys:
        raise PracticeKeysError(folder, None, "holds no public key files (PRACTICE.pub)")
    return keys


def registry_from_public_keys(
    federation: Federation,
    keys: Mapping[str, Path],
    *,
    where: Path,
    issuer: str,
    issued: date,
) -> PracticeRegistry:
    """One entry per practice of the federation, with the key from its public key file;
    `where` (the federation file) is named when a practice has no key."""
    listed = {p.id for p in federation.practices}
    for practice_id, path in sorted(keys.items()):
        if practice_id not in listed:
            raise PracticeKeysError(
                path, None, f"practice {practice_id!r} is not in the federation file {where}"
            )
    entries = []
    for practice in federation.practices:
        if practice.id not in keys:
            raise PracticeKeysError(
                where, f"practices.{practice.id}", "no public key given for this practice"
            )
        key = public_bytes(load_public_key(keys[practice.id]))
        entries.append(
            RegistryEntry(practice.id, key, practice.name, practice.cluster, practice.region)
        )
    return make_registry(entries, issuer=issuer, issued=issued)


def write_registry_from_public_keys(
    out: Path,
    federation: Federation,
    keys: Mapping[str, Path],
    authority: IdentityKey,
    *,
    where: Path,
    issuer: str,
    issued: date,
) -> tuple[PracticeRegistry, Path, Path]:
    """Sign and write the registry (`out` and `out.sig`); nothing is written if a key is
    missing, unreadable or not the federation's."""
    registry = registry_from_public_keys(
        federation, keys, where=where, issuer=issuer, issued=issued
    )
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    path, sig = write_registry(registry, Path(out), authority)
    return registry, path, sig
