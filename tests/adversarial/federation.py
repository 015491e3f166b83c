"""A live federation for attack tests: the demo's real parts, started piece by piece.

`klynge.demo.prepare` lays out practices, PKI, authority keys, a signed manifest,
agent configs and server.toml; here the coordinator is a real `klynge server run`
process, honest agents are `klynge agent run` processes, and an attacked or faulty
practice may run in this process (a real `AgentDaemon`: real transport, mTLS and
agent code) so a test can bend one thing about it. Everything stops by itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from client.agent.config import load_settings
from client.agent.daemon import AgentDaemon, start_agents
from client.agent.startup import load_agent
from klynge.demo import (
    DemoLayout,
    DemoOptions,
    prepare,
    round_rows,
    start_coordinator,
    stop_all,
)
from privacy.ledger import Ledger


@dataclass
class LiveFederation:
    layout: DemoLayout
    options: DemoOptions
    procs: list[subprocess.Popen] = field(default_factory=list)
    daemons: list[AgentDaemon] = field(default_factory=list)
    coordinator: subprocess.Popen | None = None
    port: int | None = None

    @classmethod
    def prepare(cls, root: Path, **options: object) -> LiveFederation:
        settings: dict[str, object] = {
            "practices": 6,
            "clusters": 1,
            "patients": 120,
            "stage_timeout_s": 4.0,
            "timeout_s": 120.0,
            "no_dp": True,
            # The attacks are on cluster rounds; a region-wide round beside each would
            # double every process's work and every assertion's bookkeeping.
            "region_round": False,
        }
        settings.update(options)
        opts = DemoOptions(out=root / "demo", **settings)  # type: ignore[arg-type]
        return cls(prepare(opts), opts)

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "PYTHONUNBUFFERED": "1"}

    def practices(self, cluster: str | None = None) -> list[str]:
        fed = self.layout.federation
        chosen = fed.practices_in(cluster) if cluster else fed.practices
        return [p.id for p in chosen]

    def start_coordinator(self) -> int:
        self.coordinator, self.port = start_coordinator(self.layout, self.env, self.procs, 60)
        return self.port

    def agent_process(self, practices: list[str], *extra: str, name: str = "") -> subprocess.Popen:
        args = [
            sys.executable,
            "-m",
            "klynge",
            "agent",
            "run",
            "--once",
            "--timeout",
            str(self.options.timeout_s),
        ]
        for pid in practices:
            args += ["--config", str(self.layout.agent_configs[pid])]
        with open(self.layout.logs / f"agents-{name or practices[0]}.out", "ab") as log:
            proc = subprocess.Popen(
                [*args, *extra],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def agents_here(self, practices: list[str]) -> list[AgentDaemon]:
        """Real agent daemons in this process (so a test can bend one of them)."""
        settings = [load_settings(self.layout.agent_configs[p]) for p in practices]
        daemons = start_agents(settings)
        self.daemons.extend(daemons)
        return daemons

    def daemon(self, practice: str) -> AgentDaemon:
        """One practice's real agent daemon, loaded but not started (patch it, then start)."""
        settings = load_settings(self.layout.agent_configs[practice])
        daemon = AgentDaemon(
            settings,
            load_agent(settings, today=date.today()),
            target=settings.coordinator.target(),
        )
        self.daemons.append(daemon)
        return daemon

    def rounds(self) -> list[tuple[str, date, str]]:
        return round_rows(self.layout.store)

    def wait_for_rounds(self, clusters: set[str], timeout: float = 120.0) -> dict[str, str]:
        """(cluster -> state) once each named cluster's round has ended."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ended = {c: s for c, _, s in self.rounds() if s in ("released", "aborted")}
            if clusters <= set(ended):
                return {c: ended[c] for c in clusters}
            assert self.coordinator is None or self.coordinator.poll() is None, (
                self.coordinator_output()
            )
            time.sleep(0.2)
        raise AssertionError(
            f"rounds did not end: {self.rounds()}\n"
            f"{self.coordinator_output()}\n{self.agent_tails()}"
        )

    def agent_tails(self, lines: int = 8) -> str:
        """The last lines each agent process wrote: why a round never opened."""
        tails = []
        for log in sorted(self.layout.logs.glob("agents-*.out")):
            text = log.read_text(errors="replace").splitlines()[-lines:]
            tails.append(f"== {log.name}\n" + "\n".join(text))
        return "\n".join(tails)

    def coordinator_events(self) -> list[dict[str, object]]:
        path = self.layout.coordinator_dir / "coordinator.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def coordinator_output(self) -> str:
        path = self.layout.logs / "coordinator.out"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""

    def ledger(self, practice: str) -> Ledger:
        return Ledger.open(load_settings(self.layout.agent_configs[practice]).ledger_dir)

    def kill(self, proc: subprocess.Popen) -> None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def rss_kib(self) -> int:
        assert self.coordinator is not None
        for line in Path(f"/proc/{self.coordinator.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def stop(self) -> None:
        for daemon in self.daemons:
            daemon.stop()
        stop_all(self.procs)

    def __enter__(self) -> LiveFederation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
