"""Signed documents on disk: `<document>` beside its detached signature `<document>.sig`.

The file half of `protocols.signed_document`, and the practice registry's
file (`protocols.registry` parses and encodes it in memory). A reader never
returns unverified bytes: it verifies first, and the caller parses after.
"""

from __future__ import annotations

from pathlib import Path

from protocols.errors import SignedDocumentError
from protocols.identity import IdentityKey
from protocols.registry import SIGNATURE_DOMAIN, PracticeRegistry, encode_registry, parse_registry
from protocols.signed_document import (
    parse_signature_text,
    sign_document,
    signature_text,
    verify_document,
)
from protocols.texts import reason


def signature_path_for(document: Path) -> Path:
    document = Path(document)
    return document.with_name(document.name + ".sig")


def write_signed_document(
    path: Path, data: bytes, authority: IdentityKey, domain: bytes
) -> tuple[Path, Path]:
    """Write the document and its detached signature; returns both paths."""
    path = Path(path)
    sig_path = signature_path_for(path)
    path.write_bytes(data)
    sig_path.write_text(signature_text(sign_document(authority, domain, data)), encoding="ascii")
    return path, sig_path


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
        sig_text = sig_path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise SignedDocumentError(str(sig_path), reason("unreadable", detail=exc)) from None
    signature = parse_signature_text(sig_text, source=str(sig_path))
    return verify_document(data, signature, authority_key, domain, source=str(path))


def load_registry(
    path: Path, authority_key: bytes, signature_path: Path | None = None
) -> PracticeRegistry:
    """Read, verify against the trusted authority key, then parse."""
    data = read_signed_document(path, authority_key, SIGNATURE_DOMAIN, signature_path)
    return parse_registry(data, source=str(path))


def write_registry(
    registry: PracticeRegistry, path: Path, authority: IdentityKey
) -> tuple[Path, Path]:
    return write_signed_document(path, encode_registry(registry), authority, SIGNATURE_DOMAIN)
