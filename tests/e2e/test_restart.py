"""Fault: the coordinator dies mid-round, after some practices sent (and paid for)
their masked vectors. Restarted, it must abort that round with its reason in the
transparency log, release nothing partial, and run the period once more: a new
round the agents join only because the log proves the first aborted, with fresh
noise, charged again (docs/privacy.md, "Aborted periods")."""

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
from common.keyfiles import load_private_key
from klynge.demo import DemoOptions, prepare, stop_all
from privacy.transparency import TransparencyLog
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


def _receipts_logged(layout) -> int:
    """Receipts in the coordinator's log file, read as plain lines (it is being written)."""
    path = layout.coordinator_dir / "state" / "transparency.log"
    if not path.exists():
        return 0
    count = 0
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line being written
        count += record.get("type") == "entry" and record.get("kind") == "receipt"
    return count


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
    log_key = load_private_key(layout.coordinator_dir / "log.key")
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
        # A practice charges its ledger, then publishes its receipt, then sends: wait
        # for all five receipts in the log, or the crash may fall between the two.
        _wait(
            lambda: (
                all(_charges(layout, p) == 1 for p in ids[:-1]) and _receipts_logged(layout) == 5
            ),
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
        first, second = sorted(rounds, key=lambda r: r.created_at)
        assert first.state is RoundState.ABORTED and "restarted" in first.abort_reason
        assert second.state is RoundState.RELEASED
        # nothing partial, ever: the one release is the retry's
        assert [r.release.round_ids for r in releases if r.release.level == "cluster"] == [
            (second.id,)
        ]
        # the five who paid for the aborted round paid again for the retry, with fresh noise
        assert [_charges(layout, p) for p in ids] == [2, 2, 2, 2, 2, 0]
        log = TransparencyLog.open(layout.coordinator_dir / "state" / "transparency.log", log_key)
        aborted = [e.payload for e in log.entries("round_aborted")]
        assert [(a["round_id"], a["reason"], a["retry"]) for a in aborted] == [
            (first.id, "coordinator restarted", True)
        ]
        opened = [
            (e.payload["round_id"], e.payload["attempt"]) for e in log.entries("round_opened")
        ]
        assert opened == [(first.id, 1), (second.id, 2)]
        assert len(log.entries("receipt")) == 10
    finally:
        stop_all(procs)
