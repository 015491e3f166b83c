"""A real federation on loopback for the integrity attacks (no tests here).

`Federation` lays out the demo's deployment (synthetic practices, PKI, signed
manifest and registry, one agent directory per practice, the coordinator's
server.toml and log key) and runs real `klynge server run` and `klynge agent
run` processes against it. The checks every attack ends with are here too, so
each test states them in one line:

- `assert_nothing_leaked`: no patient id or birth date in anything the
  coordinator wrote;
- `assert_nothing_half_written`: the log verifies offline (its key, the
  registry's identity keys), the store passes SQLite's integrity check, every
  ledger verifies under its practice's key, and no temp file is left behind;
- `assert_nothing_double_charged`: a practice paid at most twice for a period,
  and twice only when the log shows the first round aborted.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w

from client.agent.config import AgentSettings, load_settings
from common.keyfiles import load_private_key
from klynge.demo import DemoLayout, DemoOptions, prepare, stop_all
from privacy.ledger import Charge, Ledger
from privacy.transparency import TransparencyLog
from server.store import Round, Store, StoredRelease

KLYNGE = [sys.executable, "-m", "klynge"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1", "KLYNGE_LANG": "en"}


def wait_for(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    end = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)


class Federation:
    """One cluster of practices, a coordinator, and the processes started against them."""

    def __init__(self, tmp_path: Path, *, practices: int = 6, periods: int = 1, **options: Any):
        self.options = DemoOptions(
            out=tmp_path / "fed",
            practices=practices,
            clusters=1,
            patients=200,
            periods=periods,
            **{"region_round": False, **options},  # the faults are on cluster rounds
        )
        self.layout: DemoLayout = prepare(self.options)
        self.ids = sorted(self.layout.agent_configs)
        self.procs: list[subprocess.Popen] = []
        self.coordinator: subprocess.Popen | None = None
        self.log_key = load_private_key(self.layout.coordinator_dir / "log.key")
        self.log_path = self.dir / "state" / "transparency.log"
        self.coordinator_log = self.dir / "coordinator.log"

    def move_state(self, directory: Path) -> None:
        """Keep everything the coordinator writes (store, logs, state) in `directory`."""
        self.server_config(
            coordinator={
                "store": str(directory / "coordinator.sqlite"),
                "log": str(directory / "coordinator.log"),
                "state_dir": str(directory / "state"),
            },
            transparency={"log": str(directory / "state" / "transparency.log")},
        )
        self.layout = dataclasses.replace(self.layout, store=directory / "coordinator.sqlite")
        self.log_path = directory / "state" / "transparency.log"
        self.coordinator_log = directory / "coordinator.log"

    # --- configuration -------------------------------------------------------------------

    @property
    def dir(self) -> Path:
        return self.layout.coordinator_dir

    @property
    def port_file(self) -> Path:
        return self.dir / "coordinator.port"

    def server_config(self, **sections: dict[str, Any]) -> None:
        """Change server.toml: each keyword is a section whose keys are set."""
        config = tomllib.loads(self.layout.server_config.read_text())
        for section, values in sections.items():
            config.setdefault(section, {}).update(values)
        self.layout.server_config.write_text(tomli_w.dumps(config))

    def settings(self, practice: str) -> AgentSettings:
        return load_settings(self.layout.agent_configs[practice])

    def output(self, name: str) -> Path:
        return self.layout.logs / f"{name}.out"

    # --- processes -----------------------------------------------------------------------

    def start(self, name: str, *args: str) -> subprocess.Popen:
        with open(self.output(name), "ab") as out:
            proc = subprocess.Popen(
                [*KLYNGE, *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=ENV,
                start_new_session=True,
            )
        self.procs.append(proc)
        return proc

    def start_coordinator(self) -> subprocess.Popen:
        self.port_file.unlink(missing_ok=True)
        self.coordinator = self.start(
            "coordinator", "server", "run", "--config", str(self.layout.server_config)
        )
        wait_for(
            lambda: self.port_file.exists() or self.coordinator.poll() is not None,
            60,
            "the coordinator's port",
        )
        assert self.coordinator.poll() is None, self.output("coordinator").read_text()[-2000:]
        return self.coordinator

    def kill_coordinator(self) -> None:
        """kill -9: a crash, not a shutdown."""
        assert self.coordinator is not None
        os.killpg(self.coordinator.pid, signal.SIGKILL)
        self.coordinator.wait()

    def start_agents(self, practices: list[str], *extra: str, name: str = "agents") -> Any:
        args = ["agent", "run"]
        for practice in practices:
            args += ["--config", str(self.layout.agent_configs[practice])]
        return self.start(name, *args, *extra)

    def klynge(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """A command run to completion, as an operator would run it."""
        return subprocess.run(
            [*KLYNGE, *args], capture_output=True, text=True, env=ENV, timeout=timeout
        )

    def verify_log_cli(self, *extra: str) -> subprocess.CompletedProcess[str]:
        """`klynge audit verify-log` on the coordinator's log, under its log key."""
        return self.klynge(
            "audit",
            "verify-log",
            str(self.log_path),
            "--log-key",
            str(self.dir / "log.key.pub"),
            *extra,
        )

    def stop(self) -> None:
        stop_all(self.procs)

    # --- what the parts hold ---------------------------------------------------------------

    def rounds(self) -> list[Round]:
        with Store.open(self.layout.store) as store:
            return sorted(store.rounds(), key=lambda r: r.created_at)

    def releases(self) -> list[StoredRelease]:
        with Store.open(self.layout.store) as store:
            return store.releases()

    def log(self) -> TransparencyLog:
        """The coordinator's log, verified (open it only while no coordinator appends)."""
        return TransparencyLog.open(self.log_path, self.log_key)

    def ledger(self, practice: str) -> Ledger:
        settings = self.settings(practice)
        return Ledger.open(settings.ledger_dir, key=load_private_key(settings.identity_key))

    def charges(self, practice: str) -> list[Charge]:
        return self.ledger(practice).charges()

    def status(self, practice: str) -> dict[str, Any]:
        path = self.settings(practice).status_path
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            return {}

    def reached(self, practice: str, stage: str) -> bool:
        last = self.status(practice).get("last_round") or {}
        return last.get("stage") == stage

    def events(self, name: str) -> list[dict[str, Any]]:
        """JSON log lines a process wrote to its output (agents log to stderr)."""
        return _json_lines(self.output(name))

    def coordinator_events(self) -> list[dict[str, Any]]:
        return _json_lines(self.coordinator_log)


def _json_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue  # a line still being written
    return out


# --- the checks every attack ends with --------------------------------------------------------


def assert_nothing_leaked(fed: Federation) -> None:
    places = {fed.dir, fed.layout.store.parent, fed.log_path.parent}
    written = {
        p
        for place in places
        for p in place.rglob("*")
        if p.is_file() and p.suffix not in (".toml", ".key", ".reserve")
    }
    text = b"".join(p.read_bytes() for p in written).decode("utf-8", errors="replace")
    for practice in fed.layout.federation.practices:
        extract = fed.layout.federation.extract_dir(practice) / "patients.csv"
        for row in extract.read_text().splitlines()[1:]:
            patient_id, birth, *_ = row.split(",")
            assert patient_id not in text, f"patient id {patient_id} reached the coordinator"
            if birth < "2025-01-01":  # later dates are reference dates and timestamps
                assert birth not in text


def assert_nothing_half_written(fed: Federation) -> None:
    verified = fed.verify_log_cli(
        "--registry",
        str(fed.layout.out / "registry.json"),
        "--registry-authority",
        str(fed.layout.out / "authority" / "registry-authority.pub"),
    )
    assert verified.returncode == 0, verified.stderr + verified.stdout
    with Store.open(fed.layout.store) as store:  # runs SQLite's quick check
        assert store.rounds() is not None
    for practice in fed.ids:
        fed.ledger(practice)  # every entry's signature and the chain
    leftovers = [p for p in fed.layout.out.rglob("*.tmp")]
    assert leftovers == [], leftovers


def assert_nothing_double_charged(fed: Federation) -> None:
    log = fed.log()
    aborted = {str(e.payload["round_id"]) for e in log.entries("round_aborted")}
    for practice in fed.ids:
        periods: dict[tuple[str, str], list[str]] = defaultdict(list)
        for charge in fed.charges(practice):
            r = charge.receipt
            periods[r.manifest_hash, r.reference_date.isoformat()].append(r.round_id)
        for period, rounds in periods.items():
            assert len(rounds) <= 2, (practice, period, rounds)
            assert len(set(rounds)) == len(rounds), (practice, period, rounds)
            if len(rounds) == 2:
                assert rounds[0] in aborted, (practice, period, rounds)
