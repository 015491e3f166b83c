"""R4 ValueSet `compose` semantics applied to a set of candidate codes: a small expander.

Includes are OR-ed, the filters (and a concept list) within one include are
AND-ed, excludes are taken away (R4 ValueSet.compose). The filters Klynge
writes: `is-a` on `concept` (the concept and its descendants; in SKS-D and
ATC a descendant's code begins with its ancestor's code, which is the
assumption this expander makes), `regex` on `code` (the whole code must
match) and `=` on `code`. Anything else is an error, never an empty set.
A terminology server expands against the whole code system; this expands
against the codes given, so a test can compare with the engines' matching.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

Code = tuple[str, str]  # (system URI, code)


class ExpansionError(ValueError):
    """A compose rule this expander does not know: never read as 'no codes'."""


def _matches(condition: Mapping[str, Any], code: str) -> bool:
    prop, op, value = condition.get("property"), condition.get("op"), condition.get("value")
    if not isinstance(value, str):
        raise ExpansionError(f"filter value {value!r} is not a string")
    if op == "is-a" and prop == "concept":
        return code.startswith(value)
    if op == "regex" and prop == "code":
        return re.fullmatch(value, code) is not None
    if op == "=" and prop == "code":
        return code == value
    raise ExpansionError(f"filter {prop} {op} is not supported")


def _selects(rule: Mapping[str, Any], system: str, code: str) -> bool:
    if rule.get("valueSet"):
        raise ExpansionError("compose rules that import value sets are not supported")
    if rule.get("system") != system:
        return False
    concepts = rule.get("concept")
    if concepts is not None and code not in {c["code"] for c in concepts}:
        return False
    return all(_matches(f, code) for f in rule.get("filter", ()))


def expand(value_set: Mapping[str, Any], candidates: Iterable[Code]) -> set[Code]:
    """The candidates the value set's compose selects."""
    compose = value_set.get("compose") or {}
    include, exclude = compose.get("include") or [], compose.get("exclude") or []
    return {
        (system, code)
        for system, code in candidates
        if any(_selects(r, system, code) for r in include)
        and not any(_selects(r, system, code) for r in exclude)
    }
