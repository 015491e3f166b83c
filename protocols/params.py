"""Round parameters (k, t, minimum survivors), their defaults, and the abort odds.

Three numbers shape a round:
- k, the neighbours per practice (the graph is complete when n - 1 <= k);
- t, the Shamir threshold: t shares rebuild a secret. Agents require
  2t > degree, so the honest holders of a practice's shares can never be
  split into one group of t that reveals its self-mask share and another of
  t that reveals its mask-key share;
- m, the minimum survivors. It is also the privacy floor: no sum of fewer
  than m practices (and never fewer than 5, ARCHITECTURE.md) is revealed.

Abort odds under the model "each practice independently fails to finish the
round with probability p, at any stage" (q = 1 - p):
- below minimum, by design: P(Bin(n, q) < m);
- reconstruction failure (some needed secret has fewer than t live holders,
  or a practice sees fewer than t live neighbours and refuses):
  sparse graph, union bound over owners: n * P(Bin(k, q) < t);
  complete graph: failure needs at most t live practices, P(Bin(n, q) <= t).

Defaults (`default_params`): the smallest even k with the reconstruction
bound <= target/2 (complete graph when that k >= n - 1), t = degree // 2 + 1,
and the largest m with P(Bin(n, q) < m) <= target/2, but never below
max(5, t + 1). Where the floor binds (small clusters) the below-minimum abort
is larger than the target by design; `parameter_table()` prints the figures
used in docs/secagg.md (`python -m protocols.params`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from protocols.errors import ParameterError
from protocols.texts import reason

PRIVACY_FLOOR = 5  # ARCHITECTURE.md: at least 5 practices contribute to any aggregate
DEFAULT_DROPOUT = 0.1
DEFAULT_TARGET = 1e-6
MAX_PARTICIPANTS = 1 << 16
TABLE_SIZES = (5, 6, 7, 8, 10, 12, 15, 20, 25, 30, 40, 50, 75, 100, 150, 200, 300, 500, 750,
               1000, 1250, 1500, 1700)  # fmt: skip


def _check_cluster(n: int, privacy_floor: int) -> None:
    if n < privacy_floor:
        raise ParameterError("participants", reason("below_floor", value=n, floor=privacy_floor))
    if n > MAX_PARTICIPANTS:
        raise ParameterError("participants", reason("above_limit", value=n, limit=MAX_PARTICIPANTS))


def _check_dropout(dropout: float) -> None:
    if not 0.0 <= dropout < 1.0:
        raise ParameterError("dropout", reason("out_of_range", low=0, high="<1"))


@dataclass(frozen=True)
class RoundParams:
    """k neighbours, threshold t, minimum survivors m (see module docstring)."""

    k: int
    threshold: int
    min_survivors: int

    def __post_init__(self) -> None:
        for name in ("k", "threshold", "min_survivors"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ParameterError(name, reason("not_integer"))
            if not 1 <= value <= MAX_PARTICIPANTS:
                raise ParameterError(name, reason("out_of_range", low=1, high=MAX_PARTICIPANTS))

    def degree(self, n: int) -> int:
        """Neighbours per practice in a round of n (complete graph when n - 1 <= k)."""
        return min(self.k, n - 1)

    def check_for(self, n: int, *, privacy_floor: int = PRIVACY_FLOOR) -> None:
        """Raise ParameterError unless these parameters are safe for n participants."""
        _check_cluster(n, privacy_floor)
        degree = self.degree(n)
        if n - 1 > self.k and self.k % 2:
            raise ParameterError("k", reason("k_even"))
        if self.threshold > degree:
            raise ParameterError(
                "threshold", reason("t_above_degree", t=self.threshold, degree=degree)
            )
        if 2 * self.threshold <= degree:
            raise ParameterError(
                "threshold", reason("t_not_majority", t=self.threshold, degree=degree)
            )
        if self.min_survivors < privacy_floor:
            raise ParameterError(
                "min_survivors",
                reason("below_floor", value=self.min_survivors, floor=privacy_floor),
            )
        if self.min_survivors > n:
            raise ParameterError("min_survivors", reason("m_above_n", m=self.min_survivors, n=n))


@dataclass(frozen=True)
class AbortAnalysis:
    """Abort probabilities for one cluster size, parameter set and dropout rate."""

    n: int
    params: RoundParams
    dropout: float
    below_minimum: float  # abort by design: too few survivors
    reconstruction: float  # abort by failure: a secret lacks t live holders (upper bound)

    @property
    def complete(self) -> bool:
        return self.n - 1 <= self.params.k

    @property
    def total(self) -> float:
        if self.complete:
            # Both events need at least n - max(m, t+1) + 1 failures, so they nest.
            floor = max(self.params.min_survivors, self.params.threshold + 1)
            return _binom_below(self.n, 1.0 - self.dropout, floor)
        return min(1.0, self.below_minimum + self.reconstruction)


@lru_cache(maxsize=4096)
def _binom_below(n: int, q: float, m: int) -> float:
    """P(Bin(n, q) < m), summed in log space so n = 1700 neither under- nor overflows."""
    if m <= 0:
        return 0.0
    if m > n:
        return 1.0
    p = 1.0 - q
    if p == 0.0:
        return 0.0
    if q == 0.0:
        return 1.0
    log_q, log_p = math.log(q), math.log(p)
    lg_n = math.lgamma(n + 1)
    total = 0.0
    for i in range(m):
        log_term = lg_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_q + (n - i) * log_p
        total += math.exp(log_term)
    return min(1.0, total)


def _largest_safe_minimum(n: int, q: float, bound: float) -> int:
    """The largest m <= n with P(Bin(n, q) < m) <= bound (0 if none)."""
    p = 1.0 - q
    if p == 0.0:
        return n
    log_q, log_p = math.log(q), math.log(p)
    lg_n = math.lgamma(n + 1)
    total = 0.0
    for i in range(n + 1):
        # P(Bin < i + 1) = total + pmf(i); m = i + 1 is safe while that stays <= bound.
        log_term = lg_n - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * log_q + (n - i) * log_p
        total += math.exp(log_term)
        if total > bound:
            return i
    return n


def _reconstruction_bound(n: int, degree: int, threshold: int, q: float) -> float:
    if n - 1 <= degree:
        return _binom_below(n, q, threshold + 1)
    return min(1.0, n * _binom_below(degree, q, threshold))


def analyse(n: int, params: RoundParams, dropout: float = DEFAULT_DROPOUT) -> AbortAnalysis:
    _check_dropout(dropout)
    q = 1.0 - dropout
    degree = params.degree(n)
    return AbortAnalysis(
        n=n,
        params=params,
        dropout=dropout,
        below_minimum=_binom_below(n, q, params.min_survivors),
        reconstruction=_reconstruction_bound(n, degree, params.threshold, q),
    )


def default_params(
    n: int,
    dropout: float = DEFAULT_DROPOUT,
    target: float = DEFAULT_TARGET,
    privacy_floor: int = PRIVACY_FLOOR,
) -> RoundParams:
    """The defaults described in the module docstring, for a round of n practices."""
    _check_cluster(n, privacy_floor)
    _check_dropout(dropout)
    q = 1.0 - dropout
    k = 2
    while k < n - 1:
        if n * _binom_below(k, q, k // 2 + 1) <= target / 2:
            break
        k += 2
    degree = min(k, n - 1)
    threshold = degree // 2 + 1
    m = max(privacy_floor, threshold + 1, _largest_safe_minimum(n, q, target / 2))
    return RoundParams(k=degree, threshold=threshold, min_survivors=m)


def parameter_table(
    sizes: tuple[int, ...] = TABLE_SIZES,
    dropout: float = DEFAULT_DROPOUT,
    target: float = DEFAULT_TARGET,
) -> str:
    """A Markdown table of the defaults and their abort odds (used in docs/secagg.md)."""
    lines = [
        f"Defaults and abort probabilities at {dropout:.0%} independent dropout "
        f"(target {target:g}).",
        "",
        "| n | k | t | min survivors | graph | P(abort: below minimum, by design) "
        "| P(abort: reconstruction) | P(abort) total | meets target |",
        "|---:|---:|---:|---:|---|---:|---:|---:|---|",
    ]
    for n in sizes:
        params = default_params(n, dropout, target)
        a = analyse(n, params, dropout)
        lines.append(
            f"| {n} | {params.k} | {params.threshold} | {params.min_survivors} "
            f"| {'complete' if a.complete else 'ring'} | {a.below_minimum:.2e} "
            f"| {a.reconstruction:.2e} | {a.total:.2e} "
            f"| {'yes' if a.total <= target else 'no: floor max(5, t+1) binds'} |"
        )
    return "\n".join(lines)


def main() -> None:
    print(parameter_table())


if __name__ == "__main__":
    main()
