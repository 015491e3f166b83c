"""The coordinator's operational metrics, in the Prometheus text format.

Off by default; `[operations] metrics = "127.0.0.1:9464"` in `server.toml`
serves them on a local port for a scraper. What is counted is operational
only: rounds by outcome, connected sessions, how long each protocol stage
took, refusals by reason code. No label names a practice, and no value
depends on any practice's data (the release's figures never pass here).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

STAGE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)


class Metrics:
    """One coordinator's metrics in their own registry (so tests can hold several)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._rounds = Counter(
            "klynge_rounds",
            "Cluster rounds ended, by outcome (released or aborted).",
            ["outcome"],
            registry=self.registry,
        )
        self._sessions = Gauge(
            "klynge_sessions", "Practices connected now.", registry=self.registry
        )
        self._stages = Histogram(
            "klynge_stage_duration_seconds",
            "Time from a protocol stage's start to its close.",
            ["stage"],
            buckets=STAGE_BUCKETS,
            registry=self.registry,
        )
        self._refusals = Counter(
            "klynge_refusals",
            "Refusals by source (agent: a practice refused a round; trigger: the coordinator "
            "refused a manual round; fetch: a partner's fetch was refused) and reason code.",
            ["source", "reason"],
            registry=self.registry,
        )
        for outcome in ("released", "aborted"):
            self._rounds.labels(outcome)

    def round_ended(self, outcome: str, stages: list[tuple[str, float]]) -> None:
        self._rounds.labels(outcome).inc()
        for stage, seconds in stages:
            self._stages.labels(stage).observe(seconds)

    def sessions(self, n: int) -> None:
        self._sessions.set(n)

    def refused(self, reason: str, source: str = "trigger") -> None:
        self._refusals.labels(source, reason[:64]).inc()

    def serve(self, host: str, port: int) -> int:
        """Serve /metrics on host:port (port 0: a free one); returns the port."""
        server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return int(server.server_address[1])
