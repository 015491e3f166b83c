"""A practice's or partner's own TLS key and the region's signature on it (`transport.csr`).

The good request goes all the way: made in the practice's folder, signed in
the region's, and accepted by a real coordinator in a real mTLS handshake (a
partner's reaches a real coordinator in `tests/e2e/test_runbooks.py`). Every
bad request is refused with its own message, for either role, and nothing is
written.
"""

from __future__ import annotations

import shutil
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from common.identities import PARTNER, PRACTICE
from tests.transport.harness import RecordingCoordinator, agent, coordinator
from transport.csr import ROLES, build_request, key_fingerprint, make_request, sign_request
from transport.pki import (
    PkiError,
    PkiLayout,
    identity_of,
    identity_san,
    init_pki,
    issue_partner,
    issue_practices,
    load_certificate,
    practice_id_of,
    subject_name,
)


@dataclass(frozen=True)
class Side:
    """One role's subjects at the region: two declared ids of equal length, one undeclared."""

    role: str
    sender: str
    other: str
    unknown: str
    source: Path  # only named in messages
    unknown_message: str

    @property
    def declared(self) -> frozenset[str]:
        return frozenset({self.sender, self.other})

    @property
    def other_role(self) -> str:
        return PARTNER if self.role == PRACTICE else PRACTICE


SIDES = {
    PRACTICE: Side(
        PRACTICE,
        "P0001",
        "P0002",
        "P0099",
        Path("federation.toml"),
        r"practice 'P0099' is not in federation\.toml",
    ),
    PARTNER: Side(
        PARTNER,
        "rh-kvalitet",
        "rm-kvalitet",
        "outsider",
        Path("manifest.toml"),
        r"partner 'outsider' is not declared in the \[\[partners\]\] of manifest\.toml",
    ),
}
assert tuple(SIDES) == ROLES  # every role that signs requests is tested


@pytest.fixture(params=ROLES)
def side(request: pytest.FixtureRequest) -> Side:
    return SIDES[request.param]


NOW = datetime.now(UTC)


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """Messages are matched in English; the default language is Danish."""
    monkeypatch.setenv("KLYNGE_LANG", "en")


@pytest.fixture
def region(tmp_path: Path) -> PkiLayout:
    layout = PkiLayout(tmp_path / "region" / "pki")
    init_pki(layout, now=NOW)
    return layout


def _sign(
    region: PkiLayout, request: Path, out: Path, expected: str = "P0001", side: Side | None = None
):
    side = side or SIDES[PRACTICE]
    return sign_request(
        region,
        request,
        role=side.role,
        expected=expected,
        declared=side.declared,
        source=side.source,
        out=out,
        now=NOW,
    )


def test_a_key_made_at_the_practice_connects_with_the_certificate_signed_from_its_request(
    tmp_path: Path, region: PkiLayout
):
    practice = PkiLayout(tmp_path / "practice" / "pki")
    made = make_request(practice, PRACTICE, "P0001")
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


def test_a_signed_request_gets_the_profile_of_every_certificate_of_its_role(
    tmp_path: Path, region: PkiLayout, side: Side
):
    own = PkiLayout(tmp_path / "own")
    made = make_request(own, side.role, side.sender)
    assert made.request_path.parent == made.key_path.parent  # ID.csr beside ID.key
    _sign(region, made.request_path, tmp_path / "signed.pem", side.sender, side)
    # The one-machine demo's path, for the other id of the role.
    if side.role == PRACTICE:
        issue_practices(region, [side.other], now=NOW)
        demo = load_certificate(region.practice_cert(side.other))
    else:
        demo = load_certificate(issue_partner(region, side.other, now=NOW).cert_path)
    signed = load_certificate(tmp_path / "signed.pem")
    assert identity_of(signed) == (side.role, side.sender)

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


def test_the_key_is_never_replaced_without_force(tmp_path: Path, side: Side):
    own = PkiLayout(tmp_path)
    first = make_request(own, side.role, side.sender)
    key_before = first.key_path.read_bytes()
    with pytest.raises(PkiError, match=rf"{side.sender}\.key: already exists"):
        make_request(own, side.role, side.sender)
    assert first.key_path.read_bytes() == key_before
    renewed = make_request(own, side.role, side.sender, force=True)
    assert renewed.key_path.read_bytes() != key_before
    assert renewed.key_fingerprint != first.key_fingerprint
    assert stat.S_IMODE(renewed.key_path.stat().st_mode) == 0o600
    assert not list(tmp_path.rglob("*.tmp"))


def test_a_request_in_the_way_stops_the_key_too(tmp_path: Path, side: Side):
    own = PkiLayout(tmp_path)
    request = tmp_path / "outbox" / f"{side.sender}.csr"
    request.parent.mkdir()
    request.write_text("an older request")
    with pytest.raises(PkiError, match=rf"{side.sender}\.csr: already exists"):
        make_request(own, side.role, side.sender, request_path=request)
    assert not list(tmp_path.rglob("*.key"))


def test_a_key_that_cannot_be_written_leaves_no_request(tmp_path: Path, side: Side):
    own = PkiLayout(tmp_path / "pki")
    own.root.mkdir()
    key_folder = own.practices_dir if side.role == PRACTICE else own.partners_dir
    key_folder.write_text("a file where the key's folder should be")
    request = tmp_path / "outbox" / f"{side.sender}.csr"
    with pytest.raises(OSError):
        make_request(own, side.role, side.sender, request_path=request)
    assert not request.exists()


# -- refusals: each request is written as a file and signed at the region ----


def _request(
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey,
    side: Side,
    *,
    subject: str | None = None,
    names: list[x509.GeneralName] | None = None,
    extra: list[x509.ExtensionType] | None = None,
) -> bytes:
    subject = subject or side.sender
    builder = x509.CertificateSigningRequestBuilder().subject_name(subject_name(subject))
    builder = builder.add_extension(
        x509.SubjectAlternativeName(names or [identity_san(side.role, subject)]), critical=False
    )
    for extension in extra or []:
        builder = builder.add_extension(extension, critical=True)
    algorithm = None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()
    return builder.sign(key, algorithm).public_bytes(serialization.Encoding.PEM)


def _p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _tampered(side: Side) -> bytes:
    """A good request for the sender whose names were changed to the other id after signing."""
    request = build_request(_p256(), side.role, side.sender)
    der = request.public_bytes(serialization.Encoding.DER)
    sender, other = side.sender.encode(), side.other.encode()
    assert der.count(sender) == 2 and len(sender) == len(other)  # the CN and the URI
    changed = x509.load_der_x509_csr(der.replace(sender, other))
    return changed.public_bytes(serialization.Encoding.PEM)


def _uri(side: Side, subject: str, role: str | None = None) -> x509.GeneralName:
    return identity_san(role or side.role, subject)


# case -> (request, the id it is expected from, the message): each a function of the side
UNSIGNABLE = {
    "tampered": (_tampered, lambda s: s.other, lambda s: "signature does not verify"),
    "undeclared": (
        lambda s: _request(_p256(), s, subject=s.unknown),
        lambda s: s.unknown,
        lambda s: s.unknown_message,
    ),
    "another subject than the sender": (
        lambda s: _request(_p256(), s, subject=s.other),
        lambda s: s.sender,
        lambda s: rf"names {s.role} '{s.other}', but was expected from '{s.sender}'",
    ),
    "a CA": (
        lambda s: _request(_p256(), s, extra=[x509.BasicConstraints(ca=True, path_length=None)]),
        lambda s: s.sender,
        lambda s: f"asks to be a certificate authority; a {s.role} gets a client certificate",
    ),
    "an extra DNS name": (
        lambda s: _request(
            _p256(), s, names=[_uri(s, s.sender), x509.DNSName("coordinator.example")]
        ),
        lambda s: s.sender,
        lambda s: r"asks for the names .*DNSName:coordinator\.example",
    ),
    "a second subject": (
        lambda s: _request(_p256(), s, names=[_uri(s, s.sender), _uri(s, s.other)]),
        lambda s: s.sender,
        lambda s: rf"asks for the names .*urn:klynge:{s.role}:{s.other}",
    ),
    "the other role's identity": (
        lambda s: _request(_p256(), s, names=[_uri(s, s.sender, s.other_role)]),
        lambda s: s.sender,
        lambda s: (
            rf"names UniformResourceIdentifier:urn:klynge:{s.other_role}:{s.sender};"
            rf" a {s.role}'s request names only itself, as one urn:klynge:{s.role}:<id>"
        ),
    ),
    "a malformed id": (
        lambda s: _request(
            _p256(), s, names=[x509.UniformResourceIdentifier(f"urn:klynge:{s.role}:../x")]
        ),
        lambda s: s.sender,
        lambda s: rf"{s.role} id '\.\./x': use 1-64 letters",
    ),
    "a server certificate": (
        lambda s: _request(
            _p256(), s, extra=[x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])]
        ),
        lambda s: s.sender,
        lambda s: "asks for the extension ExtendedKeyUsage",
    ),
    "a subject naming another": (
        lambda s: _request(_p256(), s, subject=s.other, names=[_uri(s, s.sender)]),
        lambda s: s.sender,
        lambda s: rf"subject .*CN={s.other}.* does not name {s.role} '{s.sender}'",
    ),
    "an RSA key": (
        lambda s: _request(rsa.generate_private_key(public_exponent=65537, key_size=2048), s),
        lambda s: s.sender,
        lambda s: f"the key is RSA 2048 bits; a {s.role}'s TLS key must be ECDSA P-256",
    ),
    "a P-384 key": (
        lambda s: _request(ec.generate_private_key(ec.SECP384R1()), s),
        lambda s: s.sender,
        lambda s: "the key is ECDSA secp384r1",
    ),
    "an Ed25519 key": (
        lambda s: _request(ed25519.Ed25519PrivateKey.generate(), s),
        lambda s: s.sender,
        lambda s: "the key is Ed25519",
    ),
    "not a request": (
        lambda s: b"-----BEGIN CERTIFICATE REQUEST-----\nnope\n-----END CERTIFICATE REQUEST-----\n",
        lambda s: s.sender,
        lambda s: "not a valid PEM certificate request",
    ),
}


@pytest.mark.parametrize("case", UNSIGNABLE, ids=list(UNSIGNABLE))
def test_a_bad_request_is_refused_naming_the_file_and_nothing_is_written(
    case: str, tmp_path: Path, region: PkiLayout, side: Side
):
    build, sender, message = (f(side) for f in UNSIGNABLE[case])
    request = tmp_path / "inbox" / f"{sender}.csr"
    request.parent.mkdir()
    request.write_bytes(build)
    out = tmp_path / "outbox" / "tls.pem"
    with pytest.raises(PkiError, match=message) as refused:
        _sign(region, request, out, expected=sender, side=side)
    assert str(refused.value).startswith(f"{request}: ")
    assert "\n" not in str(refused.value)
    assert not out.exists() and not out.parent.exists()
    assert not region.issued_dir.exists()


def test_the_good_request_passes_the_checks_the_bad_ones_fail(
    tmp_path: Path, region: PkiLayout, side: Side
):
    """The refusals above are about their one defect: the same builder's good request signs."""
    request = tmp_path / f"{side.sender}.csr"
    request.write_bytes(_request(_p256(), side))
    issued, fingerprint = _sign(region, request, tmp_path / "tls.pem", side.sender, side)
    public = load_certificate(tmp_path / "tls.pem").public_key()
    assert isinstance(public, ec.EllipticCurvePublicKey)
    assert fingerprint == key_fingerprint(public)
    cert = load_certificate(issued.cert_path)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == side.sender
    assert identity_of(cert) == (side.role, side.sender)
    assert [p.name for p in region.issued_dir.iterdir()] == [
        f"{side.sender}-{issued.fingerprint[:16]}.pem"
    ]


def test_a_record_that_cannot_be_kept_takes_the_certificate_with_it(
    tmp_path: Path, region: PkiLayout
):
    request = tmp_path / "P0001.csr"
    request.write_bytes(_request(_p256(), SIDES[PRACTICE]))
    region.issued_dir.write_text("a file where the region's copies should be")
    with pytest.raises(OSError):
        _sign(region, request, tmp_path / "tls.pem")
    assert not (tmp_path / "tls.pem").exists()


def test_an_existing_certificate_is_not_overwritten(tmp_path: Path, region: PkiLayout):
    request = tmp_path / "P0001.csr"
    request.write_bytes(_request(_p256(), SIDES[PRACTICE]))
    out = tmp_path / "tls.pem"
    out.write_text("the certificate the practice has")
    with pytest.raises(PkiError, match=r"tls\.pem: already exists"):
        _sign(region, request, out)
    assert out.read_text() == "the certificate the practice has"
    assert not region.issued_dir.exists()
