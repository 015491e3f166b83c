"""The wire contract: reproducible stubs, envelope rules, error codes, backoff, log hygiene."""

from __future__ import annotations

import json
import logging
import random
import subprocess
import sys

import pytest

from common.logs import JsonLineFormatter, log_event
from protocols.envelope import (
    PROTOCOL_VERSION,
    DedupWindow,
    Envelope,
    EnvelopeError,
    ErrorCode,
)
from protocols.generated import regenerate
from tests import REPO_ROOT
from transport.client import Backoff


def test_committed_stubs_match_regeneration(tmp_path):
    pytest.importorskip("grpc_tools")
    regenerate.generate(tmp_path)
    for name in regenerate.GENERATED_FILES:
        committed = (regenerate.GENERATED_DIR / name).read_bytes()
        assert (tmp_path / name).read_bytes() == committed, (
            f"protocols/generated/{name} is stale: run `python -m protocols.generated.regenerate`"
            " with the pinned grpcio-tools"
        )


@pytest.mark.slow
def test_stubs_import_as_package_with_installed_runtime():
    # A fresh interpreter, warnings as errors: protobuf's gencode/runtime version
    # check and grpc's generated-version check run at import and must pass.
    code = (
        "from protocols.generated import klynge_pb2, klynge_pb2_grpc\n"
        "assert klynge_pb2_grpc.klynge__pb2 is klynge_pb2\n"
        "assert klynge_pb2.DESCRIPTOR.package == 'klynge.v1'\n"
        "methods = klynge_pb2.DESCRIPTOR.services_by_name['Coordinator'].methods_by_name\n"
        "assert set(methods) == {'Session', 'Fetch'}\n"
    )
    root = REPO_ROOT
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], cwd=root, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_error_codes_mirror_the_proto():
    from protocols.generated import klynge_pb2

    proto = {v.name: v.number for v in klynge_pb2.ErrorCode.DESCRIPTOR.values}
    assert proto == {code.name: code.value for code in ErrorCode}


def test_envelope_round_trips_through_protobuf():
    envelope = Envelope("r-2025:K01", "masked_input", "P0001", 2**64 - 1, b"\x00\xff" * 9, "Masked")
    again = Envelope.from_proto(
        type(envelope.to_proto()).FromString(envelope.to_proto().SerializeToString())
    )
    assert again == envelope
    assert "payload=<18 bytes>" in repr(envelope) and "\\x00" not in repr(envelope)


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"round_id": ""}, "round_id", ErrorCode.INVALID_ENVELOPE),
        ({"stage": "bad stage"}, "stage", ErrorCode.INVALID_ENVELOPE),
        ({"sender": "x" * 65}, "sender", ErrorCode.INVALID_ENVELOPE),
        ({"kind": "a/b"}, "kind", ErrorCode.INVALID_ENVELOPE),
        ({"seq": -1}, "seq", ErrorCode.INVALID_ENVELOPE),
        ({"protocol_version": 2}, "protocol_version", ErrorCode.UNSUPPORTED_VERSION),
        ({"payload": b"x" * 11}, "payload", ErrorCode.PAYLOAD_TOO_LARGE),
    ],
)
def test_envelope_validation_names_the_field(changes, field, code):
    fields = {"round_id": "r1", "stage": "s", "sender": "P1", "seq": 0, "payload": b""}
    fields.update(changes)
    with pytest.raises(EnvelopeError) as info:
        Envelope(**fields).validate(max_payload_bytes=10)
    assert info.value.field == field and info.value.code == code
    assert PROTOCOL_VERSION == 1


def test_dedup_window_is_bounded():
    window = DedupWindow(capacity=2)
    keys = [Envelope("r", "s", "P1", i, b"").key for i in range(3)]
    assert [window.first_time(k) for k in keys] == [True, True, True]
    assert not window.first_time(keys[2])
    assert window.first_time(keys[0])  # evicted, so seen as new
    assert len(window) == 2


def test_backoff_grows_caps_and_jitters():
    backoff = Backoff(initial=1.0, maximum=8.0, multiplier=2.0, jitter=0.5)
    rand = random.Random(7)
    delays = [backoff.delay(n, rand) for n in range(8)]
    bases = [1, 2, 4, 8, 8, 8, 8, 8]
    assert all(b / 2 <= d <= b for d, b in zip(delays, bases, strict=True))
    assert len({round(d, 6) for d in delays[3:]}) > 1  # jitter spreads reconnects
    assert Backoff(jitter=0).delay(1000, rand) == Backoff().maximum
    with pytest.raises(ValueError):
        Backoff(initial=0)


def test_agent_reconnects_with_injected_backoff_sleep(tmp_path):
    """No coordinator listening: the agent backs off per its schedule, via the injected sleep."""
    import threading

    from tests.transport.harness import RecordingAgent, make_pki
    from transport.client import AgentConfig, AgentTransport
    from transport.tls import TlsFiles

    layout = make_pki(tmp_path, ["P1"])
    slept: list[float] = []
    done = threading.Event()

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) >= 4:
            done.set()

    import socket

    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    transport = AgentTransport(
        AgentConfig(
            target=f"127.0.0.1:{port}",
            tls=TlsFiles.for_practice(layout, "P1"),
            backoff=Backoff(initial=1.0, maximum=4.0, jitter=0.0),
            handshake_timeout=2.0,
        ),
        RecordingAgent(),
        sleep=sleep,
        rand=random.Random(1),
    )
    transport.start()
    try:
        assert done.wait(10)
    finally:
        transport.close(timeout=2.0)
    assert slept[:4] == [1.0, 2.0, 4.0, 4.0]
    assert "UNAVAILABLE" in (transport.last_error or "")
    assert not transport.status().connected


def test_logs_refuse_bytes_and_are_json_lines():
    logger = logging.getLogger("klynge.transport.test")
    logger.setLevel(logging.INFO)
    with pytest.raises(TypeError, match="bytes are never logged"):
        log_event(logger, "oops", payload=b"secret")
    with pytest.raises(TypeError, match="not a scalar"):
        log_event(logger, "oops", vector=[1, 2, 3])
    record = logging.LogRecord("klynge.transport", logging.INFO, __file__, 1, "", None, None)
    record.msg = json.dumps({"event": "x", "reason": "y"})
    line = JsonLineFormatter().format(record)
    assert json.loads(line)["event"] == "x" and json.loads(line)["level"] == "info"


def test_agent_outbox_is_bounded_and_checks_sender(tmp_path):
    from tests.transport.harness import RecordingAgent, make_pki
    from transport.client import (
        AgentConfig,
        AgentTransport,
        OutboxFullError,
        TransportClosedError,
    )
    from transport.tls import TlsFiles

    layout = make_pki(tmp_path, ["P1"])
    transport = AgentTransport(
        AgentConfig(target="127.0.0.1:1", tls=TlsFiles.for_practice(layout, "P1"), max_pending=2),
        RecordingAgent(),
    )
    assert transport.practice_id == "P1"  # from the certificate, not from configuration
    for seq in (1, 2, 2):  # a resend of seq 2 replaces, it does not add
        transport.send(Envelope("r1", "s", "P1", seq, b""))
    assert transport.pending == 2
    with pytest.raises(OutboxFullError):
        transport.send(Envelope("r1", "s", "P1", 3, b""))
    with pytest.raises(EnvelopeError, match="sender"):
        transport.send(Envelope("r1", "s", "P2", 4, b""))
    transport.close()
    with pytest.raises(TransportClosedError):
        transport.send(Envelope("r1", "s", "P1", 5, b""))
