"""Cryptographically secure randomness for DP noise, with a seedable stand-in for tests.

DP noise must be unpredictable to anyone who might see a noisy value next to
other information; a Mersenne Twister or PCG stream can be reconstructed from
its outputs. Production noise therefore reads the operating system's CSPRNG
directly (`os.urandom`). Tests need reproducible draws, so they pass a
`SeededStream`: AES-256-CTR keyed from a seed, itself a cryptographic
generator, so test and production code paths differ only in the key source.
"""

from __future__ import annotations

import hashlib
import os
from typing import Protocol

import numpy as np
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes


class RandomSource(Protocol):
    def random_bytes(self, n: int) -> bytes: ...


class OsEntropy:
    """The operating system's CSPRNG. The only source production code constructs."""

    def random_bytes(self, n: int) -> bytes:
        return os.urandom(n)


class SeededStream:
    """A deterministic AES-256-CTR keystream for tests; never use a guessable seed in production."""

    def __init__(self, seed: bytes | str | int):
        if isinstance(seed, int):
            seed = seed.to_bytes(16, "big", signed=False)
        elif isinstance(seed, str):
            seed = seed.encode("utf-8")
        key = hashlib.sha256(b"klynge-test-noise-seed\0" + seed).digest()
        self._encryptor = Cipher(algorithms.AES256(key), modes.CTR(b"\0" * 16)).encryptor()

    def random_bytes(self, n: int) -> bytes:
        return self._encryptor.update(b"\0" * n)


def system_source() -> RandomSource:
    """The source production noise must use."""
    return OsEntropy()


def uniform_open01(source: RandomSource, n: int) -> np.ndarray:
    """n doubles uniform on the open interval (0, 1), 53 random bits each.

    The midpoint offset keeps 0 and 1 out, so log(u) and 1/u are always finite.
    """
    if n <= 0:
        return np.empty(0, dtype=np.float64)
    words = np.frombuffer(source.random_bytes(8 * n), dtype="<u8")
    return ((words >> np.uint64(11)).astype(np.float64) + 0.5) * (2.0**-53)
