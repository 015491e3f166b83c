"""The national body's trust file: each region's log key and the manifest authorities' keys.

    [[manifest_authority]]
    name = "Sundhedsdatastyrelsen (demo)"
    public_key = "keys/manifest-authority.pub"   # a public key file (PEM or 64 hex)

    [[region]]
    name = "Midtjylland"
    log_key = "keys/midtjylland-log.pub"

Paths are taken from the file's own directory. A publication is accepted
only from a region listed here, with its head signed by that region's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from common.errors import FileKeyError, KeyFileError
from common.i18n import register, t
from common.keyfiles import load_public_key
from common.tomlfile import Table, read_table
from privacy.signing import key_id

register(
    {
        "national.err.region_twice": {
            "en": "region {name} is listed twice",
            "da": "regionen {name} er opført to gange",
        },
        "national.err.no_region": {"en": "names no region", "da": "nævner ingen region"},
    }
)


class NationalTrustError(FileKeyError):
    """A trust file that does not say whom the national body trusts."""


@dataclass(frozen=True)
class NationalTrust:
    log_keys: dict[str, Ed25519PublicKey]  # region -> the key its log heads verify under
    authority_keys: dict[str, Ed25519PublicKey]  # key id -> manifest authority key


def _key(table: Table, name: str) -> Ed25519PublicKey:
    path = table.path_value(name)
    try:
        return load_public_key(path)
    except KeyFileError as exc:
        raise table.fail(name, exc.message) from None


def load_national_trust(path: Path) -> NationalTrust:
    root = read_table(path, error=NationalTrustError)
    authorities: dict[str, Ed25519PublicKey] = {}
    for table in root.tables("manifest_authority"):
        table.string("name")
        key = _key(table, "public_key")
        table.done()
        authorities[key_id(key)] = key
    regions: dict[str, Ed25519PublicKey] = {}
    for table in root.tables("region"):
        name = table.string("name")
        if name in regions:
            raise table.fail("name", t("national.err.region_twice", name=repr(name)))
        regions[name] = _key(table, "log_key")
        table.done()
    root.done()
    if not regions:
        raise NationalTrustError(path, "region", t("national.err.no_region"))
    return NationalTrust(regions, authorities)


def write_national_trust(
    path: Path, authorities: dict[str, Path], regions: dict[str, Path]
) -> None:
    """A trust file naming key files (the demo writes one; a national body edits its own)."""
    lines = []
    for name, key in authorities.items():
        lines += ["[[manifest_authority]]", f"name = {_q(name)}", f"public_key = {_q(key)}", ""]
    for name, key in regions.items():
        lines += ["[[region]]", f"name = {_q(name)}", f"log_key = {_q(key)}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


def _q(value: object) -> str:
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
