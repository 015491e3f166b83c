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
from common.i18n import register, t

register(
    {
        "json.too_large": {
            "en": "{size} bytes, more than the limit of {limit}",
            "da": "{size} bytes, mere end grænsen på {limit}",
        },
        "json.too_deep": {
            "en": "nested deeper than {limit} levels",
            "da": "indlejret i mere end {limit} niveauer",
        },
        "json.not_utf8": {"en": "not JSON: not UTF-8 text", "da": "ikke JSON: ikke UTF-8-tekst"},
        "json.syntax": {
            "en": "not JSON: a syntax error at line {line}, column {column}",
            "da": "ikke JSON: en syntaksfejl i linje {line}, kolonne {column}",
        },
        "json.twice": {
            "en": "not JSON: key {name} appears twice",
            "da": "ikke JSON: nøglen {name} forekommer to gange",
        },
        "json.constant": {
            "en": "not JSON: {name} is not a JSON value",
            "da": "ikke JSON: {name} er ikke en JSON-værdi",
        },
        "json.recursion": {
            "en": "not JSON: nested too deeply to read",
            "da": "ikke JSON: for dybt indlejret til at blive læst",
        },
        "json.not_found": {"en": "the file does not exist", "da": "filen findes ikke"},
        "json.unreadable": {
            "en": "cannot read the file ({reason})",
            "da": "filen kan ikke læses ({reason})",
        },
        "json.refused": {
            "en": "cannot read as JSON ({reason})",
            "da": "kan ikke læses som JSON ({reason})",
        },
    }
)


class _Refused(ValueError):
    """A JSON value the parser must not accept; `message` is already in the reader's language."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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
            raise _Refused(t("json.twice", name=f"{key!r:.40}"))
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise _Refused(t("json.constant", name=name))


def loads(data: bytes | str, *, source: str, max_bytes: int, max_depth: int) -> Any:
    """The JSON value in `data`, if it is at most `max_bytes` long and `max_depth` deep."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise BoundedJsonError(source, t("json.too_large", size=len(raw), limit=max_bytes))
    depth = nesting_depth(raw, max_depth)
    if depth > max_depth:
        raise BoundedJsonError(source, t("json.too_deep", limit=max_depth))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BoundedJsonError(source, t("json.not_utf8")) from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _Refused as exc:
        raise BoundedJsonError(source, exc.message) from None
    except json.JSONDecodeError as exc:
        # The parser's own words ("Expecting value") are English only, so the place is the message.
        where = t("json.syntax", line=exc.lineno, column=exc.colno)
        raise BoundedJsonError(source, where) from None
    except RecursionError:
        raise BoundedJsonError(source, t("json.recursion")) from None


def load_file(path: Path, *, max_bytes: int, error: type[FileKeyError], max_depth: int = 32) -> Any:
    """A JSON file another party wrote, read within bounds like a message on the wire;
    any fault is one `error` naming the file."""
    try:
        return loads(path.read_bytes(), source=str(path), max_bytes=max_bytes, max_depth=max_depth)
    except FileNotFoundError:
        raise error(path, None, t("json.not_found")) from None
    except OSError as exc:
        raise error(path, None, t("json.unreadable", reason=exc.strerror or exc)) from None
    except BoundedJsonError as exc:
        raise error(path, None, t("json.refused", reason=exc.reason)) from None
