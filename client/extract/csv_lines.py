"""Which physical line of a CSV file each parsed row came from.

The fast reader returns rows, not lines. In the common file (one record per
line, no blank lines) row i is line i + 2, and that is checked in O(1) from
the newline count. Otherwise (quoted fields with newlines, blank lines,
rows with the wrong number of fields) the file is re-scanned once with the
standard `csv` module, which reports where each record starts; the scan runs
only if a row actually has to be reported, so clean files never pay for it.
"""

from __future__ import annotations

import csv
import io
import sys
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Scan:
    """Start lines of the records the reader kept, and of those it could not use."""

    starts: np.ndarray  # start line of each kept data record, in order
    ragged: tuple[tuple[int, int], ...]  # (line, number of fields) of wrong-width records
    last_start: int | None  # start line of the last non-blank record, kept or not


@dataclass
class LineMap:
    """Maps 0-based data-row indices to 1-based physical line numbers of one CSV file."""

    data: bytes
    n_fields: int
    n_rows: int
    n_dropped: int
    _simple: bool | None = field(default=None, repr=False)
    _scan: Scan | None = field(default=None, repr=False)

    @property
    def simple(self) -> bool:
        """One record per line and nothing skipped, so row i is on line i + 2."""
        if self._simple is None:
            n_lines = self.data.count(b"\n") + (0 if self.data.endswith(b"\n") else 1)
            self._simple = self.n_dropped == 0 and n_lines == self.n_rows + 1
        return self._simple

    def __call__(self, rows: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if self.simple:
            return rows + 2
        starts = self.scan().starts
        if len(starts) != self.n_rows:  # the two parsers disagree; best effort
            return rows + 2
        return starts[rows]

    def scan(self) -> Scan:
        if self._scan is None:
            self._scan = scan_records(self.data.decode("utf-8", "replace"), self.n_fields)
        return self._scan


def scan_records(text: str, n_fields: int) -> Scan:
    """Walk the records as a standard CSV reader sees them.

    Blank and whitespace-only lines are skipped, as the fast reader skips
    them; the first non-blank record is the header.
    """
    starts: list[int] = []
    ragged: list[tuple[int, int]] = []
    last_start = None
    reader = csv.reader(io.StringIO(text, newline=""))
    previous_end = 0
    header_seen = False
    old_limit = csv.field_size_limit()
    csv.field_size_limit(sys.maxsize)
    try:
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not record or (len(record) != n_fields and not "".join(record).strip()):
                continue
            last_start = start
            if not header_seen:
                header_seen = True
            elif len(record) != n_fields:
                ragged.append((start, len(record)))
            else:
                starts.append(start)
    except csv.Error:  # not expected in non-strict mode; report what was read so far
        pass
    finally:
        csv.field_size_limit(old_limit)
    return Scan(np.asarray(starts, dtype=np.int64), tuple(ragged), last_start)
