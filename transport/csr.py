"""A practice's TLS key made on its own machine, and the region's signature on its request.

Why: a private key that is made at the region and carried to the practice has
been on two machines and on the way between them. So the practice makes its
key and a PKCS#10 certificate signing request (`make_practice_request`,
`klynge agent keygen`); only the request travels to the region, and only the
certificate comes back. The region signs a request (`sign_practice_request`,
`klynge pki sign`) only after checking it asks for exactly what today's
practice certificates carry and nothing more:

- its signature holds (the request was made with the key it carries, and
  nothing was changed on the way);
- the key is ECDSA P-256, the one key type of this PKI (`transport.pki`);
- it names one practice: subject CN and a single `urn:klynge:practice:<id>`
  URI SAN, the same id, and the one the region expected from that sender;
- that practice is in the federation file;
- it asks for no other name, no CA flag and no other extension.

The certificate is then built by `transport.pki.build_practice_certificate`,
the same profile as every practice certificate: the region decides validity,
key usage and extended key usage, never the request. A refusal names the
request file and what is wrong, and writes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from common.i18n import register
from transport.pki import (
    LEAF_DAYS,
    PRACTICE_URI_PREFIX,
    IssuedCertificate,
    PkiError,
    PkiLayout,
    build_practice_certificate,
    fingerprint,
    load_ca,
    new_private_key,
    practice_name,
    practice_uri,
    read_pki_file,
    validate_practice_id,
    write_certificate,
    write_new_file,
    write_private_key,
)

register(
    {
        "csr.signature": {
            "en": "{path}: the request's signature does not verify (changed after it was made?)",
            "da": "{path}: anmodningens signatur holder ikke (ændret efter den blev lavet?)",
        },
        "csr.key_type": {
            "en": "{path}: the key is {found}; a practice's TLS key must be ECDSA P-256",
            "da": "{path}: nøglen er {found}; en praksis' TLS-nøgle skal være ECDSA P-256",
        },
        "csr.ca": {
            "en": "{path}: asks to be a certificate authority; a practice gets a client "
            "certificate only",
            "da": "{path}: beder om at blive certifikatmyndighed; en praksis får kun et "
            "klientcertifikat",
        },
        "csr.extension": {
            "en": "{path}: asks for the extension {name}; a practice may ask only for its "
            "subjectAltName",
            "da": "{path}: beder om udvidelsen {name}; en praksis må kun bede om sit "
            "subjectAltName",
        },
        "csr.names": {
            "en": "{path}: asks for the names {names}; a request names only its practice, "
            "as one {prefix}<id>",
            "da": "{path}: beder om navnene {names}; en anmodning nævner kun sin praksis, "
            "som én {prefix}<id>",
        },
        "csr.practice_id": {
            "en": "{path}: {reason}",
            "da": "{path}: {reason}",
        },
        "csr.subject": {
            "en": "{path}: the subject {subject} does not name practice {practice!r} alone",
            "da": "{path}: emnet {subject} nævner ikke praksis {practice!r} alene",
        },
        "csr.sender": {
            "en": "{path}: names practice {named!r}, but was expected from {expected!r}",
            "da": "{path}: nævner praksis {named!r}, men var ventet fra {expected!r}",
        },
        "csr.unknown": {
            "en": "{path}: practice {practice!r} is not in {federation}",
            "da": "{path}: praksis {practice!r} findes ikke i {federation}",
        },
    }
)

_SUBJECT_ATTRIBUTES = frozenset({NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME})


def key_fingerprint(public: ec.EllipticCurvePublicKey) -> str:
    """SHA-256 over the DER SubjectPublicKeyInfo, lower-case hex.

    The practice reads it from `klynge agent keygen`, the region from
    `klynge pki sign`: equal on the telephone means the request is the practice's.
    """
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def build_practice_request(
    key: ec.EllipticCurvePrivateKey, practice_id: str
) -> x509.CertificateSigningRequest:
    """The request `check_practice_request` accepts: the practice's name and URI, nothing else."""
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(practice_name(validate_practice_id(practice_id)))
        .add_extension(x509.SubjectAlternativeName([practice_uri(practice_id)]), critical=False)
        .sign(key, hashes.SHA256())
    )


@dataclass(frozen=True)
class PracticeRequest:
    """What `make_practice_request` wrote on the practice's machine."""

    practice_id: str
    key_path: Path
    request_path: Path
    key_fingerprint: str


def make_practice_request(
    layout: PkiLayout,
    practice_id: str,
    *,
    request_path: Path | None = None,
    force: bool = False,
) -> PracticeRequest:
    """Make the practice's TLS key (0600) and its request, on the practice's machine.

    Neither file is overwritten unless `force` (a renewal: a new key, a new
    request; the old certificate no longer fits until the new one arrives).
    Both are checked before either is written, so a refusal writes nothing, and
    a key that cannot be written takes its new request with it.
    """
    validate_practice_id(practice_id)
    key_path = layout.practice_key(practice_id)
    request_path = request_path or layout.practice_request(practice_id)
    if not force:
        for path in (key_path, request_path):
            if path.exists():
                raise PkiError("pki.exists", path=path)
    key = new_private_key()
    request = build_practice_request(key, practice_id)
    pem = request.public_bytes(serialization.Encoding.PEM)
    write_new_file(request_path, pem, 0o644, replace=force)
    try:
        write_private_key(key_path, key, replace=force)
    except BaseException:
        if not force:  # a request without its key would be signed into a useless certificate
            request_path.unlink(missing_ok=True)
        raise
    return PracticeRequest(practice_id, key_path, request_path, key_fingerprint(key.public_key()))


def load_request(path: Path) -> x509.CertificateSigningRequest:
    data = read_pki_file(path, "certificate request")
    try:
        request = x509.load_pem_x509_csr(data)
        _ = request.subject, request.extensions  # parsed lazily: a malformed one fails here
        return request
    except ValueError as exc:
        what = "PEM certificate request"
        raise PkiError("pki.corrupt", path=path, what=what, reason=exc) from exc


def _key_description(public: object) -> str:
    if isinstance(public, rsa.RSAPublicKey):
        return f"RSA {public.key_size} bits"
    if isinstance(public, ec.EllipticCurvePublicKey):
        return f"ECDSA {public.curve.name}"
    if isinstance(public, ed25519.Ed25519PublicKey):
        return "Ed25519"
    if isinstance(public, ed448.Ed448PublicKey):
        return "Ed448"
    return type(public).__name__


def _name_text(name: x509.GeneralName) -> str:
    return f"{type(name).__name__}:{name.value}"


def check_practice_request(
    path: Path,
    request: x509.CertificateSigningRequest,
    *,
    expected: str,
    practice_ids: frozenset[str],
    federation: Path,
) -> ec.EllipticCurvePublicKey:
    """The request's public key, if it asks for exactly `expected`'s certificate (module doc)."""
    if not request.is_signature_valid:
        raise PkiError("csr.signature", path=path)
    public = request.public_key()
    if not (isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"):
        raise PkiError("csr.key_type", path=path, found=_key_description(public))
    sans: list[x509.GeneralName] = []
    for extension in request.extensions:
        value = extension.value
        if isinstance(value, x509.BasicConstraints) and value.ca:
            raise PkiError("csr.ca", path=path)
        if not isinstance(value, x509.SubjectAlternativeName):
            known = not isinstance(value, x509.UnrecognizedExtension)
            name = type(value).__name__ if known else extension.oid.dotted_string
            raise PkiError("csr.extension", path=path, name=name)
        sans = list(value)
    uris = [n.value for n in sans if isinstance(n, x509.UniformResourceIdentifier)]
    if len(sans) != 1 or len(uris) != 1 or not uris[0].startswith(PRACTICE_URI_PREFIX):
        names = ", ".join(_name_text(n) for n in sans) or "-"
        raise PkiError("csr.names", path=path, names=names, prefix=PRACTICE_URI_PREFIX)
    named = uris[0][len(PRACTICE_URI_PREFIX) :]
    try:
        validate_practice_id(named)
    except PkiError as exc:
        raise PkiError("csr.practice_id", path=path, reason=exc) from exc
    common_names = request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    others = [a for a in request.subject if a.oid not in _SUBJECT_ATTRIBUTES]
    if len(common_names) != 1 or common_names[0].value != named or others:
        raise PkiError(
            "csr.subject", path=path, subject=request.subject.rfc4514_string(), practice=named
        )
    if named != expected:
        raise PkiError("csr.sender", path=path, named=named, expected=expected)
    if named not in practice_ids:
        raise PkiError("csr.unknown", path=path, practice=named, federation=federation)
    return public


def sign_practice_request(
    layout: PkiLayout,
    request_path: Path,
    *,
    expected: str,
    practice_ids: frozenset[str],
    federation: Path,
    out: Path,
    now: datetime,
    days: int = LEAF_DAYS,
) -> tuple[IssuedCertificate, str]:
    """Check the request, issue its certificate from the CA; write it to `out` and keep a copy.

    The copy (`issued/<id>-<fingerprint prefix>.pem`) is the region's record of
    what it signed; a renewal adds a file, none is replaced. Returns the
    certificate written and the request key's fingerprint.
    """
    validate_practice_id(expected)
    request = load_request(request_path)
    public = check_practice_request(
        request_path, request, expected=expected, practice_ids=practice_ids, federation=federation
    )
    if out.exists():
        raise PkiError("pki.exists", path=out)
    ca_key, ca_cert = load_ca(layout)
    cert = build_practice_certificate(ca_key, ca_cert, public, expected, now=now, days=days)
    digest = fingerprint(cert)
    record = layout.issued_dir / f"{expected}-{digest[:16]}.pem"
    write_certificate(out, cert)
    try:
        write_certificate(record, cert)
    except BaseException:
        out.unlink(missing_ok=True)  # no certificate leaves that the region has no copy of
        raise
    return IssuedCertificate(expected, out, None, digest, True), key_fingerprint(public)
