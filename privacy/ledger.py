"""The agent's privacy ledger: charged before a vector leaves, never overspent or reset silently.

Guarantees:
- **Charge before send.** `charge()` returns only after the charge is durable
  on disk; the caller sends afterwards. A crash at any point therefore leaves
  either no charge and nothing sent, or a charge (perhaps for a vector that
  never left). A lost send costs budget; a lost charge cannot happen.
- **No double spend.** One release per (manifest, reference date, scope): a
  retry of the same round with the same bytes returns the existing receipt;
  any other round for that manifest, date and scope is refused. A fresh noise
  draw for the same data would be a second release. The scope (a cluster
  round, or the region-wide round of that date: two different releases, each
  charged) is read from the receipt's recipient (`receipts.recipient_scope`).
- **Budget.** The RDP curves of all charges whose reference date falls in the
  calendar year are added, with the new one, and converted to (ε, δ) at the
  manifest's yearly δ. Over budget: refused, and nothing is written, so a
  smaller later release can still fit.
- **No DP, no guarantee left.** A release without noise (kind none, for
  verification only) costs ε = ∞ and is accepted only under a manifest whose
  budget is unlimited. Its year's spend is then ∞, so every later release
  under a DP manifest dated in that year is refused: the practice has no DP
  guarantee left to protect there. Other years are unaffected.
- **Append-only and tamper-evident.** Entries are JSON lines, each committing
  to the previous entry's hash. Every update rewrites the file atomically
  (write, fsync, rename, fsync directory) and keeps all earlier entries.
- **Corruption is loud.** A ledger that fails any check raises LedgerCorrupt;
  the agent refuses to release until an operator restores it. The ledger
  cannot detect being replaced by an older, intact copy of itself; receipts in
  the transparency log are the external check for that.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from common.atomic import Hook, atomic_write
from common.canonical import canonical_hash
from privacy.errors import (
    AlreadyContributed,
    BudgetExceeded,
    LedgerCorrupt,
    LedgerError,
    MechanismError,
)
from privacy.layout import RoundScope
from privacy.manifest import Manifest
from privacy.rdp import RdpCurve, compose, term_from_spec, to_approx_dp
from privacy.receipts import Receipt, ReceiptFormatError, recipient_scope
from privacy.release import PrivacyCost, Release

LEDGER_FILE = "ledger.jsonl"
LOCK_FILE = "ledger.lock"
FORMAT = "klynge-ledger/1"
ENTRY_DOMAIN = "klynge-ledger-entry/1"
GENESIS = "0" * 64
_LOCK_TIMEOUT_S = 10.0

Clock = Callable[[], datetime]


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ChargeRequest:
    """One release the agent is about to send."""

    round_id: str
    recipient: str
    manifest: Manifest
    reference_date: date
    release: Release
    payload: bytes  # exactly the bytes that will leave (the masked vector)
    coordinates: int


@dataclass(frozen=True)
class Charge:
    receipt: Receipt
    curve: RdpCurve
    sent: bool


@dataclass(frozen=True)
class YearUsage:
    year: int
    releases: int
    sent: int
    epsilon: float
    delta: float


def _entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k != "hash"}
    return canonical_hash(ENTRY_DOMAIN, body)


class Ledger:
    """One practice's ledger in `directory`. Not thread-safe; processes are serialised by a lock."""

    def __init__(
        self,
        directory: Path,
        practice_id: str,
        entries: list[dict[str, Any]],
        clock: Clock,
        hook: Hook | None,
    ):
        self.directory = directory
        self.practice_id = practice_id
        self._entries = entries
        self._clock = clock
        self._hook = hook

    # -- construction -------------------------------------------------------

    @classmethod
    def create(cls, directory: Path | str, practice_id: str, *, clock: Clock = _utc_now) -> Ledger:
        """Start an empty ledger; refuses if one exists (never overwrite spent budget)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / LEDGER_FILE
        with _locked(directory):
            if path.exists():
                raise LedgerError(f"{path}: a ledger already exists; refusing to start a new one")
            header = {
                "seq": 0,
                "prev": GENESIS,
                "kind": "open",
                "format": FORMAT,
                "practice_id": practice_id,
                "created_at": clock().isoformat(),
            }
            header["hash"] = _entry_hash(header)
            atomic_write(path, _serialise([header]), mode=0o600)
        return cls(directory, practice_id, [header], clock, None)

    @classmethod
    def open(
        cls, directory: Path | str, *, clock: Clock = _utc_now, hook: Hook | None = None
    ) -> Ledger:
        """Open and fully verify an existing ledger. `hook` is for crash tests only."""
        directory = Path(directory)
        path = directory / LEDGER_FILE
        if not path.exists():
            raise LedgerError(
                f"{path}: no privacy ledger here; create one when the agent is set up "
                "(a missing ledger is never recreated automatically)"
            )
        entries = _read_verified(path)
        return cls(directory, entries[0]["practice_id"], entries, clock, hook)

    @property
    def path(self) -> Path:
        return self.directory / LEDGER_FILE

    # -- queries --------------------------------------------------------------

    def charges(self, year: int | None = None) -> list[Charge]:
        sent = {e["round_id"] for e in self._entries if e["kind"] == "sent"}
        out = []
        for entry in self._entries:
            if entry["kind"] != "charge":
                continue
            receipt = Receipt.from_document(entry["receipt"])
            if year is not None and receipt.budget_year != year:
                continue
            curve = RdpCurve(tuple(term_from_spec(s) for s in entry["rdp_terms"]))
            out.append(Charge(receipt, curve, receipt.round_id in sent))
        return out

    def spent(self, year: int, delta: float) -> float:
        """ε spent in `year` at δ, from the composed RDP curves of its charges."""
        curves = [c.curve for c in self.charges(year)]
        return to_approx_dp(compose(curves), delta).epsilon if curves else 0.0

    def usage(self, delta: float) -> list[YearUsage]:
        years = sorted({c.receipt.budget_year for c in self.charges()})
        out = []
        for year in years:
            charges = self.charges(year)
            out.append(
                YearUsage(
                    year,
                    len(charges),
                    sum(c.sent for c in charges),
                    self.spent(year, delta),
                    delta,
                )
            )
        return out

    # -- updates -------------------------------------------------------------

    def charge(self, request: ChargeRequest) -> Receipt:
        """Charge the budget for `request` durably and return its receipt, or refuse.

        Refusals (BudgetExceeded, AlreadyContributed) leave the file untouched.
        """
        manifest = request.manifest
        manifest_hash = manifest.hash()
        payload_sha = hashlib.sha256(request.payload).hexdigest()
        cost = request.release.cost()
        year = request.reference_date.year
        with _locked(self.directory):
            self._reload()
            existing, after = self._screen(
                request.round_id,
                manifest,
                request.reference_date,
                cost,
                payload_sha,
                recipient_scope(request.recipient),
            )
            if existing is not None:
                return existing  # an idempotent retry of the same send
            budget = manifest.budget
            receipt = Receipt(
                practice_id=self.practice_id,
                round_id=request.round_id,
                recipient=request.recipient,
                manifest_id=manifest.meta.id,
                manifest_version=manifest.meta.version,
                manifest_hash=manifest_hash,
                reference_date=request.reference_date,
                budget_year=year,
                mechanism=request.release.name,
                parameters=request.release.parameters(),
                payload_sha256=payload_sha,
                payload_bytes=len(request.payload),
                coordinates=request.coordinates,
                epsilon=cost.epsilon,
                delta=cost.delta,
                year_epsilon_spent=after,
                year_epsilon_budget=budget.epsilon_per_year,
                year_delta=budget.delta_per_year,
                charged_at=self._clock().isoformat(),
            )
            self._append(
                {"kind": "charge", "receipt": receipt.document(), "rdp_terms": cost.curve.specs()}
            )
            return receipt

    def check(
        self,
        round_id: str,
        manifest: Manifest,
        reference_date: date,
        release: Release,
        payload: bytes | None = None,
        *,
        scope: RoundScope = RoundScope.CLUSTER,
    ) -> Receipt | None:
        """Dry run of `charge`: raise the refusal `charge` would raise; write nothing.

        Returns the existing receipt when `charge` would be an idempotent retry
        (possible only with `payload`), None when it would charge anew. The agent
        asks before it advertises keys, so a round it would have to refuse later
        costs the other practices nothing. `charge` screens again under the lock,
        so a race between the two can only refuse, never overspend.
        """
        payload_sha = None if payload is None else hashlib.sha256(payload).hexdigest()
        with _locked(self.directory):
            self._reload()
            existing, _ = self._screen(
                round_id, manifest, reference_date, release.cost(), payload_sha, scope
            )
            return existing

    def _screen(
        self,
        round_id: str,
        manifest: Manifest,
        reference_date: date,
        cost: PrivacyCost,
        payload_sha: str | None,
        scope: RoundScope,
    ) -> tuple[Receipt | None, float]:
        """(receipt of an identical earlier send, or None; the year's ε after this release).

        Raises the refusal. The one decision `charge` and `check` share, so they
        cannot disagree. Call with the lock held and the entries reloaded.
        """
        manifest_hash = manifest.hash()
        for existing in self.charges():
            r = existing.receipt
            same_slot = (
                r.manifest_hash == manifest_hash
                and r.reference_date == reference_date
                and recipient_scope(r.recipient) is scope
            )
            if r.round_id == round_id or same_slot:
                if r.round_id == round_id and same_slot and r.payload_sha256 == payload_sha:
                    return r, r.year_epsilon_spent
                what = "a region-wide round" if scope is RoundScope.REGION else "round"
                raise AlreadyContributed(
                    f"{self.path}: this practice already released in {what} {r.round_id} for "
                    f"manifest {r.manifest_id} v{r.manifest_version}, reference date "
                    f"{r.reference_date.isoformat()}; a second release would spend budget twice"
                )
        budget = manifest.budget
        year = reference_date.year
        before = [c.curve for c in self.charges(year)]
        spent_before = (
            to_approx_dp(compose(before), budget.delta_per_year).epsilon if before else 0.0
        )
        after = to_approx_dp(compose([*before, cost.curve]), budget.delta_per_year).epsilon
        refusal = _no_dp_refusal(year, spent_before, cost.epsilon, budget.epsilon_per_year)
        if refusal is not None:
            raise BudgetExceeded(
                f"{self.path}: release refused: {refusal}",
                spent=spent_before,
                requested=cost.epsilon,
                budget=budget.epsilon_per_year,
            )
        if after > budget.epsilon_per_year:
            raise BudgetExceeded(
                f"{self.path}: release refused: {year} has spent ε = {spent_before:.3f}; this "
                f"release (ε = {cost.epsilon:.3f} alone) would bring it to {after:.3f}, over "
                f"the yearly budget {budget.epsilon_per_year:g} "
                f"at δ = {budget.delta_per_year:g}",
                spent=spent_before,
                requested=cost.epsilon,
                budget=budget.epsilon_per_year,
            )
        return None, after

    def mark_sent(self, round_id: str) -> None:
        """Record that the charged vector for `round_id` was handed to the transport."""
        with _locked(self.directory):
            self._reload()
            if not any(c.receipt.round_id == round_id for c in self.charges()):
                raise LedgerError(f"{self.path}: round {round_id} was never charged; send refused")
            if any(e["kind"] == "sent" and e["round_id"] == round_id for e in self._entries):
                return
            self._append({"kind": "sent", "round_id": round_id, "at": self._clock().isoformat()})

    def _reload(self) -> None:
        entries = _read_verified(self.path)
        if entries[: len(self._entries)] != self._entries:
            raise LedgerCorrupt(self.path, "earlier entries changed while the ledger was open")
        self._entries = entries

    def _append(self, body: dict[str, Any]) -> None:
        last = self._entries[-1]
        entry = {"seq": last["seq"] + 1, "prev": last["hash"], **body}
        entry["hash"] = _entry_hash(entry)
        atomic_write(self.path, _serialise([*self._entries, entry]), mode=0o600, hook=self._hook)
        self._entries.append(entry)


def _no_dp_refusal(year: int, spent: float, requested: float, budget: float) -> str | None:
    """Why a release is refused by the no-DP rule (ε = ∞ on either side), or None."""
    if math.isinf(budget):
        return None  # a verification manifest (kind none): its budget is declared unlimited
    if math.isinf(requested):
        return (
            "it carries no differential-privacy guarantee (ε = ∞), which only a verification "
            'manifest (kind = "none", unlimited budget) may release'
        )
    if math.isinf(spent):
        return (
            f"{year} already has a release without differential privacy (ε = ∞), so no DP "
            f"guarantee is left for that year; DP releases dated {year} are refused"
        )
    return None


def _serialise(entries: list[dict[str, Any]]) -> bytes:
    lines = [json.dumps(e, sort_keys=True, ensure_ascii=False, allow_nan=False) for e in entries]
    return ("\n".join(lines) + "\n").encode("utf-8")


_KINDS = {
    "open": {"seq", "prev", "kind", "format", "practice_id", "created_at", "hash"},
    "charge": {"seq", "prev", "kind", "receipt", "rdp_terms", "hash"},
    "sent": {"seq", "prev", "kind", "round_id", "at", "hash"},
}


def _read_verified(path: Path) -> list[dict[str, Any]]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise LedgerCorrupt(path, f"cannot be read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LedgerCorrupt(path, "not UTF-8 text") from None
    if not text:
        raise LedgerCorrupt(path, "file is empty")
    if not text.endswith("\n"):
        raise LedgerCorrupt(path, "last line is incomplete")
    entries: list[dict[str, Any]] = []
    charged_rounds: set[str] = set()
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LedgerCorrupt(path, f"not valid JSON ({exc.msg})", line=number) from None
        if not isinstance(entry, dict):
            raise LedgerCorrupt(path, "entry is not an object", line=number)
        kind = entry.get("kind")
        if kind not in _KINDS or set(entry) != _KINDS[kind]:
            raise LedgerCorrupt(path, f"entry of kind {kind!r} has unexpected fields", line=number)
        if (kind == "open") != (number == 1):
            raise LedgerCorrupt(path, "the 'open' entry must be first and only first", line=number)
        expected_prev = entries[-1]["hash"] if entries else GENESIS
        if entry["seq"] != number - 1:
            raise LedgerCorrupt(path, f"sequence number {entry['seq']} out of order", line=number)
        if entry["prev"] != expected_prev:
            raise LedgerCorrupt(path, "does not chain to the previous entry", line=number)
        try:
            intact = entry["hash"] == _entry_hash(entry)
        except ValueError as exc:
            raise LedgerCorrupt(path, f"entry cannot be hashed ({exc})", line=number) from None
        if not intact:
            raise LedgerCorrupt(path, "entry hash does not match its content", line=number)
        if kind == "open" and entry["format"] != FORMAT:
            raise LedgerCorrupt(path, f"unknown format {entry['format']!r}", line=number)
        if kind == "charge":
            try:
                receipt = Receipt.from_document(entry["receipt"])
                for spec in entry["rdp_terms"]:
                    term_from_spec(spec)
            except (ReceiptFormatError, MechanismError, TypeError, AttributeError) as exc:
                raise LedgerCorrupt(
                    path, f"charge entry is malformed ({exc})", line=number
                ) from None
            if receipt.practice_id != entries[0]["practice_id"]:
                raise LedgerCorrupt(path, "charge for another practice", line=number)
            charged_rounds.add(receipt.round_id)
        if kind == "sent" and entry["round_id"] not in charged_rounds:
            raise LedgerCorrupt(path, "'sent' for a round that was never charged", line=number)
        entries.append(entry)
    if not entries:
        raise LedgerCorrupt(path, "file is empty")
    return entries


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """An exclusive advisory lock, so two agent processes cannot both spend the last budget."""
    lock_path = directory / LOCK_FILE
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + _LOCK_TIMEOUT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LedgerError(f"{lock_path}: ledger is locked by another process") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
