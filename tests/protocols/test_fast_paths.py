"""The agent's fast paths agree with the obviously-correct references (Hypothesis).

Each optimisation of the client's hot path keeps the slow reference beside it;
these tests are what lets the fast one be trusted.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.identity import IdentityKey, verify_signature, verify_signature_reference
from protocols.kdf import _hkdf, hkdf_reference
from protocols.randomness import seeded_random_bytes

KEYS = [IdentityKey.generate(seeded_random_bytes(f"fast-{i}")) for i in range(4)]
DOMAINS = st.sampled_from([b"klynge/a", b"klynge/secagg/v1/key-advertisement"])


@settings(max_examples=300, deadline=None)
@given(
    signer=st.integers(0, 3),
    checker=st.integers(0, 3),
    domain=DOMAINS,
    message=st.binary(max_size=200),
    flip=st.one_of(st.none(), st.integers(0, 64 * 8 - 1)),
    key_flip=st.one_of(st.none(), st.integers(0, 32 * 8 - 1)),
)
def test_libsodium_and_openssl_verification_agree(
    signer: int, checker: int, domain: bytes, message: bytes, flip, key_flip
) -> None:
    signature = bytearray(KEYS[signer].sign(domain, message))
    if flip is not None:
        signature[flip // 8] ^= 1 << (flip % 8)
    public = bytearray(KEYS[checker].public_key)
    if key_flip is not None:
        public[key_flip // 8] ^= 1 << (key_flip % 8)
    args = (bytes(public), domain, message, bytes(signature))
    assert verify_signature(*args) == verify_signature_reference(*args)


@settings(max_examples=100, deadline=None)
@given(public=st.binary(min_size=32, max_size=32), signature=st.binary(min_size=64, max_size=64))
def test_random_keys_and_signatures_are_refused(public: bytes, signature: bytes) -> None:
    assert not verify_signature(public, b"klynge/a", b"m", signature)


def test_small_order_keys_are_refused_where_openssl_accepts_a_forgery():
    zero = bytes(32)  # a small-order point: R = 0, S = 0 "verifies" whenever 8 | h(R, A, m)
    forged = bytes(64)
    assert verify_signature_reference(zero, b"klynge/a", b"m", forged)  # found by Hypothesis
    assert not verify_signature(zero, b"klynge/a", b"m", forged)
    assert not verify_signature(b"\x01" + bytes(31), b"klynge/a", b"", forged)  # the neutral point


@settings(max_examples=300, deadline=None)
@given(secret=st.binary(max_size=64), salt=st.binary(max_size=64), info=st.binary(max_size=80))
def test_hkdf_agrees_with_the_library(secret: bytes, salt: bytes, info: bytes) -> None:
    assert _hkdf(secret, salt, info) == hkdf_reference(secret, salt, info)
