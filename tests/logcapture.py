"""Capture what a Klynge logger writes: one JSON object per line (common.logs)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class LogCapture(logging.Handler):
    """Collects the formatted records of one logger, thread-safely."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.lock_ = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self.lock_:
            self.lines.append(record.getMessage())

    def records(self) -> list[dict[str, Any]]:
        with self.lock_:
            return [json.loads(line) for line in self.lines]

    def events(self) -> list[str]:
        return [record["event"] for record in self.records()]


@contextmanager
def captured_logs(name: str = "klynge.transport") -> Iterator[LogCapture]:
    """Every record of logger `name` (at DEBUG and up) while the block runs."""
    capture = LogCapture()
    logger = logging.getLogger(name)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(capture)
    try:
        yield capture
    finally:
        logger.removeHandler(capture)
        logger.setLevel(old_level)
