"""A session flood: Session streams from one valid certificate that never say Hello.

Used by the transport test (in-process coordinator) and the real-process test and
`benchmarks/sessions.py` (a coordinator process). Bounded in count and time; it
stops by itself, and only ever dials the loopback address it is given.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import grpc

from transport.frames import SESSION_METHOD
from transport.tls import TlsFiles, channel_credentials, load_tls


def _silent(stop: threading.Event):
    """A request stream that sends nothing until the flood stops."""
    stop.wait()
    return
    yield b""  # pragma: no cover - makes this a generator


@dataclass
class Flood:
    """Keep `streams` Hello-less streams open (re-opening each one that ends) until stopped."""

    target: str
    tls: TlsFiles
    streams: int = 500
    channels: int = 5
    outcomes: Counter[str] = field(default_factory=Counter)
    opened: int = 0

    def __post_init__(self) -> None:
        if not self.target.startswith(("127.", "localhost", "[::1]")):
            raise ValueError("a flood only ever targets loopback")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        credentials = channel_credentials(load_tls(self.tls))
        self._channels = [
            grpc.secure_channel(self.target, credentials) for _ in range(self.channels)
        ]
        self._threads: list[threading.Thread] = []

    def _one(self, channel: grpc.Channel, deadline: float) -> None:
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                call = channel.stream_stream(SESSION_METHOD)(_silent(self._stop))
            except ValueError:  # the channel was closed: the flood is over
                return
            with self._lock:
                self.opened += 1
            try:
                for _ in call:
                    pass  # a Hello-less stream is never welcomed; it just ends
                outcome = "ended"
            except grpc.RpcError as exc:
                outcome = exc.code().name if exc.code() else "error"
            with self._lock:
                self.outcomes[outcome] += 1
            if self._stop.is_set():
                return
            # Re-open at once would measure how fast two cores refuse, not whether a
            # full allowance crowds anyone out; 20 attempts a second per stream is plenty.
            time.sleep(0.05)

    def start(self, seconds: float) -> Flood:
        deadline = time.monotonic() + seconds
        for i in range(self.streams):
            thread = threading.Thread(
                target=self._one, args=(self._channels[i % self.channels], deadline), daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for channel in self._channels:
            channel.close()
        for thread in self._threads:
            thread.join(timeout=5)
