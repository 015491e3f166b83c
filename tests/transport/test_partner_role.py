"""A partner's certificate: its own role, never a practice's session, only the Fetch handler."""

from __future__ import annotations

import grpc
import pytest
from cryptography import x509

from protocols.envelope import FetchDenied, FetchQuery, FetchResult
from protocols.generated import klynge_pb2 as pb
from tests.logcapture import captured_logs
from tests.transport.harness import NOW, RecordingCoordinator, make_pki
from transport.admission import allow_list
from transport.frames import FETCH_METHOD, SESSION_METHOD
from transport.pki import (
    _leaf,
    identity_of,
    issue_partner,
    load_ca,
    load_certificate,
    new_private_key,
    practice_id_of,
    write_certificate,
    write_private_key,
)
from transport.server import CoordinatorTransport
from transport.tls import PeerIdentity, TlsFiles

PRACTICES = ["a1"]


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("KLYNGE_LANG", "en")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    layout = make_pki(tmp_path_factory.mktemp("pki"), PRACTICES)
    issue_partner(layout, "rh-kvalitet", now=NOW)
    # A certificate naming a practice and a partner at once: it must identify nobody.
    ca_key, ca_cert = load_ca(layout)
    key = new_private_key()
    both = _leaf(
        ca_key,
        ca_cert,
        key.public_key(),
        common_name="both",
        sans=[
            x509.UniformResourceIdentifier("urn:klynge:practice:a1"),
            x509.UniformResourceIdentifier("urn:klynge:partner:rh-kvalitet"),
        ],
        usage=x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH,
        now=NOW,
        days=30,
    )
    write_private_key(layout.root / "both.key", key)
    write_certificate(layout.root / "both.pem", both)
    return layout


def _credentials(layout, cert, key):
    return grpc.ssl_channel_credentials(
        root_certificates=layout.ca_cert.read_bytes(),
        private_key=key.read_bytes(),
        certificate_chain=cert.read_bytes(),
    )


def _partner(layout):
    return _credentials(
        layout, layout.partner_cert("rh-kvalitet"), layout.partner_key("rh-kvalitet")
    )


class _Fetches:
    def __init__(self) -> None:
        self.peers: list[PeerIdentity] = []

    def __call__(self, peer: PeerIdentity, query: FetchQuery) -> FetchResult:
        self.peers.append(peer)
        if query.scope == "more":
            raise FetchDenied("partner_level", "not granted")
        return FetchResult("r", "text/plain", b"ok")


def _fetch(port, credentials, scope="partner"):
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        request = pb.FetchRequest(protocol_version=1, scope=scope).SerializeToString()
        return pb.FetchResponse.FromString(channel.unary_unary(FETCH_METHOD)(request, timeout=5))


@pytest.fixture
def server(pki):
    fetches = _Fetches()
    handler = RecordingCoordinator()
    transport = CoordinatorTransport(
        TlsFiles.for_server(pki), handler, allow_list(PRACTICES), fetch=fetches
    )
    transport.start()
    try:
        yield transport, fetches, handler
    finally:
        transport.stop(0.5)


def test_a_partner_certificate_names_a_partner_and_no_practice(pki):
    cert = load_certificate(pki.partner_cert("rh-kvalitet"))
    assert identity_of(cert) == ("partner", "rh-kvalitet")
    with pytest.raises(ValueError, match="names a partner, not a practice"):
        practice_id_of(cert)
    with pytest.raises(ValueError, match="names 2 identities"):
        identity_of(load_certificate(pki.root / "both.pem"))


def test_a_partner_reaches_the_fetch_handler_as_a_partner(pki, server):
    port, fetches = server[0].port, server[1]
    assert _fetch(port, _partner(pki)).body == b"ok"
    (peer,) = fetches.peers
    assert peer.partner_id == "rh-kvalitet" and peer.practice_id == ""


def test_a_denied_fetch_is_permission_denied(pki, server):
    with captured_logs() as logs, pytest.raises(grpc.RpcError) as info:
        _fetch(server[0].port, _partner(pki), scope="more")
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "fetch_refused" in logs.events()


def test_a_partner_cannot_open_a_practice_session(pki, server):
    transport, _, handler = server
    hello = pb.AgentFrame(hello=pb.Hello(protocol_version=1, practice_id="a1"))
    with grpc.secure_channel(f"127.0.0.1:{transport.port}", _partner(pki)) as channel:
        call = channel.stream_stream(SESSION_METHOD)(iter([hello.SerializeToString()]))
        with pytest.raises(grpc.RpcError) as info:
            list(call)
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "partner" in (info.value.details() or "")
    assert handler.connects == []


def test_a_certificate_naming_two_identities_is_refused(pki, server):
    credentials = _credentials(pki, pki.root / "both.pem", pki.root / "both.key")
    with pytest.raises(grpc.RpcError) as info:
        _fetch(server[0].port, credentials)
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert server[1].peers == []
