"""The one source of randomness the protocol uses, passed in so tests can seed it.

Every secret in a round (X25519 keys, the self-mask seed, Shamir coefficients,
round ids) is drawn through a `RandomBytes` callable. Production code passes
`system_random_bytes`, which reads the operating system's CSPRNG. Tests pass
`seeded_random_bytes(seed)` to make a round reproducible; that generator is
deterministic by construction and must never be used outside tests and
benchmarks.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

RandomBytes = Callable[[int], bytes]


def system_random_bytes(n: int) -> bytes:
    """`n` bytes from the OS CSPRNG (getrandom(2) on Linux)."""
    return os.urandom(n)


def seeded_random_bytes(seed: bytes | str | int) -> RandomBytes:
    """A reproducible byte stream for tests: AES-256-CTR keyed by SHA-256(seed).

    Successive calls continue the same stream, so a seeded round consumes
    randomness in a fixed order and replays bit for bit.
    """
    if isinstance(seed, int):
        seed = seed.to_bytes(16, "big", signed=True)
    elif isinstance(seed, str):
        seed = seed.encode()
    key = hashlib.sha256(b"klynge/test-drbg\x00" + seed).digest()
    stream = Cipher(algorithms.AES(key), modes.CTR(bytes(16))).encryptor()

    def random_bytes(n: int) -> bytes:
        if n < 0:
            raise ValueError("cannot draw a negative number of bytes")
        return stream.update(bytes(n))

    return random_bytes
