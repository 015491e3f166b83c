"""The ledger is bound to the practice's identity key, spends what its receipts say, lets a
period run again only after a proven abort, and can be rebuilt from the log's receipts."""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from common.canonical import canonical_hash, domain_message
from privacy.errors import AlreadyContributed, LedgerCorrupt, LedgerError
from privacy.ledger import (
    ENTRY_DOMAIN,
    LEDGER_FILE,
    MAX_ATTEMPTS_PER_PERIOD,
    SIGNATURE_DOMAIN,
    ChargeRequest,
    Ledger,
)
from privacy.plan import manifest_release
from privacy.receipts import RECEIPT_DOMAIN
from privacy.signing import generate_private_key, sign
from tests.privacy.builders import cluster_length, make_manifest

KEY = generate_private_key()
Q1, Q2, Q3 = date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30)


def _clock() -> datetime:
    return datetime(2026, 10, 2, 8, 30, tzinfo=UTC)


def _request(manifest, round_id, ref=Q1, payload=b"masked" * 40, aborted=frozenset()):
    return ChargeRequest(
        round_id,
        "coordinator:K01",
        manifest,
        ref,
        manifest_release(manifest),
        payload,
        cluster_length(manifest),
        aborted_rounds=frozenset(aborted),
    )


@pytest.fixture
def ledger(tmp_path):
    return Ledger.create(tmp_path / "ledger", "P0001", KEY, clock=_clock)


def _entries(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _write(path: Path, entries: list[dict]) -> None:
    path.write_text("".join(json.dumps(e, sort_keys=True) + "\n" for e in entries))


def _rechain(entries: list[dict], key=None) -> list[dict]:
    """Recompute every hash (and, given the key, every signature) after an edit."""
    prev = "0" * 64
    for entry in entries:
        entry["prev"] = prev
        if key is not None and entry["kind"] == "charge":
            entry["receipt_signature"] = sign(key, domain_message(RECEIPT_DOMAIN, entry["receipt"]))
        body = {k: v for k, v in entry.items() if k not in ("hash", "signature")}
        entry["hash"] = canonical_hash(ENTRY_DOMAIN, body)
        if key is not None:
            message = domain_message(SIGNATURE_DOMAIN, {"hash": entry["hash"]})
            entry["signature"] = sign(key, message)
        prev = entry["hash"]
    return entries


def _inflate_mu(entries: list[dict], factor: float) -> list[dict]:
    for entry in entries:
        if entry["kind"] == "charge":
            entry["receipt"]["parameters"]["mu"] *= factor
            p = entry["receipt"]["parameters"]
            p["lambda"] = p["mu"] / (2 * (p["n_min"] - 1))  # shares sized against a fellow
    return entries


def test_an_edit_with_the_chain_recomputed_fails_the_signature(ledger):
    manifest = make_manifest()
    ledger.charge(_request(manifest, "r1"))
    path = ledger.path
    _write(path, _rechain(_inflate_mu(_entries(path), 100)))
    with pytest.raises(LedgerCorrupt, match=r":2: .*signature does not verify"):
        Ledger.open(ledger.directory)


def test_a_ledger_signed_with_another_key_is_refused(ledger):
    ledger.charge(_request(make_manifest(), "r1"))
    other = generate_private_key()
    path = ledger.path
    entries = _entries(path)
    from privacy.signing import public_key_to_text

    entries[0]["identity_key"] = public_key_to_text(other.public_key())
    _write(path, _rechain(entries, other))
    Ledger.open(ledger.directory)  # consistent on its own ...
    with pytest.raises(LedgerCorrupt, match="not by this practice's identity key"):
        Ledger.open(ledger.directory, identity=KEY.public_key())  # ... but not this practice's
    with pytest.raises(LedgerCorrupt, match="not by this practice's identity key"):
        Ledger.open(ledger.directory, key=KEY)


def test_the_budget_comes_from_the_receipts_parameters_never_from_stored_epsilons(ledger):
    manifest = make_manifest()
    ledger.charge(_request(manifest, "r1", Q1))
    true_spend = ledger.spent(2026, 1e-6)
    path = ledger.path
    entries = _entries(path)
    for entry in entries:
        if entry["kind"] == "charge":  # pretend the release cost next to nothing
            entry["receipt"]["epsilon"] = 0.0001
            entry["receipt"]["year_epsilon_spent"] = 0.0001
    _write(path, _rechain(entries, KEY))  # even re-signed with the practice's own key
    assert Ledger.open(ledger.directory, key=KEY).spent(2026, 1e-6) == pytest.approx(true_spend)
    # Only the mechanism's own parameters move the spend (the log's copy catches that edit).
    _write(path, _rechain(_inflate_mu(_entries(path), 100), KEY))
    assert Ledger.open(ledger.directory, key=KEY).spent(2026, 1e-6) < true_spend / 10


def test_parameters_that_describe_no_mechanism_are_corruption(ledger):
    ledger.charge(_request(make_manifest(), "r1"))
    path = ledger.path
    entries = _entries(path)
    entries[1]["receipt"]["parameters"]["sensitivity"]["l1"] += 1  # totals no longer add up
    _write(path, _rechain(entries, KEY))
    with pytest.raises(LedgerCorrupt, match="parameters do not describe a release"):
        Ledger.open(ledger.directory, key=KEY).charges()


def test_an_opened_ledger_without_the_key_cannot_charge(ledger):
    reader = Ledger.open(ledger.directory)
    with pytest.raises(LedgerError, match="can only be read"):
        reader.charge(_request(make_manifest(), "r1"))


def test_a_period_runs_again_only_after_its_round_is_proven_aborted(ledger):
    manifest = make_manifest()
    ledger.charge(_request(manifest, "r1", Q1))
    with pytest.raises(AlreadyContributed, match="log shows that round aborted"):
        ledger.check("r2", manifest, Q1, manifest_release(manifest))
    # The log proves r1 aborted: one retry, with fresh noise (other bytes), charged in full.
    retry = ledger.charge(_request(manifest, "r2", Q1, payload=b"fresh" * 40, aborted={"r1"}))
    assert retry.year_epsilon_spent > ledger.charges()[0].receipt.year_epsilon_spent
    assert MAX_ATTEMPTS_PER_PERIOD == 2
    with pytest.raises(AlreadyContributed, match="at most 2 times"):
        ledger.charge(_request(manifest, "r3", Q1, payload=b"third" * 40, aborted={"r1", "r2"}))
    assert len(ledger.charges()) == 2
    # Another period is unaffected.
    ledger.charge(_request(manifest, "r4", Q2, aborted={"r1", "r2"}))


def test_recover_rebuilds_the_true_spend_and_keeps_the_old_file(ledger, tmp_path):
    manifest = make_manifest()
    backup = ledger.path.read_bytes()  # an old copy, before any charge
    ledger.charge(_request(manifest, "r1", Q1))
    ledger.mark_sent("r1")
    ledger.charge(_request(manifest, "r2", Q2))
    ledger.mark_sent("r2")
    signed = [c.signed for c in ledger.charges()]
    true_spend = ledger.spent(2026, 1e-6)
    ledger.path.write_bytes(backup)  # rolled back
    assert Ledger.open(ledger.directory, key=KEY).spent(2026, 1e-6) == 0.0
    rebuilt, aside = Ledger.recover(
        ledger.directory, KEY, "P0001", signed, recovered_from={"tree_size": 9, "root": "ab"}
    )
    assert rebuilt.spent(2026, 1e-6) == pytest.approx(true_spend)
    assert all(c.sent for c in rebuilt.charges())
    assert aside is not None and aside.read_bytes() == backup
    reopened = Ledger.open(ledger.directory, key=KEY)
    assert reopened.receipt_ids() == {s.receipt.receipt_id for s in signed}
    assert reopened.recovered_from == {"tree_size": 9, "root": "ab"}


def test_recover_keeps_charges_the_log_lacks_and_refuses_others_receipts(ledger):
    manifest = make_manifest()
    ledger.charge(_request(manifest, "r1", Q1))
    ledger.mark_sent("r1")
    logged = [c.signed for c in ledger.charges()]
    ledger.charge(_request(manifest, "r2", Q2))  # charged, crashed before it was published
    rebuilt, _ = Ledger.recover(ledger.directory, KEY, "P0001", logged, recovered_from={})
    assert [c.receipt.round_id for c in rebuilt.charges()] == ["r1", "r2"]
    assert [c.sent for c in rebuilt.charges()] == [True, False]
    stranger = Ledger.create(ledger.directory.parent / "other", "P0002", generate_private_key())
    stranger.charge(_request(manifest, "x1", Q3))
    with pytest.raises(LedgerError, match="not this practice's"):
        Ledger.recover(
            ledger.directory, KEY, "P0001", [stranger.charges()[0].signed], recovered_from={}
        )


def test_a_version_1_ledger_is_refused_with_the_way_out(tmp_path):
    directory = tmp_path / "ledger"
    directory.mkdir()
    (directory / LEDGER_FILE).write_text(
        json.dumps({"seq": 0, "kind": "open", "format": "klynge-ledger/1"}) + "\n"
    )
    with pytest.raises(LedgerCorrupt, match="recover-ledger"):
        Ledger.open(directory)


def test_a_verification_release_costs_infinity_from_its_own_parameters(tmp_path):
    from privacy.authoring import verification_variant
    from tests.privacy.builders import make_manifest as mk

    manifest = verification_variant(mk())
    ledger = Ledger.create(tmp_path / "l", "P0001", KEY, clock=_clock)
    ledger.charge(_request(manifest, "v1", Q1))
    assert math.isinf(Ledger.open(ledger.directory).spent(2026, 1e-6))


def test_recovery_keeps_the_logs_receipt_over_an_edited_one(ledger):
    manifest = make_manifest()
    ledger.charge(_request(manifest, "r1", Q1))
    logged = [c.signed for c in ledger.charges()]
    true_spend = ledger.spent(2026, 1e-6)
    # Edited and re-signed with the practice's own key: valid on its own, but not the log's.
    _write(ledger.path, _rechain(_inflate_mu(_entries(ledger.path), 100), KEY))
    assert Ledger.open(ledger.directory, key=KEY).receipt_ids() != {
        s.receipt.receipt_id for s in logged
    }
    rebuilt, _ = Ledger.recover(ledger.directory, KEY, "P0001", logged, recovered_from={})
    assert [c.receipt for c in rebuilt.charges()] == [s.receipt for s in logged]
    assert rebuilt.spent(2026, 1e-6) == pytest.approx(true_spend)
