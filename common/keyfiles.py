"""Ed25519 key files: the one place that reads and writes them.

Private keys are unencrypted PKCS#8 PEM, written with mode 0600 into a folder
created if missing, and never overwritten unless asked. Loading refuses a
private key that others can read, as ssh does: a leaked authority key would
let anyone widen what agents run, and a leaked practice key lets anyone speak
for the practice.

Public keys are accepted in either form people meet them in: PEM
(SubjectPublicKeyInfo, what `openssl` and `klynge manifest keygen` write) or
64 hex characters (what fits in a registry or a config file and can be
compared by eye). `write_public_key` writes PEM, or hex with `form="hex"`.
"""

from __future__ import annotations

import binascii
import os
import stat
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from common.errors import KeyFileError
from common.i18n import register, t

register(
    {
        "keyfile.too_open": {
            "en": "permissions {mode} are too open for a private key; chmod 600",
            "da": "rettighederne {mode} er for åbne til en privat nøgle; chmod 600",
        },
        "keyfile.not_pem": {"en": "not a PEM file", "da": "ikke en PEM-fil"},
        "keyfile.public_given": {
            "en": "holds a public key; a private (signing) key is needed",
            "da": "indeholder en offentlig nøgle; her kræves en privat (signerings)nøgle",
        },
        "keyfile.encrypted": {
            "en": "private key is encrypted; give an unencrypted key",
            "da": "den private nøgle er krypteret; angiv en ukrypteret nøgle",
        },
        "keyfile.bad_private": {
            "en": "not a readable PEM private key ({reason})",
            "da": "ikke en læsbar privat PEM-nøgle",
        },
        "keyfile.odd_private": {
            "en": "unsupported private key ({reason})",
            "da": "privat nøgle af en type, Klynge ikke kan bruge",
        },
        "keyfile.not_ed25519": {
            "en": "is a {kind}, not an Ed25519 key",
            "da": "er en {kind}, ikke en Ed25519-nøgle",
        },
        "keyfile.private_given": {
            "en": "holds a private key; give the public key (never share the private one)",
            "da": "indeholder en privat nøgle; angiv den offentlige (del aldrig den private)",
        },
        "keyfile.neither": {
            "en": "neither a PEM file nor 64 hex characters",
            "da": "hverken en PEM-fil eller 64 hex-tegn",
        },
        "keyfile.bad_public": {
            "en": "not a readable PEM public key ({reason})",
            "da": "ikke en læsbar offentlig PEM-nøgle",
        },
        "keyfile.odd_public": {
            "en": "unsupported public key ({reason})",
            "da": "offentlig nøgle af en type, Klynge ikke kan bruge",
        },
        "keyfile.hex_length": {
            "en": "an Ed25519 public key is {expected} hex characters, got {got}",
            "da": "en offentlig Ed25519-nøgle er {expected} hex-tegn, men her er {got}",
        },
        "keyfile.not_hex": {"en": "not hexadecimal", "da": "ikke hexadecimal"},
        "keyfile.raw_length": {
            "en": "an Ed25519 public key is 32 bytes, got {got}",
            "da": "en offentlig Ed25519-nøgle er 32 byte, men her er {got}",
        },
        "keyfile.invalid": {
            "en": "not a valid Ed25519 public key",
            "da": "ikke en gyldig offentlig Ed25519-nøgle",
        },
        "keyfile.not_found": {"en": "key file not found", "da": "nøglefilen findes ikke"},
        "keyfile.directory": {
            "en": "is a directory, not a key file",
            "da": "er en mappe, ikke en nøglefil",
        },
        "keyfile.unreadable": {
            "en": "cannot read key file ({reason})",
            "da": "nøglefilen kan ikke læses ({reason})",
        },
        "keyfile.no_folder": {
            "en": "cannot create its folder ({reason})",
            "da": "dens mappe kan ikke oprettes ({reason})",
        },
        "keyfile.exists": {
            "en": "already exists; refusing to overwrite a key",
            "da": "findes allerede; en nøgle overskrives ikke",
        },
        "keyfile.cannot_create": {
            "en": "cannot create ({reason})",
            "da": "kan ikke oprettes ({reason})",
        },
    }
)

PUBLIC_KEY_BYTES = 32


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def write_private_key(path: Path, key: Ed25519PrivateKey, *, overwrite: bool = False) -> None:
    """Write PKCS#8 PEM with mode 0600, created exclusively unless `overwrite`."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_file(Path(path), pem, 0o600, overwrite=overwrite)


def write_public_key(
    path: Path,
    key: Ed25519PublicKey | bytes,
    *,
    overwrite: bool = False,
    form: Literal["pem", "hex"] = "pem",
) -> None:
    """Write a public key as PEM, or as 64 hex characters and a newline."""
    if isinstance(key, bytes):
        key = public_key_from_raw(key, str(path))
    if form == "hex":
        data = (public_bytes(key).hex() + "\n").encode("ascii")
    else:
        data = key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    _write_file(Path(path), data, 0o644, overwrite=overwrite)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An unencrypted PKCS#8 PEM Ed25519 private key that only its owner can read."""
    path = Path(path)
    data = _read(path)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(path, t("keyfile.too_open", mode=f"{stat.S_IMODE(mode):04o}"))
    if b"-----BEGIN" not in data:
        raise KeyFileError(path, t("keyfile.not_pem"))
    if b"PUBLIC KEY" in data and b"PRIVATE KEY" not in data:
        raise KeyFileError(path, t("keyfile.public_given"))
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFileError(path, t("keyfile.encrypted")) from None
    except (ValueError, binascii.Error) as exc:
        raise KeyFileError(path, t("keyfile.bad_private", reason=exc)) from None
    except Exception as exc:  # cryptography raises UnsupportedAlgorithm for odd keys
        raise KeyFileError(path, t("keyfile.odd_private", reason=exc)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(path, t("keyfile.not_ed25519", kind=type(key).__name__))
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file or a file of 64 hex characters."""
    path = Path(path)
    data = _read(path)
    if b"PRIVATE KEY" in data:
        raise KeyFileError(path, t("keyfile.private_given"))
    if b"-----BEGIN" not in data:
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise KeyFileError(path, t("keyfile.neither")) from None
        return public_key_from_hex(text, str(path))
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, binascii.Error) as exc:
        raise KeyFileError(path, t("keyfile.bad_public", reason=exc)) from None
    except Exception as exc:
        raise KeyFileError(path, t("keyfile.odd_public", reason=exc)) from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(path, t("keyfile.not_ed25519", kind=type(key).__name__))
    return key


def public_key_from_hex(text: str, where: str) -> Ed25519PublicKey:
    """A public key from 64 hex characters; `where` names the file or key it came from."""
    text = text.strip()
    if len(text) != 2 * PUBLIC_KEY_BYTES:
        message = t("keyfile.hex_length", expected=2 * PUBLIC_KEY_BYTES, got=len(text))
        raise KeyFileError(where, message)
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise KeyFileError(where, t("keyfile.not_hex")) from None
    return public_key_from_raw(raw, where)


def public_key_from_raw(raw: bytes, where: str) -> Ed25519PublicKey:
    if len(raw) != PUBLIC_KEY_BYTES:
        raise KeyFileError(where, t("keyfile.raw_length", got=len(raw)))
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise KeyFileError(where, t("keyfile.invalid")) from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(path, t("keyfile.not_found")) from None
    except IsADirectoryError:
        raise KeyFileError(path, t("keyfile.directory")) from None
    except OSError as exc:
        raise KeyFileError(path, t("keyfile.unreadable", reason=exc.strerror)) from None


def _write_file(path: Path, data: bytes, mode: int, *, overwrite: bool) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KeyFileError(path, t("keyfile.no_folder", reason=exc.strerror)) from None
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise KeyFileError(path, t("keyfile.exists")) from None
    except OSError as exc:
        raise KeyFileError(path, t("keyfile.cannot_create", reason=exc.strerror)) from None
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
