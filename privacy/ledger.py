"""The agent's privacy ledger: charged before a vector leaves, never overspent, and bound to
the practice's identity key so that neither an edit nor a restore can make it lie.

Guarantees:
- **Charge before send.** `charge()` returns only after the charge is durable
  on disk; the caller sends afterwards. A crash at any point therefore leaves
  either no charge and nothing sent, or a charge (perhaps for a vector that
  never left). A lost send costs budget; a lost charge cannot happen.
- **No double spend.** One release per round; one round per (manifest,
  reference date, scope), except that a period whose earlier round the transparency
  log proves aborted may be run once more (`MAX_ATTEMPTS_PER_PERIOD`, see
  docs/privacy.md "Aborted periods"). Each attempt draws fresh noise and is
  charged in full: a retry is a second release, never a second look at the
  first one's noisy vector. A retry of the same round with the same bytes
  returns the existing receipt. The scope (a cluster round, or the
  region-wide round of that date: two different releases, each charged) is
  read from the receipt's recipient (`receipts.recipient_scope`).
- **Budget from the receipts themselves.** Each charge stores the practice's
  signed receipt and nothing derived: the RDP curve is rebuilt from the
  receipt's own mechanism parameters (`release_from_parameters`) every time
  the ledger is read. The RDP curves of all charges whose reference date falls
  in the calendar year are added, with the new one, and converted to (ε, δ) at
  the manifest's yearly δ. Over budget: refused, and nothing is written, so a
  smaller later release can still fit.
- **No DP, no guarantee left.** A release without noise (kind none, for
  verification only) costs ε = ∞ and is accepted only under a manifest whose
  budget is unlimited. Its year's spend is then ∞, so every later release
  under a DP manifest dated in that year is refused.
- **Append-only, hash-chained and signed.** Entries are JSON lines, each
  committing to the previous entry's hash and signed with the practice's
  Ed25519 identity key (the key in the signed registry), named in the first
  entry. An edit, even with the chain recomputed, fails a signature unless
  made with the practice's private key; `open(identity=...)` refuses a ledger
  signed by any other key. Every update rewrites the file atomically (write,
  fsync, rename, fsync directory) and keeps all earlier entries.
- **Corruption is loud.** A ledger that fails any check raises LedgerCorrupt;
  the agent refuses to release until it is recovered.
- **A restore is caught outside the file.** An older, intact copy of the
  ledger (or a deleted and re-created one) is a valid ledger on its own. The
  practice's signed receipts in the transparency log are the external check:
  the agent compares them with `receipt_ids()` before each round and refuses
  to charge while the ledger misses any; `recover()` rebuilds the ledger from
  the log's receipts (`klynge agent recover-ledger`).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from common.atomic import Hook, atomic_write
from common.canonical import canonical_hash, domain_message
from privacy.errors import (
    AlreadyContributed,
    BadSignature,
    BudgetExceeded,
    LedgerCorrupt,
    LedgerError,
    MechanismError,
    SignatureError,
)
from privacy.layout import RoundScope
from privacy.manifest import Manifest
from privacy.rdp import RdpCurve, compose, to_approx_dp
from privacy.receipts import (
    RECEIPT_DOMAIN,
    Receipt,
    ReceiptFormatError,
    SignedReceipt,
    recipient_scope,
    sign_receipt,
    verify_receipt,
)
from privacy.release import PrivacyCost, Release, release_from_parameters
from privacy.signing import key_id, public_key_from_text, public_key_to_text, sign, verify

LEDGER_FILE = "ledger.jsonl"
LOCK_FILE = "ledger.lock"
FORMAT = "klynge-ledger/2"
ENTRY_DOMAIN = "klynge-ledger-entry/2"
SIGNATURE_DOMAIN = "klynge-ledger-signature/2"
GENESIS = "0" * 64
MAX_ATTEMPTS_PER_PERIOD = 2  # the scheduled round and one retry after a proven abort
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
    aborted_rounds: frozenset[str] = frozenset()  # rounds the log proves aborted


@dataclass(frozen=True)
class Charge:
    signed: SignedReceipt
    curve: RdpCurve  # rebuilt from the receipt's own parameters, never read from the file
    sent: bool

    @property
    def receipt(self) -> Receipt:
        return self.signed.receipt


@dataclass(frozen=True)
class YearUsage:
    year: int
    releases: int
    sent: int
    epsilon: float
    delta: float


def _entry_hash(entry: dict[str, Any]) -> str:
    body = {k: v for k, v in entry.items() if k not in ("hash", "signature")}
    return canonical_hash(ENTRY_DOMAIN, body)


def _signature_message(entry_hash: str) -> bytes:
    return domain_message(SIGNATURE_DOMAIN, {"hash": entry_hash})


class Ledger:
    """One practice's ledger in `directory`. Not thread-safe; processes are serialised by a lock.

    Opened with the practice's private `key` it can charge; opened without one
    it is read-only (reports, audits), and still fully verified.
    """

    def __init__(
        self,
        directory: Path,
        entries: list[dict[str, Any]],
        key: Ed25519PrivateKey | None,
        clock: Clock,
        hook: Hook | None,
    ):
        self.directory = directory
        self.practice_id: str = entries[0]["practice_id"]
        self.identity: Ed25519PublicKey = _header_key(entries[0], directory / LEDGER_FILE)
        self._entries = entries
        self._key = key
        self._clock = clock
        self._hook = hook
        self._curves: dict[str, RdpCurve] = {}  # entry hash -> curve rebuilt from its receipt

    # -- construction -------------------------------------------------------

    @classmethod
    def create(
        cls,
        directory: Path | str,
        practice_id: str,
        key: Ed25519PrivateKey,
        *,
        clock: Clock = _utc_now,
    ) -> Ledger:
        """Start an empty ledger; refuses if one exists (never overwrite spent budget)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / LEDGER_FILE
        with _locked(directory):
            if path.exists():
                raise LedgerError(f"{path}: a ledger already exists; refusing to start a new one")
            entries = [_header(practice_id, key, clock, None)]
            atomic_write(path, _serialise(entries), mode=0o600)
        return cls(directory, entries, key, clock, None)

    @classmethod
    def open(
        cls,
        directory: Path | str,
        *,
        key: Ed25519PrivateKey | None = None,
        identity: Ed25519PublicKey | None = None,
        clock: Clock = _utc_now,
        hook: Hook | None = None,
    ) -> Ledger:
        """Open and fully verify an existing ledger. `hook` is for crash tests only.

        With `key` (or `identity`) the ledger must be signed by that practice's
        key; without, by the key its first entry names.
        """
        directory = Path(directory)
        path = directory / LEDGER_FILE
        if not path.exists():
            raise LedgerError(
                f"{path}: no privacy ledger here; create one when the agent is set up, or "
                "rebuild it from the transparency log with `klynge agent recover-ledger` "
                "(a missing ledger is never recreated automatically)"
            )
        expected = key.public_key() if key is not None else identity
        entries = _read_verified(path, expected)
        return cls(directory, entries, key, clock, hook)

    @classmethod
    def recover(
        cls,
        directory: Path | str,
        key: Ed25519PrivateKey,
        practice_id: str,
        receipts: Sequence[SignedReceipt],
        *,
        recovered_from: dict[str, Any],
        clock: Clock = _utc_now,
    ) -> tuple[Ledger, Path | None]:
        """Rebuild the ledger from the practice's signed receipts in the transparency log.

        Every receipt is checked against `key` and the practice. Charges of the
        current ledger for rounds the log has no receipt of (charged, then never
        sent) are kept when that ledger still verifies, so recovery never lowers
        the spend; for a round the log has, the log's receipt is the one kept. The
        old file is kept beside the new one (its path is returned), never
        deleted. `recovered_from` names the log head the receipts were proven
        against; it is recorded in the new ledger's first entry.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / LEDGER_FILE
        public = key.public_key()
        for signed in receipts:
            _check_own_receipt(signed, public, practice_id, path)
        with _locked(directory):
            kept: list[Charge] = []
            sent: set[str] = set()
            if path.exists():
                try:
                    old = cls(directory, _read_verified(path, public), key, clock, None)
                except (LedgerCorrupt, LedgerError):
                    old = None  # edited or foreign: only the log's receipts are trustworthy
                if old is not None and old.practice_id == practice_id:
                    kept = old.charges()
                    sent = {c.receipt.round_id for c in kept if c.sent}
            # The log's receipt of a round wins over the old ledger's (which may be edited).
            logged = {s.receipt.round_id for s in receipts}
            charges = [*receipts, *(c.signed for c in kept if c.receipt.round_id not in logged)]
            charges.sort(key=lambda s: s.receipt.charged_at)
            # A receipt in the log was published before its vector was sent: count it as sent.
            sent |= {s.receipt.round_id for s in receipts}
            entries = [_header(practice_id, key, clock, recovered_from)]
            for signed in charges:
                _append_entry(
                    entries,
                    key,
                    {
                        "kind": "charge",
                        "receipt": signed.receipt.document(),
                        "receipt_signature": signed.signature,
                    },
                )
                if signed.receipt.round_id in sent:
                    _append_entry(
                        entries,
                        key,
                        {"kind": "sent", "round_id": signed.receipt.round_id, "at": _stamp(clock)},
                    )
            aside = None
            if path.exists():
                aside = path.with_name(f"{LEDGER_FILE}.replaced-{clock():%Y%m%dT%H%M%S}")
                os.replace(path, aside)
            atomic_write(path, _serialise(entries), mode=0o600)
        return cls(directory, entries, key, clock, None), aside

    @property
    def path(self) -> Path:
        return self.directory / LEDGER_FILE

    @property
    def recovered_from(self) -> dict[str, Any] | None:
        """The log head a recovered ledger was rebuilt against (None if never recovered)."""
        value = self._entries[0]["recovered_from"]
        return None if value is None else dict(value)

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
            curve = self._curves.get(entry["hash"])
            if curve is None:
                curve = self._curves[entry["hash"]] = _curve(receipt, self.path, entry["seq"] + 1)
            signed = SignedReceipt(
                receipt,
                key_id(self.identity),
                public_key_to_text(self.identity),
                entry["receipt_signature"],
            )
            out.append(Charge(signed, curve, receipt.round_id in sent))
        return out

    def receipt_ids(self) -> frozenset[str]:
        """Ids of the receipts charged here (to compare with the practice's receipts in the log)."""
        return frozenset(c.receipt.receipt_id for c in self.charges())

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
        key = self._writer()
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
                request.aborted_rounds,
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
            signed = sign_receipt(receipt, key)
            self._append(
                {
                    "kind": "charge",
                    "receipt": receipt.document(),
                    "receipt_signature": signed.signature,
                }
            )
            return receipt

    def check(
        self,
        round_id: str,
        manifest: Manifest,
        reference_date: date,
        release: Release,
        payload: bytes | None = None,
        aborted_rounds: Collection[str] = frozenset(),
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
                round_id,
                manifest,
                reference_date,
                release.cost(),
                payload_sha,
                aborted_rounds,
                scope,
            )
            return existing

    def _screen(
        self,
        round_id: str,
        manifest: Manifest,
        reference_date: date,
        cost: PrivacyCost,
        payload_sha: str | None,
        aborted_rounds: Collection[str],
        scope: RoundScope,
    ) -> tuple[Receipt | None, float]:
        """(receipt of an identical earlier send, or None; the year's ε after this release).

        Raises the refusal. The one decision `charge` and `check` share, so they
        cannot disagree. Call with the lock held and the entries reloaded.
        """
        manifest_hash = manifest.hash()
        same_period = []
        for existing in self.charges():
            r = existing.receipt
            same_slot = (
                r.manifest_hash == manifest_hash
                and r.reference_date == reference_date
                and recipient_scope(r.recipient) is scope
            )
            if r.round_id == round_id:
                if same_slot and r.payload_sha256 == payload_sha:
                    return r, r.year_epsilon_spent
                raise AlreadyContributed(
                    f"{self.path}: this practice already released in {_round_word(scope)} "
                    f"{r.round_id}; a second release in the same round would spend budget twice"
                )
            if same_slot:
                same_period.append(r)
        self._screen_period(same_period, reference_date, aborted_rounds, scope)
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

    def _screen_period(
        self,
        earlier: list[Receipt],
        reference_date: date,
        aborted_rounds: Collection[str],
        scope: RoundScope,
    ) -> None:
        """A period runs again only after every earlier round of it was proven aborted."""
        if not earlier:
            return
        r = earlier[-1]
        period = (
            f"manifest {r.manifest_id} v{r.manifest_version}, reference date "
            f"{reference_date.isoformat()}"
        )
        unproven = [e.round_id for e in earlier if e.round_id not in aborted_rounds]
        if unproven:
            raise AlreadyContributed(
                f"{self.path}: this practice already released in {_round_word(scope)} "
                f"{unproven[0]} for "
                f"{period}; the period runs again only when the transparency log shows that "
                "round aborted"
            )
        if len(earlier) >= MAX_ATTEMPTS_PER_PERIOD:
            raise AlreadyContributed(
                f"{self.path}: {len(earlier)} rounds for {period} were charged and aborted; "
                f"a period is attempted at most {MAX_ATTEMPTS_PER_PERIOD} times"
            )

    def mark_sent(self, round_id: str) -> None:
        """Record that the charged vector for `round_id` was handed to the transport."""
        self._writer()
        with _locked(self.directory):
            self._reload()
            if not any(c.receipt.round_id == round_id for c in self.charges()):
                raise LedgerError(f"{self.path}: round {round_id} was never charged; send refused")
            if any(e["kind"] == "sent" and e["round_id"] == round_id for e in self._entries):
                return
            self._append({"kind": "sent", "round_id": round_id, "at": _stamp(self._clock)})

    def _writer(self) -> Ed25519PrivateKey:
        if self._key is None:
            raise LedgerError(
                f"{self.path}: opened without the practice's identity key; it can only be read"
            )
        return self._key

    def _reload(self) -> None:
        entries = _read_verified(self.path, self.identity)
        if entries[: len(self._entries)] != self._entries:
            raise LedgerCorrupt(
                self.path,
                "earlier entries changed while the ledger was open (it was replaced or restored)",
            )
        self._entries = entries

    def _append(self, body: dict[str, Any]) -> None:
        entries = list(self._entries)
        _append_entry(entries, self._writer(), body)
        atomic_write(self.path, _serialise(entries), mode=0o600, hook=self._hook)
        self._entries = entries


def _stamp(clock: Clock) -> str:
    return clock().isoformat()


def _header(
    practice_id: str,
    key: Ed25519PrivateKey,
    clock: Clock,
    recovered_from: dict[str, Any] | None,
) -> dict[str, Any]:
    header: dict[str, Any] = {
        "seq": 0,
        "prev": GENESIS,
        "kind": "open",
        "format": FORMAT,
        "practice_id": practice_id,
        "identity_key": public_key_to_text(key.public_key()),
        "created_at": _stamp(clock),
        "recovered_from": recovered_from,
    }
    header["hash"] = _entry_hash(header)
    header["signature"] = sign(key, _signature_message(header["hash"]))
    return header


def _append_entry(
    entries: list[dict[str, Any]], key: Ed25519PrivateKey, body: dict[str, Any]
) -> None:
    last = entries[-1]
    entry = {"seq": last["seq"] + 1, "prev": last["hash"], **body}
    entry["hash"] = _entry_hash(entry)
    entry["signature"] = sign(key, _signature_message(entry["hash"]))
    entries.append(entry)


def _header_key(header: dict[str, Any], path: Path) -> Ed25519PublicKey:
    try:
        return public_key_from_text(header["identity_key"], "identity_key")
    except SignatureError as exc:
        raise LedgerCorrupt(path, str(exc), line=1) from None


def _round_word(scope: RoundScope) -> str:
    return "a region-wide round" if scope is RoundScope.REGION else "round"


def _curve(receipt: Receipt, path: Path, line: int) -> RdpCurve:
    try:
        return release_from_parameters(receipt.mechanism, receipt.parameters).curve()
    except MechanismError as exc:
        raise LedgerCorrupt(
            path, f"the receipt's mechanism parameters do not describe a release ({exc})", line=line
        ) from None


def _check_own_receipt(
    signed: SignedReceipt, public: Ed25519PublicKey, practice_id: str, path: Path
) -> None:
    where = f"receipt of round {signed.receipt.round_id}"
    if signed.receipt.practice_id != practice_id or signed.key_id != key_id(public):
        raise LedgerError(f"{path}: {where} is not this practice's (practice or key differs)")
    try:
        verify_receipt(signed, where)
    except SignatureError as exc:
        raise LedgerError(f"{path}: {exc}") from None


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


_COMMON = {"seq", "prev", "kind", "hash", "signature"}
_KINDS = {
    "open": _COMMON | {"format", "practice_id", "identity_key", "created_at", "recovered_from"},
    "charge": _COMMON | {"receipt", "receipt_signature"},
    "sent": _COMMON | {"round_id", "at"},
}


def _read_verified(path: Path, identity: Ed25519PublicKey | None) -> list[dict[str, Any]]:
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
    signer: Ed25519PublicKey | None = None
    for number, line in enumerate(text.split("\n")[:-1], start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as exc:
            raise LedgerCorrupt(path, f"not valid JSON ({exc.msg})", line=number) from None
        except RecursionError:
            raise LedgerCorrupt(path, "nested too deeply", line=number) from None
        if not isinstance(entry, dict):
            raise LedgerCorrupt(path, "entry is not an object", line=number)
        kind = entry.get("kind")
        if number == 1 and kind == "open" and entry.get("format") != FORMAT:
            raise LedgerCorrupt(
                path,
                f"format {entry.get('format')!r} is not {FORMAT!r}: this ledger predates "
                "signed entries; rebuild it from the transparency log with "
                "`klynge agent recover-ledger`",
                line=number,
            )
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
        if signer is None:
            signer = _header_key(entry, path)
            if identity is not None and key_id(identity) != key_id(signer):
                raise LedgerCorrupt(
                    path,
                    f"signed by key {key_id(signer)}, not by this practice's identity key "
                    f"{key_id(identity)}",
                    line=number,
                )
        try:
            verify(signer, _signature_message(entry["hash"]), entry["signature"], "signature")
        except SignatureError as exc:
            detail = (
                "signature does not verify (edited after signing)"
                if isinstance(exc, BadSignature)
                else str(exc)
            )
            raise LedgerCorrupt(path, detail, line=number) from None
        if kind == "charge":
            try:
                receipt = Receipt.from_document(entry["receipt"])
                verify(
                    signer,
                    domain_message(RECEIPT_DOMAIN, receipt.document()),
                    entry["receipt_signature"],
                    "receipt_signature",
                )
            except (ReceiptFormatError, SignatureError) as exc:
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
