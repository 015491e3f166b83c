"""Fixtures for every transport test: none may leave a thread running behind it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.transport.harness import wait_until


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    """Fail a test that leaves threads behind it (only those it started)."""
    before = set(threading.enumerate())

    def leftovers() -> list[str]:
        return sorted(t.name for t in set(threading.enumerate()) - before if t.is_alive())

    yield
    assert wait_until(lambda: not leftovers(), timeout=5.0), f"threads left: {leftovers()}"
