"""The session layer and the coordinator's dispatcher, with no sockets: interleavings by hand.

Sessions here are the real `CoordinatorSideSession` with no gRPC stream
behind it: what the coordinator would send is read back from its queue.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

import grpc
import pytest

from common.errors import KlyngeError
from protocols.envelope import (
    COORDINATOR_SENDER,
    DEFAULT_MAX_PAYLOAD_BYTES,
    DedupWindow,
    Envelope,
    ErrorCode,
    FrameRejected,
)
from protocols.generated import klynge_pb2 as pb
from tests.logcapture import captured_logs
from transport.dispatch import Dispatcher
from transport.server import CoordinatorHandler, CoordinatorSideSession
from transport.session import StreamEnd, deliver
from transport.tls import PeerIdentity

LOG = logging.getLogger("klynge.transport.unit")


def session(practice_id: str, outbound_frames: int = 16) -> CoordinatorSideSession:
    peer = PeerIdentity(practice_id, "0" * 64)
    return CoordinatorSideSession(
        peer, "ipv4:127.0.0.1:1", outbound_frames, DEFAULT_MAX_PAYLOAD_BYTES, LOG
    )


def queued(s: CoordinatorSideSession) -> list[pb.CoordinatorFrame | StreamEnd]:
    """Everything queued for the agent so far, in order."""
    items: list[pb.CoordinatorFrame | StreamEnd] = []
    while (item := s.next_frame(timeout=0)) is not None:
        items.append(item if isinstance(item, StreamEnd) else pb.CoordinatorFrame.FromString(item))
    return items


def bodies(items: list[pb.CoordinatorFrame | StreamEnd]) -> list[str]:
    return ["end" if isinstance(i, StreamEnd) else i.WhichOneof("body") for i in items]


def next_stage(seq: int) -> Envelope:
    return Envelope("r1", "share_keys", COORDINATOR_SENDER, seq, b"keys")


@dataclass
class ClosingStage(CoordinatorHandler):
    """A one-stage round: the first answer in closes the stage and sends everyone the next."""

    sessions: dict[str, CoordinatorSideSession]
    received: list[tuple[str, int]] = field(default_factory=list)
    sent: dict[str, bool] = field(default_factory=dict)
    gone: list[str] = field(default_factory=list)

    def on_frame(self, session: CoordinatorSideSession, envelope: Envelope) -> None:
        self.received.append((session.practice_id, envelope.seq))
        for seq, (practice, target) in enumerate(self.sessions.items()):
            self.sent[practice] = target.send(next_stage(seq))

    def on_disconnect(self, session: CoordinatorSideSession, reason: str) -> None:
        self.gone.append(session.practice_id)


def test_a_practice_leaving_as_the_stage_closes_does_not_fail_another_practices_message():
    """The flaky round: b's stream ends, then a's answer closes the stage, then b's disconnect.

    Before the fix, the send to b raised, so the dispatcher refused *a's*
    message (Error REJECTED), c never got its next stage, and the round fell
    below its minimum. Now the send to b is dropped with a log line.
    """
    a, b, c = session("a"), session("b"), session("c")
    handler = ClosingStage({"a": a, "b": b, "c": c})
    dispatcher = Dispatcher(handler, dedup_capacity=100, log=LOG)
    answer = Envelope("r1", "advertise_keys", "a", 7, b"pk")
    with captured_logs() as logs:
        b._end()  # b's agent left: its reader thread ended the stream ...
        dispatcher.frame(a, answer)  # ... a's answer was already queued for dispatch ...
        dispatcher.disconnected(b, "agent closed the stream")  # ... b's goodbye comes after it
        dispatcher.start()
        dispatcher.stop(timeout=5)  # hands over everything queued, in order, then ends

    assert handler.received == [("a", 7)]
    assert handler.sent == {"a": True, "b": False, "c": True}
    assert handler.gone == ["b"]
    to_a = queued(a)
    assert bodies(to_a) == ["envelope", "ack"]  # the next stage, then a's answer accepted
    assert (to_a[1].ack.seq, to_a[1].ack.duplicate) == (7, False)
    assert bodies(queued(c)) == ["envelope"]
    assert bodies(queued(b)) == ["end"]
    lines = [json.loads(line) for line in logs.lines]
    assert [line["event"] for line in lines] == ["send_dropped"]
    assert {k: lines[0][k] for k in ("practice_id", "session_id", "frame", "stage", "reason")} == {
        "practice_id": "b",
        "session_id": b.session_id,
        "frame": "envelope",
        "stage": "share_keys",
        "reason": "session closed",
    }


def test_replies_to_a_session_that_ended_are_dropped_not_raised():
    """Closed by the coordinator (superseded) while its own frame waited: ack and error too."""
    a = session("a")
    handler = ClosingStage({"a": a})
    dispatcher = Dispatcher(handler, dedup_capacity=100, log=LOG)
    with captured_logs() as logs:
        a.close(ErrorCode.SUPERSEDED, "replaced", grpc.StatusCode.ABORTED)
        dispatcher.deliver(a, Envelope("r1", "s", "a", 1, b""))
        dispatcher.deliver(a, Envelope("r1", "s", "a", 1, b""))  # a resend: duplicate
        assert a.refuse(ErrorCode.REJECTED, "late") is False
    assert handler.received == [("a", 1)]
    items = queued(a)
    assert bodies(items) == ["error", "end"]  # only what close() queued
    assert items[0].error.code == ErrorCode.SUPERSEDED and items[1].status.name == "ABORTED"
    events = [(e["event"], e.get("frame")) for e in map(json.loads, logs.lines)]
    assert events == [
        ("send_dropped", "envelope"),
        ("send_dropped", "ack"),
        ("duplicate_dropped", None),
        ("send_dropped", "ack"),
        ("send_dropped", "error"),
    ]


def test_an_agent_that_does_not_read_is_closed_and_the_send_dropped():
    a = session("a", outbound_frames=2)
    with captured_logs() as logs:
        assert a.send(next_stage(0)) and a.send(next_stage(1))
        assert a.send(next_stage(2)) is False
    assert not a.is_open
    items = queued(a)
    assert bodies(items) == ["envelope", "envelope", "end"]  # no room for the Error frame
    assert items[-1].status == grpc.StatusCode.RESOURCE_EXHAUSTED
    [line] = [json.loads(line) for line in logs.lines]
    assert (line["event"], line["reason"], line["seq"]) == ("send_dropped", "backlog full", 2)


@dataclass
class Refusing(CoordinatorHandler):
    def on_frame(self, session: CoordinatorSideSession, envelope: Envelope) -> None:
        if envelope.stage == "rejected":
            raise FrameRejected("stage closed", ErrorCode.OUT_OF_ORDER)
        if envelope.stage == "invalid":
            raise KlyngeError("no such participant")
        if envelope.stage == "crash":
            raise RuntimeError("CPR 0101701234")


@pytest.mark.parametrize(
    ("stage", "code", "reason", "failure"),
    [
        ("accepted", None, "", None),
        ("rejected", ErrorCode.OUT_OF_ORDER, "stage closed", None),
        ("invalid", ErrorCode.REJECTED, "no such participant", None),
        ("crash", ErrorCode.INTERNAL, "failed here", "RuntimeError"),
    ],
)
def test_deliver_maps_what_the_handler_raises_to_a_refusal(stage, code, reason, failure):
    seen = DedupWindow(10)
    envelope = Envelope("r1", stage, "a", 1, b"")
    done = deliver(Refusing(), session("a"), envelope, seen, failed="failed here")
    assert (done.duplicate, done.code, done.reason, done.failure) == (False, code, reason, failure)
    assert done.refused is (code is not None)
    assert deliver(Refusing(), session("a"), envelope, seen, failed="x").duplicate
