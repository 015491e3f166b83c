"""`klynge agent recover-ledger`: rebuild a practice's ledger from its receipts in the log.

A ledger restored from an older copy, or deleted and re-created, misses
charges, and the agent refuses to charge while it does (`log_check`). The
practice's signed receipts in the coordinator's transparency log are the
record that cannot be rolled back: this fetches them with their inclusion
proofs, checks every proof and signature, and writes a new ledger holding all
of them (plus any charge of the old ledger the log lacks, if the old ledger
still verifies). The old file is kept beside the new one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from client.agent.config import AgentSettings
from client.agent.log_check import LogChecker, recover_ledger
from client.agent.policy import RoundRefused
from common.errors import KlyngeError
from common.keyfiles import load_private_key, public_key_from_raw
from privacy.ledger import Ledger
from privacy.log_entries import TreeHead
from transport.client import AgentConfig, AgentHandler, AgentTransport


class RecoveryError(KlyngeError):
    """The ledger could not be rebuilt (the log unreachable, or its proofs failed)."""


@dataclass(frozen=True)
class Recovered:
    ledger: Ledger
    previous: Path | None  # where the replaced ledger file was kept
    receipts: int
    head: TreeHead


def recover(settings: AgentSettings, today: date) -> Recovered:
    key = load_private_key(settings.identity_key)
    transport = AgentTransport(
        AgentConfig(
            target=settings.coordinator.target(),
            tls=settings.tls_files,
            server_name=settings.coordinator.server_name,
            fetch_timeout=settings.coordinator.fetch_timeout_s,
        ),
        AgentHandler(),
        logger=logging.getLogger("klynge.transport.agent"),
    )
    try:
        checker = LogChecker(
            settings.practice_id,
            key,
            public_key_from_raw(settings.coordinator.log_key, f"{settings.path}: log_key"),
            lambda scope, body: transport.fetch(scope, "", None, body).body,
            settings.log_head_path,
        )
        ledger, previous, view = recover_ledger(checker, settings.ledger_dir, key, today)
    except RoundRefused as refusal:
        raise RecoveryError(f"the ledger was not rebuilt: {refusal.detail}") from None
    finally:
        transport.close()
    return Recovered(ledger, previous, len(view.receipts()), view.head)
