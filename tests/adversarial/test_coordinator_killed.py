"""kill -9 of the coordinator at each stage of a round, then a restart.

Whatever the stage, the restarted coordinator records the round as aborted
("coordinator restarted") in its store and its transparency log, releases
nothing of it, and runs the period once more; the agents join that retry only
because the log proves the first round aborted, draw fresh noise and are
charged again. Nothing leaks, nothing is half-written, no one pays twice for
the same round or more than twice for the period.
"""

from __future__ import annotations

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

# The practice that hangs after answering STALL; the others then answer NEXT, and the
# coordinator waits in that stage for the hung one when it is killed. "OPEN": killed as
# soon as the round is announced; the hung practice still holds the round before any
# masked input (unheld, a quick round could reach the charges before the kill lands).
STAGES = {
    "OPEN": ("ANNOUNCE", None),
    "ADVERTISE_KEYS": ("ANNOUNCE", "SHARE_KEYS"),
    "SHARE_KEYS": ("SHARE_KEYS", "MASKED_INPUT"),
    "MASKED_INPUT": ("MASKED_INPUT", "CONSISTENCY"),
    "CONSISTENCY": ("CONSISTENCY", "UNMASK"),
}
# Who had been charged (and may have sent) when the coordinator died: nobody before the
# masked input; after it, those who reached it.
CHARGED_IN_FIRST = {
    "OPEN": "nobody",
    "ADVERTISE_KEYS": "nobody",
    "SHARE_KEYS": "the others",
    "MASKED_INPUT": "everyone",
    "CONSISTENCY": "everyone",
}


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_coordinator_killed_at_any_stage_aborts_the_round_and_retries_the_period(tmp_path, stage):
    fed = Federation(tmp_path, stage_timeout_s=60.0)
    stall, next_stage = STAGES[stage]
    hung, others = fed.ids[-1], fed.ids[:-1]
    try:
        fed.start_coordinator()
        fed.start_agents(others)
        hung_args = [] if stall is None else ["--stall-after", f"{hung}:{stall}"]
        hung_proc = fed.start_agents([hung], *hung_args, name="hung")
        if next_stage is None:
            wait_for(
                lambda: any(e.get("event") == "round_opened" for e in fed.coordinator_events()),
                90,
                "the round to open",
            )
        else:
            wait_for(
                lambda: all(fed.reached(p, next_stage) for p in others),
                90,
                f"five practices to answer {next_stage} while one hangs",
            )
        fed.kill_coordinator()
        [first] = fed.rounds()
        assert first.state is RoundState.RUNNING and fed.releases() == []

        hung_proc.terminate()  # the hung practice is gone for good
        hung_proc.wait(30)
        fed.server_config(rounds={"ready_after_s": 1})  # restarted: go with whoever is there
        fed.start_coordinator()
        wait_for(
            lambda: [r.state for r in fed.rounds()] == [RoundState.ABORTED, RoundState.RELEASED],
            120,
            "the aborted round and its retry",
        )
    finally:
        fed.stop()

    first, second = fed.rounds()
    assert first.abort_reason == "coordinator restarted"
    releases = fed.releases()
    assert {r.release.round_ids for r in releases if r.release.level == "cluster"} == {(second.id,)}
    log = fed.log()
    [aborted] = [e.payload for e in log.entries("round_aborted")]
    assert (aborted["round_id"], aborted["reason"], aborted["retry"]) == (
        first.id,
        "coordinator restarted",
        True,
    )
    assert [e.payload["attempt"] for e in log.entries("round_opened")][-1] == 2
    paid_first = {"nobody": set(), "the others": set(others), "everyone": set(fed.ids)}[
        CHARGED_IN_FIRST[stage]
    ]
    for practice in fed.ids:
        rounds = [c.receipt.round_id for c in fed.charges(practice)]
        expected = ([first.id] if practice in paid_first else []) + (
            [second.id] if practice in others else []
        )
        assert rounds == expected, (stage, practice, rounds)
    assert_nothing_leaked(fed)
    assert_nothing_half_written(fed)
    assert_nothing_double_charged(fed)
