"""Agent and coordinator talking over real mTLS on loopback: frames both ways, dedup, restart."""

from __future__ import annotations

import json
import socket
import threading

import grpc
import pytest

from protocols.envelope import Envelope, ErrorCode, FetchNotFound, FetchResult
from protocols.generated import klynge_pb2 as pb
from tests.logcapture import captured_logs
from tests.transport.harness import (
    RecordingAgent,
    RecordingCoordinator,
    agent,
    coordinator,
    make_pki,
    wait_until,
)
from transport.frames import SESSION_METHOD
from transport.tls import channel_credentials, load_tls

PRACTICES = ["p01", "p02", "p03"]


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"), PRACTICES)


def envelope(practice: str, stage: str = "echo", seq: int = 1, payload: bytes = b"x") -> Envelope:
    return Envelope(round_id="r1", stage=stage, sender=practice, seq=seq, payload=payload)


def test_frames_travel_both_ways_and_are_acknowledged(pki):
    handler = RecordingCoordinator()
    with coordinator(pki, handler, PRACTICES) as server:
        received = RecordingAgent()
        with agent(pki, "p01", server.port, received) as client:
            assert client.wait_connected(10)
            assert wait_until(lambda: handler.connects == ["p01"])
            payload = bytes(range(256)) * 4
            client.send(envelope("p01", payload=payload))
            assert received.received.wait(10)
            echoed = received.frames[0]
            assert (echoed.round_id, echoed.stage, echoed.sender) == ("r1", "echo", "coordinator")
            assert echoed.payload == payload
            assert handler.frames[0].sender == "p01"
            assert wait_until(lambda: client.pending == 0)
            assert server.connected() == ["p01"]
            # the server pushes without being asked
            server.session("p01").send(
                Envelope(round_id="r1", stage="announce", sender="coordinator", seq=7, payload=b"a")
            )
            assert wait_until(lambda: len(received.frames) == 2)
            assert client.status().connected
        assert wait_until(lambda: handler.disconnects and handler.disconnects[0][0] == "p01")
    # every callback ran on the single dispatcher thread
    assert handler.threads == {"klynge-dispatch"}


def test_duplicate_frames_are_dropped_with_a_log_line(pki):
    handler = RecordingCoordinator()
    with captured_logs() as logs, coordinator(pki, handler, PRACTICES) as server:
        with agent(pki, "p02", server.port) as client:
            assert client.wait_connected(10)
            for _ in range(3):
                client.send(envelope("p02", stage="collect", seq=5))
                assert wait_until(lambda: client.pending == 0)
            client.send(envelope("p02", stage="collect", seq=6))
            assert wait_until(lambda: len(handler.frames) == 2)
            assert wait_until(lambda: client.pending == 0)
        assert [f.seq for f in handler.frames] == [5, 6]
        assert logs.events().count("duplicate_dropped") == 2


def test_rejected_and_crashing_frames_answer_with_errors_and_session_goes_on(pki):
    handler = RecordingCoordinator()
    with captured_logs() as logs, coordinator(pki, handler, PRACTICES) as server:
        received = RecordingAgent()
        with agent(pki, "p01", server.port, received) as client:
            assert client.wait_connected(10)
            client.send(envelope("p01", stage="reject", seq=1))
            client.send(envelope("p01", stage="crash", seq=2))
            assert wait_until(lambda: len(received.errors) == 2)
            codes = [code for code, _ in received.errors]
            assert codes == [ErrorCode.REJECTED, ErrorCode.INTERNAL]
            assert received.errors[0][1].seq == 1
            assert client.pending == 0  # refused by key: not resent forever
            client.send(envelope("p01", stage="echo", seq=3))
            assert received.received.wait(10)
        text = "\n".join(logs.lines)
        assert "secret-looking" not in text
        assert "handler_failed" in text and "RuntimeError" in text


def test_reconnect_after_coordinator_restart_delivers_pending_frames(pki):
    # Reserve a port, then run two coordinators on it one after the other.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    first = RecordingCoordinator()
    received = RecordingAgent()
    with agent(pki, "p03", port, received) as client:
        with coordinator(pki, first, PRACTICES, address=f"127.0.0.1:{port}"):
            assert client.wait_connected(10)
            client.send(envelope("p03", stage="collect", seq=1))
            assert wait_until(lambda: client.pending == 0)
        assert wait_until(lambda: not client.connected)
        # told why the session ended (the callback runs just after `connected` clears)
        assert wait_until(lambda: received.disconnects)
        assert ErrorCode.SHUTTING_DOWN in [code for code, _ in received.errors]
        # Sent while the coordinator is down: held in the outbox.
        client.send(envelope("p03", stage="collect", seq=2))
        second = RecordingCoordinator()
        with coordinator(pki, second, PRACTICES, address=f"127.0.0.1:{port}"):
            assert client.wait_connected(10)
            assert wait_until(lambda: [f.seq for f in second.frames] == [2])
            assert wait_until(lambda: client.pending == 0)
        assert client.reconnects >= 1
        assert received.connects == 2


def test_new_session_supersedes_old_one(pki):
    handler = RecordingCoordinator()
    with (
        captured_logs() as logs,
        coordinator(pki, handler, PRACTICES) as server,
        agent(pki, "p01", server.port) as first,
    ):
        assert first.wait_connected(10)
        old = server.session("p01")
        with agent(pki, "p01", server.port) as second:
            assert second.wait_connected(10)
            assert wait_until(lambda: server.session("p01") is not old)
            assert not old.is_open
            # Sending on the superseded session is a logged no-op, never an error.
            assert old.send(envelope("coordinator", stage="late")) is False
            assert wait_until(lambda: any(r for p, r in handler.disconnects if p == "p01"))
        dropped = [
            (line["practice_id"], line["reason"])
            for line in map(json.loads, logs.lines)
            if line["event"] == "send_dropped"
            and line["session_id"] == old.session_id
            and line.get("stage") == "late"
        ]
        assert dropped == [("p01", "session closed")]


def test_malformed_and_unknown_frames_get_errors_and_server_serves_others(pki):
    handler = RecordingCoordinator()
    with captured_logs() as logs, coordinator(pki, handler, PRACTICES, max_bad_frames=3) as server:
        tls = load_tls(pki_files(pki, "p02"))
        with grpc.secure_channel(f"127.0.0.1:{server.port}", channel_credentials(tls)) as channel:
            requests = _RawRequests()
            call = channel.stream_stream(SESSION_METHOD)(iter(requests))
            responses = iter(call)
            requests.put(
                pb.AgentFrame(
                    hello=pb.Hello(protocol_version=1, practice_id="p02")
                ).SerializeToString()
            )
            assert pb.CoordinatorFrame.FromString(next(responses)).WhichOneof("body") == "welcome"
            requests.put(b"\xff\xff\xff not a protobuf")
            first = pb.CoordinatorFrame.FromString(next(responses))
            assert first.error.code == ErrorCode.MALFORMED_FRAME
            # field 15 is a frame type this server does not know
            requests.put(b"\x7a\x00")
            second = pb.CoordinatorFrame.FromString(next(responses))
            assert second.error.code == ErrorCode.UNKNOWN_FRAME_TYPE
            bad_envelope = pb.AgentFrame(
                envelope=pb.Envelope(protocol_version=1, round_id="", stage="s", sender="p02")
            )
            requests.put(bad_envelope.SerializeToString())
            third = pb.CoordinatorFrame.FromString(next(responses))
            assert third.error.code == ErrorCode.INVALID_ENVELOPE
            # A well-behaved agent is unaffected meanwhile.
            received = RecordingAgent()
            with agent(pki, "p01", server.port, received) as good:
                assert good.wait_connected(10)
                good.send(envelope("p01", seq=11))
                assert received.received.wait(10)
            # One more bad frame exceeds the limit: the session is closed.
            requests.put(b"\xff")
            with pytest.raises(grpc.RpcError) as info:
                for raw in responses:
                    pb.CoordinatorFrame.FromString(raw)
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            requests.close()
        assert {"frame_refused", "envelope_refused"} <= set(logs.events())


def test_fetch_returns_release_or_not_found(pki):
    def serve(peer, query):
        if query.round_id == "missing":
            raise FetchNotFound("no such round")
        body = f"{peer.practice_id}:{query.scope}".encode()
        return FetchResult(round_id="r9", media_type="text/plain", body=body)

    from transport.admission import allow_list
    from transport.server import CoordinatorTransport
    from transport.tls import TlsFiles

    server = CoordinatorTransport(
        TlsFiles.for_server(pki), RecordingCoordinator(), allow_list(PRACTICES), fetch=serve
    )
    server.start()
    try:
        with agent(pki, "p02", server.port) as client:
            result = client.fetch("cluster", timeout=5)
            assert result == FetchResult("r9", "text/plain", b"p02:cluster")
            with pytest.raises(FetchNotFound):
                client.fetch("cluster", round_id="missing", timeout=5)
    finally:
        server.stop(0.5)


def test_a_busy_coordinator_s_fetch_is_asked_again_not_given_up(pki):
    """Fetch slots full (grpc refuses at once with RESOURCE_EXHAUSTED): the agent waits and
    asks again within its deadline, so a region checking the log together is not refused."""
    import time

    from transport.admission import allow_list
    from transport.server import CoordinatorConfig, CoordinatorTransport
    from transport.tls import TlsFiles

    def slow(peer, query):
        time.sleep(0.3)
        return FetchResult(round_id=query.round_id, media_type="text/plain", body=b"ok")

    # One session and one fetch slot: while one fetch runs, every other is refused.
    config = CoordinatorConfig(max_sessions=1, max_sessions_per_practice=1, fetch_workers=1)
    server = CoordinatorTransport(
        TlsFiles.for_server(pki),
        RecordingCoordinator(),
        allow_list(PRACTICES),
        config=config,
        fetch=slow,
    )
    server.start()
    try:
        with agent(pki, "p01", server.port) as client:
            assert client.wait_connected(10)
            results: list[object] = []

            def one(i: int) -> None:
                try:
                    results.append(client.fetch("cluster", round_id=f"r{i}", timeout=10))
                except Exception as exc:  # recorded, so the assertion names it
                    results.append(exc)

            threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(15)
        assert sorted(r.round_id for r in results if isinstance(r, FetchResult)) == [
            "r0",
            "r1",
            "r2",
            "r3",
        ], results
    finally:
        server.stop(0.5)


def pki_files(layout, practice):
    from transport.tls import TlsFiles

    return TlsFiles.for_practice(layout, practice)


class _RawRequests:
    """A blocking request iterator of raw bytes, to speak the wire protocol by hand."""

    _END = object()

    def __init__(self) -> None:
        self._items: list[object] = []
        self._cond = threading.Condition()

    def put(self, item: object) -> None:
        with self._cond:
            self._items.append(item)
            self._cond.notify()

    def close(self) -> None:
        self.put(self._END)

    def __iter__(self):
        while True:
            with self._cond:
                while not self._items:
                    self._cond.wait()
                item = self._items.pop(0)
            if item is self._END:
                return
            yield item


def test_session_limit_refuses_extra_agents(pki):
    with (
        coordinator(pki, RecordingCoordinator(), PRACTICES, max_sessions=1) as server,
        agent(pki, "p01", server.port) as first,
    ):
        assert first.wait_connected(10)
        with agent(pki, "p02", server.port) as second:
            assert wait_until(lambda: "RESOURCE_EXHAUSTED" in (second.last_error or ""))
            assert not second.connected


def test_logs_never_contain_payloads(pki):
    marker = b"CPR-0101701234-PATIENT"
    handler = RecordingCoordinator()
    with captured_logs() as logs, coordinator(pki, handler, PRACTICES) as server:
        received = RecordingAgent()
        with agent(pki, "p01", server.port, received) as client:
            assert client.wait_connected(10)
            for seq, stage in [(0, "echo"), (1, "reject"), (2, "crash"), (0, "echo")]:
                client.send(envelope("p01", stage=stage, seq=seq, payload=marker))
            assert wait_until(
                lambda: (
                    len(handler.frames) == 3
                    and len(received.errors) == 2
                    and "duplicate_dropped" in logs.events()  # the last frame, handled last
                )
            )
        events = logs.events()
    text = "\n".join(logs.lines)
    assert "duplicate_dropped" in events and "frame_rejected" in events
    for needle in (marker.decode(), marker.hex(), repr(marker)[2:-1], "0101701234"):
        assert needle not in text
