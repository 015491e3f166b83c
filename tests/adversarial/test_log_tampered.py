"""The transparency log tampered with: a flipped byte, a torn last line, a history
rewritten under the log key with a new, consistent-looking head.

The coordinator refuses to start on a log that does not verify, or that does
not extend the last head it recorded, with one line. A history rewritten
together with a fresh store (the operator covering their tracks) gets past the
coordinator, but not past the practices: each remembers the last head it saw,
asks for a consistency proof before the next round, and refuses the round,
charging nothing. `klynge audit verify-log` against a head a practice saw
shows the rewrite to any reviewer.
"""

from __future__ import annotations

import json
import shutil

import pytest

from privacy.log_entries import Kind
from privacy.transparency import TransparencyLog
from server.store import RoundState

from .integrity_support import (
    Federation,
    assert_nothing_double_charged,
    assert_nothing_leaked,
    wait_for,
)

pytestmark = pytest.mark.e2e


def _one_line_refusal(fed: Federation, fragment: str) -> None:
    fed.port_file.unlink(missing_ok=True)
    result = fed.klynge("server", "run", "--config", str(fed.layout.server_config))
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert "refusing to start" in lines[0] and fragment in lines[0], lines[0]
    assert not fed.port_file.exists()


def _rewrite_history(fed: Federation) -> None:
    """Same size, same key, every head validly signed: a different past."""
    size = len(fed.log())
    fed.log_path.unlink()
    forged = TransparencyLog.open(fed.log_path, fed.log_key)
    for i in range(size):
        forged.append(
            Kind.ROUND_ABORTED,
            {
                "round_id": f"nothing-happened-{i}",
                "cluster": "K01",
                "reference_date": "2026-09-30",
                "manifest_hash": "0" * 64,
                "reason": "rewritten",
                "attempt": 1,
                "retry": False,
            },
        )


def test_a_tampered_log_stops_the_coordinator_or_the_practices(tmp_path):
    fed = Federation(tmp_path, periods=2)
    second_period = fed.options.reference_dates[-1]
    fed.server_config(rounds={"schedule": [fed.options.reference_dates[0].isoformat()]})
    try:
        fed.start_coordinator()
        agents = fed.start_agents(fed.ids, "--once", "--timeout", "240")
        assert agents.wait(300) == 0, fed.output("agents").read_text()[-2000:]
        fed.stop()
    finally:
        fed.stop()
    assert [r.state for r in fed.rounds()] == [RoundState.RELEASED]
    original = fed.log_path.read_bytes()
    seen = json.loads(fed.settings(fed.ids[0]).log_head_path.read_text())

    # 1. one flipped byte, anywhere in an entry
    flipped = bytearray(original)
    flipped[len(original) // 2] ^= 0x04
    fed.log_path.write_bytes(bytes(flipped))
    _one_line_refusal(fed, "does not verify")

    # 2. a torn last line (an interrupted write, or a cut file)
    fed.log_path.write_bytes(original[:-37])
    _one_line_refusal(fed, "last line is incomplete")

    # 3. a rewritten history with a consistent-looking head, signed with the log key
    fed.log_path.write_bytes(original)
    _rewrite_history(fed)
    _one_line_refusal(fed, "does not extend the tree head")
    result = fed.verify_log_cli("--expect-head", f"{seen['tree_size']}:{seen['root']}")
    assert result.returncode != 0 and "history was rewritten" in result.stderr, result.stderr

    # 4. ... and the store replaced too: the coordinator starts, the practices refuse
    charged_before = {p: len(fed.charges(p)) for p in fed.ids}
    store = fed.layout.store
    for path in store.parent.glob(store.name + "*"):
        shutil.move(path, tmp_path / path.name)
    fed.server_config(
        rounds={"schedule": [second_period.isoformat()], "ready_after_s": 60, "max_attempts": 1}
    )
    try:
        fed.start_coordinator()
        fed.start_agents(fed.ids, name="agents-2")
        wait_for(
            lambda: [r.state for r in fed.rounds()] == [RoundState.ABORTED],
            120,
            "the round on the rewritten log to end",
        )
    finally:
        fed.stop()
    refusals = {
        e["practice_id"]: (e["reason"], e["detail"])
        for e in fed.events("agents-2")
        if e.get("event") == "round_refused"
    }
    assert set(refusals) == set(fed.ids)
    for reason, detail in refusals.values():
        assert reason == "log_unverifiable" and "does not extend the head" in detail
    assert {p: len(fed.charges(p)) for p in fed.ids} == charged_before  # nothing charged
    assert fed.releases() == []
    assert_nothing_leaked(fed)
    assert_nothing_double_charged(fed)
