"""JSON from another party, read within a size and a nesting-depth limit.

Why: `json.loads` recurses once per nesting level, so a few kilobytes of
`[[[[...` from a peer raise `RecursionError`, which no caller expects and
which slips past handlers that catch `ValueError`. Every JSON payload that
crosses the federation (control messages, fetched releases) is read here
first: too large, too deep, not UTF-8, duplicated keys and NaN/Infinity are
all one `BoundedJsonError` naming the payload, before any parser recursion.
Typed fields are then the caller's business (`protocols.wire`,
`reporting.release_document`); this module only guarantees the shape is a
bounded tree of plain JSON values.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from common.errors import FileKeyError, KlyngeError

# A complete JSON string (escapes included); what is inside never counts as nesting.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


class BoundedJsonError(KlyngeError):
    """A payload that is not JSON within the limits; `reason` says which limit or fault."""

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


def nesting_depth(data: bytes, limit: int) -> int:
    """The deepest nesting of arrays and objects in `data`, counting stops past `limit`.

    Brackets inside strings are ignored; the count is of bracket tokens only,
    so it is linear in the size and never recurses.
    """
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub(b'""', data)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    return deepest
        else:
            depth -= 1
    return deepest


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r:.40} appears twice")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(data: bytes | str, *, source: str, max_bytes: int, max_depth: int) -> Any:
    """The JSON value in `data`, if it is at most `max_bytes` long and `max_depth` deep."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise BoundedJsonError(source, f"{len(raw)} bytes, more than the limit of {max_bytes}")
    depth = nesting_depth(raw, max_depth)
    if depth > max_depth:
        raise BoundedJsonError(source, f"nested deeper than {max_depth} levels")
    try:
        text = raw.decode("utf-8")
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise BoundedJsonError(source, f"not JSON: {str(exc)[:120]}") from None


def load_file(path: Path, *, max_bytes: int, error: type[FileKeyError], max_depth: int = 32) -> Any:
    """A JSON file another party wrote, read within bounds like a message on the wire;
    any fault is one `error` naming the file."""
    try:
        return loads(path.read_bytes(), source=str(path), max_bytes=max_bytes, max_depth=max_depth)
    except OSError as exc:
        raise error(path, None, f"cannot read the file ({exc.strerror or exc})") from None
    except BoundedJsonError as exc:
        raise error(path, None, f"cannot read as JSON ({exc.reason})") from None
