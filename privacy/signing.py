"""Ed25519 keys and signatures for manifest authorities and agents' receipts.

Ed25519 (RFC 8032) is deterministic, so a signature never depends on a
random-number generator at signing time, and verification has no parameters
to get wrong. Private keys are written with mode 0600 and loading refuses a
private key that others can read, as ssh does: a leaked authority key would
let anyone widen what agents run.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from privacy.errors import BadSignature, KeyFileError, SignatureError

SIGNATURE_ALGORITHM = "ed25519"
_SIGNATURE_BYTES = 64
_PUBLIC_KEY_BYTES = 32


def generate_private_key() -> Ed25519PrivateKey:
    """A fresh key from the operating system's CSPRNG (via OpenSSL)."""
    return Ed25519PrivateKey.generate()


def public_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: the first 16 hex digits of SHA-256(raw key).

    Only used to look a key up; verification always uses the full key.
    """
    return hashlib.sha256(public_bytes(key)).hexdigest()[:16]


def public_key_to_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(public_bytes(key)).decode("ascii")


def public_key_from_text(text: str, where: str) -> Ed25519PublicKey:
    """Parse a base64 raw Ed25519 public key; `where` names the field for errors."""
    raw = _b64decode(text, where)
    if len(raw) != _PUBLIC_KEY_BYTES:
        raise SignatureError(
            f"{where}: an Ed25519 public key is {_PUBLIC_KEY_BYTES} bytes, got {len(raw)}"
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def _b64decode(text: object, where: str) -> bytes:
    if not isinstance(text, str):
        raise SignatureError(f"{where}: expected base64 text, got {type(text).__name__}")
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SignatureError(f"{where}: not valid base64 ({exc})") from None


def write_private_key(path: Path, key: Ed25519PrivateKey, *, overwrite: bool = False) -> None:
    """Write PKCS#8 PEM with mode 0600, created exclusively unless `overwrite`."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write_file(path, pem, 0o600, overwrite=overwrite)


def write_public_key(path: Path, key: Ed25519PublicKey, *, overwrite: bool = False) -> None:
    pem = key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    _write_file(path, pem, 0o644, overwrite=overwrite)


def _write_file(path: Path, data: bytes, mode: int, *, overwrite: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise KeyFileError(path, "already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise KeyFileError(path, f"cannot create ({exc.strerror})") from None
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_key_file(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        raise KeyFileError(path, "key file not found") from None
    except IsADirectoryError:
        raise KeyFileError(path, "is a directory, not a key file") from None
    except OSError as exc:
        raise KeyFileError(path, f"cannot read key file ({exc.strerror})") from None


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Load an unencrypted PKCS#8 PEM Ed25519 private key that only its owner can read."""
    data = _read_key_file(path)
    mode = os.stat(path).st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            path, f"permissions {stat.S_IMODE(mode):04o} are too open for a private key; chmod 600"
        )
    if b"-----BEGIN" not in data:
        raise KeyFileError(path, "not a PEM file")
    if b"PUBLIC KEY" in data and b"PRIVATE KEY" not in data:
        raise KeyFileError(path, "holds a public key; a private (signing) key is needed")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise KeyFileError(path, "private key is encrypted; give an unencrypted key") from None
    except (ValueError, binascii.Error) as exc:
        raise KeyFileError(path, f"not a readable PEM private key ({exc})") from None
    except Exception as exc:  # cryptography raises UnsupportedAlgorithm for odd keys
        raise KeyFileError(path, f"unsupported private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(path, f"is a {type(key).__name__}, not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """Load a PEM SubjectPublicKeyInfo Ed25519 public key."""
    data = _read_key_file(path)
    if b"-----BEGIN" not in data:
        raise KeyFileError(path, "not a PEM file")
    if b"PRIVATE KEY" in data:
        raise KeyFileError(
            path, "holds a private key; give the public key (never share the private one)"
        )
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, binascii.Error) as exc:
        raise KeyFileError(path, f"not a readable PEM public key ({exc})") from None
    except Exception as exc:
        raise KeyFileError(path, f"unsupported public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(path, f"is a {type(key).__name__}, not an Ed25519 key")
    return key


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    """Base64 Ed25519 signature over `message`."""
    return base64.b64encode(key.sign(message)).decode("ascii")


def decode_signature(text: object, where: str) -> bytes:
    raw = _b64decode(text, where)
    if len(raw) != _SIGNATURE_BYTES:
        raise SignatureError(
            f"{where}: an Ed25519 signature is {_SIGNATURE_BYTES} bytes, got {len(raw)}"
        )
    return raw


def verify(key: Ed25519PublicKey, message: bytes, signature: str, where: str) -> None:
    """Raise BadSignature unless `signature` is `key`'s signature over `message`.

    A malformed signature raises SignatureError naming `where` instead.
    """
    raw = decode_signature(signature, where)
    try:
        key.verify(raw, message)
    except InvalidSignature:
        raise BadSignature(
            f"{where}: signature does not verify under key {key_id(key)} "
            "(the document was changed after signing, or another key signed it)"
        ) from None
