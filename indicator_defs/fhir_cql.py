"""An indicator's criteria as a CQL library: a visitor over the query model's node types.

Each node type has one translation to a CQL expression over FHIR R4 data as
`docs/fhir.md` maps it on import (Condition, MedicationRequest, Observation,
Encounter, the list-membership extension), with the reference date R = the
end of "Measurement Period" and the window semantics of `model.py`
(R − N days < d ≤ R). A node the visitor has no translation for, including
any node type added after this module, is never dropped: it becomes a call
to a CQL `external` function, and the population's criteria carry the node
itself in Klynge's `criterion` extension (`fallbacks`), so a reader always
gets either CQL or the documented definition, never nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from enum import Enum
from typing import Any

from indicator_defs import model as m
from indicator_defs.codelists import Codelist

_OPS = {m.Comparator.LT: "<", m.Comparator.LE: "<=", m.Comparator.GE: ">=", m.Comparator.GT: ">"}

HEADER = """\
using FHIR version '4.0.1'
include FHIRHelpers version '4.0.1' called FHIRHelpers

parameter "Measurement Period" Interval<DateTime>

context Patient

// R, the reference date: windows hold the days d with R - N days < d <= R.
define "Reference Date": date from end of "Measurement Period"

define function "In Window"(d Date, days Integer):
  d in Interval("Reference Date" - days days, "Reference Date"]

define function "Up To R"(d Date):
  d is not null and d <= "Reference Date"

define "Listed":
  exists (Patient.extension E
    where E.url = '{list_ext}'
      and date from start of (E.value as FHIR.Period) <= "Reference Date"
      and (end of (E.value as FHIR.Period) is null
        or date from end of (E.value as FHIR.Period) > "Reference Date"))
  and (Patient.deceased is null
    or date from (Patient.deceased as FHIR.dateTime) > "Reference Date")

define function "Onset"(C Condition):
  date from Coalesce(C.onset as FHIR.dateTime, start of (C.onset as FHIR.Period), C.recordedDate)

define function "Abatement"(C Condition):
  date from Coalesce(C.abatement as FHIR.dateTime, end of (C.abatement as FHIR.Period))

define function "Effective"(O Observation):
  date from Coalesce(O.effective as FHIR.dateTime, start of (O.effective as FHIR.Period),
    O.effective as FHIR.instant)
"""


@dataclass(frozen=True)
class Fallback:
    """A node without a CQL translation: the external function standing for it, and the node."""

    function: str
    node_type: str
    definition: dict[str, Any]
    signature: str = "() returns Boolean"


@dataclass
class _Library:
    valuesets: dict[str, str] = field(default_factory=dict)  # CQL name → canonical URL
    fallbacks: list[Fallback] = field(default_factory=list)
    canonical_base: str = ""


def model_json(node: object) -> Any:
    """A model node as plain JSON (code lists by name and version), for the fallback extension."""
    if isinstance(node, Codelist):
        return {"codelist": node.name, "version": node.version}
    if isinstance(node, Enum):
        return node.value
    if is_dataclass(node) and not isinstance(node, type):
        out: dict[str, Any] = {"type": type(node).__name__}
        for f in fields(node):
            out[f.name] = model_json(getattr(node, f.name))
        return out
    if isinstance(node, tuple | list):
        return [model_json(v) for v in node]
    return node


class CqlVisitor:
    """Translates criteria to CQL; `visit` dispatches on the node's type, `fallback` takes the rest.

    A translation may also refuse a node whose options it cannot express
    (it returns None); the node then takes the fallback as a whole.
    """

    def __init__(self, lib: _Library) -> None:
        self.lib = lib
        self.handlers: dict[type, Callable[[Any], str | None]] = {
            m.Listed: lambda _n: '"Listed"',
            m.Age: self.age,
            m.Sex: lambda n: "Patient.gender = '" + ("female" if n.value == "F" else "male") + "'",
            m.HasCondition: self.condition,
            m.HasPrescription: self.prescription,
            m.HasLab: self.lab,
            m.HasEncounter: self.encounter,
            m.AllOf: lambda n: self.joined(n.parts, "and"),
            m.AnyOf: lambda n: self.joined(n.parts, "or"),
            m.Not: lambda n: f"not ({self.visit(n.part)})",
            m.Score: self.score,
            m.PrescriptionEvents: self.events,
        }

    def visit(self, node: object) -> str:
        handler = self.handlers.get(type(node))
        text = None if handler is None else handler(node)
        return self.fallback(node) if text is None else text

    def fallback(self, node: object, argument: str = "", signature: str = "") -> str:
        """The node as a call to an external function; the node itself goes to the extension."""
        name = f"Klynge Criterion {len(self.lib.fallbacks) + 1}"
        fallback = Fallback(name, type(node).__name__, model_json(node))
        if signature:
            fallback = Fallback(name, fallback.node_type, fallback.definition, signature)
        self.lib.fallbacks.append(fallback)
        return f'"{name}"({argument})'

    # --- one method per node type -------------------------------------------

    def age(self, n: m.Age) -> str:
        parts = []
        if n.min is not None:
            parts.append(f"""AgeInYearsAt("Reference Date") >= {n.min}""")
        if n.max is not None:
            parts.append(f"""AgeInYearsAt("Reference Date") <= {n.max}""")
        return " and ".join(parts) or "true"

    def joined(self, parts: tuple[m.Criterion, ...], op: str) -> str:
        return "(" + f"\n  {op} ".join(f"({self.visit(p)})" for p in parts) + ")"

    def score(self, n: m.Score) -> str:
        items = " + ".join(f"(if {self.visit(i.when)} then {i.points} else 0)" for i in n.items)
        return f"({items}) >= {n.min}"

    def retrieve(self, resource: str, codelists: tuple[Codelist, ...], path: str = "") -> str:
        names = [self.valueset(cl) for cl in codelists]
        if path:
            return " union ".join(f'([{resource}: {path} in "{v}"])' for v in names)
        return " union ".join(f'([{resource}: "{v}"])' for v in names)

    def valueset(self, cl: Codelist) -> str:
        self.lib.valuesets[cl.name] = f"{self.lib.canonical_base}/ValueSet/{cl.name}"
        return cl.name

    @staticmethod
    def window(date_expr: str, window: m.Window) -> str:
        if window.days is None:
            return f'"Up To R"({date_expr})'
        return f'"In Window"({date_expr}, {window.days})'

    @staticmethod
    def counted(query: str, min_count: int) -> str:
        return f"exists ({query})" if min_count == 1 else f"Count({query}) >= {min_count}"

    def condition(self, n: m.HasCondition) -> str | None:
        conds = self.retrieve("Condition", n.codelists)
        if n.started_within is not None:
            when = self.window('"Onset"(C)', n.started_within)
            return f"exists (({conds}) C where {when})"
        if n.status is m.ConditionStatus.ACTIVE:
            return (
                f'exists (({conds}) C where "Up To R"("Onset"(C))'
                ' and ("Abatement"(C) is null or "Abatement"(C) > "Reference Date"))'
            )
        if n.status is m.ConditionStatus.EVER:
            return f'exists (({conds}) C where "Up To R"("Onset"(C)))'
        return None

    def prescription(self, n: m.HasPrescription) -> str | None:
        if n.min_ddd is not None:
            return None  # the DDD sum over Klynge's ddd extension is not translated yet
        rx = self.retrieve("MedicationRequest", n.codelists)
        query = f"({rx}) M where {self.window('date from M.authoredOn', n.window)}"
        return self.counted(query, n.min_count)

    def lab(self, n: m.HasLab) -> str:
        obs = self.retrieve("Observation", n.codelists)
        when = self.window('"Effective"(O)', n.window)
        query = f"({obs}) O where {when}"
        if n.latest is None:
            return self.counted(query, n.min_count)
        valued = f"({query} and O.value is not null)"
        latest = (
            f'Max(({valued}) V where "Effective"(V) = Max({valued} X return "Effective"(X))'
            " return (V.value as FHIR.Quantity).value)"
        )
        test = f"{latest} {_OPS[n.latest.comparator]} {n.latest.threshold:g}"
        return test if n.min_count == 1 else f"{self.counted(query, n.min_count)} and {test}"

    def encounter(self, n: m.HasEncounter) -> str:
        encs = " union ".join(
            f'([Encounter] E where E.serviceType in "{v}" or exists (E.type T where T in "{v}"))'
            for v in (self.valueset(cl) for cl in n.codelists)
        )
        query = f"({encs}) E where {self.window('date from start of E.period', n.window)}"
        return self.counted(query, n.min_count)

    def events(self, n: m.PrescriptionEvents) -> str:
        rx = self.retrieve("MedicationRequest", n.codelists)
        return f"({rx}) M where {self.window('date from M.authoredOn', n.window)}"


@dataclass(frozen=True)
class CqlLibrary:
    """The CQL text and, per population code, its `define` name and fallbacks."""

    text: str
    valuesets: dict[str, str]
    defines: dict[str, str]  # population code → define name
    fallbacks: dict[str, tuple[Fallback, ...]]  # population code → its fallbacks


def library_name(indicator: m.Indicator) -> str:
    return "Klynge" + "".join(ch for ch in indicator.id if ch.isalnum())


def cql_library(
    indicator: m.Indicator,
    populations: dict[str, object],
    caps: dict[str, int],
    canonical_base: str,
    list_membership_url: str,
) -> CqlLibrary:
    """One library per indicator: `populations` maps a population code to its criterion root.

    `caps` maps a population code of counted events to the per-patient cap;
    a cap has no CQL translation here and takes the fallback.
    """
    lib = _Library(canonical_base=canonical_base.rstrip("/"))
    visitor = CqlVisitor(lib)
    defines: dict[str, str] = {}
    fallbacks: dict[str, tuple[Fallback, ...]] = {}
    bodies: list[str] = []
    for code, root in populations.items():
        before = len(lib.fallbacks)
        body = visitor.visit(root)
        if code in caps:
            body = visitor.fallback(
                _Capped(caps[code]),
                body,
                "(events List<MedicationRequest>) returns List<MedicationRequest>",
            )
        if isinstance(root, m.PrescriptionEvents) or code in caps:
            body = f'if "Initial Population" then ({body}) else List<MedicationRequest>{{}}'
        name = code.replace("-", " ").title()
        defines[code] = name
        fallbacks[code] = tuple(lib.fallbacks[before:])
        bodies.append(f'define "{name}":\n  {body}\n')
    externals = [
        f"// {f.node_type}: see the criterion extension on this population's criteria\n"
        f'define function "{f.function}"{f.signature}: external\n'
        for f in lib.fallbacks
    ]
    valuesets = [f"valueset \"{n}\": '{url}'" for n, url in sorted(lib.valuesets.items())]
    text = "\n".join(
        [
            f"library {library_name(indicator)} version '{indicator.version}'\n",
            HEADER.replace("{list_ext}", list_membership_url),
            *valuesets,
            "",
            *externals,
            *bodies,
        ]
    )
    return CqlLibrary(text, dict(lib.valuesets), defines, fallbacks)


@dataclass(frozen=True)
class _Capped:
    """Of the events given, at most `cap` per patient count (the earliest): not translated yet."""

    cap: int


def criteria_json(fallbacks: tuple[Fallback, ...]) -> str:
    """The fallback extension's value: each untranslated node by its function's name."""
    return json.dumps(
        {f.function: f.definition for f in fallbacks}, ensure_ascii=False, sort_keys=True
    )
