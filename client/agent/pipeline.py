"""The privacy steps of one contribution, each a small function the core calls in order.

    verify manifest (policy) → compute → bound + noise → mask → charge ledger
        → receipt published in the transparency log → send

Why this order:
- the vector is computed only after `SecAggAgent.receive_shares` passed every
  protocol check, so nothing is computed for a round that cannot finish;
- the noise is drawn by `privacy.contribution.prepare_contribution`, whose
  `Release` is the very object the ledger is charged with, so the cost on the
  receipt is computed from the parameters that drew the noise;
- the ledger is charged with exactly the bytes that will leave (the encoded
  `MaskedInput`, which looks uniformly random) before they are handed to the
  transport; a refused charge means nothing is sent;
- the signed receipt is in the transparency log, proven, before the bytes
  leave, so the coordinator never holds a vector whose charge is not public.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client.engine.fast import PreparedExtract, evaluate_prepared
from indicator_defs import Catalogue
from privacy.contribution import PreparedContribution, prepare_contribution
from privacy.ledger import ChargeRequest, Ledger
from privacy.manifest import Manifest
from privacy.randomness import RandomSource
from privacy.receipts import Receipt, SignedReceipt, sign_receipt, write_receipt
from protocols.agent import SecAggAgent
from protocols.messages import MaskedInput


def compute_vector(
    extract: PreparedExtract, catalogue: Catalogue, manifest: Manifest, reference_date: date
) -> np.ndarray:
    """The practice's counts at `reference_date`, in the manifest's layout (never logged)."""
    result = evaluate_prepared(extract, catalogue, reference_date)
    return result.to_vector(manifest.indicator_ids)


def add_noise(
    manifest: Manifest, vector: np.ndarray, min_survivors: int, source: RandomSource
) -> PreparedContribution:
    """Bound the vector to the manifest's public limits, then add this practice's noise."""
    return prepare_contribution(manifest, vector, round_min_survivors=min_survivors, source=source)


def mask(agent: SecAggAgent, values: np.ndarray) -> MaskedInput:
    return agent.masked_input(values)


def recipient_of(cluster_id: str) -> str:
    """Who receives the masked vector: the coordinator, for this cluster's sum only."""
    return f"coordinator:{cluster_id}"


def charge(
    ledger: Ledger,
    *,
    round_id: str,
    cluster_id: str,
    manifest: Manifest,
    reference_date: date,
    prepared: PreparedContribution,
    payload: bytes,
    aborted_rounds: frozenset[str] = frozenset(),
) -> Receipt:
    """Durably charge the budget for `payload` (the exact bytes to send), or refuse.

    `aborted_rounds`: rounds the transparency log proves aborted; only they let
    a period be charged a second time (a retry, with fresh noise).
    """
    return ledger.charge(
        ChargeRequest(
            round_id=round_id,
            recipient=recipient_of(cluster_id),
            manifest=manifest,
            reference_date=reference_date,
            release=prepared.release,
            payload=payload,
            coordinates=int(prepared.values.size),
            aborted_rounds=aborted_rounds,
        )
    )


def store_receipt(
    receipt: Receipt, key: Ed25519PrivateKey, directory: Path
) -> tuple[SignedReceipt, Path]:
    """Sign the receipt with the practice's identity key and keep it for the practice."""
    signed = sign_receipt(receipt, key)
    return signed, write_receipt(directory, signed)
