"""The one Ed25519 key-file module: PEM or hex public keys, private keys only their owner reads."""

from __future__ import annotations

import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

import privacy.errors
from common.errors import FileKeyError, KeyFileError
from common.keyfiles import (
    load_private_key,
    load_public_key,
    public_bytes,
    write_private_key,
    write_public_key,
)
from tests.langs import in_english


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
RAW = public_bytes(KEY.public_key())


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_public_key_loads_from_pem_and_from_hex(tmp_path):
    pem, hex_file = tmp_path / "key.pub.pem", tmp_path / "key.pub"
    write_public_key(pem, KEY.public_key())
    write_public_key(hex_file, RAW, form="hex")
    assert pem.read_bytes().startswith(b"-----BEGIN PUBLIC KEY-----")
    assert hex_file.read_text() == RAW.hex() + "\n"
    assert public_bytes(load_public_key(pem)) == RAW
    assert public_bytes(load_public_key(hex_file)) == RAW
    (tmp_path / "pasted.pub").write_text(f"  {RAW.hex().upper()}\n\n")  # as pasted by hand
    assert public_bytes(load_public_key(tmp_path / "pasted.pub")) == RAW


def test_a_private_key_is_written_for_its_owner_only_and_read_back(tmp_path):
    path = tmp_path / "identity.key"
    write_private_key(path, KEY)
    assert mode(path) == 0o600
    assert public_bytes(load_private_key(path).public_key()) == RAW
    write_public_key(tmp_path / "identity.pub", KEY.public_key())
    assert mode(tmp_path / "identity.pub") == 0o644


def test_a_private_key_others_can_read_is_refused(tmp_path):
    path = tmp_path / "identity.key"
    write_private_key(path, KEY)
    os.chmod(path, 0o640)
    with pytest.raises(KeyFileError, match=r"permissions 0640 are too open.*chmod 600") as info:
        load_private_key(path)
    assert info.value.path == str(path)


def test_an_existing_key_is_never_overwritten_unless_asked(tmp_path):
    private, public = tmp_path / "a.key", tmp_path / "a.pub"
    write_private_key(private, KEY)
    write_public_key(public, KEY.public_key())
    other = Ed25519PrivateKey.generate()
    with pytest.raises(KeyFileError, match="already exists; refusing to overwrite"):
        write_private_key(private, other)
    with pytest.raises(KeyFileError, match="already exists"):
        write_public_key(public, other.public_key())
    assert public_bytes(load_private_key(private).public_key()) == RAW
    write_private_key(private, other, overwrite=True)
    assert load_private_key(private).public_key() == other.public_key()
    assert mode(private) == 0o600


def test_writing_creates_the_folder(tmp_path):
    path = tmp_path / "authority" / "keys" / "manifest.pem"
    write_private_key(path, KEY)
    write_public_key(path.with_name("manifest.pub"), RAW, form="hex")
    assert load_private_key(path).public_key() == KEY.public_key()
    assert public_bytes(load_public_key(path.with_name("manifest.pub"))) == RAW


def test_a_public_key_where_a_private_one_is_needed_and_the_reverse(tmp_path):
    public, private = tmp_path / "key.pub.pem", tmp_path / "key.pem"
    write_public_key(public, KEY.public_key())
    os.chmod(public, 0o600)
    write_private_key(private, KEY)
    with pytest.raises(KeyFileError, match="holds a public key; a private"):
        load_private_key(public)
    with pytest.raises(KeyFileError, match="holds a private key; give the public key"):
        load_public_key(private)
    hex_file = tmp_path / "key.hex"
    write_public_key(hex_file, RAW, form="hex")
    os.chmod(hex_file, 0o600)
    with pytest.raises(KeyFileError, match="not a PEM file"):
        load_private_key(hex_file)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"ab" * 31, "64 hex characters, got 62"),
        (b"zz" * 32, "not hexadecimal"),
        (b"\xff\xfe", "neither a PEM file nor 64 hex characters"),
        (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", "not a readable PEM"),
    ],
)
def test_a_malformed_public_key_file_names_itself(tmp_path, content, fragment):
    path = tmp_path / "bad.pub"
    path.write_bytes(content)
    with pytest.raises(KeyFileError, match=fragment) as info:
        load_public_key(path)
    assert str(info.value).startswith(f"{path}: ")


def test_keys_of_another_kind_are_refused(tmp_path):
    other = X25519PrivateKey.generate()
    private = tmp_path / "x25519.pem"
    private.write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(private, 0o600)
    public = tmp_path / "x25519.pub.pem"
    public.write_bytes(
        other.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    with pytest.raises(KeyFileError, match="not an Ed25519 key"):
        load_private_key(private)
    with pytest.raises(KeyFileError, match="not an Ed25519 key"):
        load_public_key(public)


def test_missing_files_and_folders_are_named(tmp_path):
    with pytest.raises(KeyFileError, match="key file not found"):
        load_private_key(tmp_path / "missing.key")
    with pytest.raises(KeyFileError, match="is a directory, not a key file"):
        load_public_key(tmp_path)


def test_one_error_class_for_key_files_wherever_it_is_caught():
    # Existing `except privacy.errors.KeyFileError` clauses keep catching key-file errors.
    assert privacy.errors.KeyFileError is KeyFileError
    assert issubclass(KeyFileError, FileKeyError)
