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

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client.engine.fast import PreparedExtract, evaluate_prepared
from client.engine.survey import survey_cells
from common.atomic import atomic_write
from indicator_defs import Catalogue
from indicator_defs.survey_loader import installed_surveys
from indicator_defs.survey_model import Survey
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
    surveys: Mapping[str, Survey] | None = None,
) -> np.ndarray:
    """The practice's cells at `reference_date`, laid out for a round of `scope` (never logged).

    Survey measures come from the extract's answers in the manifest's period
    (zeros when the practice has none), into the same vector as the indicators;
    `surveys` are the definitions (None: the installed ones).
    """
    result = evaluate_prepared(extract, catalogue, reference_date)
    wanted = {s.id: (s.version, s.period(reference_date)) for s in manifest.survey_entries}
    definitions = installed_surveys() if surveys is None else surveys
    answers = survey_cells(extract.survey_responses, definitions, wanted)
    layout = ReleaseLayout.for_round(manifest, scope)
    return layout.encode(result.counts(), result.list_size, answers)


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
    aborted_rounds: frozenset[str] = frozenset(),
) -> Receipt:
    """Durably charge the budget for `payload` (the exact bytes to send), or refuse.

    `aborted_rounds`: rounds the transparency log proves aborted; only they let
    a period be charged a second time (a retry, with fresh noise).

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
            aborted_rounds=aborted_rounds,
        )
    )


def store_receipt(
    receipt: Receipt, key: Ed25519PrivateKey, directory: Path
) -> tuple[SignedReceipt, Path]:
    """Sign the receipt with the practice's identity key and keep it for the practice."""
    signed = sign_receipt(receipt, key)
    return signed, write_receipt(directory, signed)


def keep_contribution(
    directory: Path,
    round_id: str,
    reference_date: date,
    manifest: Manifest,
    prepared: PreparedContribution,
) -> Path:
    """Keep the practice's own bounded cells and noise share of one round, readable by it alone.

    With them the practice's local report can compare the practice with the
    rest of its cluster: the cluster's release minus the practice's own cells
    and own noise is the other practices' sum with only their noise. Sent with
    the values, the noise share would strip them of their protection, so it
    never leaves this directory.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    document = {
        "round_id": round_id,
        "reference_date": reference_date.isoformat(),
        "manifest_hash": manifest.hash(),
        "min_survivors": getattr(prepared.release, "n_min", None),
        "bounded": [int(v) for v in prepared.bounded],
        "noise": [int(v) for v in prepared.noise],
    }
    path = directory / f"{round_id}.json"
    atomic_write(path, json.dumps(document).encode("utf-8"), mode=0o600)
    return path
