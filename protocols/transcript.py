"""The exact bytes that signatures, commitments and AEAD tags bind.

Kept in one place so the agent that signs and the agent that verifies can
never disagree, and so a reviewer can see what each signature covers:

- a key advertisement binds the announcement digest (round id, cluster,
  manifest hash, reference date, parameters and the full participant list),
  the sender's index and its two X25519 keys, self-mask commitment and graph
  nonce: a coordinator can neither move keys between practices or rounds nor
  show two practices different announcements without signatures failing;
- a survivor signature binds the announcement digest, the set of practices
  that advertised keys and the digest of their graph nonces (which together
  fix the neighbour graph) and the survivor set: agents that accept each
  other's signatures share one view of the round and of its graph;
- share ciphertexts carry (round id, sender, recipient) as associated data.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence

import numpy as np

DOMAIN_KEY_ADVERTISEMENT = b"klynge/secagg/v1/key-advertisement"
DOMAIN_SURVIVORS = b"klynge/secagg/v1/survivor-set"
_COMMITMENT_PREFIX = b"klynge/secagg/v1/self-mask-commitment\x00"
_SHARE_AAD_PREFIX = b"klynge/secagg/v1/share\x00"
_NONCES_PREFIX = b"klynge/secagg/v1/graph-nonces\x00"


def index_set_digest(indices: Sequence[int] | np.ndarray) -> bytes:
    return hashlib.sha256(np.asarray(indices, dtype="<u4").tobytes()).digest()


def key_advertisement_payload(
    announcement_digest: bytes,
    sender: int,
    encryption_key: bytes,
    mask_key: bytes,
    self_mask_commitment: bytes,
    graph_nonce: bytes,
) -> bytes:
    return (
        announcement_digest
        + struct.pack("<I", sender)
        + encryption_key
        + mask_key
        + self_mask_commitment
        + graph_nonce
    )


def nonce_digest(nonces: Sequence[bytes]) -> bytes:
    """SHA-256 over the advertised practices' graph nonces, in index order."""
    return hashlib.sha256(_NONCES_PREFIX + b"".join(nonces)).digest()


def survivor_payload(
    announcement_digest: bytes,
    advertised: Sequence[int] | np.ndarray,
    graph_nonces: bytes,
    survivors: Sequence[int] | np.ndarray,
) -> bytes:
    """`graph_nonces` is `nonce_digest` of the broadcast's nonces."""
    return (
        announcement_digest
        + index_set_digest(advertised)
        + graph_nonces
        + index_set_digest(survivors)
    )


def self_mask_commitment(round_id: bytes, owner: int, seed: bytes) -> bytes:
    return hashlib.sha256(_COMMITMENT_PREFIX + round_id + struct.pack("<I", owner) + seed).digest()


def share_aad(round_id: bytes, sender: int, recipient: int) -> bytes:
    return _SHARE_AAD_PREFIX + round_id + struct.pack("<II", sender, recipient)


def share_nonce(sender: int, recipient: int) -> bytes:
    """The two directions of a pair use one key, so they take distinct fixed nonces."""
    return bytes(11) + (b"\x01" if sender < recipient else b"\x02")
