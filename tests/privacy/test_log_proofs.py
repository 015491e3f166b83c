"""A practice's view of the log: every claim proven, every lie refused."""

from __future__ import annotations

import json

import pytest

from privacy.log_entries import Kind, Statement, sign_head
from privacy.log_proofs import (
    LogView,
    ProvenEntry,
    PublishRequest,
    ViewError,
    ViewRequest,
    build_view,
    verify_view,
)
from privacy.signing import generate_private_key
from privacy.transparency import Checkpoint, TransparencyLog
from tests.privacy.test_transparency import (
    IDENTITIES,
    LOG_KEY,
    NOW,
    _receipt,
    _round_opened,
)


@pytest.fixture
def log(tmp_path):
    log = TransparencyLog.open(tmp_path / "log.jsonl", LOG_KEY, clock=lambda: NOW)
    for round_id in ("r1", "r2"):
        log.append(Kind.ROUND_OPENED, _round_opened(round_id))
    for practice in ("p1", "p2"):
        statement = Statement.from_receipt(_receipt(tmp_path / "r1", practice, "r1"))
        log.publish(statement, IDENTITIES[practice])
    log.append(
        Kind.ROUND_ABORTED,
        {
            "round_id": "r1",
            "cluster": "cluster-7",
            "reference_date": "2026-03-31",
            "manifest_hash": "a" * 64,
            "reason": "too few survivors",
            "attempt": 1,
            "retry": True,
        },
    )
    return log


def _verify(view: LogView, since=None, practice="p1"):
    return verify_view(
        LogView.from_bytes(view.to_bytes()),  # through the wire form
        log_key=LOG_KEY.public_key(),
        since=since,
        practice_id=practice,
        identity=IDENTITIES[practice],
    )


def test_a_practice_sees_its_receipts_and_its_rounds_outcomes_proven(log):
    verified = _verify(build_view(log, "p1", None))
    assert [r.receipt.round_id for r in verified.receipts()] == ["r1"]
    assert verified.aborted_rounds() == {"r1"} and verified.released_rounds() == set()
    assert verified.checkpoint == Checkpoint(len(log), log.head().root)
    assert _verify(build_view(log, "p3", None), practice="p3").receipts() == []


def test_the_log_must_extend_the_head_the_practice_saw(log, tmp_path):
    seen = _verify(build_view(log, "p1", None)).checkpoint
    log.append(Kind.ROUND_OPENED, _round_opened("r3"))
    assert _verify(build_view(log, "p1", seen), since=seen).head.tree_size == seen.tree_size + 1
    # The same history rewritten under the same key: no consistency proof can pass.
    forged = TransparencyLog.open(tmp_path / "forged.jsonl", LOG_KEY, clock=lambda: NOW)
    for i in range(seen.tree_size + 1):
        forged.append(Kind.ROUND_OPENED, _round_opened(f"x{i}"))
    with pytest.raises(ViewError, match="does not extend the head"):
        _verify(build_view(forged, "p1", seen), since=seen)
    with pytest.raises(ViewError, match="cut back or replaced"):
        build_view(forged, "p1", Checkpoint(seen.tree_size + 5, seen.root))


def test_tampered_views_are_refused(log):
    view = build_view(log, "p1", None)
    doc = json.loads(view.to_bytes())
    bad_proof = json.loads(json.dumps(doc))
    bad_proof["statements"][0]["proof"][0] = "00" * 32
    with pytest.raises(ViewError, match="is not in the log"):
        _verify(LogView.from_bytes(json.dumps(bad_proof).encode()))
    other_key = json.loads(json.dumps(doc))
    forged_head = sign_head(
        generate_private_key(), view.head.tree_size, view.head.root_bytes, view.head.time
    )
    other_key["head"] = forged_head.document()
    with pytest.raises(ViewError, match="not by the log key"):
        _verify(LogView.from_bytes(json.dumps(other_key).encode()))
    someone_else = build_view(log, "p2", None)
    with pytest.raises(ViewError, match="p2's, not ours"):
        _verify(LogView(view.head, view.consistency, someone_else.statements, view.outcomes))
    not_an_outcome = ProvenEntry(view.statements[0].entry, view.statements[0].proof)
    with pytest.raises(ViewError, match="not a round's outcome"):
        _verify(LogView(view.head, view.consistency, view.statements, (not_an_outcome,)))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[]",
        b'{"since": 3}',
        b'{"since": {"tree_size": -1, "root": "' + b"0" * 64 + b'"}}',
        b'{"since": {"tree_size": 1, "root": "xyz"}}',
        b'{"since": null, "extra": 1}',
        b"[" * 50_000 + b"]" * 50_000,
        b"\xff\xfe",
    ],
)
def test_malformed_requests_are_refused_with_a_reason(body):
    with pytest.raises(ViewError):
        ViewRequest.from_bytes(body)
    with pytest.raises(ViewError):
        PublishRequest.from_bytes(body)
    with pytest.raises(ViewError):
        LogView.from_bytes(body)


def test_requests_round_trip(log):
    since = Checkpoint(3, "ab" * 32)
    assert ViewRequest.from_bytes(ViewRequest(since).to_bytes()) == ViewRequest(since)
    statement = log.statements_of("p1")[0].statement()
    assert statement is not None
    request = PublishRequest(statement, None)
    assert PublishRequest.from_bytes(request.to_bytes()) == request
