"""Fault: the coordinator dies mid-round, after some practices sent (and paid for)
their masked vectors. Restarted, it must abort that round, release nothing
partial, and no practice may be charged twice for the same period."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
import tomli_w

from client.agent.config import load_settings
from klynge.demo import DemoOptions, prepare, stop_all
from server.store import RoundState, Store

pytestmark = pytest.mark.e2e


def _start(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "klynge", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", "KLYNGE_LANG": "en"},
            start_new_session=True,
        )


def _wait(condition, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _charges(layout, practice: str) -> int:
    ledger = load_settings(layout.agent_configs[practice]).ledger_dir / "ledger.jsonl"
    return sum(
        1 for line in ledger.read_text().splitlines() if json.loads(line).get("kind") == "charge"
    )


def _rounds(layout) -> list:
    store = Store.open(layout.store)
    try:
        return store.rounds(), store.releases()
    finally:
        store.close()


def test_coordinator_restart_mid_round(tmp_path):
    options = DemoOptions(
        out=tmp_path / "demo",
        practices=6,
        clusters=1,
        patients=200,
        stage_timeout_s=60.0,
        region_round=False,  # one cluster round, restarted
    )
    layout = prepare(options)
    # The first round waits for all six practices (the default). The coordinator uses
    # port 0, as in the demo: restarted, it gets a new port, and the agents find it
    # again through the port file it writes.
    ids = sorted(layout.agent_configs)
    coordinator_args = ["server", "run", "--config", str(layout.server_config)]
    port_file = layout.coordinator_dir / "coordinator.port"
    procs = []
    try:
        coordinator = _start(coordinator_args, layout.logs / "coordinator.out")
        procs.append(coordinator)
        _wait(port_file.exists, 30, "the coordinator's port")
        agent_args = ["agent", "run"]
        for pid in ids[:-1]:
            agent_args += ["--config", str(layout.agent_configs[pid])]
        procs.append(_start(agent_args, layout.logs / "agents.out"))
        hung = ids[-1]  # sends its shares, then hangs: the round waits for its masked input
        procs.append(
            _start(
                [
                    "agent",
                    "run",
                    "--config",
                    str(layout.agent_configs[hung]),
                    "--stall-after",
                    f"{hung}:SHARE_KEYS",
                ],
                layout.logs / "hung.out",
            )
        )
        _wait(
            lambda: all(_charges(layout, p) == 1 for p in ids[:-1]),
            60,
            "five practices to pay for and send their masked vectors",
        )
        os.killpg(coordinator.pid, signal.SIGKILL)  # a crash, not a shutdown
        coordinator.wait()
        rounds, releases = _rounds(layout)
        assert [r.state for r in rounds] == [RoundState.RUNNING] and releases == []

        stop_all([procs.pop()])  # the hung practice goes away for good
        port_file.unlink()
        config = tomllib.loads(layout.server_config.read_text())
        config["rounds"]["ready_after_s"] = 1  # restarted: go with whoever is there
        layout.server_config.write_text(tomli_w.dumps(config))
        procs[0] = _start(coordinator_args, layout.logs / "coordinator.out")
        _wait(
            lambda: (
                len(_rounds(layout)[0]) == 2
                and all(r.state is not RoundState.RUNNING for r in _rounds(layout)[0])
            ),
            60,
            "the restarted coordinator's round to end",
        )
        rounds, releases = _rounds(layout)
        assert releases == []  # nothing partial, ever
        first, second = sorted(rounds, key=lambda r: r.created_at)
        assert first.state is RoundState.ABORTED and "restarted" in first.abort_reason
        assert second.state is RoundState.ABORTED
        # no practice was charged twice: those who paid refuse the repeat for this period
        assert [_charges(layout, p) for p in ids] == [1, 1, 1, 1, 1, 0]
        events = [
            json.loads(line)
            for line in (layout.coordinator_dir / "coordinator.log").read_text().splitlines()
        ]
        refusals = {e["practice"]: e["reason"] for e in events if e["event"] == "agent_refused"}
        assert refusals == dict.fromkeys(ids[:-1], "already_contributed")
    finally:
        stop_all(procs)
