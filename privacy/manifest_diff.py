"""What changed between two manifest versions, in terms a reviewer checks.

The diff compares canonical documents, so formatting changes never show up
and every change of meaning does. Indicators are matched by id and code
lists by name, so a reordering is not reported as a change while an added
indicator, a new definition hash or a new per-patient cap always is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from privacy.manifest import Manifest

_ABSENT = object()


@dataclass(frozen=True)
class Change:
    path: str
    old: Any  # None when added
    new: Any  # None when removed
    kind: str  # added | removed | changed


def _keyed(items: list[Any], key: str) -> dict[str, Any] | None:
    if all(isinstance(i, dict) and key in i for i in items):
        keys = [i[key] for i in items]
        if len(set(keys)) == len(keys):
            return {k: i for k, i in zip(keys, items, strict=True)}
    return None


def _walk(path: str, old: Any, new: Any, out: list[Change]) -> None:
    if old is _ABSENT:
        out.append(Change(path, None, new, "added"))
        return
    if new is _ABSENT:
        out.append(Change(path, old, None, "removed"))
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            _walk(
                f"{path}.{key}" if path else key, old.get(key, _ABSENT), new.get(key, _ABSENT), out
            )
        return
    if isinstance(old, list) and isinstance(new, list):
        for key_name in ("id", "name"):
            old_keyed, new_keyed = _keyed(old, key_name), _keyed(new, key_name)
            if old_keyed is not None and new_keyed is not None:
                for key in sorted(set(old_keyed) | set(new_keyed)):
                    _walk(
                        f"{path}[{key}]",
                        old_keyed.get(key, _ABSENT),
                        new_keyed.get(key, _ABSENT),
                        out,
                    )
                return
    if old != new:
        out.append(Change(path, old, new, "changed"))


def diff_manifests(old: Manifest, new: Manifest) -> list[Change]:
    changes: list[Change] = []
    _walk("", old.canonical_document(), new.canonical_document(), changes)
    return changes


def format_change(change: Change) -> str:
    def show(value: Any) -> str:
        text = repr(value) if not isinstance(value, str) else value
        return text if len(text) <= 160 else text[:157] + "…"

    if change.kind == "added":
        return f"+ {change.path}: {show(change.new)}"
    if change.kind == "removed":
        return f"- {change.path}: {show(change.old)}"
    return f"~ {change.path}: {show(change.old)} → {show(change.new)}"
