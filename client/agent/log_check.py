"""What the agent checks in the coordinator's transparency log, and when.

The coordinator keeps the log but is not trusted, so every answer it gives is
a proof the agent verifies (`privacy.log_proofs.verify_view`) against the
coordinator's log key from `agent.toml` and the last tree head this agent saw
(kept in `state/log_head.json`, which only ever grows):

- **before each round** (and at start-up): the log must extend the head seen
  before (consistency), hold every receipt this practice signed and sent
  (inclusion), and hold nothing signed by this practice that its ledger
  lacks. A ledger that misses receipts was restored from an older copy or
  re-created: it under-counts the budget spent, so the agent charges nothing
  until `klynge agent recover-ledger` rebuilds it from the log;
- **after each charge, before the vector leaves**: the signed receipt is
  published and its inclusion proven, so no masked vector reaches the
  coordinator without its receipt in the public log.

Every failure is a `RoundRefused` with a reason code and one line in words.
The network call is passed in (`Fetch`), so tests drive this against a real
`TransparencyLog` in-process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from client.agent.policy import RefusalCode, RoundRefused
from common.atomic import atomic_write
from common.errors import KlyngeError
from privacy.errors import LogError
from privacy.ledger import Charge, Ledger
from privacy.log_entries import Kind, Statement, approval_payload, sign_statement
from privacy.log_proofs import (
    FETCH_LOG_PUBLISH,
    FETCH_LOG_VIEW,
    LogView,
    PublishRequest,
    VerifiedView,
    ViewRequest,
    checkpoint_document,
    checkpoint_from_document,
    verify_view,
)
from privacy.receipts import SignedReceipt
from privacy.transparency import Checkpoint
from privacy.trust import AcceptedManifest

RECOVER_HINT = "run `klynge agent recover-ledger --config agent.toml` to rebuild it from the log"

Fetch = Callable[[str, bytes], bytes]  # (scope, request body) -> response body


class LogChecker:
    """One practice's checks of the coordinator's log (see the module docstring)."""

    def __init__(
        self,
        practice_id: str,
        identity: Ed25519PrivateKey,
        log_key: Ed25519PublicKey,
        fetch: Fetch,
        head_path: Path,
    ) -> None:
        self.practice_id = practice_id
        self._identity = identity
        self._log_key = log_key
        self._fetch = fetch
        self.head_path = head_path
        self.last_view: VerifiedView | None = None

    # --- what the agent calls --------------------------------------------------------

    def check_before_round(self, ledger: Ledger) -> VerifiedView:
        """The view of the log, proven; refuses if the ledger and the log disagree."""
        view = self.view()
        compare_with_ledger(view, ledger.charges())
        return view

    def publish_receipt(self, signed: SignedReceipt, ledger: Ledger) -> VerifiedView:
        """Publish a receipt and prove it is in the log, before its vector is sent."""
        view = self._publish(Statement.from_receipt(signed), RefusalCode.RECEIPT_NOT_LOGGED)
        if signed.receipt.receipt_id not in {r.receipt.receipt_id for r in view.receipts()}:
            raise RoundRefused(
                RefusalCode.RECEIPT_NOT_LOGGED,
                f"the coordinator's log does not show the receipt for round "
                f"{signed.receipt.round_id} after publishing it; nothing was sent",
            )
        compare_with_ledger(view, ledger.charges())
        return view

    def publish_approval(self, accepted: AcceptedManifest, view: VerifiedView) -> VerifiedView:
        """Publish this practice's approval of a manifest, once (a view shows if it is there)."""
        if accepted.manifest_hash in view.approved():
            return view
        meta = accepted.manifest.meta
        payload = approval_payload(
            self.practice_id,
            meta.id,
            meta.version,
            accepted.manifest_hash,
            accepted.approval.approved_on,
        )
        statement = sign_statement(Kind.APPROVAL, payload, self._identity)
        return self._publish(statement, RefusalCode.LOG_UNVERIFIABLE)

    def view(self) -> VerifiedView:
        since = self.last_head()
        body = ViewRequest(since).to_bytes()
        return self._ask(FETCH_LOG_VIEW, body, since, RefusalCode.LOG_UNVERIFIABLE)

    # --- the last head seen --------------------------------------------------------------

    def last_head(self) -> Checkpoint | None:
        try:
            text = self.head_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise RoundRefused(
                RefusalCode.LOG_UNVERIFIABLE, f"{self.head_path}: cannot read ({exc.strerror})"
            ) from None
        try:
            doc = json.loads(text)
            if not isinstance(doc, dict):
                raise ValueError("not an object")
            return checkpoint_from_document({k: doc.get(k) for k in ("tree_size", "root")})
        except (ValueError, LogError) as exc:
            raise RoundRefused(
                RefusalCode.LOG_UNVERIFIABLE,
                f"{self.head_path}: not a tree head this agent wrote ({exc})",
            ) from None

    def _remember(self, view: VerifiedView) -> None:
        document = {**checkpoint_document(view.checkpoint), "key_id": view.head.key_id}
        text = json.dumps(document, sort_keys=True) + "\n"
        atomic_write(self.head_path, text.encode("utf-8"))
        self.last_view = view

    # --- the calls --------------------------------------------------------------------

    def _publish(self, statement: Statement, code: RefusalCode) -> VerifiedView:
        since = self.last_head()
        body = PublishRequest(statement, since).to_bytes()
        return self._ask(FETCH_LOG_PUBLISH, body, since, code)

    def _ask(
        self, scope: str, body: bytes, since: Checkpoint | None, code: RefusalCode
    ) -> VerifiedView:
        try:
            answer = self._fetch(scope, body)
        except KlyngeError as exc:
            what = (
                "the statement could not be published in the transparency log (nothing was sent)"
                if scope == FETCH_LOG_PUBLISH
                else "the transparency log could not be read"
            )
            raise RoundRefused(code, f"{what}: {exc}") from None
        try:
            view = verify_view(
                LogView.from_bytes(answer),
                log_key=self._log_key,
                since=since,
                practice_id=self.practice_id,
                identity=self._identity.public_key(),
            )
        except LogError as exc:
            raise RoundRefused(
                RefusalCode.LOG_UNVERIFIABLE,
                f"the coordinator's transparency log failed its proofs: {exc}",
            ) from None
        try:
            self._remember(view)
        except OSError as exc:
            raise RoundRefused(
                RefusalCode.LOG_UNVERIFIABLE,
                f"{self.head_path}: cannot record the log's head ({exc.strerror})",
            ) from None
        return view


def compare_with_ledger(view: VerifiedView, charges: list[Charge]) -> None:
    """Refuse unless the ledger holds every receipt the log holds, and the log every sent one."""
    local = {c.receipt.receipt_id for c in charges}
    logged = view.receipts()
    missing = [r.receipt for r in logged if r.receipt.receipt_id not in local]
    if missing:
        rounds = ", ".join(sorted({r.round_id[:16] for r in missing})[:3])
        raise RoundRefused(
            RefusalCode.LEDGER_BEHIND_LOG,
            f"the transparency log holds {len(missing)} receipt(s) of this practice that its "
            f"ledger lacks (round {rounds}): the ledger was restored from an older copy or "
            f"re-created and under-counts the budget spent, so nothing is charged; "
            f"{RECOVER_HINT}",
        )
    ids = {r.receipt.receipt_id for r in logged}
    hidden = [c.receipt for c in charges if c.sent and c.receipt.receipt_id not in ids]
    if hidden:
        raise RoundRefused(
            RefusalCode.RECEIPT_NOT_LOGGED,
            f"the receipt for round {hidden[0].round_id[:16]}, sent on "
            f"{hidden[0].charged_at[:10]}, is missing from the coordinator's transparency log "
            "(a charge was hidden); this practice takes no further part",
        )


def recover_ledger(
    checker: LogChecker, ledger_dir: Path, key: Ed25519PrivateKey, today: date
) -> tuple[Ledger, Path | None, VerifiedView]:
    """Rebuild the ledger from the practice's receipts in the log (proven), keeping the old file."""
    view = checker.view()
    ledger, aside = Ledger.recover(
        ledger_dir,
        key,
        checker.practice_id,
        view.receipts(),
        recovered_from={**checkpoint_document(view.checkpoint), "on": today.isoformat()},
    )
    return ledger, aside, view
