"""Canonical serialisation and hashing of structured documents.

A manifest's identity must not depend on how its TOML was typed: whitespace,
comments, key order, inline versus standard tables and `1e-6` versus
`0.000001` all describe the same protocol. So hashes and signatures cover a
canonical JSON encoding of the *validated* document (sorted keys, no
insignificant whitespace, UTF-8, shortest round-trip floats), never raw bytes.
Every hash is domain-separated so a manifest hash can never be confused with a
receipt or log-entry hash.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any


def _normalise(value: Any, where: str) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: non-finite number {value!r} has no canonical form")
        return 0.0 if value == 0 else value
    if isinstance(value, datetime):
        raise ValueError(f"{where}: datetimes are not canonical; use a date or an ISO string")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"{where}: key {key!r} is not a string")
            out[key] = _normalise(item, f"{where}.{key}" if where else key)
        return out
    if isinstance(value, list | tuple):
        return [_normalise(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise ValueError(f"{where}: {type(value).__name__} has no canonical form")


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """The one byte string that stands for `document`."""
    normalised = _normalise(document, "")
    text = json.dumps(
        normalised, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def domain_message(domain: str, document: Mapping[str, Any]) -> bytes:
    """Bytes to hash or sign: a domain tag, a NUL, then the canonical document."""
    if "\0" in domain:
        raise ValueError("domain tag must not contain NUL")
    return domain.encode("ascii") + b"\0" + canonical_bytes(document)


def canonical_hash(domain: str, document: Mapping[str, Any]) -> str:
    """Hex SHA-256 over the domain-separated canonical encoding."""
    return hashlib.sha256(domain_message(domain, document)).hexdigest()
