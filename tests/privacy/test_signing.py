"""Ed25519 keys, manifest signatures, tamper detection and the agent's trust checks."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from datetime import date

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from common.keyfiles import load_private_key, load_public_key, write_private_key, write_public_key
from privacy.catalogue import InstalledCatalogue, definition_mismatches
from privacy.errors import (
    BadSignature,
    KeyFileError,
    ManifestRefused,
    RefusalReason,
    SignatureError,
    TrustStoreError,
)
from privacy.manifest import Signature, parse_manifest
from privacy.manifest_toml import render_manifest, with_signature
from privacy.signing import generate_private_key, key_id, sign, verify
from privacy.trust import (
    add_authority,
    approve_manifest,
    check_manifest,
    check_reference_date,
    check_signature,
    load_trust_store,
)
from tests.langs import in_english
from tests.privacy.builders import installed_for, make_manifest


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


TODAY = date(2026, 11, 23)


def _signed_text(manifest, key) -> str:
    sig = Signature(
        "ed25519", key_id(key.public_key()), manifest.hash(), sign(key, manifest.signing_message())
    )
    return with_signature(render_manifest(manifest), sig)


@pytest.fixture
def authority():
    return generate_private_key()


@pytest.fixture
def manifest():
    return make_manifest()


def test_private_keys_are_written_0600_and_never_overwritten(tmp_path, authority):
    path = tmp_path / "auth.pem"
    write_private_key(path, authority)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(KeyFileError, match="already exists"):
        write_private_key(path, generate_private_key())
    loaded = load_private_key(path)
    assert key_id(loaded.public_key()) == key_id(authority.public_key())


def test_bad_key_files_say_what_is_wrong(tmp_path, authority):
    with pytest.raises(KeyFileError, match="key file not found"):
        load_private_key(tmp_path / "missing.pem")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello")
    os.chmod(garbage, 0o600)
    with pytest.raises(KeyFileError, match="not a PEM file"):
        load_private_key(garbage)
    public = tmp_path / "auth.pub.pem"
    write_public_key(public, authority.public_key())
    os.chmod(public, 0o600)
    with pytest.raises(KeyFileError, match="holds a public key"):
        load_private_key(public)
    private = tmp_path / "auth.pem"
    write_private_key(private, authority)
    with pytest.raises(KeyFileError, match="holds a private key"):
        load_public_key(private)
    os.chmod(private, 0o644)
    with pytest.raises(KeyFileError, match="too open"):
        load_private_key(private)
    other = tmp_path / "x25519.pem"
    other.write_bytes(
        X25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(other, 0o600)
    with pytest.raises(KeyFileError, match="not an Ed25519 key"):
        load_private_key(other)
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    os.chmod(broken, 0o600)
    with pytest.raises(KeyFileError, match=str(broken)):
        load_private_key(broken)


def test_signature_verifies_and_any_change_is_detected(authority, manifest):
    signed = parse_manifest(_signed_text(manifest, authority))
    keys = {key_id(authority.public_key()): authority.public_key()}
    assert check_signature(signed, keys) == key_id(authority.public_key())
    for changed in (
        replace(manifest, disclosure=replace(manifest.disclosure, min_cell=3)),
        replace(manifest, indicators=manifest.indicators[:-1]),
        replace(manifest, dp=replace(manifest.dp, epsilon_per_release=1.5)),
    ):
        tampered = replace(signed, manifest=changed)
        with pytest.raises(ManifestRefused) as info:
            check_signature(tampered, keys)
        assert info.value.reason is RefusalReason.TAMPERED


def test_textual_tampering_of_a_signed_file_is_detected(authority, manifest):
    text = _signed_text(manifest, authority)
    keys = {key_id(authority.public_key()): authority.public_key()}
    edited = text.replace("min_cell = 5", "min_cell = 3")
    assert edited != text
    with pytest.raises(ManifestRefused, match="tampered"):
        check_signature(parse_manifest(edited), keys)
    # Editing only the informative hash in the signature table is also caught.
    sig_hash = manifest.hash()
    forged = text.replace(f'manifest_hash = "{sig_hash}"', f'manifest_hash = "{"0" * 64}"')
    with pytest.raises(ManifestRefused, match="manifest_hash was edited"):
        check_signature(parse_manifest(forged), keys)


def test_unsigned_unknown_and_malformed_signatures(authority, manifest):
    keys = {key_id(authority.public_key()): authority.public_key()}
    with pytest.raises(ManifestRefused) as info:
        check_signature(parse_manifest(render_manifest(manifest), "m.toml"), keys)
    assert info.value.reason is RefusalReason.UNSIGNED
    stranger = generate_private_key()
    with pytest.raises(ManifestRefused) as info:
        check_signature(parse_manifest(_signed_text(manifest, stranger)), keys)
    assert info.value.reason is RefusalReason.UNKNOWN_AUTHORITY
    text = _signed_text(manifest, authority)
    good = text.split('value = "')[1].split('"')[0]
    bad_b64 = text.replace(good, "!!not base64!!")
    with pytest.raises(SignatureError, match=r"signature\.value: not valid base64"):
        check_signature(parse_manifest(bad_b64, "m.toml"), keys)
    short = text.replace(good, "AAAA")
    with pytest.raises(SignatureError, match="64 bytes, got 3"):
        check_signature(parse_manifest(short), keys)


def test_verify_distinguishes_bad_signature_from_bad_encoding(authority):
    sig = sign(authority, b"message")
    verify(authority.public_key(), b"message", sig, "x")
    with pytest.raises(BadSignature):
        verify(authority.public_key(), b"other", sig, "x")
    with pytest.raises(SignatureError) as info:
        verify(authority.public_key(), b"message", "###", "field")
    assert not isinstance(info.value, BadSignature)


def _store(tmp_path, authority, signed=None, approver="Dr. Hansen"):
    trust = tmp_path / "trust"
    add_authority(trust, "Region Midt manifest authority", authority.public_key())
    if signed is not None:
        approve_manifest(trust, signed, approver, TODAY)
    return trust


def test_agent_accepts_a_signed_approved_current_manifest(tmp_path, authority, manifest):
    signed = parse_manifest(_signed_text(manifest, authority), "m.toml")
    trust = _store(tmp_path, authority, signed)
    accepted = check_manifest(signed, load_trust_store(trust), installed_for(manifest), TODAY)
    assert accepted.manifest_hash == manifest.hash()
    assert accepted.approval.approved_by == "Dr. Hansen"
    check_reference_date(accepted, date(2026, 9, 30))
    with pytest.raises(ManifestRefused) as info:
        check_reference_date(accepted, date(2026, 9, 29))
    assert info.value.reason is RefusalReason.OFF_SCHEDULE


@pytest.mark.parametrize(
    ("today", "reason"),
    [(date(2025, 12, 31), RefusalReason.NOT_YET_VALID), (date(2028, 4, 1), RefusalReason.EXPIRED)],
)
def test_agent_refuses_outside_validity(tmp_path, authority, manifest, today, reason):
    signed = parse_manifest(_signed_text(manifest, authority))
    trust = _store(tmp_path, authority, signed)
    with pytest.raises(ManifestRefused) as info:
        check_manifest(signed, load_trust_store(trust), installed_for(manifest), today)
    assert info.value.reason is reason


def test_agent_refuses_unapproved_and_mismatched_definitions(tmp_path, authority, manifest):
    signed = parse_manifest(_signed_text(manifest, authority))
    trust = _store(tmp_path, authority)
    store = load_trust_store(trust)
    with pytest.raises(ManifestRefused) as info:
        check_manifest(signed, store, installed_for(manifest), TODAY)
    assert info.value.reason is RefusalReason.UNAPPROVED
    approve_manifest(trust, signed, "Dr. Hansen", TODAY)
    store = load_trust_store(trust)
    installed = installed_for(manifest)
    first = manifest.indicators[0].id
    changed = dict(installed.indicators)
    changed[first] = replace(changed[first], content_hash="f" * 64)
    with pytest.raises(ManifestRefused) as info:
        check_manifest(signed, store, InstalledCatalogue(changed, installed.codelists), TODAY)
    assert info.value.reason is RefusalReason.DEFINITION_MISMATCH
    assert f"indicator {first}: definition hash" in str(info.value)
    capped = dict(installed.indicators)
    capped["AB-01"] = replace(capped["AB-01"], max_per_patient=12)
    with pytest.raises(ManifestRefused, match="caps a patient"):
        check_manifest(signed, store, InstalledCatalogue(capped, installed.codelists), TODAY)
    # Indicators said to share a population must count the same denominator.
    together = replace(
        signed.manifest,
        indicators=tuple(
            replace(e, population="t2d") if e.id in ("DM-01", "DM-02") else e
            for e in signed.manifest.indicators
        ),
    )
    assert any("share population 't2d'" in p for p in definition_mismatches(together, installed))
    same = dict(installed.indicators)
    same["DM-02"] = replace(same["DM-02"], denominator_key=same["DM-01"].denominator_key)
    agreed = definition_mismatches(together, InstalledCatalogue(same, installed.codelists))
    assert not any("share population" in p for p in agreed)
    with pytest.raises(ManifestRefused, match="code list t2d is not installed"):
        check_manifest(signed, store, InstalledCatalogue(installed.indicators, {}), TODAY)


def test_approving_requires_a_valid_signature(tmp_path, authority, manifest):
    trust = _store(tmp_path, authority)
    unsigned = parse_manifest(render_manifest(manifest))
    with pytest.raises(ManifestRefused, match="unsigned"):
        approve_manifest(trust, unsigned, "Dr. Hansen", TODAY)
    assert load_trust_store(trust).approvals == ()


def test_malformed_trust_store_is_a_typed_error(tmp_path, authority):
    trust = _store(tmp_path, authority)
    (trust / "authorities.toml").write_text("[[authority]]\nname = 'x'\n")
    missing = r"key 'authority\[0\]\.key_id': required key is missing"
    with pytest.raises(TrustStoreError, match=missing):
        load_trust_store(trust)
    (trust / "authorities.toml").write_text(
        "[[authority]]\nname = 'x'\nkey_id = 'abc'\npublic_key = 'AAAA'\n"
    )
    with pytest.raises(TrustStoreError, match="32 bytes"):
        load_trust_store(trust)
    (trust / "authorities.toml").write_text("[[authority]\n")
    with pytest.raises(TrustStoreError, match="not valid TOML"):
        load_trust_store(trust)
    with pytest.raises(TrustStoreError, match="not found"):
        load_trust_store(tmp_path / "nowhere")
