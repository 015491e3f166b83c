"""Long-term Ed25519 identities and domain-separated signatures.

Each practice holds one Ed25519 identity key; the registry authority holds
another. Every signature in Klynge is made over `domain || 0x00 || message`,
where the domain names what is being signed (a key advertisement, a survivor
set, a registry, a manifest). A signature made for one purpose therefore never
verifies for another, even over identical bytes.

This module does no file I/O: `common.keyfiles` reads and writes key files.
A raw 32-byte public key is spelt as 64 hex characters where people paste it
(a registry, a config file), so it can be compared by eye.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from nacl.bindings import crypto_sign_open
from nacl.exceptions import CryptoError

from protocols.errors import IdentityKeyError
from protocols.randomness import RandomBytes, system_random_bytes
from protocols.texts import reason

PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64


def _framed(domain: bytes, message: bytes) -> bytes:
    if b"\x00" in domain:
        raise ValueError("a signature domain must not contain NUL")
    return domain + b"\x00" + message


@dataclass(frozen=True, eq=False)
class IdentityKey:
    """A private Ed25519 signing key (a practice's identity or the authority's)."""

    _key: Ed25519PrivateKey

    @classmethod
    def generate(cls, random_bytes: RandomBytes = system_random_bytes) -> IdentityKey:
        return cls(Ed25519PrivateKey.from_private_bytes(random_bytes(32)))

    @property
    def public_key(self) -> bytes:
        return self._key.public_key().public_bytes_raw()

    def sign(self, domain: bytes, message: bytes) -> bytes:
        return self._key.sign(_framed(domain, message))

    @property
    def private_key(self) -> Ed25519PrivateKey:
        """The signing key itself, so `common.keyfiles` can write it."""
        return self._key


def verify_signature(public_key: bytes, domain: bytes, message: bytes, signature: bytes) -> bool:
    """True when `signature` is `public_key`'s signature of `message` under `domain`.

    Verified by libsodium, which is about twice as fast as OpenSSL's Ed25519 here
    (an agent verifies 40 neighbours' keys per round) and at least as strict: it
    refuses non-canonical encodings and small-order keys and points. The
    obviously-correct path, `verify_signature_reference` (OpenSSL through
    `cryptography`), stays; a Hypothesis test checks the two agree.
    """
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        crypto_sign_open(signature + _framed(domain, message), public_key)
    except (CryptoError, ValueError, TypeError):
        return False
    return True


def verify_signature_reference(
    public_key: bytes, domain: bytes, message: bytes, signature: bytes
) -> bool:
    """`verify_signature` through OpenSSL: slower, the reference it is checked against."""
    if len(public_key) != PUBLIC_KEY_BYTES or len(signature) != SIGNATURE_BYTES:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, _framed(domain, message))
    except (InvalidSignature, ValueError):
        return False
    return True


def public_key_to_hex(public_key: bytes) -> str:
    return public_key.hex()


def public_key_from_hex(text: str, *, source: str) -> bytes:
    """A raw Ed25519 public key from 64 hex characters; `source` names where it came from."""
    text = text.strip()
    if len(text) != 2 * PUBLIC_KEY_BYTES:
        raise IdentityKeyError(source, reason("hex_length", expected=64, got=len(text)))
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise IdentityKeyError(source, reason("not_hex")) from None
    try:
        Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        raise IdentityKeyError(source, reason("not_ed25519_public")) from None
    return raw
