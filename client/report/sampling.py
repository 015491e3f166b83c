"""95 % sampling intervals for the practice's own survey measures (no noise: its own data).

- A top-box share: the Wilson score interval with n = respondents. Each
  respondent's value is a share of their answers in [0, 1] (a 0/1 answer when
  a measure has one item), whose variance is at most p(1 - p), so the Wilson
  interval for a proportion is a fair, slightly conservative choice, and it
  stays inside [0, 1] for small n and shares near 0 or 1, where the normal
  interval does not.
- A mean score: mean ± t(0.975, n - 1) · s / √n, cut to the measure's bounds.
  The t quantile comes from its Cornish–Fisher expansion around the normal
  one (Abramowitz & Stegun 26.7.5), within 0.001 of the exact quantile for
  n - 1 ≥ 5; fewer respondents get no interval, and the report says
  "too few answers" below `MIN_RESPONDENTS` anyway.
"""

from __future__ import annotations

import math

import numpy as np

from privacy.estimation import Z95

Z = Z95  # two-sided 95 %, the one constant the reports share
MIN_DF = 5


def wilson(share: float, n: int, z: float = Z) -> tuple[float, float] | None:
    """The Wilson score interval of a share from n respondents (None without respondents)."""
    if n <= 0:
        return None
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def t_quantile(df: int, z: float = Z) -> float:
    """The upper quantile of Student's t with `df` degrees of freedom matching normal `z`."""
    if df < MIN_DF:
        raise ValueError(f"df {df} < {MIN_DF}: the expansion is not accurate enough")
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def mean_interval(values: np.ndarray, low: float, high: float) -> tuple[float, float] | None:
    """The t interval of the mean of `values`, cut to [low, high]; None for too few values."""
    n = len(values)
    if n - 1 < MIN_DF:
        return None
    mean = float(np.mean(values))
    half = t_quantile(n - 1) * float(np.std(values, ddof=1)) / math.sqrt(n)
    return max(low, mean - half), min(high, mean + half)
