"""The building blocks: Shamir over GF(2^521-1), the AES-CTR PRG, HKDF, the graph, randomness."""

from __future__ import annotations

import random
import struct

import numpy as np
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols import shamir
from protocols.kdf import Purpose, owner_key, pair_key
from protocols.neighbours import build_graph
from protocols.prg import INITIAL_COUNTER_BLOCK, add_masks, mask_stream
from protocols.randomness import seeded_random_bytes, system_random_bytes

# --- Shamir -----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    secret=st.integers(0, shamir.PRIME - 1),
    threshold=st.integers(1, 12),
    extra=st.integers(0, 10),
    seed=st.integers(0, 2**32),
)
def test_any_threshold_subset_rebuilds_the_secret(
    secret: int, threshold: int, extra: int, seed: int
) -> None:
    n = threshold + extra
    shares = shamir.split(secret, threshold, n, seeded_random_bytes(seed))
    rng = random.Random(seed)
    for _ in range(3):
        xs = rng.sample(range(1, n + 1), threshold)
        assert shamir.reconstruct([(x, shares[x - 1]) for x in xs]) == secret
    # All n shares lie on the same polynomial, so any superset also works.
    assert shamir.reconstruct([(x, shares[x - 1]) for x in range(1, n + 1)]) == secret


def test_fewer_than_threshold_shares_do_not_determine_the_secret() -> None:
    """t-1 shares are consistent with every secret: for any candidate s' there is a t-th
    share completing them to a sharing of s', so they carry no information about s."""
    rb = seeded_random_bytes("hiding")
    secret = 123456789
    shares = shamir.split(secret, 5, 8, rb)
    known = [(x, shares[x - 1]) for x in (1, 2, 3, 4)]
    assert shamir.reconstruct(known) != secret
    coeffs = shamir.lagrange_at_zero((1, 2, 3, 4, 5))
    partial = sum(c * y for c, (_, y) in zip(coeffs, known, strict=False)) % shamir.PRIME
    for candidate in (0, 1, secret, shamir.PRIME - 1):
        y5 = (candidate - partial) * pow(coeffs[4], -1, shamir.PRIME) % shamir.PRIME
        assert shamir.reconstruct([*known, (5, y5)]) == candidate


def test_fast_lagrange_matches_modular_lagrange() -> None:
    rng = random.Random(1)
    for _ in range(50):
        k = rng.randint(1, 60)
        xs = tuple(sorted(rng.sample(range(1, 61), k)))
        fast = shamir.lagrange_at_zero(xs)
        slow = []
        for xi in xs:
            num = den = 1
            for xj in xs:
                if xj != xi:
                    num = num * xj % shamir.PRIME
                    den = den * (xj - xi) % shamir.PRIME
            slow.append(num * pow(den, -1, shamir.PRIME) % shamir.PRIME)
        assert fast == tuple(slow)
    big = (5000, 7000, 9001)  # beyond the factorial fast path
    coeffs = shamir.lagrange_at_zero(big)
    assert sum(coeffs) % shamir.PRIME == 1  # interpolating the constant 1
    # f(x) = 7 + 3x + x^2 through the three points gives back f(0) = 7.
    points = [(x, (7 + 3 * x + x * x) % shamir.PRIME) for x in big]
    assert shamir.reconstruct(points) == 7


def test_shamir_rejects_bad_input() -> None:
    rb = seeded_random_bytes(3)
    with pytest.raises(ValueError):
        shamir.split(shamir.PRIME, 2, 3, rb)
    with pytest.raises(ValueError):
        shamir.split(1, 4, 3, rb)
    with pytest.raises(ValueError):
        shamir.reconstruct([(1, 5), (1, 6)])
    with pytest.raises(ValueError):
        shamir.reconstruct([(0, 5)])
    with pytest.raises(ValueError):
        shamir.reconstruct([(1, shamir.PRIME)])
    with pytest.raises(ValueError):
        shamir.decode_element(b"\xff" * shamir.ELEMENT_BYTES)
    with pytest.raises(ValueError):
        shamir.decode_element(b"\x00" * 65)
    assert shamir.decode_element(shamir.encode_element(shamir.PRIME - 1)) == shamir.PRIME - 1


def test_random_elements_are_in_the_field_and_use_the_source() -> None:
    values = shamir.random_elements(200, seeded_random_bytes(4))
    assert all(0 <= v < shamir.PRIME for v in values)
    assert len(set(values)) == 200
    assert values == shamir.random_elements(200, seeded_random_bytes(4))
    # The all-ones 521-bit string is the one value outside the field: it is redrawn.
    stream = iter([b"\xff" * 66, b"\x00" * 65 + b"\x07"])
    assert shamir.random_elements(1, lambda n: next(stream)) == [7]


# --- PRG and KDF --------------------------------------------------------------------------


def test_prg_is_the_aes256_ctr_keystream() -> None:
    key = bytes(range(32))
    ctr = Cipher(algorithms.AES(key), modes.CTR(INITIAL_COUNTER_BLOCK)).encryptor()
    expected = np.frombuffer(ctr.update(bytes(8 * 1000)), dtype="<u8")
    np.testing.assert_array_equal(mask_stream(key, 1000), expected)


def test_add_masks_is_signed_sum_modulo_2_64() -> None:
    keys = [bytes([i]) * 32 for i in range(1, 6)]
    signs = [1, -1, 1, 1, -1]
    acc = np.arange(7, dtype=np.uint64)
    add_masks(acc, keys, signs)
    ref = np.arange(7, dtype=np.uint64)
    for key, sign in zip(keys, signs, strict=True):
        ref = ref + mask_stream(key, 7) if sign == 1 else ref - mask_stream(key, 7)
    np.testing.assert_array_equal(acc, ref)
    # +PRG and -PRG of one key cancel exactly.
    acc2 = np.arange(7, dtype=np.uint64)
    add_masks(acc2, [keys[0], keys[0]], [1, -1])
    np.testing.assert_array_equal(acc2, np.arange(7, dtype=np.uint64))
    with pytest.raises(ValueError):
        add_masks(np.zeros(3, dtype=np.int64), keys[:1], [1])
    with pytest.raises(ValueError):
        add_masks(np.zeros(3, dtype=np.uint64), keys[:1], [2])
    with pytest.raises(ValueError):
        mask_stream(bytes(16), 4)


def test_pair_keys_are_symmetric_and_bound_to_round_purpose_and_pair() -> None:
    secret, r1, r2 = bytes(32), bytes(16), bytes([1]) * 16
    k = pair_key(secret, r1, Purpose.PAIR_MASK, 3, 9)
    assert k == pair_key(secret, r1, Purpose.PAIR_MASK, 9, 3)
    assert k != pair_key(secret, r2, Purpose.PAIR_MASK, 3, 9)
    assert k != pair_key(secret, r1, Purpose.SHARE_ENCRYPTION, 3, 9)
    assert k != pair_key(secret, r1, Purpose.PAIR_MASK, 3, 10)
    expected = HKDF(
        hashes.SHA256(),
        32,
        salt=r1,
        info=b"klynge/secagg/v1/pair-mask\x00" + struct.pack("<II", 3, 9),
    ).derive(secret)
    assert k == expected  # the documented construction, pinned
    assert owner_key(secret, r1, Purpose.SELF_MASK, 3) != owner_key(
        secret, r1, Purpose.SELF_MASK, 4
    )
    with pytest.raises(ValueError):
        pair_key(secret, r1, Purpose.PAIR_MASK, 2, 2)


def test_randomness_sources() -> None:
    a, b = seeded_random_bytes("s"), seeded_random_bytes("s")
    assert a(10) + a(5) == b(15)  # one continuous stream
    assert seeded_random_bytes(1)(8) != seeded_random_bytes(2)(8)
    assert len(system_random_bytes(32)) == 32 and system_random_bytes(16) != system_random_bytes(16)
    with pytest.raises(ValueError):
        a(-1)


# --- the neighbour graph ----------------------------------------------------------------------


def test_graph_is_deterministic_symmetric_and_regular() -> None:
    members = tuple(range(0, 300, 3))
    g = build_graph(bytes(16), members, 10, bytes(32))
    again = build_graph(bytes(16), members, 10, bytes(32))
    for u in members:
        nbrs = g.neighbours_of(u)
        assert nbrs == again.neighbours_of(u)
        assert len(nbrs) == 10 and u not in nbrs and list(nbrs) == sorted(nbrs)
        for v in nbrs:
            assert u in g.neighbours_of(v)
            assert 1 <= g.share_x(u, v) <= 10
        assert sorted(g.share_x(u, v) for v in nbrs) == list(range(1, 11))
    filled = build_graph(bytes(16), members, 10, bytes(32))
    filled.fill()
    assert all(filled.neighbours_of(u) == g.neighbours_of(u) for u in members)


def test_graph_depends_on_round_and_members_only() -> None:
    members = tuple(range(50))
    g1 = build_graph(bytes(16), members, 6, bytes(32))
    g2 = build_graph(bytes([1]) * 16, members, 6, bytes(32))
    g3 = build_graph(bytes(16), members[:-1], 6, bytes(32))
    assert any(g1.neighbours_of(u) != g2.neighbours_of(u) for u in members)
    assert any(g1.neighbours_of(u) != g3.neighbours_of(u) for u in members[:-1])


def test_small_graphs_are_complete_and_bad_members_are_refused() -> None:
    g = build_graph(bytes(16), (2, 5, 9), 40, bytes(32))
    assert g.complete and g.neighbours_of(5) == (2, 9) and g.degree == 2
    assert g.share_x(5, 9) == 2
    with pytest.raises(KeyError):
        g.neighbours_of(3)
    with pytest.raises(KeyError):
        g.share_x(2, 2)
    with pytest.raises(ValueError):
        build_graph(bytes(16), (3, 2), 4, bytes(32))
    with pytest.raises(ValueError):
        build_graph(bytes(16), tuple(range(20)), 5, bytes(32))  # a ring needs an even k
