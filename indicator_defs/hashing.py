"""Canonical content hashes for definitions and code lists.

A signed manifest pins these hashes, so they must depend on content only:
not on whitespace, comments, key order or file names. Canonical form is JSON
with sorted keys, no insignificant whitespace, and UTF-8.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any


def canonical_json(data: Any) -> bytes:
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def sha256_hex(data: Any) -> str:
    return hashlib.sha256(canonical_json(data)).hexdigest()


def catalogue_hash(indicators: Mapping[str, Any]) -> str:
    return sha256_hex({i: ind.content_hash for i, ind in sorted(indicators.items())})
