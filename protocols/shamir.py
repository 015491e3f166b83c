"""Shamir secret sharing over the prime field GF(2^521 - 1).

Why this field: 2^521 - 1 is a Mersenne prime, comfortably larger than the
256-bit secrets we share (X25519 private keys, self-mask seeds), so each
secret is one field element and one share is 66 bytes. Python's integers do
the arithmetic; no chunking, no per-byte polynomials.

Why it is fast enough for SecAgg+:
- Shares are evaluated at the small points x = 1..m (a share's x is the
  holder's rank in the owner's neighbour list), so Horner's rule multiplies a
  big number by a small one and reduces once at the end.
- Reconstruction needs the Lagrange coefficients at 0 for the points used.
  For points in 1..K every denominator divides (K-1)!, so each coefficient is
  an exact small-integer quotient times one cached inverse of (K-1)!; no
  modular inversion per reconstruction. Coefficients are cached per point set
  because survivors' share sets repeat across owners.

Guarantee (standard): any `threshold` shares determine the secret; fewer
reveal nothing about it, because the other coefficients are uniform in the
field.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from math import factorial, prod

from protocols.randomness import RandomBytes

PRIME = (1 << 521) - 1
ELEMENT_BYTES = 66
# Points above this use modular inversion instead of the factorial trick.
_FACTORIAL_LIMIT = 4096


def random_elements(count: int, random_bytes: RandomBytes) -> list[int]:
    """`count` uniform field elements, by rejection sampling 521-bit strings."""
    out: list[int] = []
    while len(out) < count:
        need = count - len(out)
        raw = random_bytes(ELEMENT_BYTES * need)
        for i in range(need):
            value = int.from_bytes(raw[i * ELEMENT_BYTES : (i + 1) * ELEMENT_BYTES], "big")
            value &= PRIME  # keep 521 bits; PRIME is all ones
            if value != PRIME:  # the only 521-bit string outside the field
                out.append(value)
    return out


def split(secret: int, threshold: int, n_shares: int, random_bytes: RandomBytes) -> list[int]:
    """Shares of `secret` at x = 1..n_shares; any `threshold` of them rebuild it."""
    return split_many([secret], threshold, n_shares, random_bytes)[0]


def split_many(
    secrets: Sequence[int], threshold: int, n_shares: int, random_bytes: RandomBytes
) -> list[list[int]]:
    """Shares of several secrets with one draw of randomness; `result[i][j]` is at x = j+1."""
    if not 1 <= threshold <= n_shares:
        raise ValueError(f"need 1 <= threshold ({threshold}) <= shares ({n_shares})")
    for secret in secrets:
        if not 0 <= secret < PRIME:
            raise ValueError("secret outside the field")
    coefficients = random_elements((threshold - 1) * len(secrets), random_bytes)
    result = []
    for i, secret in enumerate(secrets):
        # Highest degree first for Horner's rule; constant term is the secret.
        own = coefficients[i * (threshold - 1) : (i + 1) * (threshold - 1)]
        poly = [*own[::-1], secret]
        shares = []
        for x in range(1, n_shares + 1):
            acc = 0
            for step, c in enumerate(poly):
                acc = acc * x + c
                if step & 31 == 31:
                    acc %= PRIME
            shares.append(acc % PRIME)
        result.append(shares)
    return result


@lru_cache(maxsize=64)
def _inverse_factorial(k_minus_1: int) -> int:
    return pow(factorial(k_minus_1), -1, PRIME)


@lru_cache(maxsize=65536)
def _integer_lagrange(xs: tuple[int, ...]) -> tuple[tuple[int, ...], int]:
    """Integers c_i and the inverse of D with f(0) = inv(D) * sum c_i f(x_i) mod PRIME.

    For points in 1..K every |prod_{j != i} (x_j - x_i)| divides (x_i - 1)! (K - x_i)!,
    which divides D = (K - 1)!, so c_i = D * prod_{j != i} x_j / prod_{j != i} (x_j - x_i)
    is an exact integer and one cached inverse serves every point set.
    """
    if len(set(xs)) != len(xs):
        raise ValueError("share points must be distinct")
    if any(x <= 0 for x in xs):
        raise ValueError("share points must be positive")
    top = max(xs)
    if top > _FACTORIAL_LIMIT:
        coeffs = []
        for xi in xs:
            num = den = 1
            for xj in xs:
                if xj != xi:
                    num = num * xj % PRIME
                    den = den * (xj - xi) % PRIME
            coeffs.append(num * pow(den, -1, PRIME) % PRIME)
        return tuple(coeffs), 1
    d = factorial(top - 1)
    product = prod(xs)
    coeffs = []
    for xi in xs:
        den = prod([xj - xi for xj in xs if xj != xi])
        coeffs.append((product // xi) * (d // den))
    return tuple(coeffs), _inverse_factorial(top - 1)


def lagrange_at_zero(xs: tuple[int, ...]) -> tuple[int, ...]:
    """Coefficients l_i with f(0) = sum l_i f(x_i) mod PRIME, for distinct positive xs."""
    coeffs, inv_d = _integer_lagrange(tuple(xs))
    return tuple(c * inv_d % PRIME for c in coeffs)


def reconstruct(points: Sequence[tuple[int, int]]) -> int:
    """The secret f(0) from (x, share) pairs; pass exactly `threshold` of them.

    With more points than the threshold the result is still f(0) if all shares
    are honest; callers that need tamper evidence check the secret against a
    commitment (the protocol does).
    """
    if not points:
        raise ValueError("no shares to reconstruct from")
    coeffs, inv_d = _integer_lagrange(tuple(x for x, _ in points))
    acc = 0
    for c, (_, y) in zip(coeffs, points, strict=True):
        if not 0 <= y < PRIME:
            raise ValueError("share outside the field")
        acc += c * y
    return acc % PRIME * inv_d % PRIME


def encode_element(value: int) -> bytes:
    return value.to_bytes(ELEMENT_BYTES, "big")


def decode_element(data: bytes) -> int:
    """A field element from 66 big-endian bytes; raises ValueError if outside the field."""
    if len(data) != ELEMENT_BYTES:
        raise ValueError(f"a field element is {ELEMENT_BYTES} bytes, got {len(data)}")
    value = int.from_bytes(data, "big")
    if value >= PRIME:
        raise ValueError("value outside the field GF(2^521 - 1)")
    return value


# --- robust reconstruction: Reed-Solomon decoding (Gao's algorithm) ----------------
#
# Shamir shares are a Reed-Solomon codeword: the values of a polynomial of degree
# < threshold at distinct points. With n shares of which e are wrong, the secret
# is still determined when 2e <= n - threshold, and Gao's algorithm (Gao, "A new
# algorithm for decoding Reed-Solomon codes", 2003) finds the polynomial with one
# interpolation and one partial extended Euclid, O(n^2) field operations. It also
# says which shares are off the polynomial: those holders are the ones to name.
# Beyond that radius decoding fails or returns a wrong polynomial; callers check
# the secret against a commitment, so a wrong answer is detected, never used.

Poly = list[int]  # coefficients, lowest degree first, no trailing zeros


def _trim(p: Poly) -> Poly:
    while p and p[-1] == 0:
        p.pop()
    return p


def _mul(a: Poly, b: Poly) -> Poly:
    if not a or not b:
        return []
    out = [0] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        if x:
            for j, y in enumerate(b):
                out[i + j] += x * y
    return _trim([c % PRIME for c in out])


def _sub(a: Poly, b: Poly) -> Poly:
    n = max(len(a), len(b))
    return _trim(
        [((a[i] if i < len(a) else 0) - (b[i] if i < len(b) else 0)) % PRIME for i in range(n)]
    )


def _divmod(a: Poly, b: Poly) -> tuple[Poly, Poly]:
    if not b:
        raise ZeroDivisionError("polynomial division by zero")
    rem = list(a)
    quotient = [0] * max(0, len(a) - len(b) + 1)
    lead = pow(b[-1], -1, PRIME)
    for shift in range(len(a) - len(b), -1, -1):
        coeff = rem[shift + len(b) - 1] * lead % PRIME
        quotient[shift] = coeff
        if coeff:
            for j, bj in enumerate(b):
                rem[shift + j] = (rem[shift + j] - coeff * bj) % PRIME
    return _trim(quotient), _trim(rem[: len(b) - 1])


def evaluate(p: Poly, x: int) -> int:
    acc = 0
    for c in reversed(p):
        acc = (acc * x + c) % PRIME
    return acc


def _interpolate(points: Sequence[tuple[int, int]]) -> Poly:
    """The polynomial of degree < len(points) through `points` (Newton's form)."""
    xs = [x for x, _ in points]
    coeffs = [y % PRIME for _, y in points]
    n = len(points)
    for level in range(1, n):
        for i in range(n - 1, level - 1, -1):
            den = pow((xs[i] - xs[i - level]) % PRIME, -1, PRIME)
            coeffs[i] = (coeffs[i] - coeffs[i - 1]) * den % PRIME
    poly: Poly = [coeffs[-1]] if coeffs else []
    for i in range(n - 2, -1, -1):
        poly = _sub(_mul(poly, [(-xs[i]) % PRIME, 1]), [(-coeffs[i]) % PRIME])
    return _trim(poly)


@dataclass(frozen=True)
class Decoded:
    """The secret f(0), and the x-coordinates whose shares are not on f."""

    secret: int
    wrong: tuple[int, ...]


class DecodingError(ValueError):
    """More wrong shares than the points can correct: 2e > n - threshold."""


def decode(points: Sequence[tuple[int, int]], threshold: int) -> Decoded:
    """The polynomial of degree < `threshold` that all but at most (n - t) / 2 points lie on.

    Gao's algorithm; raises `DecodingError` when no such polynomial exists.
    """
    n = len(points)
    if len({x for x, _ in points}) != n or any(x <= 0 for x, _ in points):
        raise ValueError("share points must be distinct and positive")
    if any(not 0 <= y < PRIME for _, y in points):
        raise ValueError("share outside the field")
    if n < threshold:
        raise DecodingError(f"{n} shares, {threshold} needed")
    g0: Poly = [1]
    for x, _ in points:
        g0 = _mul(g0, [(-x) % PRIME, 1])
    g1 = _interpolate(points)
    # Partial extended Euclid on (g0, g1), tracking only g1's cofactor.
    r_prev, r_cur = g0, g1
    v_prev: Poly = []
    v_cur: Poly = [1]
    stop = (n + threshold) / 2
    while r_cur and len(r_cur) - 1 >= stop:
        q, r_next = _divmod(r_prev, r_cur)
        r_prev, r_cur = r_cur, r_next
        v_prev, v_cur = v_cur, _sub(v_prev, _mul(q, v_cur))
    if not v_cur:
        raise DecodingError("no error locator")
    f, remainder = _divmod(r_cur, v_cur)
    if remainder or len(f) > threshold:
        raise DecodingError(f"too many wrong shares among {n} for threshold {threshold}")
    wrong = tuple(x for x, y in points if evaluate(f, x) != y)
    if 2 * len(wrong) > n - threshold:
        raise DecodingError(f"too many wrong shares among {n} for threshold {threshold}")
    return Decoded(f[0] if f else 0, wrong)
