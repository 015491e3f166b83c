"""Column-wise row blocks for the five extract tables, and their assembly into frames.

Generators append whole blocks (arrays of patient indices, day numbers,
values, coded text) and never build per-row Python objects. Text is carried
as (vocabulary, index) so a million prescriptions cost one small int array,
and the final string column is a single Arrow `take`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from client.extract.schema import ColumnKind, Table
from client.synth.days import NO_DATE, to_datetime64


@dataclass(frozen=True)
class Coded:
    """A text column as indices into a small vocabulary."""

    vocab: tuple[str | None, ...]  # None: an empty cell
    index: np.ndarray


ColumnValue = np.ndarray | Coded | str | float | int | None


@dataclass
class TableRows:
    """Blocks of rows for one schema table (patient column given as indices)."""

    table: Table
    _blocks: list[dict[str, ColumnValue]] = field(default_factory=list)
    _patients: list[np.ndarray] = field(default_factory=list)

    def add(self, patient: np.ndarray, **columns: ColumnValue) -> None:
        names = set(self.table.column_names) - {"patient_id"}
        if set(columns) != names:
            raise ValueError(f"{self.table.name}: got {sorted(columns)}, need {sorted(names)}")
        self._patients.append(np.asarray(patient, dtype=np.int64))
        self._blocks.append(columns)

    @property
    def count(self) -> int:
        return int(sum(p.size for p in self._patients))

    def frame(self, patient_ids: np.ndarray, sort_by: str | None) -> pd.DataFrame:
        """The table as a DataFrame in the Extract's dtypes, rows sorted by patient then date."""
        patient = np.concatenate(self._patients) if self._patients else np.empty(0, dtype=np.int64)
        data: dict[str, Any] = {}  # per column: an array, or (vocabulary, indices) for text
        for col in self.table.columns:
            if col.name == "patient_id":
                continue
            blocks = zip(self._blocks, self._patients, strict=True)
            parts = [(b[col.name], p.size) for b, p in blocks]
            data[col.name] = _concat(col.kind, parts)
        order = _row_order(patient, data.get(sort_by) if sort_by else None)
        columns: dict[str, pd.Series] = {
            "patient_id": _text_series(pa.array(patient_ids).take(pa.array(patient[order])))
        }
        for col in self.table.columns[1:]:
            values = data[col.name]
            if col.kind is ColumnKind.DATE:
                columns[col.name] = pd.Series(to_datetime64(values[order]))
            elif col.kind is ColumnKind.DECIMAL:
                columns[col.name] = pd.Series(values[order], dtype="float64")
            else:
                vocab, index = values
                columns[col.name] = _text_series(pa.array(vocab).take(pa.array(index[order])))
        return pd.DataFrame(columns)


def _row_order(patient: np.ndarray, dates: np.ndarray | None) -> np.ndarray:
    """Stable order by patient, then date: one int64 key sorts faster than a lexsort."""
    if dates is None or dates.size == 0:
        return np.argsort(patient, kind="stable")
    known = np.where(dates == NO_DATE, dates[dates != NO_DATE].min(initial=0), dates)
    offset = known - known.min()
    key = patient * (int(offset.max()) + 1) + offset
    return np.argsort(key, kind="stable")


def _text_series(array: pa.Array) -> pd.Series:
    return pd.Series(pd.array(array, dtype="str"))


def _concat(kind: ColumnKind, parts: Sequence[tuple[ColumnValue, int]]) -> object:
    if kind is ColumnKind.DATE:
        return (
            np.concatenate(
                [
                    np.full(n, NO_DATE if v is None else v, dtype=np.int64) if _scalar(v) else v
                    for v, n in parts
                ]
            )
            if parts
            else np.empty(0, dtype=np.int64)
        )
    if kind is ColumnKind.DECIMAL:
        return (
            np.concatenate(
                [
                    np.full(n, np.nan if v is None else v, dtype=float) if _scalar(v) else v
                    for v, n in parts
                ]
            )
            if parts
            else np.empty(0, dtype=float)
        )
    # text: merge vocabularies, remap indices; None means an empty cell
    vocab: dict[str | None, int] = {}
    indices: list[np.ndarray] = []
    for v, n in parts:
        if isinstance(v, Coded):
            coded = v
        else:
            assert v is None or isinstance(v, str), f"a text column got {type(v).__name__}"
            coded = Coded((v,), np.zeros(n, dtype=np.int32))
        remap = np.array([vocab.setdefault(word, len(vocab)) for word in coded.vocab])
        indices.append(remap[coded.index] if n else np.empty(0, dtype=np.int64))
    words = list(vocab)
    index = np.concatenate(indices) if indices else np.empty(0, dtype=np.int64)
    return words, index


def _scalar(v: ColumnValue) -> bool:
    return v is None or (not isinstance(v, Coded) and np.ndim(v) == 0)
