"""The agent's privacy ledger: budget refusal, idempotency, corruption, crash safety, receipts."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from common.keyfiles import write_private_key
from privacy.errors import AlreadyContributed, BudgetExceeded, LedgerCorrupt, LedgerError
from privacy.ledger import LEDGER_FILE, ChargeRequest, Ledger
from privacy.manifest_toml import render_manifest
from privacy.plan import manifest_release
from privacy.rdp import compose, to_approx_dp
from privacy.receipts import Receipt, describe, sign_receipt, verify_receipt, write_receipt
from privacy.signing import generate_private_key
from tests import REPO_ROOT
from tests.privacy.builders import charge_request, cluster_length, make_manifest

PAYLOAD = b"\x01\x02masked" * 64
KEY = generate_private_key()  # the practice's identity key


def _clock() -> datetime:
    return datetime(2026, 4, 2, 8, 30, tzinfo=UTC)


def _request(manifest, round_id="r-2026Q1", ref=date(2026, 3, 31), payload=PAYLOAD, release=None):
    return charge_request(
        manifest, round_id, ref, payload, release, recipient="coordinator:cluster-7"
    )


@pytest.fixture
def ledger(tmp_path):
    return Ledger.create(tmp_path / "ledger", "practice-0123", KEY, clock=_clock)


def test_charge_writes_a_receipt_of_what_leaves(ledger):
    manifest = make_manifest()
    receipt = ledger.charge(_request(manifest))
    assert receipt.manifest_hash == manifest.hash()
    assert receipt.payload_bytes == len(PAYLOAD)
    assert receipt.coordinates == cluster_length(manifest)
    assert receipt.epsilon == pytest.approx(manifest_release(manifest).cost().epsilon)
    assert receipt.year_epsilon_spent == pytest.approx(receipt.epsilon, rel=1e-9)
    assert receipt.budget_year == 2026 and receipt.charged_at.startswith("2026-04-02")
    reopened = Ledger.open(ledger.directory)
    assert [c.receipt for c in reopened.charges()] == [receipt]
    assert f"ε = {receipt.epsilon:.3f}" in describe(receipt, "en")
    assert "Sendt til" in describe(receipt, "da")


def test_refusal_changes_nothing_and_a_smaller_release_still_fits(ledger):
    manifest = make_manifest(epsilon=1.0, budget_epsilon=1.6)
    dates = (date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30), date(2026, 12, 31))
    ledger.charge(_request(manifest, "r1", dates[0]))
    ledger.charge(_request(manifest, "r2", dates[1]))
    before = (ledger.directory / LEDGER_FILE).read_bytes()
    spent = ledger.spent(2026, 1e-6)
    with pytest.raises(BudgetExceeded) as info:
        ledger.charge(_request(manifest, "r3", dates[2]))
    assert info.value.spent == pytest.approx(spent)
    assert info.value.budget == 1.6
    assert (ledger.directory / LEDGER_FILE).read_bytes() == before
    assert len(Ledger.open(ledger.directory).charges()) == 2
    # A release with four times the noise costs much less and fits.
    big = manifest_release(manifest)
    smaller = type(big)(big.mu * 4, big.n_min, big.sensitivity, big.delta)
    receipt = ledger.charge(_request(manifest, "r3", dates[2], release=smaller))
    assert receipt.year_epsilon_spent <= 1.6
    # Another year has its own budget.
    manifest27 = make_manifest(
        epsilon=1.0, budget_epsilon=1.6, reference_dates=(date(2027, 3, 31),)
    )
    assert ledger.charge(_request(manifest27, "r5", date(2027, 3, 31))).budget_year == 2027


@pytest.mark.parametrize(("budget_share", "fits"), [(1 + 1e-9, True), (0.995, False)])
def test_the_yearly_budget_is_a_hard_limit(tmp_path, budget_share, fits):
    """A year may spend its whole budget, and not half a percent more."""
    dates = (date(2026, 3, 31), date(2026, 6, 30))
    probe = Ledger.create(tmp_path / "probe", "practice-0123", KEY, clock=_clock)
    manifest = make_manifest(epsilon=1.0, budget_epsilon=10.0)
    for i, ref in enumerate(dates):
        probe.charge(_request(manifest, f"r{i}", ref))
    two = probe.spent(2026, manifest.budget.delta_per_year)
    tight = make_manifest(epsilon=1.0, budget_epsilon=two * budget_share)
    ledger = Ledger.create(tmp_path / "ledger", "practice-0123", KEY, clock=_clock)
    ledger.charge(_request(tight, "r0", dates[0]))
    if fits:
        receipt = ledger.charge(_request(tight, "r1", dates[1]))
        assert receipt.year_epsilon_spent == pytest.approx(two, rel=1e-12)
    else:
        with pytest.raises(BudgetExceeded):
            ledger.charge(_request(tight, "r1", dates[1]))
        assert len(ledger.charges()) == 1


def test_yearly_spend_composes_rdp_curves(ledger):
    manifest = make_manifest()
    release = manifest_release(manifest)
    for i, ref in enumerate((date(2026, 3, 31), date(2026, 6, 30), date(2026, 9, 30))):
        ledger.charge(_request(manifest, f"r{i}", ref))
    expected = to_approx_dp(compose([release.curve()] * 3), 1e-6).epsilon
    assert ledger.spent(2026, 1e-6) == pytest.approx(expected)
    assert expected < 3 * release.cost().epsilon


def test_retry_is_idempotent_and_a_second_release_is_refused(ledger):
    manifest = make_manifest()
    first = ledger.charge(_request(manifest))
    again = ledger.charge(_request(manifest))
    assert again == first and len(ledger.charges()) == 1
    with pytest.raises(AlreadyContributed, match="already released in round r-2026Q1"):
        ledger.charge(_request(manifest, round_id="r-other"))
    with pytest.raises(AlreadyContributed):
        ledger.charge(_request(manifest, payload=b"fresh noise draw"))
    assert len(Ledger.open(ledger.directory).charges()) == 1


def test_mark_sent_needs_a_charge(ledger):
    manifest = make_manifest()
    with pytest.raises(LedgerError, match="never charged"):
        ledger.mark_sent("r-2026Q1")
    ledger.charge(_request(manifest))
    ledger.mark_sent("r-2026Q1")
    ledger.mark_sent("r-2026Q1")
    charges = Ledger.open(ledger.directory).charges()
    assert charges[0].sent
    assert Ledger.open(ledger.directory).usage(1e-6)[0].sent == 1


def test_create_refuses_to_overwrite_and_open_refuses_a_missing_ledger(tmp_path, ledger):
    with pytest.raises(LedgerError, match="already exists"):
        Ledger.create(ledger.directory, "practice-0123", KEY)
    with pytest.raises(LedgerError, match="no privacy ledger"):
        Ledger.open(tmp_path / "elsewhere")


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda lines: [*lines[:-1], lines[-1][:-5]], "not valid JSON"),
        (
            lambda lines: [
                *lines[:-1],
                lines[-1].replace('"epsilon": ', '"epsilon": 0.0001 + ', 1),
            ],
            "JSON",
        ),
        (lambda lines: [lines[0], lines[2], lines[1]], "out of order"),
        (lambda lines: [lines[0], lines[2]], "out of order"),
        (lambda lines: [x.replace("practice-0123", "practice-9999") for x in lines], "hash"),
        (lambda lines: [], "empty"),
    ],
)
def test_corrupted_ledger_is_never_silently_reset(ledger, corrupt, message):
    manifest = make_manifest()
    ledger.charge(_request(manifest, "r1", date(2026, 3, 31)))
    ledger.charge(_request(manifest, "r2", date(2026, 6, 30)))
    path = ledger.directory / LEDGER_FILE
    lines = corrupt(_lines(path))
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    with pytest.raises(LedgerCorrupt, match=message) as info:
        Ledger.open(ledger.directory)
    assert str(path) in str(info.value) and "recover-ledger" in str(info.value)
    with pytest.raises(LedgerCorrupt):
        ledger.charge(_request(manifest, "r3", date(2026, 9, 30)))
    assert _lines(path) == lines  # the refusal did not rewrite the file


def test_an_edit_that_keeps_valid_json_is_caught_by_the_hash_chain(ledger):
    manifest = make_manifest()
    ledger.charge(_request(manifest))
    path = ledger.directory / LEDGER_FILE
    lines = _lines(path)
    entry = json.loads(lines[1])
    entry["receipt"]["epsilon"] = 0.001  # pretend the release cost less
    lines[1] = json.dumps(entry, sort_keys=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(LedgerCorrupt, match=r":2: .*hash does not match"):
        Ledger.open(ledger.directory)


_CRASH_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import date, datetime, UTC
    from common.keyfiles import load_private_key
    from privacy.ledger import ChargeRequest, Ledger
    from privacy.manifest import load_manifest
    from privacy.plan import manifest_release

    directory, manifest_path, step, phase, key_path = sys.argv[1:6]

    def hook(name):
        if name == step and os.environ.get("PHASE_ACTIVE") == "1":
            os.kill(os.getpid(), signal.SIGKILL)

    manifest = load_manifest(manifest_path).manifest
    ledger = Ledger.open(directory, key=load_private_key(key_path),
                         clock=lambda: datetime(2026, 4, 2, tzinfo=UTC), hook=hook)
    request = ChargeRequest("r-crash", "coordinator", manifest, date(2026, 3, 31),
                            manifest_release(manifest), b"masked" * 50,
                            manifest_release(manifest).dimension)
    os.environ["PHASE_ACTIVE"] = "1" if phase == "charge" else "0"
    ledger.charge(request)
    if step == "after_charge":
        os.kill(os.getpid(), signal.SIGKILL)  # charged, not yet sent
    os.environ["PHASE_ACTIVE"] = "1" if phase == "sent" else "0"
    ledger.mark_sent("r-crash")
    """
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("step", "phase", "charged", "sent"),
    [
        ("tmp_written", "charge", False, False),
        ("tmp_synced", "charge", False, False),
        ("renamed", "charge", True, False),
        ("dir_synced", "charge", True, False),
        ("after_charge", "none", True, False),
        ("tmp_synced", "sent", True, False),
        ("renamed", "sent", True, True),
    ],
)
def test_crash_at_any_step_neither_loses_nor_doubles_a_charge(tmp_path, step, phase, charged, sent):
    manifest = make_manifest()
    manifest_path = tmp_path / "m.toml"
    manifest_path.write_text(render_manifest(manifest), encoding="utf-8")
    directory = tmp_path / "ledger"
    Ledger.create(directory, "practice-0123", KEY)
    key_path = tmp_path / "identity.key"
    write_private_key(key_path, KEY)
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _CRASH_SCRIPT,
            str(directory),
            str(manifest_path),
            step,
            phase,
            str(key_path),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    ledger = Ledger.open(directory, key=KEY)  # never corrupt, whatever the step
    charges = ledger.charges()
    assert len(charges) == (1 if charged else 0)
    if charged:
        assert charges[0].sent is sent
    # The agent restarts and retries the same send: exactly one charge results.
    retry = ChargeRequest(
        "r-crash",
        "coordinator",
        manifest,
        date(2026, 3, 31),
        manifest_release(manifest),
        b"masked" * 50,
        cluster_length(manifest),
    )
    receipt = ledger.charge(retry)
    ledger.mark_sent("r-crash")
    reopened = Ledger.open(directory)
    assert [c.receipt for c in reopened.charges()] == [receipt]
    assert reopened.spent(2026, 1e-6) == pytest.approx(receipt.epsilon, rel=1e-9)


def test_receipts_are_signed_and_verifiable(tmp_path, ledger):
    receipt = ledger.charge(_request(make_manifest()))
    key = generate_private_key()
    signed = sign_receipt(receipt, key)
    verify_receipt(signed)
    assert Receipt.from_document(receipt.document()) == receipt
    path = write_receipt(tmp_path / "receipts", signed)
    stored = json.loads(path.read_text())
    assert stored["receipt"]["payload_sha256"] == receipt.payload_sha256
    from privacy.errors import BadSignature

    forged = type(signed)(
        type(receipt)(**{**receipt.__dict__, "epsilon": 0.01}),
        signed.key_id,
        signed.public_key,
        signed.signature,
    )
    with pytest.raises(BadSignature):
        verify_receipt(forged)
