"""Attacks and faults against a running federation: real processes on loopback, mTLS,
key files, SQLite on disk (issue 12, items 1, 2 and 8).

Each test asserts that the round survived or ended cleanly, that nothing was
double-charged, and (through the protocol) that nothing leaked.
"""

from __future__ import annotations

import time

import pytest

from tests.adversarial.faulty import FaultyAgent
from tests.adversarial.federation import LiveFederation
from tests.adversarial.flood import Flood
from transport.pki import PkiLayout
from transport.tls import TlsFiles

pytestmark = pytest.mark.e2e


def _events(fed: LiveFederation, name: str) -> list[dict[str, object]]:
    return [e for e in fed.coordinator_events() if e.get("event") == name]


def test_a_wrong_share_from_one_practice_is_excluded_named_and_the_round_releases(
    tmp_path, monkeypatch
):
    with LiveFederation.prepare(tmp_path) as fed:
        cluster = fed.layout.federation.clusters[0].id
        faulty, *honest = fed.practices(cluster)
        fed.start_coordinator()
        fed.agent_process(honest)
        # The faulty practice runs here: the real daemon, with an agent that bends one share.
        monkeypatch.setattr(
            "client.agent.core.SecAggAgent",
            lambda *a, **kw: FaultyAgent(*a, owners="one", kinds="self", **kw),
        )
        fed.agents_here([faulty])
        assert fed.wait_for_rounds({cluster}) == {cluster: "released"}
        rejected = _events(fed, "share_rejected")
        assert [e["practice"] for e in rejected] == [faulty]
        released = [e for e in _events(fed, "released") if e.get("aggregate_level") == "cluster"]
        assert released and released[0]["contributors"] == 6
        for practice in fed.practices(cluster):  # one charge each, none twice
            assert len(fed.ledger(practice).charges()) == 1


def test_a_session_flood_from_one_certificate_does_not_lock_out_another_practice(tmp_path):
    # Stages get time: the flood loads both cores, and the question is lock-out, not speed.
    with LiveFederation.prepare(tmp_path, practices=10, clusters=2, stage_timeout_s=15.0) as fed:
        quiet, noisy = (c.id for c in fed.layout.federation.clusters)
        port = fed.start_coordinator()
        attacker = fed.practices(noisy)[0]
        pki = PkiLayout(fed.layout.out / "pki")
        flood = Flood(f"127.0.0.1:{port}", TlsFiles.for_practice(pki, attacker), streams=500)
        flood.start(seconds=90)
        try:
            deadline = time.monotonic() + 30
            while flood.outcomes["RESOURCE_EXHAUSTED"] < 200 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert flood.outcomes["RESOURCE_EXHAUSTED"] >= 200, flood.outcomes
            fed.agent_process(fed.practices(quiet))  # honest practices connect mid-flood
            assert fed.wait_for_rounds({quiet}) == {quiet: "released"}
        finally:
            flood.stop()
        refused = _events(fed, "refused")
        assert all(e.get("practice_id") == attacker for e in refused), refused[:3]
        assert any(e.get("reason") == "too many sessions for this practice" for e in refused)
        for practice in fed.practices(quiet):
            assert len(fed.ledger(practice).charges()) == 1


STALL_STAGES = ("ANNOUNCE", "SHARE_KEYS", "MASKED_INPUT", "CONSISTENCY")


def test_agents_killed_at_each_stage_cost_nothing_twice_and_rounds_end_cleanly(tmp_path):
    with LiveFederation.prepare(tmp_path, practices=24, clusters=4) as fed:
        clusters = [c.id for c in fed.layout.federation.clusters]
        fed.start_coordinator()
        victims = {}
        others = []
        for cluster, stage in zip(clusters, STALL_STAGES, strict=True):
            victim, *rest = fed.practices(cluster)
            others += rest
            victims[victim] = (
                stage,
                fed.agent_process([victim], "--stall-after", f"{victim}:{stage}", name=victim),
            )
        fed.agent_process(others, name="others")
        # Kill -9 each victim as soon as it has answered its stage.
        pending = dict(victims)
        deadline = time.monotonic() + 90
        while pending and time.monotonic() < deadline:
            for victim, (_stage, proc) in list(pending.items()):
                out = (fed.layout.logs / f"agents-{victim}.out").read_text(errors="replace")
                if '"stalling"' in out:
                    fed.kill(proc)
                    del pending[victim]
            time.sleep(0.05)
        assert not pending, f"never reached their stage: {sorted(pending)}"
        states = fed.wait_for_rounds(set(clusters))
        assert set(states.values()) == {"released"}, states  # n = 6, minimum 5: one may go
        released = {
            e["unit"]: e["contributors"]
            for e in _events(fed, "released")
            if e.get("aggregate_level") == "cluster"
        }
        for (victim, (stage, _)), cluster in zip(victims.items(), clusters, strict=True):
            sent = stage in ("MASKED_INPUT", "CONSISTENCY")  # its masked input had left
            assert released[cluster] == (6 if sent else 5), (cluster, stage, released)
            assert len(fed.ledger(victim).charges()) == (1 if sent else 0), (victim, stage)
        for practice in others:
            assert len(fed.ledger(practice).charges()) == 1
