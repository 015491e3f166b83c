"""The disk under the coordinator's store and log fills up in the middle of a round.

Real processes, and a real full disk: a small tmpfs holds everything the
coordinator writes (store, transparency log, its own log), filled to the last
byte while a round runs. The practices' receipts can no longer be logged, so
none of them sends its vector; the coordinator frees its reserve, records the
abort and its reason in the store and the log well within the stage deadline,
prints one line (never a traceback) about the log file it cannot write, and
opens no round until space is back. Then the period runs again and is released.
Needs root (to mount the tmpfs); skipped otherwise.
"""

from __future__ import annotations

import errno
import os
import subprocess
import time

import pytest

from server.store import RoundState

from .integrity_support import (
    Federation,
    assert_nothing_double_charged,
    assert_nothing_half_written,
    assert_nothing_leaked,
    wait_for,
)

pytestmark = pytest.mark.e2e
STAGE_TIMEOUT_S = 20.0


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "disk"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(directory) -> None:
    """Write until the disk has not one byte left."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while os.write(fd, b"\xff" * size) == size:
                    pass
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_a_full_disk_aborts_the_round_with_its_reason_and_the_period_runs_again(
    tmp_path, small_disk
):
    fed = Federation(tmp_path, stage_timeout_s=STAGE_TIMEOUT_S)
    fed.move_state(small_disk)
    fed.server_config(rounds={"retry_after_s": 1})
    hung, others = fed.ids[-1], fed.ids[:-1]
    try:
        fed.start_coordinator()
        fed.start_agents(others)
        # One practice hangs after advertising keys, so the round waits in SHARE_KEYS
        # (until its stage deadline) while the disk fills.
        hung_proc = fed.start_agents([hung], "--stall-after", f"{hung}:ANNOUNCE", name="hung")
        wait_for(
            lambda: all(fed.reached(p, "SHARE_KEYS") for p in others),
            120,
            "five practices to share their keys while one hangs",
        )
        _fill(small_disk)
        filled = time.monotonic()
        wait_for(
            lambda: fed.rounds() and fed.rounds()[0].state is RoundState.ABORTED,
            STAGE_TIMEOUT_S * 3,
            "the round to abort on the full disk",
        )
        aborted_after = time.monotonic() - filled
        [first] = fed.rounds()
        assert fed.releases() == []
        hung_proc.terminate()
        hung_proc.wait(30)
        (small_disk / "filler").unlink()  # the operator frees space
        fed.start_agents([hung], name="back")  # and the practice that hung is back
        wait_for(
            lambda: [r.state for r in fed.rounds()] == [RoundState.ABORTED, RoundState.RELEASED],
            300,  # a practice restarting on a loaded machine takes a while
            "the period to run again once space is back",
        )
    finally:
        fed.stop()

    assert aborted_after < STAGE_TIMEOUT_S * 2, aborted_after
    assert "could not write its log" in first.abort_reason, first.abort_reason
    assert "No space left on device" in first.abort_reason
    log = fed.log()
    [aborted] = [e.payload for e in log.entries("round_aborted")]
    assert aborted["round_id"] == first.id and aborted["retry"] is True
    assert aborted["reason"] == first.abort_reason
    second = fed.rounds()[1]
    [release] = [r for r in fed.releases() if r.release.level == "cluster"]
    assert release.release.round_ids == (second.id,)
    # The five paid for the aborted round (charged before the receipt could not be logged),
    # but none of their vectors left; everyone paid once for the retry.
    for practice in fed.ids:
        charges = fed.charges(practice)
        expected = [first.id, second.id] if practice in others else [second.id]
        assert [c.receipt.round_id for c in charges] == expected, practice
        assert not any(c.sent and c.receipt.round_id == first.id for c in charges)
    output = fed.output("coordinator").read_text(errors="replace")
    assert "Traceback" not in output and "Logging error" not in output, output[-3000:]
    # If its own log file could not be written meanwhile, it said so in one line.
    said = [line for line in output.splitlines() if not line.startswith("Coordinator listening")]
    assert all(line.startswith("klynge: cannot write to") for line in said), said
    events = {e.get("event") for e in fed.coordinator_events()}
    assert {"storage_failed", "storage_recovered"} <= events
    assert_nothing_leaked(fed)
    assert_nothing_half_written(fed)
    assert_nothing_double_charged(fed)
