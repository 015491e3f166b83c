"""Versioned code lists and the one place that decides whether a code matches.

Matching rules are binding (issue 2) and differ per terminology:
- ICPC-2: exact code, or a range written `K74-K76` within one chapter letter;
- ICD-10: by prefix (the terminology is hierarchical), ranges like `C00-C97`;
- ATC: by prefix, so `N05CD` matches `N05CD08`; `exclude` prefixes win;
- lab (NPU, DNK, LOCAL): exact `SYSTEM:CODE`;
- service codes (OK22): exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum


class CodeSystem(Enum):
    ICPC2 = "ICPC2"
    ICD10 = "ICD10"
    ATC = "ATC"
    LAB = "LAB"
    SERVICE = "SERVICE"


LAB_SYSTEMS = ("NPU", "DNK", "LOCAL")
_RANGE = re.compile(r"^([A-Z])(\d{2})-([A-Z])(\d{2})$")
_ICPC2_CODE = re.compile(r"^[A-Z]\d{2}$")
_ICD10_PREFIX = re.compile(r"^[A-Z](\d{1,2}(\.?\d*)?)?$")
_ATC_PREFIX = re.compile(r"^[A-Z](\d{2}([A-Z]([A-Z](\d{2})?)?)?)?$")
_SERVICE_CODE = re.compile(r"^\d{4}$")


class CodelistFormatError(ValueError):
    """A code list entry does not fit its terminology's syntax."""


def _expand_range(entry: str) -> list[str]:
    m = _RANGE.match(entry)
    if not m:
        raise CodelistFormatError(f"'{entry}' is not a range like K74-K76")
    letter1, lo, letter2, hi = m.group(1), int(m.group(2)), m.group(3), int(m.group(4))
    if letter1 != letter2 or lo > hi:
        raise CodelistFormatError(f"range '{entry}' must stay in one chapter and ascend")
    return [f"{letter1}{n:02d}" for n in range(lo, hi + 1)]


def normalise_entries(system: CodeSystem, entries: list[str]) -> tuple[str, ...]:
    """Validate entries and expand ranges, so matching is a plain lookup."""
    out: list[str] = []
    for entry in entries:
        if not isinstance(entry, str) or not entry.strip():
            raise CodelistFormatError(f"entry {entry!r} is not a non-empty string")
        entry = entry.strip()
        if system is CodeSystem.ICPC2:
            codes = _expand_range(entry) if "-" in entry else [entry]
            for code in codes:
                if not _ICPC2_CODE.match(code):
                    raise CodelistFormatError(f"'{code}' is not an ICPC-2 code like T90")
            out.extend(codes)
        elif system is CodeSystem.ICD10:
            codes = _expand_range(entry) if "-" in entry else [entry]
            for code in codes:
                if not _ICD10_PREFIX.match(code):
                    raise CodelistFormatError(f"'{code}' is not an ICD-10 code or prefix")
            out.extend(codes)
        elif system is CodeSystem.ATC:
            if not _ATC_PREFIX.match(entry):
                raise CodelistFormatError(f"'{entry}' is not an ATC code or prefix like N05CD")
            out.append(entry)
        elif system is CodeSystem.LAB:
            lab_system, _, code = entry.partition(":")
            if lab_system not in LAB_SYSTEMS or not code:
                raise CodelistFormatError(
                    f"'{entry}' must be SYSTEM:CODE with SYSTEM one of {', '.join(LAB_SYSTEMS)}"
                )
            out.append(entry)
        elif system is CodeSystem.SERVICE:
            if not _SERVICE_CODE.match(entry):
                raise CodelistFormatError(f"'{entry}' is not a four-digit service code")
            out.append(entry)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Codelist:
    name: str
    version: str
    system: CodeSystem
    title: str
    codes: tuple[str, ...]  # normalised: ranges expanded
    exclude: tuple[str, ...]
    source: str
    content_hash: str

    def matches(self, code: str, row_system: str | None = None) -> bool:
        """Does one extract code belong to this list?

        `row_system` is the extract's own system column where it has one
        (conditions: ICPC2/ICD10; lab results: NPU/DNK/LOCAL).
        """
        if self.system is CodeSystem.ICPC2:
            return row_system == "ICPC2" and code in self.codes
        if self.system is CodeSystem.ICD10:
            plain = code.replace(".", "")
            return row_system == "ICD10" and any(
                plain.startswith(p.replace(".", "")) for p in self.codes
            )
        if self.system is CodeSystem.ATC:
            return any(code.startswith(p) for p in self.codes) and not any(
                code.startswith(p) for p in self.exclude
            )
        if self.system is CodeSystem.LAB:
            return f"{row_system}:{code}" in self.codes
        return code in self.codes
