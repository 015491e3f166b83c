"""A practice's ledger edited, rolled back to an older copy, or deleted and re-created.

Each makes the ledger under-count what the practice spent. The agent compares
its ledger with its signed receipts in the transparency log when it starts and
before each charge, and refuses with one line saying how to recover;
`klynge agent recover-ledger` rebuilds the true spend from the log, and the
next period then runs for everyone, charged once.
"""

from __future__ import annotations

import json

import pytest

from common.canonical import canonical_hash, domain_message
from privacy.ledger import ENTRY_DOMAIN, LEDGER_FILE, SIGNATURE_DOMAIN, Ledger
from privacy.receipts import RECEIPT_DOMAIN
from privacy.signing import sign
from server.store import RoundState

from .integrity_support import (
    Federation,
    assert_nothing_double_charged,
    assert_nothing_half_written,
    assert_nothing_leaked,
    wait_for,
)

pytestmark = pytest.mark.e2e


def _rewrite(path, edit, key=None) -> None:
    """Edit every charge, recompute the hash chain and, given the key, every signature."""
    entries = [json.loads(line) for line in path.read_text().splitlines()]
    prev = "0" * 64
    for entry in entries:
        if entry["kind"] == "charge":
            edit(entry["receipt"])
            if key is not None:
                message = domain_message(RECEIPT_DOMAIN, entry["receipt"])
                entry["receipt_signature"] = sign(key, message)
        entry["prev"] = prev
        body = {k: v for k, v in entry.items() if k not in ("hash", "signature")}
        entry["hash"] = canonical_hash(ENTRY_DOMAIN, body)
        if key is not None:
            entry["signature"] = sign(
                key, domain_message(SIGNATURE_DOMAIN, {"hash": entry["hash"]})
            )
        prev = entry["hash"]
    path.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))


def _mu_times_100(receipt: dict) -> None:
    p = receipt["parameters"]
    p["mu"] *= 100
    p["lambda"] = p["mu"] / (2 * (p["n_min"] - 1))  # shares sized against a fellow


def test_an_edited_rolled_back_or_recreated_ledger_is_refused_and_recovered(tmp_path):
    fed = Federation(tmp_path, periods=2)
    first, second = fed.options.reference_dates
    edited, forged, rolled_back, recreated = fed.ids[:4]
    backups = {p: (fed.settings(p).ledger_dir / LEDGER_FILE).read_bytes() for p in fed.ids}
    fed.server_config(rounds={"schedule": [first.isoformat()]})
    try:
        fed.start_coordinator()
        agents = fed.start_agents(fed.ids, "--once", "--timeout", "240")
        assert agents.wait(300) == 0, fed.output("agents").read_text()[-2000:]
    finally:
        fed.stop()
    assert [r.state for r in fed.rounds()] == [RoundState.RELEASED]
    true_spend = {p: fed.ledger(p).spent(first.year, 1e-6) for p in fed.ids}
    assert all(spend > 0 for spend in true_spend.values())

    keys = {p: fed.ledger(p)._key for p in fed.ids}
    path = {p: fed.settings(p).ledger_dir / LEDGER_FILE for p in fed.ids}
    _rewrite(path[edited], _mu_times_100, keys[edited])  # with the practice's own key
    _rewrite(path[forged], _mu_times_100)  # chain recomputed, signatures not
    path[rolled_back].write_bytes(backups[rolled_back])
    path[recreated].unlink()
    Ledger.create(path[recreated].parent, recreated, keys[recreated])
    assert fed.ledger(edited).spent(first.year, 1e-6) < true_spend[edited] / 10

    fed.server_config(rounds={"schedule": []})  # no round runs until the ledgers are right
    try:
        fed.start_coordinator()
        for practice, says in (
            (edited, "ledger lacks"),
            (forged, "signature does not verify"),
            (rolled_back, "ledger lacks"),
            (recreated, "ledger lacks"),
        ):
            result = fed.klynge(
                "agent", "run", "--config", str(fed.layout.agent_configs[practice]), "--once"
            )
            assert result.returncode != 0, result.stderr[-2000:]
            refusal = [line for line in result.stderr.splitlines() if line.startswith("klynge:")]
            assert len(refusal) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
            assert says in refusal[0] and "recover-ledger" in refusal[0], refusal[0]

        for practice in (edited, forged, rolled_back, recreated):
            result = fed.klynge(
                "agent", "recover-ledger", "--config", str(fed.layout.agent_configs[practice])
            )
            assert result.returncode == 0, result.stderr[-2000:]
            assert "rebuilt from 1 receipt(s)" in result.stdout, result.stdout
            assert fed.ledger(practice).spent(first.year, 1e-6) == pytest.approx(
                true_spend[practice]
            )

        fed.start_agents(fed.ids, name="agents-2")
        wait_for(
            lambda: (
                len(fed.coordinator_events())
                and all(fed.status(p).get("connection", {}).get("connected") for p in fed.ids)
            ),
            90,
            "every agent to connect again",
        )
        trigger = fed.klynge(
            "server",
            "trigger",
            "--config",
            str(fed.layout.server_config),
            "--cluster",
            "K01",
            "--as-of",
            second.isoformat(),
        )
        assert trigger.returncode == 0, trigger.stderr
        wait_for(
            lambda: (
                [r.state for r in fed.rounds()][-1:] == [RoundState.RELEASED]
                and len(fed.rounds()) == 2
            ),
            120,
            "the next period to be released for everyone",
        )
    finally:
        fed.stop()
    second_round = fed.rounds()[-1]
    for practice in fed.ids:
        rounds = [c.receipt.round_id for c in fed.charges(practice)]
        assert len(rounds) == 2 and rounds[-1] == second_round.id, (practice, rounds)
    assert_nothing_leaked(fed)
    assert_nothing_half_written(fed)
    assert_nothing_double_charged(fed)
