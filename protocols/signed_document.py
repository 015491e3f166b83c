"""Documents signed by an authority with a detached Ed25519 signature.

The practice registry uses this now; the protocol manifest can reuse it with
its own domain. The signature covers the document's exact bytes (framed with
a purpose-specific domain), so there is no canonicalisation step an attacker
could exploit: a reader verifies the bytes first and parses them only after.

Pure: a detached signature travels as 128 hex characters and a newline
(`signature_text`, `parse_signature_text`); reading and writing the pair of
files is `transport.signed_files`.
"""

from __future__ import annotations

from protocols.errors import SignedDocumentError
from protocols.identity import SIGNATURE_BYTES, IdentityKey, verify_signature
from protocols.texts import reason


def sign_document(authority: IdentityKey, domain: bytes, data: bytes) -> bytes:
    return authority.sign(domain, data)


def signature_text(signature: bytes) -> str:
    """The detached signature as it is stored: hex and a newline."""
    return signature.hex() + "\n"


def parse_signature_text(text: str, *, source: str) -> bytes:
    """The signature bytes of a stored detached signature; raises naming `source`."""
    text = text.strip()
    if len(text) != 2 * SIGNATURE_BYTES:
        raise SignedDocumentError(
            source, reason("hex_length", expected=2 * SIGNATURE_BYTES, got=len(text))
        )
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise SignedDocumentError(source, reason("not_hex")) from None


def verify_document(
    data: bytes, signature: bytes, authority_key: bytes, domain: bytes, *, source: str
) -> bytes:
    """`data` if `signature` is the authority's signature over it; raises otherwise."""
    if not verify_signature(authority_key, domain, data, signature):
        raise SignedDocumentError(source, reason("signature_invalid"))
    return data
