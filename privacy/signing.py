"""Ed25519 keys and signatures for manifest authorities and agents' receipts.

Ed25519 (RFC 8032) is deterministic, so a signature never depends on a
random-number generator at signing time, and verification has no parameters
to get wrong. Key files are read and written by `common.keyfiles`; this
module only signs, verifies and spells keys as text.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from common.keyfiles import public_bytes
from privacy.errors import BadSignature, SignatureError

SIGNATURE_ALGORITHM = "ed25519"
_SIGNATURE_BYTES = 64
_PUBLIC_KEY_BYTES = 32


def generate_private_key() -> Ed25519PrivateKey:
    """A fresh key from the operating system's CSPRNG (via OpenSSL)."""
    return Ed25519PrivateKey.generate()


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
