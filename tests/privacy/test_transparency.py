"""The hash-chained transparency log: what verification detects and what it needs to."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from privacy.errors import LogError
from privacy.ledger import ChargeRequest, Ledger
from privacy.plan import manifest_release
from privacy.receipts import sign_receipt
from privacy.signing import generate_private_key, key_id
from privacy.transparency import LogHead, TransparencyLog, verify_log
from tests.privacy.builders import cluster_length, make_manifest

NOW = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)


def _receipt(tmp_path: Path, practice: str, round_id: str):
    manifest = make_manifest()
    ledger = Ledger.create(tmp_path / practice, practice, clock=lambda: NOW)
    return ledger.charge(
        ChargeRequest(
            round_id,
            "coordinator:cluster-7",
            manifest,
            date(2026, 3, 31),
            manifest_release(manifest),
            f"{practice}-masked".encode() * 10,
            cluster_length(manifest),
        )
    )


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "log.jsonl"
    log = TransparencyLog(path, clock=lambda: NOW)
    authority = generate_private_key()
    manifest = make_manifest()
    log.append(
        "manifest_published",
        {"manifest_id": manifest.meta.id, "hash": manifest.hash(), "approver": "Region"},
        signer=authority,
    )
    log.append("round_opened", {"round_id": "r1", "cluster": "cluster-7", "participants": 6})
    agents = {}
    for practice in ("p1", "p2", "p3"):
        key = generate_private_key()
        agents[practice] = key
        log.append_receipt(sign_receipt(_receipt(tmp_path, practice, "r1"), key))
    log.append(
        "release",
        {
            "aggregate": "cluster-7",
            "level": "cluster",
            "recipients": ["cluster", "region"],
            "suppressed": [{"indicator": "DM-01", "stratum": "F:18-64", "reason": "small_count"}],
        },
    )
    return path, agents


def _rewrite(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_an_intact_log_verifies(log):
    path, agents = log
    result = verify_log(path)
    assert result.entries == 6
    assert result.signed_entries == 4
    assert result.kinds == {"manifest_published": 1, "round_opened": 1, "receipt": 3, "release": 1}
    trusted = {key_id(k.public_key()): k.public_key() for k in agents.values()}
    with pytest.raises(LogError, match="not trusted"):
        verify_log(path, trusted_signers=trusted)  # the authority's entry is not in the set


def test_an_edited_entry_is_detected(log):
    path, _ = log
    lines = path.read_text().splitlines()
    entry = json.loads(lines[5])
    entry["payload"]["suppressed"] = []
    lines[5] = json.dumps(entry, sort_keys=True)
    _rewrite(path, lines)
    with pytest.raises(LogError, match=r"log\.jsonl:6: entry hash does not match its content"):
        verify_log(path)


def test_a_re_hashed_edit_of_a_receipt_is_caught_by_its_signature(log):
    path, _ = log
    lines = path.read_text().splitlines()
    entry = json.loads(lines[2])
    entry["payload"]["epsilon"] = 0.0001
    from privacy.transparency import entry_hash

    entry["hash"] = entry_hash(entry)
    lines[2] = json.dumps(entry, sort_keys=True)
    # Re-chain everything after it so only the signature can tell.
    prev = entry["hash"]
    for i in range(3, len(lines)):
        later = json.loads(lines[i])
        later["prev"] = prev
        later["hash"] = entry_hash(later)
        prev = later["hash"]
        lines[i] = json.dumps(later, sort_keys=True)
    _rewrite(path, lines)
    with pytest.raises(LogError, match=r":3: receipt signature does not verify"):
        verify_log(path)


def test_a_deleted_entry_is_detected(log):
    path, _ = log
    lines = path.read_text().splitlines()
    _rewrite(path, lines[:3] + lines[4:])
    with pytest.raises(LogError, match=r":4: sequence number 4 where 3 was expected"):
        verify_log(path)


def test_reordered_entries_are_detected(log):
    path, _ = log
    lines = path.read_text().splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    _rewrite(path, lines)
    with pytest.raises(LogError, match=":3: sequence number"):
        verify_log(path)


def test_a_truncated_tail_is_detected_against_a_published_head(log):
    path, _ = log
    head = verify_log(path).head
    lines = path.read_text().splitlines()
    _rewrite(path, lines[:-2])
    assert verify_log(path).entries == 4  # on its own, a prefix is a valid log
    with pytest.raises(LogError, match="truncated"):
        verify_log(path, expected_head=head)


def test_a_rewritten_history_is_detected_against_a_published_head(log, tmp_path):
    path, _ = log
    head = verify_log(path).head
    other = TransparencyLog(tmp_path / "forged.jsonl", clock=lambda: NOW)
    for i in range(head.count):
        other.append("note", {"text": f"forged {i}"})
    with pytest.raises(LogError, match="rewritten"):
        verify_log(other.path, expected_head=head)
    assert verify_log(path, expected_head=LogHead(0, "")).entries == 6


def test_appending_refuses_a_broken_log_and_unsigned_receipts_are_rejected(log):
    path, _ = log
    with path.open("a") as fh:
        fh.write('{"half": ')
    with pytest.raises(LogError, match="incomplete"):
        TransparencyLog(path).append("note", {"text": "x"})
    lines = path.read_text().splitlines()[:-1]
    entry = json.loads(lines[2])
    entry["signer"] = None
    from privacy.transparency import entry_hash

    entry["hash"] = entry_hash(entry)
    lines[2] = json.dumps(entry, sort_keys=True)
    _rewrite(path, lines[:3])
    with pytest.raises(LogError, match="not signed by its agent"):
        verify_log(path)


def test_bad_input_is_named(tmp_path):
    with pytest.raises(LogError, match="not found"):
        verify_log(tmp_path / "none.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    with pytest.raises(LogError, match=r"bad\.jsonl:1: not valid JSON"):
        verify_log(bad)
    with pytest.raises(LogError, match="unknown entry kind"):
        TransparencyLog(tmp_path / "x.jsonl").append("gossip", {})
