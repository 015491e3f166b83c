"""Timing for the benchmark scripts: the median of repeated runs, so one slow run on a
shared machine does not decide the figure."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def median_time(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """(median seconds over `repeat` calls of `fn`, at least one; the last call's result)."""
    times: list[float] = []
    for _ in range(max(1, repeat)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out
