"""Every JSON payload is read within bounds into typed fields, in one place (issue 12, item 7)."""

from __future__ import annotations

import json

import pytest

from common import boundedjson
from protocols import wire
from protocols.envelope import Envelope
from tests.langs import in_english

ROUND = "ab" * 16


def _envelope(kind: str, stage: str, body: bytes) -> Envelope:
    return Envelope(ROUND, stage, "P0001", 0, body, kind=kind)


def _refusal(**changes: object) -> bytes:
    doc: dict[str, object] = {"round_id": ROUND, "reason": "budget_exceeded", "detail": "no"}
    doc.update(changes)
    return json.dumps(doc).encode()


def _outcome(**changes: object) -> bytes:
    doc: dict[str, object] = {
        "round_id": ROUND,
        "cluster_id": "K01",
        "reference_date": "2026-09-30",
        "state": "released",
        "reason": "",
        "contributors": 6,
    }
    doc.update(changes)
    return json.dumps(doc).encode()


def test_deep_nesting_is_refused_before_the_parser_recurses(monkeypatch):
    in_english(monkeypatch)
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(boundedjson.BoundedJsonError, match="nested deeper"):
        boundedjson.loads(deep, source="x", max_bytes=1 << 20, max_depth=8)
    body = _refusal(detail="[" * 50 + "]" * 50)  # brackets inside a string are text
    assert wire.from_envelope(_envelope("Refusal", "ANNOUNCE", body)).detail.startswith("[[")
    nested = (b'{"round_id": "%s", "reason": ' % ROUND.encode()) + b"[" * 1000 + b"]" * 1000
    with pytest.raises(wire.WireError, match="nested deeper"):
        wire.from_envelope(_envelope("Refusal", "ANNOUNCE", nested + b', "detail": ""}'))


@pytest.mark.parametrize(
    "data",
    [b"x" * 5000, b"\xff\xfe", b'{"a": 1, "a": 2}', b'{"a": NaN}', b"{", b""],
)
def test_oversized_undecodable_duplicated_or_broken_json_is_one_error(data):
    with pytest.raises(boundedjson.BoundedJsonError):
        boundedjson.loads(data, source="payload", max_bytes=4096, max_depth=4)


@pytest.mark.parametrize(
    "changes",
    [
        {"detail": 7},
        {"detail": ["a"]},
        {"detail": {"a": 1}},
        {"reason": {"nested": True}},
        {"reason": ["x"]},
        {"reason": "Not A Code"},
        {"detail": "x" * (wire.MAX_DETAIL_CHARS + 1)},
        {"round_id": "cd" * 16},
        {"extra": 1},
    ],
)
def test_a_refusal_with_wrongly_typed_fields_is_refused_with_a_reason(changes):
    with pytest.raises(wire.WireError) as caught:
        wire.from_envelope(_envelope("Refusal", "ANNOUNCE", _refusal(**changes)))
    assert str(caught.value)


@pytest.mark.parametrize(
    "changes",
    [
        {"contributors": True},
        {"contributors": "6"},
        {"contributors": -1},
        {"contributors": 1.5},
        {"contributors": {"n": 6}},
        {"state": "maybe"},
        {"state": ["released"]},
        {"reason": {"why": "x"}},
        {"reason": "aborted but called released"},
        {"reference_date": "2026-9-30"},
        {"reference_date": 20260930},
        {"cluster_id": ""},
        {"cluster_id": None},
    ],
)
def test_an_outcome_with_wrongly_typed_fields_is_refused_with_a_reason(changes):
    with pytest.raises(wire.WireError):
        wire.from_envelope(_envelope("RoundOutcome", "DONE", _outcome(**changes)))


def test_valid_control_messages_round_trip_and_cannot_be_built_invalid():
    refusal = wire.Refusal(ROUND, "budget_exceeded", "årets budget er brugt")
    assert wire.from_envelope(refusal.to_envelope("P0001")) == refusal
    outcome = wire.RoundOutcome(ROUND, "K01", "2026-09-30", "aborted", "too few", 0)
    assert wire.from_envelope(outcome.to_envelope("coordinator")) == outcome
    with pytest.raises(wire.WireError):
        wire.RoundOutcome(ROUND, "K01", "2026-09-30", "released", "", True)  # type: ignore[arg-type]


def test_an_outcome_names_a_cluster_or_a_region_never_both_or_neither():
    wide = wire.RoundOutcome(ROUND, "", "2026-09-30", "released", "", 40, "region", "Midt")
    assert wire.from_envelope(wide.to_envelope("coordinator")) == wide
    assert wide.unit == "Midt"
    for cluster, scope, region in [
        ("K01", "region", "Midt"),  # a region-wide round names no cluster
        ("", "region", ""),  # nor leaves out its region
        ("K01", "cluster", "Midt"),  # a cluster round names no region
        ("", "cluster", ""),
        ("K01", "nation", ""),  # no such scope
    ]:
        with pytest.raises(wire.WireError):
            wire.RoundOutcome(ROUND, cluster, "2026-09-30", "released", "", 4, scope, region)
