"""Vectorised parsing of extract cells, strict to the schema.

Every function takes one column as read (CSV: strings; Parquet: strings or a
native type) and returns the typed values plus two masks: `missing` (the cell
is empty) and `bad` (the cell holds something that is not a valid value).
What a bad or missing cell means for the row is the validator's decision.

Dates are checked digit by digit rather than with a strptime-style parser,
because those normalise impossible dates (2023-02-30 becomes 2023-03-02) and
accept unpadded or timed values the schema forbids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from client.extract.schema import ColumnKind
from common.cpr import mask_cpr

_DECIMAL = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_DAYS_IN_MONTH = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)
_SHOWN_MAX = 40
TEXT = pa.large_string()  # pandas' arrow-backed str dtype stores large_string; no cast later
_YEAR_START = (
    (np.arange(10_000) - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
)
_MONTH_START = np.concatenate([[0], np.cumsum(_DAYS_IN_MONTH)[:-1]])
_FIRST_DAY = int(_YEAR_START[1])  # 0001-01-01
_LAST_DAY = int(_YEAR_START[9999]) + 364  # 9999-12-31


@dataclass(frozen=True)
class ParsedColumn:
    """One column after parsing.

    `values` is a pyarrow string array (text; null where missing), a numpy
    datetime64[D] array (dates; NaT where missing or bad) or a float64 array
    (decimals; NaN where missing or bad). `shown(i)` is cell i as the user
    wrote it, quoted and shortened for messages.
    """

    values: pa.Array | np.ndarray
    missing: np.ndarray
    bad: np.ndarray
    shown: Callable[[int], str]

    @property
    def text(self) -> pa.Array:
        """The values of a text column: always a pyarrow string array."""
        assert not isinstance(self.values, np.ndarray)
        return self.values


def is_textual(type_: pa.DataType) -> bool:
    if pa.types.is_dictionary(type_):
        return is_textual(type_.value_type)
    return (
        pa.types.is_string(type_)
        or pa.types.is_large_string(type_)
        or pa.types.is_string_view(type_)
        or pa.types.is_null(type_)
    )


def accepts(kind: ColumnKind, type_: pa.DataType) -> bool:
    """Whether a Parquet column of `type_` can hold values of `kind`.

    Text must be text: an integer `service_code` has already lost its leading
    zero, and a time-zoned timestamp has no unambiguous calendar date.
    """
    if is_textual(type_):
        return True
    if kind is ColumnKind.DATE:
        return pa.types.is_date(type_) or (pa.types.is_timestamp(type_) and type_.tz is None)
    if kind is ColumnKind.DECIMAL:
        return any(
            check(type_)
            for check in (pa.types.is_integer, pa.types.is_floating, pa.types.is_decimal)
        )
    return False


def expected_types(kind: ColumnKind) -> str:
    return {
        ColumnKind.TEXT: "string",
        ColumnKind.DATE: "date32 or string (YYYY-MM-DD)",
        ColumnKind.DECIMAL: "double or string",
    }[kind]


def parse(kind: ColumnKind, column: pa.ChunkedArray | pa.Array) -> ParsedColumn:
    array = _one_chunk(column)
    if kind is ColumnKind.TEXT:
        return parse_text(array)
    if kind is ColumnKind.DATE:
        return parse_dates(array)
    return parse_decimals(array)


def parse_text(array: pa.Array) -> ParsedColumn:
    text = _stripped(array)
    missing = pc.binary_length(text).to_numpy(zero_copy_only=False) == 0
    values = pc.if_else(pa.array(missing), pa.scalar(None, TEXT), text)
    return ParsedColumn(values, missing, np.zeros(len(text), bool), _quoted(text))


def parse_dates(array: pa.Array) -> ParsedColumn:
    if is_textual(array.type):
        return _dates_from_text(_stripped(array))
    missing = _np_bool(array.is_null())
    if pa.types.is_date32(array.type):
        days = array.cast(pa.int32()).fill_null(0).to_numpy(zero_copy_only=False)
        bad = np.zeros(len(array), bool)
    else:  # date64 and naive timestamps: whole days only
        ticks = array.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False)
        unit = "ms" if pa.types.is_date64(array.type) else array.type.unit
        per_day = 86_400 * {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
        bad = ~missing & (ticks % per_day != 0)
        days = ticks // per_day
    days = days.astype(np.int64)
    bad |= ~missing & ((days < _FIRST_DAY) | (days > _LAST_DAY))  # years 0001-9999, as for text
    values = np.where(missing | bad, np.datetime64("NaT", "D"), days.astype("datetime64[D]"))
    return ParsedColumn(values, missing, bad, _typed(array))


def parse_decimals(array: pa.Array) -> ParsedColumn:
    if is_textual(array.type):
        text = _stripped(array)
        missing = pc.binary_length(text).to_numpy(zero_copy_only=False) == 0
        try:  # fast path: every cell is a number or empty
            values = pc.if_else(pa.array(missing), "0", text).cast(pa.float64()).to_numpy()
            bad = ~missing & ~np.isfinite(values)  # "nan", "inf" parse but are not values
        except pa.ArrowInvalid:
            well_formed = _np_bool(pc.match_substring_regex(text, _DECIMAL))
            cleaned = pc.if_else(pa.array(well_formed), text, "nan")
            values = cleaned.cast(pa.float64()).to_numpy(zero_copy_only=False)
            bad = ~missing & (~well_formed | ~np.isfinite(values))
        values = np.where(bad | missing, np.nan, values)
        return ParsedColumn(values, missing, bad, _quoted(text))
    # safe=False: a huge integer becomes the nearest double instead of an error
    values = array.cast(pa.float64(), safe=False).fill_null(np.nan).to_numpy(zero_copy_only=False)
    values = values.copy()
    missing = np.isnan(values)
    bad = np.isinf(values)
    values[bad] = np.nan
    return ParsedColumn(values, missing, bad, _typed(array))


def _dates_from_text(text: pa.Array) -> ParsedColumn:
    lengths = pc.binary_length(text).to_numpy(zero_copy_only=False)
    missing = lengths == 0
    ten = lengths == 10
    padded = text if ten.all() else pc.if_else(pa.array(ten), text, "1970-01-01")
    chars = _fixed_width_bytes(padded, 10)

    def number(first: int, last: int) -> np.ndarray:
        out = np.zeros(len(chars), np.int32)
        for pos in range(first, last):
            out = out * 10 + (chars[:, pos].astype(np.int32) - 48)
        return out

    digits_ok = np.ones(len(chars), bool)
    for pos in (0, 1, 2, 3, 5, 6, 8, 9):
        digits_ok &= (chars[:, pos] - np.uint8(48)) <= 9  # uint8 wraps below '0'
    shape = ten & digits_ok & (chars[:, 4] == 45) & (chars[:, 7] == 45)  # '-'
    year, month, day = number(0, 4), number(5, 7), number(8, 10)
    month_ok = (month >= 1) & (month <= 12)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    month_len = _DAYS_IN_MONTH[np.clip(month, 1, 12) - 1] + ((month == 2) & leap)
    valid = shape & (year >= 1) & month_ok & (day >= 1) & (day <= month_len)
    bad = ~missing & ~valid
    if not valid.all():
        year, month, day = (np.where(valid, x, 1) for x in (year, month, day))
    values = _days_since_epoch(year, month, day, leap).astype("datetime64[D]")
    if not valid.all():
        values[~valid] = np.datetime64("NaT")
    return ParsedColumn(values, missing, bad, _quoted(text))


def _days_since_epoch(
    year: np.ndarray, month: np.ndarray, day: np.ndarray, leap: np.ndarray
) -> np.ndarray:
    """Days since 1970-01-01 for already validated (year, month, day) triples.

    Table lookups instead of numpy's month-to-day datetime casts, which are
    about ten times slower on millions of rows.
    """
    return _YEAR_START[year] + _MONTH_START[month - 1] + (leap & (month > 2)) + (day - 1)


def _fixed_width_bytes(array: pa.Array, width: int) -> np.ndarray:
    """The bytes of a string array whose values all have `width` bytes, as an (n, width) matrix."""
    if isinstance(array, pa.ChunkedArray):
        array = _one_chunk(array)
    array = array.cast(TEXT)
    n = len(array)
    if n == 0:
        return np.zeros((0, width), np.uint8)
    offsets = np.frombuffer(array.buffers()[1], np.int64)[array.offset : array.offset + n + 1]
    start, end = int(offsets[0]), int(offsets[-1])
    if end - start != n * width:  # not contiguous as expected; fall back to a copy
        joined = "".join(array.to_pylist()).encode()
        return np.frombuffer(joined, np.uint8).reshape(n, width)
    data = np.frombuffer(array.buffers()[2], np.uint8)[start:end]
    return data.reshape(n, width)


def _one_chunk(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        if column.num_chunks == 0:
            return pa.array([], column.type)
        return column.combine_chunks()
    return column


def _stripped(array: pa.Array) -> pa.Array:
    """Text with surrounding whitespace removed and null read as the empty cell."""
    if pa.types.is_null(array.type):
        return pa.array([""] * len(array), TEXT)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if array.type != TEXT:
        array = array.cast(TEXT)
    array = array.fill_null("")
    return pc.utf8_trim_whitespace(array) if _may_need_trim(array) else array


def _may_need_trim(array: pa.Array) -> bool:
    """False only if no value starts or ends with whitespace (checked on raw bytes).

    Trimming copies every string; most columns need none, and this check
    reads two bytes per value. Any non-ASCII edge byte counts as possible
    whitespace (e.g. a no-break space), so the check never misses one.
    """
    n = len(array)
    if n == 0:
        return False
    offsets = np.frombuffer(array.buffers()[1], np.int64)[array.offset : array.offset + n + 1]
    data = array.buffers()[2]
    if data is None:
        return False
    data = np.frombuffer(data, np.uint8)
    starts, ends = offsets[:-1], offsets[1:]
    nonempty = ends > starts
    first = data[starts[nonempty]]
    last = data[ends[nonempty] - 1]
    edges = np.concatenate([first, last])
    return bool(np.any((edges == 32) | ((edges >= 9) & (edges <= 13)) | (edges >= 0x80)))


def _np_bool(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False), dtype=bool)


def _quoted(text: pa.Array) -> Callable[[int], str]:
    def shown(i: int) -> str:
        return _shorten(text[i].as_py())

    return shown


def _typed(array: pa.Array) -> Callable[[int], str]:
    def shown(i: int) -> str:
        try:
            return _shorten(str(array[i].as_py()))
        except (ValueError, OverflowError):  # a date outside Python's years 1-9999
            return _shorten(str(_as_numpy_datetime(array.slice(i, 1))))

    return shown


def _as_numpy_datetime(one: pa.Array) -> np.datetime64:
    if pa.types.is_date32(one.type):
        return np.datetime64(one.view(pa.int32())[0].as_py(), "D")
    unit: Any = "ms" if pa.types.is_date64(one.type) else one.type.unit
    return np.datetime64(one.view(pa.int64())[0].as_py(), unit)


def _shorten(value: str) -> str:
    """A cell as messages show it: never a CPR number (docs/fhir.md, "CPR")."""
    value = mask_cpr(value)
    if len(value) > _SHOWN_MAX:
        value = value[: _SHOWN_MAX - 1] + "…"
    return f"'{value}'"
