"""Documents signed by an authority with a detached Ed25519 signature.

The practice registry uses this now; the protocol manifest can reuse it with
its own domain. The signature covers the document's exact bytes (framed with
a purpose-specific domain), so there is no canonicalisation step an attacker
could exploit: a reader verifies the bytes first and parses them only after.

Layout on disk: `<document>` and `<document>.sig`, the latter holding the
128-hex-character signature and a newline.
"""

from __future__ import annotations

from pathlib import Path

from protocols.errors import SignedDocumentError
from protocols.identity import SIGNATURE_BYTES, IdentityKey, verify_signature
from protocols.texts import reason


def signature_path_for(document: Path) -> Path:
    document = Path(document)
    return document.with_name(document.name + ".sig")


def sign_document(authority: IdentityKey, domain: bytes, data: bytes) -> bytes:
    return authority.sign(domain, data)


def write_signed_document(
    path: Path, data: bytes, authority: IdentityKey, domain: bytes
) -> tuple[Path, Path]:
    """Write the document and its detached signature; returns both paths."""
    path = Path(path)
    sig_path = signature_path_for(path)
    path.write_bytes(data)
    sig_path.write_text(sign_document(authority, domain, data).hex() + "\n", encoding="ascii")
    return path, sig_path


def verify_document(
    data: bytes, signature: bytes, authority_key: bytes, domain: bytes, *, source: str
) -> bytes:
    """`data` if `signature` is the authority's signature over it; raises otherwise."""
    if not verify_signature(authority_key, domain, data, signature):
        raise SignedDocumentError(source, reason("signature_invalid"))
    return data


def read_signed_document(
    path: Path, authority_key: bytes, domain: bytes, signature_path: Path | None = None
) -> bytes:
    """The verified bytes of a document; never returns unverified content."""
    path = Path(path)
    sig_path = Path(signature_path) if signature_path else signature_path_for(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SignedDocumentError(str(path), reason("unreadable", detail=exc.strerror)) from None
    try:
        sig_text = sig_path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise SignedDocumentError(str(sig_path), reason("unreadable", detail=exc)) from None
    if len(sig_text) != 2 * SIGNATURE_BYTES:
        raise SignedDocumentError(
            str(sig_path), reason("hex_length", expected=2 * SIGNATURE_BYTES, got=len(sig_text))
        )
    try:
        signature = bytes.fromhex(sig_text)
    except ValueError:
        raise SignedDocumentError(str(sig_path), reason("not_hex")) from None
    return verify_document(data, signature, authority_key, domain, source=str(path))
