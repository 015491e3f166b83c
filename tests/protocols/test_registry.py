"""Identity keys, detached signatures and the signed practice registry."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import stat
from pathlib import Path

import pytest

from common.errors import KeyFileError
from common.keyfiles import (
    load_private_key,
    load_public_key,
    public_bytes,
    write_private_key,
    write_public_key,
)
from protocols.errors import IdentityKeyError, RegistryError, SignedDocumentError
from protocols.identity import IdentityKey, public_key_from_hex, verify_signature
from protocols.randomness import seeded_random_bytes
from protocols.registry import (
    SIGNATURE_DOMAIN,
    RegistryEntry,
    make_registry,
    parse_registry,
    sign_registry,
    verify_registry,
)
from tests.langs import in_english
from transport.signed_files import (
    load_registry,
    read_signed_document,
    signature_path_for,
    write_registry,
)


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


RB = seeded_random_bytes("registry")
AUTHORITY = IdentityKey.generate(RB)
PRACTICES = {f"0{i:05d}": IdentityKey.generate(RB) for i in range(4)}


def _registry():
    return make_registry(
        (
            RegistryEntry(pid, key.public_key, name=f"Lægehuset {i}", cluster="K01")
            for i, (pid, key) in enumerate(PRACTICES.items())
        ),
        issuer="Region Test",
        issued=dt.date(2025, 1, 31),
    )


def test_signatures_are_domain_separated() -> None:
    key = IdentityKey.generate(RB)
    sig = key.sign(b"klynge/a", b"message")
    assert verify_signature(key.public_key, b"klynge/a", b"message", sig)
    assert not verify_signature(key.public_key, b"klynge/b", b"message", sig)
    assert not verify_signature(key.public_key, b"klynge/a", b"messagf", sig)
    assert not verify_signature(AUTHORITY.public_key, b"klynge/a", b"message", sig)
    assert not verify_signature(key.public_key[:31], b"klynge/a", b"message", sig)
    with pytest.raises(ValueError):
        key.sign(b"bad\x00domain", b"m")


def test_identity_key_files(tmp_path: Path) -> None:
    key = IdentityKey.generate(RB)
    path = tmp_path / "practice.pem"
    write_private_key(path, key.private_key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert IdentityKey(load_private_key(path)).public_key == key.public_key
    with pytest.raises(KeyFileError, match="already exists"):
        write_private_key(path, key.private_key)  # never silently overwrite a key
    pub = tmp_path / "practice.pub"
    write_public_key(pub, key.public_key, form="hex")
    assert pub.read_text() == key.public_key.hex() + "\n"
    assert public_bytes(load_public_key(pub)) == key.public_key
    (tmp_path / "junk.pem").write_text("not a key")
    (tmp_path / "junk.pem").chmod(0o600)
    with pytest.raises(KeyFileError):
        load_private_key(tmp_path / "junk.pem")
    with pytest.raises(KeyFileError):
        load_private_key(tmp_path / "missing.pem")
    with pytest.raises(IdentityKeyError):
        public_key_from_hex("zz" * 32, source="x")
    with pytest.raises(IdentityKeyError):
        public_key_from_hex("ab" * 31, source="x")


def test_registry_round_trip_through_signed_files(tmp_path: Path) -> None:
    registry = _registry()
    path = tmp_path / "registry.json"
    doc, sig = write_registry(registry, path, AUTHORITY)
    assert sig == signature_path_for(doc) and sig.exists()
    loaded = load_registry(path, AUTHORITY.public_key)
    assert loaded == registry
    pid = next(iter(PRACTICES))
    assert loaded.identity_key(pid) == PRACTICES[pid].public_key
    assert pid in loaded and "999999" not in loaded and len(loaded) == 4
    data, signature = sign_registry(registry, AUTHORITY)
    assert verify_registry(data, signature, AUTHORITY.public_key, source="mem") == registry


def test_a_registry_names_each_practices_region_only_when_it_has_one() -> None:
    """The region decides which region-wide round a practice joins, so it is signed with the
    rest; a registry without regions encodes exactly as before there were any."""
    plain = _registry()
    assert b'"region"' not in sign_registry(plain, AUTHORITY)[0]
    regional = make_registry(
        (dataclasses.replace(e, region="Midtjylland") for e in plain.entries),
        issuer=plain.issuer,
        issued=plain.issued,
    )
    data, signature = sign_registry(regional, AUTHORITY)
    loaded = verify_registry(data, signature, AUTHORITY.public_key, source="mem")
    pid = next(iter(PRACTICES))
    assert loaded.entry(pid).region == "Midtjylland" and loaded.entry("999999") is None
    assert plain.entry(pid).region == ""


def test_tampered_or_wrongly_signed_registry_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    write_registry(_registry(), path, AUTHORITY)
    with pytest.raises(SignedDocumentError):
        load_registry(path, IdentityKey.generate(RB).public_key)
    data = json.loads(path.read_text())
    data["practices"].append({"practice_id": "666666", "identity_key": "11" * 32})
    path.write_text(json.dumps(data))
    with pytest.raises(SignedDocumentError) as info:
        load_registry(path, AUTHORITY.public_key)
    assert str(path) in str(info.value)
    signature_path_for(path).unlink()
    with pytest.raises(SignedDocumentError):
        load_registry(path, AUTHORITY.public_key)
    signature_path_for(path).write_text("abc\n")
    with pytest.raises(SignedDocumentError):
        read_signed_document(path, AUTHORITY.public_key, SIGNATURE_DOMAIN)


def _doc(**overrides: object) -> dict:
    doc = {
        "format": "klynge-practice-registry",
        "version": 1,
        "issuer": "Region Test",
        "issued": "2025-01-31",
        "practices": [{"practice_id": "012345", "identity_key": "ab" * 32}],
    }
    doc.update(overrides)
    return doc


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({**_doc(), "extra": 1}, "document"),
        (_doc(format="other"), "format"),
        (_doc(version=2), "version"),
        (_doc(version=True), "version"),
        (_doc(issuer=""), "issuer"),
        (_doc(issued="31-01-2025"), "issued"),
        (_doc(practices={}), "practices"),
        (_doc(practices=[1]), "practices[0]"),
        (_doc(practices=[{"practice_id": "012345"}]), "practices[0]"),
        (_doc(practices=[{"practice_id": "01 2345", "identity_key": "ab" * 32}]), "practice_id"),
        (_doc(practices=[{"practice_id": "012345", "identity_key": "ab"}]), "identity_key"),
        (_doc(practices=[{"practice_id": "1", "identity_key": "ab" * 32, "name": 5}]), "name"),
        (
            _doc(
                practices=[
                    {"practice_id": "1", "identity_key": "ab" * 32},
                    {"practice_id": "1", "identity_key": "cd" * 32},
                ]
            ),
            "practices[1].practice_id",
        ),
        (
            _doc(
                practices=[
                    {"practice_id": "1", "identity_key": "ab" * 32},
                    {"practice_id": "2", "identity_key": "ab" * 32},
                ]
            ),
            "practices[1].identity_key",
        ),
    ],
)
def test_malformed_registry_names_the_field(doc: dict, field: str) -> None:
    with pytest.raises(RegistryError) as info:
        parse_registry(json.dumps(doc).encode(), source="registry.json")
    assert field in str(info.value.fields["field"])
    assert info.value.fields["source"] == "registry.json"


def test_registry_rejects_duplicate_json_keys_and_bad_encoding() -> None:
    with pytest.raises(RegistryError):
        parse_registry(b'{"format": 1, "format": 2}', source="r")
    with pytest.raises(RegistryError):
        parse_registry(b"\xff\xfe", source="r")
    with pytest.raises(RegistryError):
        parse_registry(b"[]", source="r")
    with pytest.raises(RegistryError):
        make_registry(
            [RegistryEntry("1", bytes(32)), RegistryEntry("1", bytes([1]) * 32)],
            issuer="x",
            issued=dt.date(2025, 1, 1),
        )
