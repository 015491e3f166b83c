"""A demo certificate authority for the federation's mutual TLS.

Why a CA of our own: practices can only dial out, and the coordinator must know
*which* practice is calling from the TLS handshake alone, not from anything the
client says. So each practice gets a client certificate that carries its
practice id twice: as subject CN (for humans) and as the URI SAN
`urn:klynge:practice:<id>` (the one the coordinator trusts). A partner in the
wider health system gets `urn:klynge:partner:<id>` instead: a role of its
own, so it can never be read as a practice. In production the
region's CA or OCES3 organisation certificates take the place of this CA; only
`practice_id_of` would need to learn their naming.

Keys are ECDSA P-256: gRPC's TLS stack supports it everywhere, Ed25519 it does
not reliably. Private keys are created with mode 0600 at `open` time (never
chmod-after, which leaves a window where the key is world-readable) and no
file is overwritten: a new file is written under a temporary name and
hard-linked into place, which fails if the target exists. The one exception is
a practice renewing its own key (`klynge agent keygen --force`), which renames
the new key over the old one in one step.

A practice's or a partner's key is made on its own machine and only its
certificate request reaches the CA: see `transport.csr`. `issue_practices`
and `issue_partner`, which make those keys here, serve the one-machine demo
and tests.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from common.errors import KlyngeError
from common.federation import load_federation
from common.i18n import all_keys, register, t
from common.identities import (
    PARTNER,
    PRACTICE,
    SUBJECT_ID,
    URI_PREFIX,
    identity_uri,
    parse_identity,
)

register(
    {
        "pki.missing": {
            "en": "{path}: {what} not found",
            "da": "{path}: {what} findes ikke",
        },
        "pki.corrupt": {
            "en": "{path}: not a valid {what}: {reason}",
            "da": "{path}: kan ikke bruges som {what}: {reason}",
        },
        "pki.exists": {
            "en": "{path}: already exists; refusing to overwrite it",
            "da": "{path}: findes allerede; overskrives ikke",
        },
        "pki.practice_id": {
            "en": "practice id {practice_id!r}: {reason}",
            "da": "praksis-id {practice_id!r}: {reason}",
        },
        "pki.partner_id": {
            "en": "partner id {practice_id!r}: {reason}",
            "da": "partner-id {practice_id!r}: {reason}",
        },
        "pki.mismatch": {
            "en": "{path}: {reason}",
            "da": "{path}: {reason}",
        },
        # The words PkiError puts into the messages above (`what=`, `reason=`).
        "pki.what.certificate": {"en": "certificate", "da": "certifikat"},
        "pki.what.private key": {"en": "private key", "da": "privat nøgle"},
        "pki.what.PEM certificate": {"en": "PEM certificate", "da": "PEM-certifikat"},
        "pki.what.PEM private key": {"en": "PEM private key", "da": "privat PEM-nøgle"},
        "pki.what.certificate request": {"en": "certificate request", "da": "certifikatanmodning"},
        "pki.what.PEM certificate request": {
            "en": "PEM certificate request",
            "da": "PEM-certifikatanmodning",
        },
        "pki.reason.unreadable": {"en": "{detail}", "da": "formatet kan ikke læses"},
        "pki.reason.not an ECDSA key": {"en": "not an ECDSA key", "da": "ikke en ECDSA-nøgle"},
        "pki.reason.the private key does not belong to it": {
            "en": "the private key does not belong to it",
            "da": "den private nøgle hører ikke til certifikatet",
        },
        "pki.reason.not issued by this CA": {
            "en": "not issued by this CA",
            "da": "ikke udstedt af denne certifikatmyndighed",
        },
        "pki.reason.needs at least one host": {
            "en": "needs at least one host",
            "da": "kræver mindst én værtsadresse",
        },
        "pki.reason.given twice": {"en": "given twice", "da": "angivet to gange"},
        "pki.reason.is reserved for the coordinator": {
            "en": "is reserved for the coordinator",
            "da": "er forbeholdt koordinatoren",
        },
        "pki.reason.use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit": {
            "en": "use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
            "da": "brug 1-64 bogstaver, cifre, '.', '_' eller '-', og start med et bogstav "
            "eller ciffer",
        },
        "pki.reason.names practice": {
            "en": "names practice {practice}",
            "da": "nævner praksis {practice}",
        },
        "pki.reason.not issued by": {
            "en": "not issued by {ca}",
            "da": "ikke udstedt af {ca}",
        },
    }
)


def _word(field: str, value: object) -> object:
    """A `what` or `reason` in the reader's language: our own words are registered under
    pki.what.* and pki.reason.*; a library's exception is English, so Danish says only
    that the format cannot be read."""
    if isinstance(value, Exception) and field == "reason":
        return t("pki.reason.unreadable", detail=value)
    key = f"pki.{field}.{value}"
    if isinstance(value, str) and key in _WORDS:
        return t(key)
    return value


_WORDS = frozenset(k for k in all_keys() if k.startswith(("pki.what.", "pki.reason.")))

# The envelope sender of frames from the coordinator; no practice may take it.
_RESERVED_IDS = frozenset({"coordinator"})
# Clocks of practice machines drift; a certificate valid "from now" would be
# refused by a peer a minute behind.
_CLOCK_SKEW = timedelta(minutes=5)
CA_DAYS = 5 * 365
LEAF_DAYS = 397  # the CA/Browser Forum ceiling for leaf certificates
DEFAULT_SERVER_HOSTS = ("localhost", "127.0.0.1", "::1")


class PkiError(KlyngeError):
    """A certificate or key file that is missing, corrupt, mismatched or in the way."""

    def __init__(self, key: str, **fields: object) -> None:
        self.fields = fields
        shown = {name: _word(name, value) for name, value in fields.items()}
        super().__init__(t(key, None, **shown))


def validate_practice_id(practice_id: str, role: str = PRACTICE) -> str:
    """The id itself if it is safe in a file name, a URI and a log line; a refusal names the
    id as the `role`'s (a practice's or a partner's)."""
    key = "pki.partner_id" if role == PARTNER else "pki.practice_id"
    if not SUBJECT_ID.fullmatch(practice_id):
        raise PkiError(
            key,
            practice_id=practice_id,
            reason="use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    if practice_id.lower() in _RESERVED_IDS:
        raise PkiError(key, practice_id=practice_id, reason="is reserved for the coordinator")
    return practice_id


@dataclass(frozen=True)
class PkiLayout:
    """Where the files of one PKI directory live."""

    root: Path

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.root / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.root / "server.key"

    @property
    def practices_dir(self) -> Path:
        return self.root / "practices"

    def practice_cert(self, practice_id: str) -> Path:
        return self.practices_dir / f"{validate_practice_id(practice_id)}.pem"

    def practice_key(self, practice_id: str) -> Path:
        return self.practices_dir / f"{validate_practice_id(practice_id)}.key"

    def practice_request(self, practice_id: str) -> Path:
        """Where `klynge agent keygen` puts the request, beside the key it is for."""
        return self.practices_dir / f"{validate_practice_id(practice_id)}.csr"

    @property
    def issued_dir(self) -> Path:
        """The region's copy of each certificate signed from a request (`klynge pki sign`)."""
        return self.root / "issued"

    @property
    def partners_dir(self) -> Path:
        return self.root / "partners"

    def partner_cert(self, partner_id: str) -> Path:
        return self.partners_dir / f"{validate_practice_id(partner_id, PARTNER)}.pem"

    def partner_key(self, partner_id: str) -> Path:
        return self.partners_dir / f"{validate_practice_id(partner_id, PARTNER)}.key"

    def partner_request(self, partner_id: str) -> Path:
        """Where `klynge partner keygen` puts the request, beside the key it is for."""
        return self.partners_dir / f"{validate_practice_id(partner_id, PARTNER)}.csr"


# -- building certificates (pure: keys and the clock come in) -----------------


def new_private_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _serial() -> int:
    # RFC 5280: positive, at most 20 octets; 159 random bits keeps it positive.
    return secrets.randbits(159) | 1


def subject_name(subject_id: str) -> x509.Name:
    """The subject of a practice's or partner's certificate and of its request: the id as CN."""
    return _name(subject_id)


def identity_san(role: str, subject_id: str) -> x509.UniformResourceIdentifier:
    """The URI SAN the coordinator reads the identity from (`identity_of`)."""
    return x509.UniformResourceIdentifier(
        identity_uri(role, validate_practice_id(subject_id, role))
    )


def practice_uri(practice_id: str) -> x509.UniformResourceIdentifier:
    """The URI SAN the coordinator reads the practice from (`practice_id_of`)."""
    return identity_san(PRACTICE, practice_id)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Klynge demo"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def build_ca_certificate(
    key: ec.EllipticCurvePrivateKey,
    *,
    now: datetime,
    days: int = CA_DAYS,
    common_name: str = "Klynge demo CA",
) -> x509.Certificate:
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(public)
        .serial_number(_serial())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def _leaf(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    public: ec.EllipticCurvePublicKey,
    *,
    common_name: str,
    sans: Sequence[x509.GeneralName],
    usage: x509.ObjectIdentifier,
    now: datetime,
    days: int,
) -> x509.Certificate:
    return (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(_serial())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(min(now + timedelta(days=days), ca_cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectAlternativeName(list(sans)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def _host_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def build_server_certificate(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey,
    *,
    hosts: Sequence[str] = DEFAULT_SERVER_HOSTS,
    now: datetime,
    days: int = LEAF_DAYS,
) -> x509.Certificate:
    """The coordinator's certificate; agents verify `hosts` against the address they dial."""
    if not hosts:
        raise PkiError("pki.mismatch", path="server certificate", reason="needs at least one host")
    return _leaf(
        ca_key,
        ca_cert,
        key.public_key(),
        common_name=hosts[0],
        sans=[_host_name(h) for h in hosts],
        usage=ExtendedKeyUsageOID.SERVER_AUTH,
        now=now,
        days=days,
    )


def build_practice_certificate(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    public: ec.EllipticCurvePublicKey,
    practice_id: str,
    *,
    now: datetime,
    days: int = LEAF_DAYS,
) -> x509.Certificate:
    """A client certificate whose URI SAN names the practice; usable only as a TLS client.

    Only the practice's public key comes in: the one profile for a certificate
    signed from the practice's request (`transport.csr`) and for the demo's.
    """
    validate_practice_id(practice_id)
    return _leaf(
        ca_key,
        ca_cert,
        public,
        common_name=practice_id,
        sans=[practice_uri(practice_id)],
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        now=now,
        days=days,
    )


def build_partner_certificate(
    ca_key: ec.EllipticCurvePrivateKey,
    ca_cert: x509.Certificate,
    public: ec.EllipticCurvePublicKey,
    partner_id: str,
    *,
    now: datetime,
    days: int = LEAF_DAYS,
) -> x509.Certificate:
    """A client certificate for a partner (`urn:klynge:partner:<id>`): it can fetch what the
    manifest grants that identity, and is never read as a practice (`practice_id_of`)."""
    validate_practice_id(partner_id, PARTNER)
    return _leaf(
        ca_key,
        ca_cert,
        public,
        common_name=partner_id,
        sans=[identity_san(PARTNER, partner_id)],
        usage=ExtendedKeyUsageOID.CLIENT_AUTH,
        now=now,
        days=days,
    )


# -- reading certificates ----------------------------------------------------


def identity_of(cert: x509.Certificate) -> tuple[str, str]:
    """(role, id) from the certificate's single `urn:klynge:` URI SAN.

    A certificate with zero or several such URIs (a practice's and a
    partner's, say) identifies nobody, so no certificate can be both.
    """
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as exc:
        raise ValueError("certificate has no subjectAltName") from exc
    uris = [
        uri
        for uri in san.get_values_for_type(x509.UniformResourceIdentifier)
        if uri.startswith(URI_PREFIX)
    ]
    if len(uris) != 1:
        raise ValueError(f"certificate names {len(uris)} identities, expected exactly 1")
    parsed = parse_identity(uris[0])
    if parsed is None:
        raise ValueError(f"certificate identity {uris[0][:100]!r} is malformed")
    return parsed


def practice_id_of(cert: x509.Certificate) -> str:
    """The practice id from the certificate's single `urn:klynge:practice:` URI SAN.

    Only the SAN counts: the CN is for humans, and a certificate with zero or
    several identity URIs, or a partner's, identifies no practice.
    """
    role, subject = identity_of(cert)
    if role != PRACTICE:
        raise ValueError(f"certificate names a {role}, not a practice")
    return subject


def has_client_auth(cert: x509.Certificate) -> bool:
    try:
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return ExtendedKeyUsageOID.CLIENT_AUTH in eku


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 over the DER certificate, lower-case hex: what a registry pins."""
    return hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def is_issued_by(cert: x509.Certificate, ca_cert: x509.Certificate) -> bool:
    """True if `ca_cert`'s key signed `cert` (validity dates are the TLS layer's job)."""
    if cert.issuer != ca_cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


# -- files -------------------------------------------------------------------


def write_new_file(path: Path, data: bytes, mode: int, *, replace: bool = False) -> None:
    """Create `path` with `mode` and `data`, atomically; fail if it exists, unless `replace`.

    With `replace` an existing file is swapped for the new one in one rename,
    so a reader sees the old file or the new one, never a mix or a gap.
    """
    if path.exists() and not replace:
        raise PkiError("pki.exists", path=path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if replace:
            os.replace(tmp, path)
            return
        try:
            os.link(tmp, path)  # fails if path appeared meanwhile: never overwrite
        except FileExistsError as exc:
            raise PkiError("pki.exists", path=path) from exc
    finally:
        tmp.unlink(missing_ok=True)


def write_private_key(
    path: Path, key: ec.EllipticCurvePrivateKey, *, replace: bool = False
) -> None:
    """PKCS#8 PEM, unencrypted (the demo has no passphrase store), mode 0600."""
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_new_file(path, pem, 0o600, replace=replace)


def write_certificate(path: Path, cert: x509.Certificate) -> None:
    write_new_file(path, cert.public_bytes(serialization.Encoding.PEM), 0o644)


def read_pki_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise PkiError("pki.missing", path=path, what=what) from exc
    except OSError as exc:
        raise PkiError("pki.corrupt", path=path, what=what, reason=exc.strerror) from exc


def load_certificate(path: Path) -> x509.Certificate:
    data = read_pki_file(path, "certificate")
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise PkiError("pki.corrupt", path=path, what="PEM certificate", reason=exc) from exc


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    data = read_pki_file(path, "private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise PkiError("pki.corrupt", path=path, what="PEM private key", reason=exc) from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PkiError("pki.corrupt", path=path, what="PEM private key", reason="not an ECDSA key")
    return key


def check_key_matches(
    cert_path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> None:
    cert_public = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    key_public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if cert_public != key_public:
        raise PkiError(
            "pki.mismatch", path=cert_path, reason="the private key does not belong to it"
        )


# -- the CA's set-up behind `klynge pki init`, and the demo's practices ------


@dataclass(frozen=True)
class IssuedCertificate:
    """What was written (or found and kept) for one subject."""

    subject: str
    cert_path: Path
    key_path: Path | None  # None: signed from a request, the key is the practice's own
    fingerprint: str
    created: bool


def init_pki(
    layout: PkiLayout,
    *,
    now: datetime,
    hosts: Sequence[str] = DEFAULT_SERVER_HOSTS,
    ca_days: int = CA_DAYS,
    server_days: int = LEAF_DAYS,
) -> tuple[IssuedCertificate, IssuedCertificate]:
    """Create the CA and the coordinator's certificate; refuse if any of them exists."""
    targets = (layout.ca_cert, layout.ca_key, layout.server_cert, layout.server_key)
    for path in targets:
        if path.exists():
            raise PkiError("pki.exists", path=path)
    ca_key = new_private_key()
    ca_cert = build_ca_certificate(ca_key, now=now, days=ca_days)
    server_key = new_private_key()
    server_cert = build_server_certificate(
        ca_key, ca_cert, server_key, hosts=hosts, now=now, days=server_days
    )
    # Keys first: a crash in between leaves a key without a certificate, which
    # the next `init` reports, never a certificate whose key is lost.
    write_private_key(layout.ca_key, ca_key)
    write_certificate(layout.ca_cert, ca_cert)
    write_private_key(layout.server_key, server_key)
    write_certificate(layout.server_cert, server_cert)
    return (
        IssuedCertificate("ca", layout.ca_cert, layout.ca_key, fingerprint(ca_cert), True),
        IssuedCertificate(
            "server", layout.server_cert, layout.server_key, fingerprint(server_cert), True
        ),
    )


def load_ca(layout: PkiLayout) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    ca_cert = load_certificate(layout.ca_cert)
    ca_key = load_private_key(layout.ca_key)
    check_key_matches(layout.ca_cert, ca_cert, ca_key)
    return ca_key, ca_cert


def _existing_practice(
    layout: PkiLayout, practice_id: str, ca_cert: x509.Certificate
) -> IssuedCertificate:
    cert_path, key_path = layout.practice_cert(practice_id), layout.practice_key(practice_id)
    cert = load_certificate(cert_path)
    check_key_matches(cert_path, cert, load_private_key(key_path))
    if not is_issued_by(cert, ca_cert):
        raise PkiError("pki.mismatch", path=cert_path, reason="not issued by this CA")
    try:
        named = practice_id_of(cert)
    except ValueError as exc:
        raise PkiError("pki.mismatch", path=cert_path, reason=str(exc)) from exc
    if named != practice_id:
        raise PkiError(
            "pki.mismatch",
            path=cert_path,
            reason=t("pki.reason.names practice", practice=repr(named)),
        )
    return IssuedCertificate(practice_id, cert_path, key_path, fingerprint(cert), False)


def issue_practices(
    layout: PkiLayout,
    practice_ids: Iterable[str],
    *,
    now: datetime,
    days: int = LEAF_DAYS,
    keep_existing: bool = False,
) -> list[IssuedCertificate]:
    """One client certificate and private key per practice, made here at the CA.

    For the one-machine demo and tests only: it makes every practice's private
    key where the CA key is. Practices on their own machines make their key and
    a request (`transport.csr`), which the region signs with the same profile.
    An existing certificate is an error unless `keep_existing`, in which case
    it is checked (same CA, same practice, key matches) and kept, so a demo can
    rerun `issue` idempotently without ever replacing a key.
    """
    ids = [validate_practice_id(p) for p in practice_ids]
    duplicates = sorted(p for p, n in Counter(ids).items() if n > 1)
    if duplicates:
        raise PkiError("pki.practice_id", practice_id=duplicates[0], reason="given twice")
    ca_key, ca_cert = load_ca(layout)
    results: list[IssuedCertificate] = []
    for practice_id in ids:
        cert_path, key_path = layout.practice_cert(practice_id), layout.practice_key(practice_id)
        if cert_path.exists() or key_path.exists():
            if not keep_existing:
                raise PkiError("pki.exists", path=cert_path if cert_path.exists() else key_path)
            results.append(_existing_practice(layout, practice_id, ca_cert))
            continue
        key = new_private_key()
        cert = build_practice_certificate(
            ca_key, ca_cert, key.public_key(), practice_id, now=now, days=days
        )
        write_private_key(key_path, key)
        write_certificate(cert_path, cert)
        results.append(IssuedCertificate(practice_id, cert_path, key_path, fingerprint(cert), True))
    return results


def issue_partner(
    layout: PkiLayout, partner_id: str, *, now: datetime, days: int = LEAF_DAYS
) -> IssuedCertificate:
    """A partner's client certificate and private key, made here at the CA; never replaced.

    For the one-machine demo and tests only, like `issue_practices`: a partner
    on its own machine makes its key and a request (`klynge partner keygen`),
    which the region signs (`transport.csr`, `klynge pki sign --partner`).
    """
    validate_practice_id(partner_id, PARTNER)
    cert_path, key_path = layout.partner_cert(partner_id), layout.partner_key(partner_id)
    for path in (cert_path, key_path):
        if path.exists():
            raise PkiError("pki.exists", path=path)
    ca_key, ca_cert = load_ca(layout)
    key = new_private_key()
    cert = build_partner_certificate(
        ca_key, ca_cert, key.public_key(), partner_id, now=now, days=days
    )
    write_private_key(key_path, key)
    write_certificate(cert_path, cert)
    return IssuedCertificate(partner_id, cert_path, key_path, fingerprint(cert), True)


def practice_ids_from_federation(path: Path) -> list[str]:
    """Practice ids of a federation TOML, read by the same loader the synthetic region uses.

    One loader means the PKI and the federation can never disagree on who the
    practices are; its errors already name the file, table and key.
    """
    return [practice.id for practice in load_federation(path).practices]
