"""Which FHIR codings Klynge recognises, and how a lab comparator (`<48`) becomes a value.

Code systems (HL7 DK Core 3.x and MedCom; docs/fhir.md):
- conditions: ICPC-2, SKS-D (DE11 is ICD-10 E11), plain ICD-10;
- lab results: NPU under DK Core's URI or MedCom's OID; a DNK code (the
  Danish NPU extension, e.g. DNK35302 eGFR) is carried under the NPU system
  in DK Core's own examples, so an NPU-system code starting with DNK is a DNK
  code; Klynge's own DNK and LOCAL systems;
- prescriptions: ATC;
- services: OK22 (Klynge's system).

A comparator result such as `<48` is one fact about a value, not the value
48. It is kept when every threshold the catalogue applies to that analysis
gives the same answer for every value the comparator allows; the stored
value is then a representative inside that range (47.999999 for `<48`, 48
for `<=48`). When some threshold could go either way, the value is left
empty and the result still counts as taken.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from indicator_defs import model as m
from indicator_defs.codelists import CodeSystem
from indicator_defs.fhir_measure import (
    ATC_SYSTEM,
    DNK_LAB_SYSTEM,
    ICD10_SYSTEM,
    ICPC2_SYSTEM,
    LOCAL_LAB_SYSTEM,
    NPU_LEGACY_SYSTEM,
    NPU_SYSTEM,
    OK22_SERVICE_SYSTEM,
    SKS_D_SYSTEM,
)
from indicator_defs.walk import iter_nodes, roots

LAB_URIS = {
    NPU_SYSTEM: "NPU",
    NPU_LEGACY_SYSTEM: "NPU",
    DNK_LAB_SYSTEM: "DNK",
    LOCAL_LAB_SYSTEM: "LOCAL",
}
CONDITION_URIS = {ICPC2_SYSTEM: "ICPC2", SKS_D_SYSTEM: "ICD10", ICD10_SYSTEM: "ICD10"}
STEP = 1e-6  # the extract's decimal precision: a representative strictly inside `<x` or `>x`


def lab_code(system: str | None, code: str) -> tuple[str, str] | None:
    """(Klynge lab system, code) for one coding, or None if Klynge does not know the system."""
    kind = LAB_URIS.get(system or "")
    if kind == "NPU" and code.startswith("DNK"):
        kind = "DNK"
    return None if kind is None else (kind, code)


def condition_code(system: str | None, code: str) -> tuple[str, str] | bool | None:
    """(ICPC2|ICD10, code); None for an unknown system; False for a non-diagnosis SKS code."""
    kind = CONDITION_URIS.get(system or "")
    if kind is None:
        return None
    if system == SKS_D_SYSTEM:
        if len(code) < 4 or code[0] != "D" or not code[1].isalpha():
            return False
        code = code[1:]
    return kind, code


def is_atc(system: str | None) -> bool:
    return system == ATC_SYSTEM


def is_service(system: str | None) -> bool:
    return system == OK22_SERVICE_SYSTEM


def most_specific(codes: Iterable[str]) -> str | None:
    """The one ATC code all codings agree on (the longest where one is a prefix of the other).

    None when two codings name different substances or groups: choosing one
    would be a guess.
    """
    best: str | None = None
    for code in codes:
        if best is None or code.startswith(best):
            best = code
        elif not best.startswith(code):
            return None
    return best


@dataclass(frozen=True)
class Thresholds:
    """The `latest` value thresholds the catalogue applies, per (lab system, code)."""

    by_code: dict[tuple[str, str], tuple[tuple[m.Comparator, float], ...]]

    @staticmethod
    def of(catalogue: m.Catalogue) -> Thresholds:
        found: dict[tuple[str, str], set[tuple[m.Comparator, float]]] = {}
        for indicator in catalogue.indicators.values():
            for root in roots(indicator):
                for node in iter_nodes(root):
                    if not isinstance(node, m.HasLab) or node.latest is None:
                        continue
                    for codelist in node.codelists:
                        if codelist.system is not CodeSystem.LAB:
                            continue
                        for entry in codelist.codes:
                            system, _, code = entry.partition(":")
                            found.setdefault((system, code), set()).add(
                                (node.latest.comparator, node.latest.threshold)
                            )
        return Thresholds(
            {k: tuple(sorted(v, key=lambda x: (x[1], x[0].value))) for k, v in found.items()}
        )

    def resolve(self, key: tuple[str, str], comparator: str, limit: float) -> float | None:
        """A value standing for `comparator limit`, or None when a threshold could go either way."""
        low, high, low_open, high_open = _interval(comparator, limit)
        for op, threshold in self.by_code.get(key, ()):
            if not _decided(op, threshold, low, high, low_open, high_open):
                return None
        if comparator in ("<=", ">="):
            return limit
        return limit - STEP if comparator == "<" else limit + STEP


def _interval(comparator: str, x: float) -> tuple[float, float, bool, bool]:
    """(low, high, low open, high open) of the values `comparator x` allows."""
    if comparator == "<":
        return -math.inf, x, True, True
    if comparator == "<=":
        return -math.inf, x, True, False
    if comparator == ">":
        return x, math.inf, True, True
    return x, math.inf, False, True  # ">="


def _decided(
    op: m.Comparator, t: float, low: float, high: float, low_open: bool, high_open: bool
) -> bool:
    """Whether `value op t` has one answer for every value in the interval."""
    if op in (m.Comparator.LT, m.Comparator.GE):  # the answer flips at t: value < t
        all_below = high < t or (high == t and high_open)
        all_above = low >= t
    else:  # LE, GT: the answer flips after t: value <= t
        all_below = high <= t
        all_above = low > t or (low == t and low_open)
    return all_below or all_above
