"""Merkle tree hashing and proofs exactly as Certificate Transparency defines them (RFC 9162 §2.1).

Why these rules and no others: they are small, published and implemented by
every CT and Sigstore client, so a reviewer can check Klynge's log with
independent code. The two prefixes (0x00 for leaves, 0x01 for interior nodes)
make a leaf hash and a node hash different things, so no one can pass off an
interior node as an entry (the second-preimage attack on plain Merkle trees).
A tree of any size splits at the largest power of two below its size, so a
tree's hash never changes once its size is fixed, and a bigger tree contains
every smaller tree as a prefix: that is what makes consistency proofs exist.

Pure functions on bytes: no files, no clocks. `MerkleTree` keeps the hashes
of every complete subtree, so an append is amortised O(1) and a root or a
proof is O(log² n) hashes, however large the log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_BYTES = 32
_LEAF = b"\x00"
_NODE = b"\x01"


class ProofError(ValueError):
    """A proof that does not verify, or a request for a proof that cannot exist."""


def leaf_hash(data: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(_LEAF + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(_NODE + left + right).digest()


def empty_root() -> bytes:
    """MTH({}) = SHA-256 of the empty string."""
    return hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """k: the largest power of two smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class MerkleTree:
    """The leaf hashes of an append-only log and the hashes of its complete subtrees.

    `_levels[l][i]` is the hash of leaves [i·2^l, (i+1)·2^l). Every subtree the
    RFC's split rule asks for is either one of those or splits into one on the
    left and a smaller range on the right, so no hash is computed twice.
    """

    def __init__(self, leaves: Iterable[bytes] = ()) -> None:
        self._levels: list[list[bytes]] = [[]]
        for leaf in leaves:
            self.append_hash(leaf)

    def __len__(self) -> int:
        return len(self._levels[0])

    def append(self, data: bytes) -> int:
        """Append an entry's bytes; returns its leaf index."""
        return self.append_hash(leaf_hash(data))

    def append_hash(self, leaf: bytes) -> int:
        """Append an already hashed leaf; returns its index."""
        if len(leaf) != HASH_BYTES:
            raise ValueError(f"a leaf hash is {HASH_BYTES} bytes, got {len(leaf)}")
        index = len(self._levels[0])
        self._levels[0].append(leaf)
        level, position = 0, index
        while position % 2 == 1:  # a right child completes its parent
            below = self._levels[level]
            if len(self._levels) == level + 1:
                self._levels.append([])
            self._levels[level + 1].append(node_hash(below[position - 1], below[position]))
            level, position = level + 1, position // 2
        return index

    def pop(self) -> bytes:
        """Remove the last leaf (an append that could not be made durable); returns its hash."""
        if not self._levels[0]:
            raise ProofError("the tree is empty")
        index = len(self._levels[0]) - 1
        leaf = self._levels[0].pop()
        level, position = 0, index
        while position % 2 == 1:  # the parents this leaf completed
            self._levels[level + 1].pop()
            level, position = level + 1, position // 2
        return leaf

    def leaf(self, index: int) -> bytes:
        return self._levels[0][index]

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first `size` leaves (default: all)."""
        size = len(self) if size is None else size
        self._check_size(size)
        return self._hash(0, size) if size else empty_root()

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 §2.1.3.1."""
        size = len(self) if size is None else size
        self._check_size(size)
        if not 0 <= index < size:
            raise ProofError(f"leaf {index} is not in a tree of {size}")
        path: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            k = _split(end - start)
            if index < start + k:
                path.append(self._hash(start + k, end))
                end = start + k
            else:
                path.append(self._hash(start, start + k))
                start += k
        path.reverse()  # the recursion appends from the leaf's side outwards
        return path

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        """PROOF(old_size, D[new_size]) of RFC 9162 §2.1.4.1 (empty for 0 or equal sizes)."""
        new_size = len(self) if new_size is None else new_size
        self._check_size(new_size)
        if not 0 <= old_size <= new_size:
            raise ProofError(f"no consistency proof from {old_size} to {new_size}")
        if old_size in (0, new_size):
            return []
        return self._subproof(old_size, 0, new_size, True)

    def _subproof(self, m: int, start: int, end: int, complete: bool) -> list[bytes]:
        n = end - start
        if m == n:
            return [] if complete else [self._hash(start, end)]
        k = _split(n)
        if m <= k:
            return [*self._subproof(m, start, start + k, complete), self._hash(start + k, end)]
        return [*self._subproof(m - k, start + k, end, False), self._hash(start, start + k)]

    def _hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) from the cached complete subtrees."""
        n = end - start
        if n & (n - 1) == 0 and start % n == 0:
            level = n.bit_length() - 1
            return self._levels[level][start >> level]
        k = _split(n)
        return node_hash(self._hash(start, start + k), self._hash(start + k, end))

    def _check_size(self, size: int) -> None:
        if not 0 <= size <= len(self):
            raise ProofError(f"the tree has {len(self)} leaves, not {size}")


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of leaf hashes by the RFC's recursive definition (the obviously correct reference)."""
    if not leaves:
        return empty_root()
    if len(leaves) == 1:
        return leaves[0]
    k = _split(len(leaves))
    return node_hash(root_of(leaves[:k]), root_of(leaves[k:]))


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: raise ProofError unless `leaf` is entry `index` of the tree `root`."""
    if not 0 <= index < size:
        raise ProofError(f"leaf {index} cannot be in a tree of {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        _check_hash(p)
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    if r != root:
        raise ProofError("inclusion proof does not lead to the tree head's root")


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: raise ProofError unless tree `new_root` extends tree `old_root`."""
    if not 0 <= old_size <= new_size:
        raise ProofError(f"a tree of {new_size} cannot extend one of {old_size}")
    if old_size == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        return
    if old_size == new_size:
        if proof:
            raise ProofError("a consistency proof between equal sizes must be empty")
        if old_root != new_root:
            raise ProofError("two tree heads of the same size have different roots")
        return
    if not proof:
        raise ProofError("consistency proof is empty")
    for p in proof:
        _check_hash(p)
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than the tree is deep")
    if fr != old_root:
        raise ProofError("the older tree head is not a prefix of the newer one (history rewritten)")
    if sr != new_root:
        raise ProofError("consistency proof does not lead to the newer tree head's root")


def _check_hash(value: bytes) -> None:
    if len(value) != HASH_BYTES:
        raise ProofError(f"a proof hash is {HASH_BYTES} bytes, got {len(value)}")
