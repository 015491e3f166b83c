"""A practice's own TLS key and the region's signature on its request (`transport.csr`).

The good request goes all the way: made in the practice's folder, signed in
the region's, and accepted by a real coordinator in a real mTLS handshake.
Every bad request is refused with its own message, and nothing is written.
"""

from __future__ import annotations

import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.transport.harness import RecordingCoordinator, agent, coordinator
from transport.csr import (
    build_practice_request,
    key_fingerprint,
    make_practice_request,
    sign_practice_request,
)
from transport.pki import (
    PkiError,
    PkiLayout,
    init_pki,
    issue_practices,
    load_certificate,
    practice_id_of,
    practice_name,
    practice_uri,
)

NOW = datetime.now(UTC)
FEDERATION = Path("federation.toml")  # only named in messages
KNOWN = frozenset({"P0001", "P0002"})


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """Messages are matched in English; the default language is Danish."""
    monkeypatch.setenv("KLYNGE_LANG", "en")


@pytest.fixture
def region(tmp_path: Path) -> PkiLayout:
    layout = PkiLayout(tmp_path / "region" / "pki")
    init_pki(layout, now=NOW)
    return layout


def _sign(region: PkiLayout, request: Path, out: Path, expected: str = "P0001"):
    return sign_practice_request(
        region,
        request,
        expected=expected,
        practice_ids=KNOWN,
        federation=FEDERATION,
        out=out,
        now=NOW,
    )


def test_a_key_made_at_the_practice_connects_with_the_certificate_signed_from_its_request(
    tmp_path: Path, region: PkiLayout
):
    practice = PkiLayout(tmp_path / "practice" / "pki")
    made = make_practice_request(practice, "P0001")
    assert stat.S_IMODE(made.key_path.stat().st_mode) == 0o600
    assert made.request_path == practice.practice_request("P0001")
    shutil.copy(region.ca_cert, practice.ca_cert)  # the trust anchor, sent to the practice

    issued, fingerprint = _sign(region, made.request_path, practice.practice_cert("P0001"))
    assert fingerprint == made.key_fingerprint  # what the two read to each other
    assert issued.key_path is None and issued.created
    cert = load_certificate(practice.practice_cert("P0001"))
    assert practice_id_of(cert) == "P0001"
    assert [p.name for p in region.issued_dir.iterdir()] == [f"P0001-{issued.fingerprint[:16]}.pem"]
    assert sorted(p.name for p in region.root.rglob("*.key")) == ["ca.key", "server.key"]

    handler = RecordingCoordinator()
    with (
        coordinator(region, handler, ["P0001"]) as server,
        agent(practice, "P0001", server.port) as client,
    ):
        assert client.wait_connected(5.0), client.last_error
    assert handler.connects == ["P0001"]


def test_a_signed_request_gets_the_profile_of_every_practice_certificate(
    tmp_path: Path, region: PkiLayout
):
    practice = PkiLayout(tmp_path / "practice")
    made = make_practice_request(practice, "P0001")
    _sign(region, made.request_path, tmp_path / "signed.pem")
    issue_practices(region, ["P0002"], now=NOW)  # the one-machine demo's path
    signed = load_certificate(tmp_path / "signed.pem")
    demo = load_certificate(region.practice_cert("P0002"))

    def profile(cert: x509.Certificate) -> dict[str, object]:
        skip = (x509.SubjectKeyIdentifier, x509.AuthorityKeyIdentifier, x509.SubjectAlternativeName)
        values = {type(e.value).__name__: (e.critical, e.value) for e in cert.extensions}
        kept = {k: v for k, v in values.items() if not issubclass(getattr(x509, k), skip)}
        return {**kept, "validity": cert.not_valid_after_utc - cert.not_valid_before_utc}

    assert profile(signed) == profile(demo)
    assert "ExtendedKeyUsage" in profile(signed)
    eku = signed.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert not signed.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_the_practice_key_is_never_replaced_without_force(tmp_path: Path):
    practice = PkiLayout(tmp_path)
    first = make_practice_request(practice, "P0001")
    key_before = first.key_path.read_bytes()
    with pytest.raises(PkiError, match=r"P0001\.key: already exists"):
        make_practice_request(practice, "P0001")
    assert first.key_path.read_bytes() == key_before
    renewed = make_practice_request(practice, "P0001", force=True)
    assert renewed.key_path.read_bytes() != key_before
    assert renewed.key_fingerprint != first.key_fingerprint
    assert stat.S_IMODE(renewed.key_path.stat().st_mode) == 0o600
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_request_in_the_way_stops_the_key_too(tmp_path: Path):
    practice = PkiLayout(tmp_path)
    request = tmp_path / "outbox" / "P0001.csr"
    request.parent.mkdir()
    request.write_text("an older request")
    with pytest.raises(PkiError, match=r"P0001\.csr: already exists"):
        make_practice_request(practice, "P0001", request_path=request)
    assert not practice.practice_key("P0001").exists()


def test_a_key_that_cannot_be_written_leaves_no_request(tmp_path: Path):
    practice = PkiLayout(tmp_path / "pki")
    practice.root.mkdir()
    practice.practices_dir.write_text("a file where the key's folder should be")
    request = tmp_path / "outbox" / "P0001.csr"
    with pytest.raises(OSError):
        make_practice_request(practice, "P0001", request_path=request)
    assert not request.exists()


# -- refusals: each request is written as a file and signed at the region ----


def _request(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    *,
    subject: str = "P0001",
    names: list[x509.GeneralName] | None = None,
    extra: list[x509.ExtensionType] | None = None,
) -> bytes:
    builder = x509.CertificateSigningRequestBuilder().subject_name(practice_name(subject))
    builder = builder.add_extension(
        x509.SubjectAlternativeName(names or [practice_uri(subject)]), critical=False
    )
    for extension in extra or []:
        builder = builder.add_extension(extension, critical=True)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM)


def _p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _tampered() -> bytes:
    """A good request for P0001 whose names were changed to P0002 after it was signed."""
    der = build_practice_request(_p256(), "P0001").public_bytes(serialization.Encoding.DER)
    assert der.count(b"P0001") == 2  # the CN and the URI
    changed = x509.load_der_x509_csr(der.replace(b"P0001", b"P0002"))
    return changed.public_bytes(serialization.Encoding.PEM)


UNSIGNABLE = {
    "tampered": (_tampered, "P0002", "signature does not verify"),
    "unknown practice": (
        lambda: _request(_p256(), subject="P0099"),
        "P0099",
        r"practice 'P0099' is not in federation\.toml",
    ),
    "another practice than the sender": (
        lambda: _request(_p256(), subject="P0002"),
        "P0001",
        r"names practice 'P0002', but was expected from 'P0001'",
    ),
    "a CA": (
        lambda: _request(_p256(), extra=[x509.BasicConstraints(ca=True, path_length=None)]),
        "P0001",
        "asks to be a certificate authority",
    ),
    "an extra DNS name": (
        lambda: _request(
            _p256(), names=[practice_uri("P0001"), x509.DNSName("coordinator.example")]
        ),
        "P0001",
        r"asks for the names .*DNSName:coordinator\.example",
    ),
    "a second practice": (
        lambda: _request(_p256(), names=[practice_uri("P0001"), practice_uri("P0002")]),
        "P0001",
        r"asks for the names .*urn:klynge:practice:P0002",
    ),
    "a malformed practice id": (
        lambda: _request(
            _p256(), names=[x509.UniformResourceIdentifier("urn:klynge:practice:../P0001")]
        ),
        "P0001",
        r"practice id '\.\./P0001': use 1-64 letters",
    ),
    "a server certificate": (
        lambda: _request(_p256(), extra=[x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])]),
        "P0001",
        "asks for the extension ExtendedKeyUsage",
    ),
    "a subject naming another practice": (
        lambda: _request(_p256(), subject="P0002", names=[practice_uri("P0001")]),
        "P0001",
        r"subject .*CN=P0002.* does not name practice 'P0001'",
    ),
    "an RSA key": (
        lambda: _request(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
        "P0001",
        "the key is RSA 2048 bits; a practice's TLS key must be ECDSA P-256",
    ),
    "a P-384 key": (
        lambda: _request(ec.generate_private_key(ec.SECP384R1())),
        "P0001",
        "the key is ECDSA secp384r1",
    ),
    "an Ed25519 key": (
        lambda: _request(ed25519.Ed25519PrivateKey.generate()),
        "P0001",
        "the key is Ed25519",
    ),
    "not a request": (
        lambda: b"-----BEGIN CERTIFICATE REQUEST-----\nnope\n-----END CERTIFICATE REQUEST-----\n",
        "P0001",
        "not a valid PEM certificate request",
    ),
}


@pytest.mark.parametrize("case", UNSIGNABLE, ids=list(UNSIGNABLE))
def test_a_bad_request_is_refused_naming_the_file_and_nothing_is_written(
    case: str, tmp_path: Path, region: PkiLayout
):
    build, sender, message = UNSIGNABLE[case]
    request = tmp_path / "inbox" / f"{sender}.csr"
    request.parent.mkdir()
    request.write_bytes(build())
    out = tmp_path / "outbox" / "tls.pem"
    with pytest.raises(PkiError, match=message) as refused:
        _sign(region, request, out, expected=sender)
    assert str(refused.value).startswith(f"{request}: ")
    assert "\n" not in str(refused.value)
    assert not out.exists() and not out.parent.exists()
    assert not region.issued_dir.exists()


def test_the_good_request_passes_the_checks_the_bad_ones_fail(tmp_path: Path, region: PkiLayout):
    """The refusals above are about their one defect: the same builder's good request signs."""
    request = tmp_path / "P0001.csr"
    request.write_bytes(_request(_p256()))
    issued, fingerprint = _sign(region, request, tmp_path / "tls.pem")
    public = load_certificate(tmp_path / "tls.pem").public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert fingerprint == key_fingerprint(public)
    cn = load_certificate(issued.cert_path).subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    assert cn[0].value == "P0001"


def test_a_record_that_cannot_be_kept_takes_the_certificate_with_it(
    tmp_path: Path, region: PkiLayout
):
    request = tmp_path / "P0001.csr"
    request.write_bytes(_request(_p256()))
    region.issued_dir.write_text("a file where the region's copies should be")
    with pytest.raises(OSError):
        _sign(region, request, tmp_path / "tls.pem")
    assert not (tmp_path / "tls.pem").exists()


def test_an_existing_certificate_is_not_overwritten(tmp_path: Path, region: PkiLayout):
    request = tmp_path / "P0001.csr"
    request.write_bytes(_request(_p256()))
    out = tmp_path / "tls.pem"
    out.write_text("the certificate the practice has")
    with pytest.raises(PkiError, match=r"tls\.pem: already exists"):
        _sign(region, request, out)
    assert out.read_text() == "the certificate the practice has"
    assert not region.issued_dir.exists()
