"""`Ledger.check`, the dry run the agent asks before advertising keys.

It must agree with `charge` on every outcome (they share one screening
function) and must never write: a refused round leaves the ledger
byte-for-byte unchanged, and so does an accepted dry run.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from privacy.errors import AlreadyContributed, BudgetExceeded, LedgerCorrupt
from privacy.ledger import LEDGER_FILE, ChargeRequest, Ledger
from privacy.signing import generate_private_key
from tests.client.agent.world import default_manifest, with_id
from tests.privacy.builders import charge_request

REF = date(2026, 9, 30)


def _clock() -> datetime:
    return datetime(2026, 10, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def ledger(tmp_path):
    return Ledger.create(tmp_path / "ledger", "P0001", generate_private_key(), clock=_clock)


def request(manifest, round_id="r1", ref=REF, payload=b"masked", release=None) -> ChargeRequest:
    return charge_request(manifest, round_id, ref, payload, release, recipient="coordinator:K01")


def dry_run(ledger: Ledger, req: ChargeRequest, with_payload: bool = False):
    return ledger.check(
        req.round_id,
        req.manifest,
        req.reference_date,
        req.release,
        req.payload if with_payload else None,
    )


def outcome(call):
    try:
        result = call()
    except (AlreadyContributed, BudgetExceeded) as exc:
        return type(exc)
    return "retry" if result is not None else "fresh"


def test_check_and_charge_agree_and_check_writes_nothing(ledger):
    manifest = default_manifest()
    first = request(manifest)
    file = ledger.path
    before = file.read_bytes()
    assert dry_run(ledger, first) is None
    assert file.read_bytes() == before
    receipt = ledger.charge(first)
    after = file.read_bytes()

    cases = [
        request(manifest),  # the same send again: an idempotent retry
        request(manifest, round_id="r2"),  # same slot, other round: a second release
        request(manifest, payload=b"other bytes"),  # same round, other bytes: refused
        request(manifest, round_id="r3", ref=date(2026, 6, 30)),  # a new slot: fresh
        request(with_id(manifest, "greedy", epsilon_per_release=2.95), round_id="r4"),
    ]
    expected = ["retry", AlreadyContributed, AlreadyContributed, "fresh", BudgetExceeded]
    for case, want in zip(cases, expected, strict=True):
        checked = outcome(lambda c=case: dry_run(ledger, c, with_payload=True))
        assert checked == want, case.round_id
        assert file.read_bytes() == after  # a dry run never writes
    assert dry_run(ledger, cases[0], with_payload=True) == receipt
    # without the bytes a dry run cannot know it is a retry, so it refuses
    assert outcome(lambda: dry_run(ledger, cases[0])) is AlreadyContributed
    for case, want in zip(cases, expected, strict=True):
        if want in (AlreadyContributed, BudgetExceeded):
            with pytest.raises(want):
                ledger.charge(case)
    assert ledger.charge(cases[0]) == receipt
    assert file.read_bytes() == after


def test_check_refuses_a_corrupt_ledger(ledger):
    manifest = default_manifest()
    path = ledger.directory / LEDGER_FILE
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(LedgerCorrupt):
        dry_run(ledger, request(manifest))
