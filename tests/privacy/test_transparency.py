"""The transparency log: one Merkle log with signed heads, and what verification detects."""

from __future__ import annotations

import errno
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from privacy.errors import LogError
from privacy.ledger import ChargeRequest, Ledger
from privacy.log_entries import Kind, Statement, approval_payload, sign_statement
from privacy.plan import manifest_release
from privacy.signing import generate_private_key
from privacy.transparency import Checkpoint, TransparencyLog, verify_log
from tests.privacy.builders import cluster_length, make_manifest

NOW = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
LOG_KEY = generate_private_key()
PRACTICES = ("p1", "p2", "p3")
KEYS = {p: generate_private_key() for p in PRACTICES}
IDENTITIES = {p: k.public_key() for p, k in KEYS.items()}


def _receipt(tmp_path: Path, practice: str, round_id: str):
    manifest = make_manifest()
    ledger = Ledger.create(tmp_path / practice, practice, KEYS[practice], clock=lambda: NOW)
    ledger.charge(
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
    return ledger.charges()[0].signed


def _round_opened(round_id: str = "r1") -> dict:
    return {
        "round_id": round_id,
        "cluster": "cluster-7",
        "reference_date": "2026-03-31",
        "manifest_hash": "a" * 64,
        "participants": list(PRACTICES),
        "k": 2,
        "t": 2,
        "minimum": 3,
        "attempt": 1,
        "code_version": "klynge/test",
    }


def _release() -> dict:
    return {
        "release_id": 1,
        "aggregate": "cluster-7",
        "level": "cluster",
        "reference_date": "2026-03-31",
        "round_ids": ["r1"],
        "contributors": 3,
        "manifest_hash": "a" * 64,
        "recipients": ["cluster", "region"],
        "suppressed": [
            {"indicator": "DM-01", "stratum": "F:18-64", "cell": "numerator", "reason": "small"}
        ],
    }


@pytest.fixture
def log(tmp_path):
    path = tmp_path / "log.jsonl"
    log = TransparencyLog.open(path, LOG_KEY, clock=lambda: NOW)
    manifest = make_manifest()
    log.append(
        Kind.MANIFEST,
        {
            "manifest_id": manifest.meta.id,
            "version": manifest.meta.version,
            "manifest_hash": manifest.hash(),
            "authority_key_id": "0123456789abcdef",
            "valid_from": "2026-01-01",
            "valid_until": "2027-12-31",
            "code_version": "klynge/test",
        },
    )
    approval = approval_payload("p1", manifest.meta.id, 1, manifest.hash(), date(2026, 1, 5))
    log.publish(sign_statement(Kind.APPROVAL, approval, KEYS["p1"]), IDENTITIES["p1"])
    log.append(Kind.ROUND_OPENED, _round_opened())
    for practice in PRACTICES:
        statement = Statement.from_receipt(_receipt(tmp_path, practice, "r1"))
        log.publish(statement, IDENTITIES[practice])
    log.append(Kind.RELEASE, _release())
    return log


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _rewrite(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def test_an_intact_log_verifies_with_its_key_and_the_registry(log):
    result = verify_log(log.path, log_key=LOG_KEY.public_key(), identities=IDENTITIES)
    assert result.entries == 7 and result.heads == 8  # a head after every entry, and at 0
    assert result.kinds == {
        "manifest": 1,
        "approval": 1,
        "round_opened": 1,
        "receipt": 3,
        "release": 1,
        "round_aborted": 0,
        "fetch_refused": 0,
    }
    assert result.signed_by_practices == 4 and result.practices == set(PRACTICES)
    assert result.head == log.head()
    with pytest.raises(LogError, match="not by the log key"):
        verify_log(log.path, log_key=generate_private_key().public_key())
    with pytest.raises(LogError, match="not by the practice's registered identity key"):
        verify_log(log.path, identities={**IDENTITIES, "p2": IDENTITIES["p3"]})
    with pytest.raises(LogError, match="practice p3, which is not registered"):
        verify_log(log.path, identities={p: IDENTITIES[p] for p in ("p1", "p2")})


def test_every_flipped_byte_is_detected(log):
    original = log.path.read_bytes()
    # one flip in every line, at a spread of positions (inside keys, values, hashes, signatures)
    offsets, start = [], 0
    for line in original.split(b"\n")[:-1]:
        for fraction in (0.1, 0.5, 0.9):
            offsets.append(start + int(len(line) * fraction))
        start += len(line) + 1
    for offset in offsets:
        flipped = bytearray(original)
        flipped[offset] ^= 0x01
        log.path.write_bytes(bytes(flipped))
        with pytest.raises(LogError):
            verify_log(log.path, log_key=LOG_KEY.public_key())
    log.path.write_bytes(original)
    verify_log(log.path, log_key=LOG_KEY.public_key())


def test_an_edited_entry_no_longer_has_its_signed_root(log):
    lines = _lines(log.path)
    entry = json.loads(lines[13])  # the release (entry 6)
    assert entry["kind"] == "release"
    entry["payload"]["suppressed"] = []  # hide why a cell was suppressed
    lines[13] = json.dumps(entry, sort_keys=True)
    _rewrite(log.path, lines)
    with pytest.raises(LogError, match=r"log\.jsonl:15: the entries before this head do not"):
        verify_log(log.path)


def test_an_altered_receipt_is_caught_by_its_practices_signature(log):
    lines = _lines(log.path)
    entry = json.loads(lines[7])  # the first receipt (entry 3)
    assert entry["kind"] == "receipt"
    entry["payload"]["epsilon"] = 0.0001
    lines[7] = json.dumps(entry, sort_keys=True)
    _rewrite(log.path, lines)
    with pytest.raises(LogError, match=r":8: receipt signature does not verify"):
        verify_log(log.path)


def test_deleted_and_reordered_entries_are_detected(log):
    lines = _lines(log.path)
    _rewrite(log.path, lines[:7] + lines[9:])  # entry 3 and its head gone
    with pytest.raises(LogError, match=r":8: entry index 4 where 3 was expected"):
        verify_log(log.path)
    swapped = list(lines)
    swapped[7], swapped[9] = swapped[9], swapped[7]
    _rewrite(log.path, swapped)
    with pytest.raises(LogError, match=":8: entry index 4 where 3"):
        verify_log(log.path)


def test_a_torn_last_line_or_an_unsigned_tail_is_refused(log):
    original = log.path.read_bytes()
    log.path.write_bytes(original[:-20])
    with pytest.raises(LogError, match="last line is incomplete"):
        verify_log(log.path)
    with pytest.raises(LogError, match="last line is incomplete"):
        TransparencyLog.open(log.path, LOG_KEY)
    lines = original.decode().splitlines()
    _rewrite(log.path, lines[:-1])  # the last head removed
    with pytest.raises(LogError, match="1 entries after the last signed head"):
        verify_log(log.path)
    log.path.write_bytes(b"")
    with pytest.raises(LogError, match="empty"):
        verify_log(log.path)


def test_a_log_cut_back_is_valid_alone_but_not_against_a_head_seen_before(log):
    seen = Checkpoint(log.head().tree_size, log.head().root)
    lines = _lines(log.path)
    _rewrite(log.path, lines[:-2])
    assert verify_log(log.path).entries == 6
    with pytest.raises(LogError, match="cut back"):
        verify_log(log.path, expected_head=seen)


def test_a_rewritten_history_with_a_consistent_looking_head_is_caught(log, tmp_path):
    seen = Checkpoint(log.head().tree_size, log.head().root)
    forged = TransparencyLog.open(tmp_path / "forged.jsonl", LOG_KEY, clock=lambda: NOW)
    for i in range(seen.tree_size):  # same size, same key, every head signed and consistent
        forged.append(Kind.ROUND_OPENED, _round_opened(f"forged-{i}"))
    verify_log(forged.path, log_key=LOG_KEY.public_key())
    with pytest.raises(LogError, match="history was rewritten"):
        verify_log(forged.path, log_key=LOG_KEY.public_key(), expected_head=seen)
    assert verify_log(log.path, expected_head=seen).entries == 7


def test_publish_is_idempotent_and_checks_the_practices_key(log, tmp_path):
    statement = log.statements_of("p2")[0].statement()
    assert statement is not None
    size = len(log)
    assert log.publish(statement, IDENTITIES["p2"]).index == 3 + 1
    assert len(log) == size
    with pytest.raises(LogError, match="not by the practice's registered identity key"):
        log.publish(statement, IDENTITIES["p1"])
    with pytest.raises(LogError, match="as the practice signed it"):
        log.append(Kind.RECEIPT, dict(statement.payload))
    with pytest.raises(LogError, match="unknown entry kind"):
        log.append("gossip", {})
    with pytest.raises(LogError, match="round_aborted payload lacks attempt"):
        log.append(Kind.ROUND_ABORTED, {"round_id": "r1"})


def test_a_failed_write_leaves_the_log_and_its_tree_as_they_were(log):
    before = log.path.read_bytes()
    head = log.head()
    calls = []

    def full_disk(fd: int, data: bytes) -> int:
        calls.append(len(data))
        if len(calls) == 1:
            return os.write(fd, data[: len(data) // 2])  # half of it, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    log._write = full_disk
    with pytest.raises(LogError, match=r"\(No space left on device\); the log is unchanged"):
        log.append(Kind.RELEASE, _release())
    assert log.path.read_bytes() == before and log.head() == head and len(log) == 7
    log._write = os.write
    log.append(Kind.ROUND_OPENED, _round_opened("r2"))
    reopened = TransparencyLog.open(log.path, LOG_KEY)
    assert reopened.head() == log.head()
    assert reopened.inclusion_proof(3) == log.inclusion_proof(3)
    assert reopened.consistency_proof(5) == log.consistency_proof(5)


def test_opening_refuses_a_log_whose_heads_another_key_signed(log):
    with pytest.raises(LogError, match="not by the log key"):
        TransparencyLog.open(log.path, generate_private_key())


def test_bad_input_is_named(tmp_path):
    with pytest.raises(LogError, match="not found"):
        verify_log(tmp_path / "none.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    with pytest.raises(LogError, match=r"bad\.jsonl:1: not valid JSON"):
        verify_log(bad)
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(LogError, match=r"deep\.jsonl:1"):
        verify_log(deep)
