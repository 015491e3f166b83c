"""Strict, length-checked binary framing for protocol messages.

The format is deliberately boring: little-endian fixed-width integers,
fixed-size byte fields, and variable fields prefixed by a u32 length or count.
A reader never trusts a length it has not checked against the bytes left, and
every read names the field it is reading, so a truncated or hostile message
becomes a `MessageError` naming that field instead of an IndexError, a
MemoryError, or a silently shortened value.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from protocols.errors import MessageError

_U8 = struct.Struct("<B")
_U32 = struct.Struct("<I")


class Writer:
    """Accumulates the encoding of one message."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def u8(self, value: int) -> None:
        self._parts.append(_U8.pack(value))

    def u32(self, value: int) -> None:
        self._parts.append(_U32.pack(value))

    def fixed(self, value: bytes) -> None:
        self._parts.append(bytes(value))

    def var_bytes(self, value: bytes) -> None:
        self.u32(len(value))
        self._parts.append(bytes(value))

    def text(self, value: str) -> None:
        self.var_bytes(value.encode("utf-8"))

    def u32_list(self, values: Sequence[int]) -> None:
        self.u32(len(values))
        self._parts.append(struct.pack(f"<{len(values)}I", *values))

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


class Reader:
    """Consumes one message's bytes; every method names the field it reads."""

    def __init__(self, data: bytes) -> None:
        if not isinstance(data, bytes | bytearray | memoryview):
            raise MessageError("message", f"expected bytes, got {type(data).__name__}")
        self._data = bytes(data)
        self._pos = 0

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def _take(self, n: int, field: str) -> bytes:
        if n < 0 or n > self.remaining:
            raise MessageError(
                field, f"needs {n} bytes at offset {self._pos}, only {self.remaining} left"
            )
        chunk = self._data[self._pos : self._pos + n]
        self._pos += n
        return chunk

    def u8(self, field: str) -> int:
        (value,) = _U8.unpack(self._take(1, field))
        return int(value)

    def u32(self, field: str) -> int:
        (value,) = _U32.unpack(self._take(4, field))
        return int(value)

    def fixed(self, n: int, field: str) -> bytes:
        return self._take(n, field)

    def var_bytes(self, field: str, max_len: int) -> bytes:
        n = self.u32(field + ".length")
        if n > max_len:
            raise MessageError(field, f"length {n} exceeds the maximum {max_len}")
        return self._take(n, field)

    def text(self, field: str, max_len: int) -> str:
        raw = self.var_bytes(field, max_len)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MessageError(field, f"not valid UTF-8 ({exc.reason})") from None

    def count(self, field: str, item_size: int, max_count: int) -> int:
        """A list length, checked against the bytes left before any item is read."""
        n = self.u32(field + ".count")
        if n > max_count:
            raise MessageError(field, f"{n} items exceed the maximum {max_count}")
        if n * item_size > self.remaining:
            raise MessageError(
                field, f"{n} items need at least {n * item_size} bytes, {self.remaining} left"
            )
        return n

    def u32_list(self, field: str, max_count: int) -> tuple[int, ...]:
        n = self.count(field, 4, max_count)
        return struct.unpack(f"<{n}I", self._take(4 * n, field))

    def labelled_keys(
        self, field: str, max_count: int, max_label: int, key_size: int
    ) -> list[tuple[str, bytes]]:
        """A counted list of (u32-length UTF-8 label, fixed-size key) records, read in one pass.

        Same checks as reading each record with `text` and `fixed`, without the per-call
        overhead: an announcement carries one record per practice (up to thousands).
        """
        n = self.count(field, 4 + 1 + key_size, max_count)
        data, pos, end = self._data, self._pos, len(self._data)
        unpack = _U32.unpack_from
        out = []
        for i in range(n):
            if pos + 4 > end:
                raise MessageError(f"{field}[{i}]", "truncated")
            length = unpack(data, pos)[0]
            pos += 4
            if length > max_label:
                raise MessageError(f"{field}[{i}]", f"label of {length} bytes exceeds {max_label}")
            if pos + length + key_size > end:
                raise MessageError(f"{field}[{i}]", "truncated")
            try:
                label = data[pos : pos + length].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise MessageError(f"{field}[{i}]", f"not valid UTF-8 ({exc.reason})") from None
            pos += length
            out.append((label, data[pos : pos + key_size]))
            pos += key_size
        self._pos = pos
        return out

    def finish(self) -> None:
        if self.remaining:
            raise MessageError("message", f"{self.remaining} unexpected trailing bytes")
