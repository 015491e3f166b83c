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
    """An Ed25519 public key from a PEM file or a file of 64 hex characters."""
    path = Path(path)
    data = _read(path)
    if b"PRIVATE KEY" in data:
        raise KeyFileError(
            path, "holds a private key; give the public key (never share the private one)"
        )
    if b"-----BEGIN" not in data:
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise KeyFileError(path, "neither a PEM file nor 64 hex characters") from None
        return public_key_from_hex(text, str(path))
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, binascii.Error) as exc:
        raise KeyFileError(path, f"not a readable PEM public key ({exc})") from None
    except Exception as exc:
        raise KeyFileError(path, f"unsupported public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(path, f"is a {type(key).__name__}, not an Ed25519 key")
    return key


def public_key_from_hex(text: str, where: str) -> Ed25519PublicKey:
    """A public key from 64 hex characters; `where` names the file or key it came from."""
    text = text.strip()
    if len(text) != 2 * PUBLIC_KEY_BYTES:
        raise KeyFileError(
            where,
            f"an Ed25519 public key is {2 * PUBLIC_KEY_BYTES} hex characters, got {len(text)}",
        )
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise KeyFileError(where, "not hexadecimal") from None
    return public_key_from_raw(raw, where)


def public_key_from_raw(raw: bytes, where: str) -> Ed25519PublicKey:
    if len(raw) != PUBLIC_KEY_BYTES:
        raise KeyFileError(where, f"an Ed25519 public key is 32 bytes, got {len(raw)}")
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise KeyFileError(where, "not a valid Ed25519 public key") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise KeyFileError(path, "key file not found") from None
    except IsADirectoryError:
        raise KeyFileError(path, "is a directory, not a key file") from None
    except OSError as exc:
        raise KeyFileError(path, f"cannot read key file ({exc.strerror})") from None


def _write_file(path: Path, data: bytes, mode: int, *, overwrite: bool) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KeyFileError(path, f"cannot create its folder ({exc.strerror})") from None
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError:
        raise KeyFileError(path, "already exists; refusing to overwrite a key") from None
    except OSError as exc:
        raise KeyFileError(path, f"cannot create ({exc.strerror})") from None
    try:
        os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
