"""The privacy steps of one contribution, each a small function the core calls in order.

    verify manifest (policy) → compute → bound + noise → mask → charge ledger → send

Why this order:
- the vector is computed only after `SecAggAgent.receive_shares` passed every
  protocol check, so nothing is computed for a round that cannot finish;
- the noise is drawn by `privacy.contribution.prepare_contribution`, whose
  `Release` is the very object the ledger is charged with, so the cost on the
  receipt is computed from the parameters that drew the noise;
- the ledger is charged with exactly the bytes that will leave (the encoded
  `MaskedInput`, which looks uniformly random) before they are handed to the
  transport; a refused charge means nothing is sent.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client.engine.fast import PreparedExtract, evaluate_prepared
from indicator_defs import Catalogue
from privacy.contribution import PreparedContribution, prepare_contribution
from privacy.layout import ReleaseLayout, RoundScope
from privacy.ledger import ChargeRequest, Ledger
from privacy.manifest import Manifest
from privacy.randomness import RandomSource
from privacy.receipts import Receipt, SignedReceipt, sign_receipt, write_receipt
from protocols.agent import SecAggAgent
from protocols.messages import MaskedInput


def compute_vector(
    extract: PreparedExtract,
    catalogue: Catalogue,
    manifest: Manifest,
    reference_date: date,
    scope: RoundScope = RoundScope.CLUSTER,
) -> np.ndarray:
    """The practice's cells at `reference_date`, laid out for a round of `scope` (never logged)."""
    result = evaluate_prepared(extract, catalogue, reference_date)
    return ReleaseLayout.for_round(manifest, scope).encode(result.counts(), result.list_size)


def add_noise(
    manifest: Manifest,
    vector: np.ndarray,
    min_survivors: int,
    source: RandomSource,
    scope: RoundScope = RoundScope.CLUSTER,
) -> PreparedContribution:
    """Bound the vector to the manifest's public limits, then add this practice's noise."""
    return prepare_contribution(
        manifest, vector, round_min_survivors=min_survivors, scope=scope, source=source
    )


def mask(agent: SecAggAgent, values: np.ndarray) -> MaskedInput:
    return agent.masked_input(values)


def charge(
    ledger: Ledger,
    *,
    round_id: str,
    recipient: str,
    manifest: Manifest,
    reference_date: date,
    prepared: PreparedContribution,
    payload: bytes,
) -> Receipt:
    """Durably charge the budget for `payload` (the exact bytes to send), or refuse.

    `recipient` (`receipts.recipient_of`) names the sum the vector goes into:
    one cluster's, or one region's in a region-wide round; the ledger tells
    the two kinds of release apart by it.
    """
    return ledger.charge(
        ChargeRequest(
            round_id=round_id,
            recipient=recipient,
            manifest=manifest,
            reference_date=reference_date,
            release=prepared.release,
            payload=payload,
            coordinates=int(prepared.values.size),
        )
    )


def store_receipt(
    receipt: Receipt, key: Ed25519PrivateKey, directory: Path
) -> tuple[SignedReceipt, Path]:
    """Sign the receipt with the practice's identity key and keep it for the practice."""
    signed = sign_receipt(receipt, key)
    return signed, write_receipt(directory, signed)
