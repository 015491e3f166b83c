"""RFC 9162 §2.1 Merkle hashing and proofs: vectors derived by hand, and Hypothesis checks."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy.merkle import (
    MerkleTree,
    ProofError,
    empty_root,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _leaf(data: bytes) -> bytes:
    return _h(b"\x00" + data)


def _node(left: bytes, right: bytes) -> bytes:
    return _h(b"\x01" + left + right)


# Leaves d0..d6; the expected values below are written out from the RFC's definitions
# (MTH, PATH, PROOF) by hand, with nothing from the module under test.
D = [b"klynge-%d" % i for i in range(7)]
L = [_leaf(d) for d in D]
# Tree of 7: split 4 | 3, then 3 splits 2 | 1.
N01, N23, N45 = _node(L[0], L[1]), _node(L[2], L[3]), _node(L[4], L[5])
N0123 = _node(N01, N23)
N456 = _node(N45, L[6])
ROOT7 = _node(N0123, N456)
ROOT3 = _node(N01, L[2])
ROOT6 = _node(N0123, N45)


def _tree(n: int) -> MerkleTree:
    tree = MerkleTree()
    for d in D[:n]:
        tree.append(d)
    return tree


def test_hashes_follow_the_rfc_by_hand():
    assert empty_root() == _h(b"")
    assert leaf_hash(D[0]) == L[0]
    assert _tree(1).root() == L[0]
    assert _tree(3).root() == ROOT3
    assert _tree(6).root() == ROOT6
    assert _tree(7).root() == ROOT7
    assert _tree(7).root(3) == ROOT3  # a tree's hash is fixed once its size is


def test_inclusion_paths_follow_the_rfc_by_hand():
    tree = _tree(7)
    # PATH(0, D7) = PATH(0, D[0:4]) : MTH(D[4:7]) = [L1, N23, N456]
    assert tree.inclusion_proof(0) == [L[1], N23, N456]
    # PATH(6, D7) = PATH(2, D[4:7]) : MTH(D[0:4]) = [N45, N0123]
    assert tree.inclusion_proof(6) == [N45, N0123]
    # PATH(2, D3) = PATH(0, D[2:3]) : MTH(D[0:2]) = [N01]
    assert tree.inclusion_proof(2, 3) == [N01]


def test_consistency_proofs_follow_the_rfc_by_hand():
    tree = _tree(7)
    # The RFC's own examples (§2.1.4.1, tree of 7): PROOF(3) = [c, d, g, l] = [L2, L3, N01, N456]
    assert tree.consistency_proof(3) == [L[2], L[3], N01, N456]
    # PROOF(4) = [l] (the old tree is the new one's left subtree)
    assert tree.consistency_proof(4) == [N456]
    # PROOF(6) = [i, j, k] = [N45, L6, N0123]
    assert tree.consistency_proof(6) == [N45, L[6], N0123]
    for m in (3, 4, 6):
        verify_consistency(m, 7, tree.root(m), ROOT7, tree.consistency_proof(m))


def test_well_known_certificate_transparency_roots():
    """The roots every CT implementation tests against (leaves "", 00, 10, 2021, ...)."""
    leaves = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        bytes(range(0x50, 0x58)),
        bytes(range(0x60, 0x70)),
    ]
    tree = MerkleTree()
    for leaf in leaves:
        tree.append(leaf)
    assert tree.root(1).hex().startswith("6e340b9cffb37a98")
    assert tree.root(5).hex().startswith("4e3bbb1f7b478dcf")
    assert tree.root(8).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


sizes = st.integers(min_value=1, max_value=300)


@settings(max_examples=60, deadline=None)
@given(n=sizes, data=st.data())
def test_every_inclusion_proof_verifies_and_no_tampered_one_does(n, data):
    leaves = [leaf_hash(b"%d" % i) for i in range(n)]
    tree = MerkleTree(leaves)
    assert tree.root() == root_of(leaves)
    size = data.draw(st.integers(min_value=1, max_value=n))
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    proof = tree.inclusion_proof(index, size)
    root = tree.root(size)
    verify_inclusion(leaves[index], index, size, proof, root)
    with pytest.raises(ProofError):
        verify_inclusion(leaf_hash(b"forged"), index, size, proof, root)
    if size > 1:
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], (index + 1) % size, size, proof, root)
    if proof:
        i = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, size, bad, root)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, size, proof[:-1], root)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, size, [*proof, proof[0]], root)


@settings(max_examples=60, deadline=None)
@given(n=sizes, data=st.data())
def test_every_consistency_proof_verifies_and_no_rewritten_history_passes(n, data):
    leaves = [leaf_hash(b"%d" % i) for i in range(n)]
    tree = MerkleTree(leaves)
    old = data.draw(st.integers(min_value=0, max_value=n))
    proof = tree.consistency_proof(old)
    verify_consistency(old, n, tree.root(old), tree.root(), proof)
    if 0 < old < n:
        # the same sizes, but one old entry rewritten: the new head cannot extend the old one
        changed = list(leaves)
        changed[data.draw(st.integers(min_value=0, max_value=old - 1))] = leaf_hash(b"rewritten")
        rewritten = MerkleTree(changed)
        with pytest.raises(ProofError):
            verify_consistency(old, n, tree.root(old), rewritten.root(), proof)
        with pytest.raises(ProofError):
            verify_consistency(
                old, n, tree.root(old), rewritten.root(), rewritten.consistency_proof(old)
            )
        i = data.draw(st.integers(min_value=0, max_value=len(proof) - 1))
        bad = list(proof)
        bad[i] = bytes([bad[i][0] ^ 1]) + bad[i][1:]
        with pytest.raises(ProofError):
            verify_consistency(old, n, tree.root(old), tree.root(), bad)


def test_pop_undoes_an_append_exactly():
    tree = _tree(7)
    for n in range(7, 0, -1):
        assert tree.root() == root_of(L[:n])
        tree.pop()
    assert tree.root() == empty_root()
    with pytest.raises(ProofError):
        tree.pop()


def test_impossible_requests_are_refused():
    tree = _tree(3)
    with pytest.raises(ProofError):
        tree.inclusion_proof(3)
    with pytest.raises(ProofError):
        tree.consistency_proof(4)
    with pytest.raises(ProofError):
        verify_inclusion(L[0], 3, 3, [], ROOT3)
    with pytest.raises(ProofError):
        verify_consistency(3, 3, ROOT3, ROOT6, [])
    with pytest.raises(ProofError):
        verify_consistency(0, 3, empty_root(), ROOT3, [L[0]])
