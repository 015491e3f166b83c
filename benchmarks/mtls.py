"""Envelope round trips over mutual TLS on loopback, against an in-process baseline.

    python benchmarks/mtls.py [--messages 200] [--vector 4096]

Measures, in one run on this machine:
- latency: agent sends an envelope, the coordinator's handler echoes it, the
  agent's handler receives the echo (median and p95 over `--messages`);
- the same round trip with a SecAgg-sized payload (`--vector` × 8 bytes);
- throughput: `--messages` payload-sized envelopes pipelined, each echoed back;
- a unary `Fetch` round trip over the same mTLS;
- baselines: the echo as a plain in-process function call, and the in-process
  protobuf encode+decode of the same frame (the floor any transport pays).

Prints one JSON object. Certificates are generated in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from protocols.envelope import COORDINATOR_SENDER, Envelope, FetchResult
from protocols.generated import klynge_pb2 as pb
from transport.admission import allow_list
from transport.client import AgentConfig, AgentHandler, AgentTransport
from transport.pki import PkiLayout, init_pki, issue_practices
from transport.server import CoordinatorConfig, CoordinatorHandler, CoordinatorTransport
from transport.tls import TlsFiles

PRACTICE = "P0001"


def _echo(envelope: Envelope) -> Envelope:
    return Envelope(
        round_id=envelope.round_id,
        stage=envelope.stage,
        sender=COORDINATOR_SENDER,
        seq=envelope.seq,
        payload=envelope.payload,
        kind=envelope.kind,
    )


class EchoCoordinator(CoordinatorHandler):
    def on_frame(self, session, envelope):  # type: ignore[no-untyped-def]
        session.send(_echo(envelope))


class Collector(AgentHandler):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.target = 0
        self.done = threading.Event()

    def expect(self, n: int) -> None:
        with self.lock:
            self.count, self.target = 0, n
            self.done.clear()

    def on_frame(self, session, envelope):  # type: ignore[no-untyped-def]
        with self.lock:
            self.count += 1
            if self.count >= self.target:
                self.done.set()


def _summary(samples_ns: list[int]) -> dict[str, float]:
    ordered = sorted(samples_ns)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_us": round(statistics.median(ordered) / 1000, 2),
        "p95_us": round(p95 / 1000, 2),
        "min_us": round(ordered[0] / 1000, 2),
        "n": len(ordered),
    }


def _round_trips(
    agent: AgentTransport, collector: Collector, payload: bytes, n: int, stage: str, start: int
) -> list[int]:
    samples = []
    for i in range(n):
        collector.expect(1)
        envelope = Envelope("bench", stage, PRACTICE, start + i, payload, "Bench")
        t0 = time.perf_counter_ns()
        agent.send(envelope)
        if not collector.done.wait(10):
            raise RuntimeError(f"echo {i} did not arrive")
        samples.append(time.perf_counter_ns() - t0)
    return samples


def _baselines(payload: bytes, n: int) -> dict[str, object]:
    envelope = Envelope("bench", "baseline", PRACTICE, 1, payload, "Bench")
    received: list[Envelope] = []
    calls = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        received.append(_echo(envelope))
        calls.append(time.perf_counter_ns() - t0)
    codec = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        raw = pb.AgentFrame(envelope=envelope.to_proto()).SerializeToString()
        Envelope.from_proto(pb.AgentFrame.FromString(raw).envelope)
        codec.append(time.perf_counter_ns() - t0)
    return {"function_call": _summary(calls), "protobuf_encode_decode": _summary(codec)}


def run(messages: int, vector: int) -> dict[str, object]:
    logging.getLogger("klynge.transport").setLevel(logging.WARNING)
    small = os.urandom(64)
    large = os.urandom(vector * 8)
    with tempfile.TemporaryDirectory() as tmp:
        layout = PkiLayout(Path(tmp))
        now = datetime.now(UTC)
        init_pki(layout, now=now)
        issue_practices(layout, [PRACTICE], now=now)

        def fetch(peer, query):  # type: ignore[no-untyped-def]
            return FetchResult("bench", "application/octet-stream", small)

        server = CoordinatorTransport(
            TlsFiles.for_server(layout),
            EchoCoordinator(),
            allow_list([PRACTICE]),
            config=CoordinatorConfig(address="127.0.0.1:0"),
            fetch=fetch,
        )
        port = server.start()
        collector = Collector()
        agent = AgentTransport(
            AgentConfig(target=f"127.0.0.1:{port}", tls=TlsFiles.for_practice(layout, PRACTICE)),
            collector,
        )
        try:
            t0 = time.perf_counter()
            agent.start()
            if not agent.wait_connected(10):
                raise RuntimeError(f"agent did not connect: {agent.last_error}")
            connect_ms = (time.perf_counter() - t0) * 1000
            _round_trips(agent, collector, small, 20, "warmup", 0)  # warm up
            small_rt = _round_trips(agent, collector, small, messages, "small", 0)
            large_rt = _round_trips(agent, collector, large, messages, "large", 0)

            collector.expect(messages)
            t0 = time.perf_counter()
            for i in range(messages):
                agent.send(Envelope("bench", "pipelined", PRACTICE, i, large, "Bench"))
            if not collector.done.wait(60):
                raise RuntimeError("pipelined echoes did not all arrive")
            elapsed = time.perf_counter() - t0

            fetches = []
            for _ in range(messages):
                t1 = time.perf_counter_ns()
                agent.fetch("cluster", timeout=10)
                fetches.append(time.perf_counter_ns() - t1)
        finally:
            agent.close()
            server.stop(1.0)
    return {
        "benchmark": "transport",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "connect_handshake_ms": round(connect_ms, 1),
        "mtls_round_trip_64B": _summary(small_rt),
        "mtls_round_trip_vector": {"payload_bytes": len(large), **_summary(large_rt)},
        "mtls_pipelined_vector": {
            "messages": messages,
            "payload_bytes": len(large),
            "seconds": round(elapsed, 4),
            "messages_per_s": round(messages / elapsed, 1),
            "MiB_per_s_each_way": round(messages * len(large) / elapsed / 2**20, 1),
        },
        "mtls_fetch_unary_64B": _summary(fetches),
        "baseline_in_process_64B": _baselines(small, messages),
        "baseline_in_process_vector": _baselines(large, messages),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--vector", type=int, default=4096, help="values of 8 bytes each")
    args = parser.parse_args()
    print(json.dumps(run(args.messages, args.vector), indent=2))


if __name__ == "__main__":
    main()
