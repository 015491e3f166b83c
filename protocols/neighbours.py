"""The SecAgg+ neighbour graph, derived so the coordinator cannot choose it.

Construction (a Harary graph on a keyed random ring, as in Bell et al. 2020):
1. seed = SHA-256(domain, round id, k, sorted member list, digest of the
   members' graph nonces), each nonce fresh from that practice's signed key
   advertisement: the round id alone (the coordinator's choice) no longer
   decides the graph (docs/secagg.md, "The neighbour graph cannot be ground");
2. each member gets a 64-bit sort key from an AES-256-CTR keystream under the
   seed; sorting by key (ties by index) places the members on a ring;
3. each member is joined to the k/2 members on either side of it.

Every party computes the same graph from public data, so the coordinator can
neither pick a practice's neighbours nor show two practices different graphs
without the survivor signatures disagreeing. With n - 1 <= k the graph is
complete. For a sparse graph k must be even (the ring is symmetric).

A neighbour's Shamir x-coordinate for an owner's secret is its 1-based rank
in the owner's sorted neighbour list, so x always lies in 1..k, which keeps
sharing and reconstruction cheap (see `shamir`).

Why this is safe against a coordinator that withholds messages: an agent masks
only with neighbours whose shares reached it and demands at least t > k/2 of
them; in a ring graph any set of practices that is closed under those masks
must hold a majority of every neighbourhood it touches, so the coordinator
cannot cut a small group out of the sum (see docs/secagg.md).
"""

from __future__ import annotations

import hashlib
import struct
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from protocols.prg import mask_stream

_DOMAIN = b"klynge/secagg/v2/neighbour-graph\x00"


@dataclass(frozen=True)
class NeighbourGraph:
    """Neighbourhoods over `members` (sorted participant indices) for one round."""

    round_id: bytes
    members: tuple[int, ...]
    k: int
    _ring: np.ndarray = field(repr=False, compare=False)
    _position: np.ndarray = field(repr=False, compare=False)
    _cache: dict[int, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)

    @property
    def complete(self) -> bool:
        return len(self.members) - 1 <= self.k

    @property
    def degree(self) -> int:
        return len(self.members) - 1 if self.complete else self.k

    def neighbours_of(self, member: int) -> tuple[int, ...]:
        """The sorted neighbours of `member`."""
        cached = self._cache.get(member)
        if cached is not None:
            return cached
        index = bisect_left(self.members, member)
        if index == len(self.members) or self.members[index] != member:
            raise KeyError(f"participant {member} is not in this graph")
        if self.complete:
            result = tuple(m for m in self.members if m != member)
        else:
            n = len(self.members)
            half = self.k // 2
            r = int(self._position[index])
            offsets = np.concatenate((np.arange(-half, 0), np.arange(1, half + 1)))
            result = tuple(sorted(int(i) for i in self._ring[(r + offsets) % n]))
        self._cache[member] = result
        return result

    def fill(self) -> None:
        """Compute every neighbourhood at once (vectorised), for the coordinator."""
        if self.complete:
            for m in self.members:
                self.neighbours_of(m)
            return
        n = len(self.members)
        half = self.k // 2
        offsets = np.concatenate((np.arange(-half, 0), np.arange(1, half + 1)))
        rows = np.sort(self._ring[(np.arange(n)[:, None] + offsets) % n], axis=1)
        for member, row in zip(self._ring.tolist(), rows.tolist(), strict=True):
            self._cache[member] = tuple(row)

    def share_x(self, owner: int, holder: int) -> int:
        """The Shamir x-coordinate of `holder`'s share of `owner`'s secrets."""
        nbrs = self.neighbours_of(owner)
        i = bisect_left(nbrs, holder)
        if i == len(nbrs) or nbrs[i] != holder:
            raise KeyError(f"participant {holder} is not a neighbour of {owner}")
        return i + 1


def graph_seed(round_id: bytes, members: Sequence[int], k: int, nonce_digest: bytes) -> bytes:
    h = hashlib.sha256(_DOMAIN)
    h.update(round_id)
    h.update(struct.pack("<II", k, len(members)))
    h.update(np.asarray(members, dtype="<u4").tobytes())
    h.update(nonce_digest)
    return h.digest()


def build_graph(
    round_id: bytes, members: Sequence[int], k: int, nonce_digest: bytes
) -> NeighbourGraph:
    """The round's graph over `members` (sorted, distinct); `nonce_digest` is
    `transcript.nonce_digest` of the members' advertised graph nonces."""
    array = np.asarray(members, dtype=np.int64)
    if array.ndim != 1 or np.any(array[1:] <= array[:-1]) or (array.size and array[0] < 0):
        raise ValueError("graph members must be sorted, distinct, non-negative indices")
    members = tuple(members) if isinstance(members, tuple) else tuple(int(m) for m in array)
    if k < 1:
        raise ValueError("k must be at least 1")
    n = len(members)
    if n - 1 > k and k % 2:
        raise ValueError("a sparse neighbour graph needs an even k")
    if n - 1 > k:
        keys = mask_stream(graph_seed(round_id, members, k, nonce_digest), n)
        order = np.argsort(keys, kind="stable")  # ring slot -> index into members
        ring = array[order]
        position = np.empty(n, dtype=np.int64)  # index into members -> ring slot
        position[order] = np.arange(n)
    else:
        ring = array
        position = np.arange(n)
    return NeighbourGraph(round_id, members, k, ring, position)
