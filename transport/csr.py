"""A practice's or partner's TLS key made on its own machine, and the region's signature.

Why: a private key that is made at the region and carried to a practice or a
partner has been on two machines and on the way between them. So the key's
owner makes its key and a PKCS#10 certificate signing request (`make_request`:
`klynge agent keygen` for a practice, `klynge partner keygen` for a partner in
the wider health system); only the request travels to the region, and only the
certificate comes back. The region signs a request (`sign_request`, `klynge
pki sign`) only after checking it asks for exactly what today's certificates
of that role carry and nothing more:

- its signature holds (the request was made with the key it carries, and
  nothing was changed on the way);
- the key is ECDSA P-256, the one key type of this PKI (`transport.pki`);
- it names one subject of the role: subject CN and a single
  `urn:klynge:<role>:<id>` URI SAN (`common.identities`), the same id, and
  the one the region expected from that sender;
- that subject is declared: a practice in the federation file, a partner in
  the signed manifest's `[[partners]]` (the caller reads either and passes
  the ids, so this module depends on neither reader);
- it asks for no other name, no CA flag and no other extension.

One checker serves both roles, so a partner's request meets every refusal a
practice's does. The certificate is then built by the role's profile in
`transport.pki` (`build_practice_certificate`, `build_partner_certificate`),
the same as every certificate of that role: the region decides validity, key
usage and extended key usage, never the request. A refusal names the request
file and what is wrong, and writes nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from common.i18n import register, t
from common.identities import PARTNER, PRACTICE, identity_uri
from transport.pki import (
    LEAF_DAYS,
    IssuedCertificate,
    PkiError,
    PkiLayout,
    build_partner_certificate,
    build_practice_certificate,
    fingerprint,
    identity_san,
    load_ca,
    new_private_key,
    read_pki_file,
    subject_name,
    validate_practice_id,
    write_certificate,
    write_new_file,
    write_private_key,
)

register(
    {
        "csr.role.practice": {"en": "practice", "da": "praksis"},
        "csr.role.partner": {"en": "partner", "da": "partner"},
        "csr.signature": {
            "en": "{path}: the request's signature does not verify (changed after it was made?)",
            "da": "{path}: anmodningens signatur holder ikke (ændret efter den blev lavet?)",
        },
        "csr.key_type": {
            "en": "{path}: the key is {found}; a {role}'s TLS key must be ECDSA P-256",
            "da": "{path}: nøglen er {found}; TLS-nøglen for en {role} skal være ECDSA P-256",
        },
        "csr.ca": {
            "en": "{path}: asks to be a certificate authority; a {role} gets a client "
            "certificate only",
            "da": "{path}: beder om at blive certifikatmyndighed; en {role} får kun et "
            "klientcertifikat",
        },
        "csr.extension": {
            "en": "{path}: asks for the extension {name}; a {role} may ask only for its "
            "subjectAltName",
            "da": "{path}: beder om udvidelsen {name}; en {role} må kun bede om sit subjectAltName",
        },
        "csr.names": {
            "en": "{path}: asks for the names {names}; a {role}'s request names only itself, "
            "as one {prefix}<id>",
            "da": "{path}: beder om navnene {names}; anmodningen fra en {role} nævner kun "
            "afsenderen, som én {prefix}<id>",
        },
        "csr.subject_id": {
            "en": "{path}: {role} id {named!r}: {reason}",
            "da": "{path}: {role}-id {named!r}: {reason}",
        },
        "csr.subject": {
            "en": "{path}: the subject {subject} does not name {role} {named!r} alone",
            "da": "{path}: emnet {subject} nævner ikke {role} {named!r} alene",
        },
        "csr.sender": {
            "en": "{path}: names {role} {named!r}, but was expected from {expected!r}",
            "da": "{path}: nævner {role} {named!r}, men var ventet fra {expected!r}",
        },
        "csr.unknown.practice": {
            "en": "{path}: practice {named!r} is not in {source}",
            "da": "{path}: praksis {named!r} findes ikke i {source}",
        },
        "csr.unknown.partner": {
            "en": "{path}: partner {named!r} is not declared in the [[partners]] of {source}",
            "da": "{path}: partner {named!r} er ikke erklæret i [[partners]] i {source}",
        },
    }
)

_SUBJECT_ATTRIBUTES = frozenset({NameOID.COMMON_NAME, NameOID.ORGANIZATION_NAME})


@dataclass(frozen=True)
class _Role:
    """What differs between a practice's request and a partner's: files and certificate."""

    key: Callable[[PkiLayout, str], Path]
    request: Callable[[PkiLayout, str], Path]
    certificate: Callable[..., x509.Certificate]


_ROLES = {
    PRACTICE: _Role(PkiLayout.practice_key, PkiLayout.practice_request, build_practice_certificate),
    PARTNER: _Role(PkiLayout.partner_key, PkiLayout.partner_request, build_partner_certificate),
}
ROLES = tuple(_ROLES)  # the roles whose requests are signed: practice, partner


def _role(role: str) -> _Role:
    try:
        return _ROLES[role]
    except KeyError:
        raise ValueError(f"no certificate requests for the role {role!r}") from None


def key_fingerprint(public: ec.EllipticCurvePublicKey) -> str:
    """SHA-256 over the DER SubjectPublicKeyInfo, lower-case hex.

    The key's owner reads it from `klynge agent keygen` or `klynge partner
    keygen`, the region from `klynge pki sign`: equal on the telephone means the
    request is the sender's.
    """
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def build_request(
    key: ec.EllipticCurvePrivateKey, role: str, subject_id: str
) -> x509.CertificateSigningRequest:
    """The request `check_request` accepts: the subject's name and identity URI, nothing else."""
    _role(role)
    names = x509.SubjectAlternativeName([identity_san(role, subject_id)])
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject_name(validate_practice_id(subject_id, role)))
        .add_extension(names, critical=False)
        .sign(key, hashes.SHA256())
    )


@dataclass(frozen=True)
class MadeRequest:
    """What `make_request` wrote on the practice's or partner's machine."""

    role: str
    subject_id: str
    key_path: Path
    request_path: Path
    key_fingerprint: str


def make_request(
    layout: PkiLayout,
    role: str,
    subject_id: str,
    *,
    request_path: Path | None = None,
    force: bool = False,
) -> MadeRequest:
    """Make the TLS key (0600) and its request, on the key owner's machine.

    Neither file is overwritten unless `force` (a renewal: a new key, a new
    request; the old certificate no longer fits until the new one arrives).
    Both are checked before either is written, so a refusal writes nothing, and
    a key that cannot be written takes its new request with it.
    """
    paths = _role(role)
    validate_practice_id(subject_id, role)
    key_path = paths.key(layout, subject_id)
    request_path = request_path or paths.request(layout, subject_id)
    if not force:
        for path in (key_path, request_path):
            if path.exists():
                raise PkiError("pki.exists", path=path)
    key = new_private_key()
    request = build_request(key, role, subject_id)
    pem = request.public_bytes(serialization.Encoding.PEM)
    write_new_file(request_path, pem, 0o644, replace=force)
    try:
        write_private_key(key_path, key, replace=force)
    except BaseException:
        if not force:  # a request without its key would be signed into a useless certificate
            request_path.unlink(missing_ok=True)
        raise
    return MadeRequest(role, subject_id, key_path, request_path, key_fingerprint(key.public_key()))


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


def check_request(
    path: Path,
    request: x509.CertificateSigningRequest,
    *,
    role: str,
    expected: str,
    declared: frozenset[str],
    source: Path,
) -> ec.EllipticCurvePublicKey:
    """The request's public key, if it asks for exactly `expected`'s certificate (module doc).

    `declared` are the ids of `role` that `source` (the federation file for
    practices, the signed manifest for partners) lists.
    """
    _role(role)
    noun = t(f"csr.role.{role}")
    if not request.is_signature_valid:
        raise PkiError("csr.signature", path=path)
    public = request.public_key()
    if not (isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"):
        raise PkiError("csr.key_type", path=path, found=_key_description(public), role=noun)
    sans: list[x509.GeneralName] = []
    for extension in request.extensions:
        value = extension.value
        if isinstance(value, x509.BasicConstraints) and value.ca:
            raise PkiError("csr.ca", path=path, role=noun)
        if not isinstance(value, x509.SubjectAlternativeName):
            known = not isinstance(value, x509.UnrecognizedExtension)
            name = type(value).__name__ if known else extension.oid.dotted_string
            raise PkiError("csr.extension", path=path, name=name, role=noun)
        sans = list(value)
    prefix = identity_uri(role, "")
    uris = [n.value for n in sans if isinstance(n, x509.UniformResourceIdentifier)]
    if len(sans) != 1 or len(uris) != 1 or not uris[0].startswith(prefix):
        names = ", ".join(_name_text(n) for n in sans) or "-"
        raise PkiError("csr.names", path=path, names=names, prefix=prefix, role=noun)
    named = uris[0][len(prefix) :]
    try:
        validate_practice_id(named)
    except PkiError as exc:
        reason = exc.fields["reason"]
        raise PkiError("csr.subject_id", path=path, role=noun, named=named, reason=reason) from exc
    common_names = request.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    others = [a for a in request.subject if a.oid not in _SUBJECT_ATTRIBUTES]
    if len(common_names) != 1 or common_names[0].value != named or others:
        subject = request.subject.rfc4514_string()
        raise PkiError("csr.subject", path=path, subject=subject, role=noun, named=named)
    if named != expected:
        raise PkiError("csr.sender", path=path, role=noun, named=named, expected=expected)
    if named not in declared:
        raise PkiError(f"csr.unknown.{role}", path=path, named=named, source=source)
    return public


def sign_request(
    layout: PkiLayout,
    request_path: Path,
    *,
    role: str,
    expected: str,
    declared: frozenset[str],
    source: Path,
    out: Path,
    now: datetime,
    days: int = LEAF_DAYS,
) -> tuple[IssuedCertificate, str]:
    """Check the request, issue its certificate from the CA; write it to `out` and keep a copy.

    The copy (`issued/<id>-<fingerprint prefix>.pem`, for either role: the
    certificate names its role) is the region's record of what it signed; a
    renewal adds a file, none is replaced. Returns the certificate written and
    the request key's fingerprint.
    """
    profile = _role(role)
    validate_practice_id(expected)
    request = load_request(request_path)
    public = check_request(
        request_path, request, role=role, expected=expected, declared=declared, source=source
    )
    if out.exists():
        raise PkiError("pki.exists", path=out)
    ca_key, ca_cert = load_ca(layout)
    cert = profile.certificate(ca_key, ca_cert, public, expected, now=now, days=days)
    digest = fingerprint(cert)
    record = layout.issued_dir / f"{expected}-{digest[:16]}.pem"
    write_certificate(out, cert)
    try:
        write_certificate(record, cert)
    except BaseException:
        out.unlink(missing_ok=True)  # no certificate leaves that the region has no copy of
        raise
    return IssuedCertificate(expected, out, None, digest, True), key_fingerprint(public)
