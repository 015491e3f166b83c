"""Who may connect: refusals at the TLS, registry and identity layers, each with a reason."""

from __future__ import annotations

import json

import grpc
import pytest

from protocols.envelope import ErrorCode
from protocols.generated import klynge_pb2 as pb
from tests.logcapture import captured_logs
from tests.transport.harness import (
    RecordingCoordinator,
    agent,
    coordinator,
    make_pki,
    wait_until,
)
from transport.admission import allow_list
from transport.frames import FETCH_METHOD, SESSION_METHOD
from transport.pki import PkiError, fingerprint, load_certificate
from transport.server import CoordinatorConfig, CoordinatorTransport
from transport.tls import TlsFiles

PRACTICES = ["a1", "b2"]


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """Messages are matched in English; the default language is Danish."""
    monkeypatch.setenv("KLYNGE_LANG", "en")


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"), [*PRACTICES, "outsider"])


@pytest.fixture(scope="module")
def rogue_pki(tmp_path_factory):
    """Another CA issuing a certificate for the same practice id."""
    return make_pki(tmp_path_factory.mktemp("rogue"), ["a1"])


def _fetch(port: int, credentials: grpc.ChannelCredentials) -> grpc.RpcError:
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        call = channel.unary_unary(FETCH_METHOD)
        request = pb.FetchRequest(protocol_version=1, scope="cluster").SerializeToString()
        with pytest.raises(grpc.RpcError) as info:
            call(request, timeout=5)
    return info.value


def _session(port: int, credentials: grpc.ChannelCredentials, *frames: pb.AgentFrame):
    """Send `frames` on a raw Session stream; return (responses, final RpcError or None)."""
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        call = channel.stream_stream(SESSION_METHOD)(iter([f.SerializeToString() for f in frames]))
        responses = []
        try:
            for raw in call:
                responses.append(pb.CoordinatorFrame.FromString(raw))
        except grpc.RpcError as exc:
            return responses, exc
    return responses, None


def _credentials(layout, practice, trust=None):
    return grpc.ssl_channel_credentials(
        root_certificates=(trust or layout).ca_cert.read_bytes(),
        private_key=layout.practice_key(practice).read_bytes(),
        certificate_chain=layout.practice_cert(practice).read_bytes(),
    )


def _hello(practice_id: str, version: int = 1) -> pb.AgentFrame:
    return pb.AgentFrame(hello=pb.Hello(protocol_version=version, practice_id=practice_id))


def test_certificate_from_another_ca_is_refused_at_tls_layer(pki, rogue_pki):
    handler = RecordingCoordinator()
    with coordinator(pki, handler, PRACTICES) as server:
        error = _fetch(server.port, _credentials(rogue_pki, "a1", trust=pki))
        assert error.code() == grpc.StatusCode.UNAVAILABLE
        responses, error = _session(
            server.port, _credentials(rogue_pki, "a1", trust=pki), _hello("a1")
        )
        assert responses == [] and error.code() == grpc.StatusCode.UNAVAILABLE
    assert handler.connects == []


def test_client_without_certificate_is_refused(pki):
    handler = RecordingCoordinator()
    with coordinator(pki, handler, PRACTICES) as server:
        bare = grpc.ssl_channel_credentials(root_certificates=pki.ca_cert.read_bytes())
        assert _fetch(server.port, bare).code() == grpc.StatusCode.UNAVAILABLE
        responses, error = _session(server.port, bare, _hello("a1"))
        assert responses == [] and error.code() == grpc.StatusCode.UNAVAILABLE
    assert handler.connects == []


def test_agent_refuses_coordinator_from_another_ca(pki, rogue_pki):
    handler = RecordingCoordinator()
    with coordinator(rogue_pki, handler, ["a1"]) as server, agent(pki, "a1", server.port) as c:
        assert not c.wait_connected(0.5)
        assert wait_until(lambda: c.last_error is not None and "UNAVAILABLE" in c.last_error)
    assert handler.connects == []


def test_claiming_another_practice_in_hello_is_refused_with_a_log_line(pki):
    handler = RecordingCoordinator()
    with captured_logs() as logs, coordinator(pki, handler, PRACTICES) as server:
        responses, error = _session(server.port, _credentials(pki, "a1"), _hello("b2"))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert [r.error.code for r in responses] == [ErrorCode.IDENTITY_MISMATCH]
        refusals = [json.loads(line) for line in logs.lines if '"refused"' in line]
        assert refusals and refusals[0]["code"] == "IDENTITY_MISMATCH"
        assert refusals[0]["practice_id"] == "a1"
    assert handler.connects == []


def test_envelope_with_another_sender_ends_the_session(pki):
    handler = RecordingCoordinator()
    with coordinator(pki, handler, PRACTICES) as server:
        forged = pb.AgentFrame(
            envelope=pb.Envelope(
                protocol_version=1, round_id="r1", stage="collect", sender="b2", seq=1
            )
        )
        responses, error = _session(server.port, _credentials(pki, "a1"), _hello("a1"), forged)
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert responses[0].WhichOneof("body") == "welcome"
        assert responses[-1].error.code == ErrorCode.IDENTITY_MISMATCH
    assert handler.frames == []


def test_practice_outside_the_registry_is_refused(pki):
    handler = RecordingCoordinator()
    with captured_logs() as logs, coordinator(pki, handler, PRACTICES) as server:
        _, error = _session(server.port, _credentials(pki, "outsider"), _hello("outsider"))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "NOT_REGISTERED" in error.details()
        assert _fetch(server.port, _credentials(pki, "outsider")).code() == (
            grpc.StatusCode.PERMISSION_DENIED
        )
        assert "refused" in logs.events()
    assert handler.connects == []


def test_registry_can_pin_certificate_fingerprints(pki):
    pinned = {"a1": "0" * 64, "b2": fingerprint(load_certificate(pki.practice_cert("b2")))}
    server = CoordinatorTransport(
        TlsFiles.for_server(pki), RecordingCoordinator(), allow_list(PRACTICES, pinned)
    )
    server.start()
    try:
        _, error = _session(server.port, _credentials(pki, "a1"), _hello("a1"))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "fingerprint" in error.details()
        with agent(pki, "b2", server.port) as ok:
            assert ok.wait_connected(10)
    finally:
        server.stop(0.5)


def test_server_certificate_cannot_pose_as_a_practice(pki):
    as_client = grpc.ssl_channel_credentials(
        root_certificates=pki.ca_cert.read_bytes(),
        private_key=pki.server_key.read_bytes(),
        certificate_chain=pki.server_cert.read_bytes(),
    )
    handler = RecordingCoordinator()
    with coordinator(pki, handler, PRACTICES) as server:
        _, error = _session(server.port, as_client, _hello("a1"))
        assert error.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.UNAVAILABLE)
    assert handler.connects == []


@pytest.mark.parametrize(
    ("frames", "status", "code"),
    [
        (
            [pb.AgentFrame(heartbeat=pb.Heartbeat(nonce=1))],
            grpc.StatusCode.FAILED_PRECONDITION,
            ErrorCode.OUT_OF_ORDER,
        ),
        (
            [_hello("a1", version=99)],
            grpc.StatusCode.FAILED_PRECONDITION,
            ErrorCode.UNSUPPORTED_VERSION,
        ),
    ],
    ids=["frame-before-hello", "unsupported-version"],
)
def test_session_must_start_with_a_supported_hello(pki, frames, status, code):
    with coordinator(pki, RecordingCoordinator(), PRACTICES) as server:
        responses, error = _session(server.port, _credentials(pki, "a1"), *frames)
        assert error.code() == status
        assert [r.error.code for r in responses] == [code]


def test_silent_client_is_dropped_after_the_hello_timeout(pki):
    with coordinator(pki, RecordingCoordinator(), PRACTICES, hello_timeout=0.3) as server:
        with grpc.secure_channel(f"127.0.0.1:{server.port}", _credentials(pki, "a1")) as channel:
            blocker = __import__("threading").Event()

            def silent():
                blocker.wait(5)
                yield b""  # never reached in time

            call = channel.stream_stream(SESSION_METHOD)(silent())
            with pytest.raises(grpc.RpcError) as info:
                list(call)
            blocker.set()
        assert info.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED


def test_agent_refuses_to_start_with_mismatched_files(pki, rogue_pki, tmp_path):
    from tests.transport.harness import RecordingAgent
    from transport.client import AgentConfig, AgentTransport

    files = TlsFiles(pki.ca_cert, rogue_pki.practice_cert("a1"), rogue_pki.practice_key("a1"))
    with pytest.raises(PkiError, match="not issued by"):
        AgentTransport(AgentConfig(target="127.0.0.1:1", tls=files), RecordingAgent())
    crossed = TlsFiles(pki.ca_cert, pki.practice_cert("a1"), pki.practice_key("b2"))
    with pytest.raises(PkiError, match="private key does not belong"):
        AgentTransport(AgentConfig(target="127.0.0.1:1", tls=crossed), RecordingAgent())
    missing = TlsFiles(pki.ca_cert, tmp_path / "none.pem", pki.practice_key("a1"))
    with pytest.raises(PkiError, match=r"none\.pem"):
        CoordinatorTransport(missing, RecordingCoordinator(), allow_list([]))
    with pytest.raises(ValueError, match="max_message_bytes"):
        CoordinatorConfig(max_message_bytes=1024)
