"""The R4 rules Klynge's FHIR exports touch, checked before anything is written.

The R4 JSON schema (a test runs every export through it) checks elements,
types and the enumerated codes; it cannot check FHIRPath invariants. This
checker holds the rules of both that the exports could break, so `klynge fhir`
refuses a broken resource without a schema library at run time:
- every element: no null, no empty string, array or object (ele-1), an
  extension has a url and either a value or extensions (ext-1);
- contained resources: none nested (dom-2), each referred to by `#id` (dom-3);
- Measure: status, mea-0 (computable name), mea-1 (a stratifier is either
  one criteria or components), criteria with a language from R4's
  expression-language codes and an expression or reference (exp-1);
- ValueSet: status, vsd-1/2/3 (a system per include; concepts or filters);
- Library: status, type, content with a contentType;
- MeasureReport: status, type, measure, period (required, codes from R4's
  value sets), mrp-1 (no group in data collection), mrp-2 (a stratum is
  either a value or components), population codes, absent counts with a
  data-absent-reason;
- Bundle: type, unique fullUrls without a version (bdl-7, bdl-8);
- Questionnaire (the survey): status, que-0 (computable name), que-1 (groups
  have items, display items none), que-2 (unique linkIds), que-4/que-5
  (answer options on choice items only, not beside a value set), que-6;
- StructureDefinition (Klynge's extensions): status, kind, a computable name
  (sdf-0), a context for an extension (sdf-5), a constraint names what it
  constrains, differential paths under the type (sdf-8a), a root
  without a type (sdf-15a), unique element ids that match their paths,
  slice names (eld-16), min <= max (eld-2), `Extension.url` fixed to the
  canonical URL and each part's url to its name;
- every Klynge extension (a url under Klynge's StructureDefinition base):
  it has a published StructureDefinition, sits where its context allows,
  and its value, or its parts with their counts, have the types the
  definition gives. The definitions are read from the StructureDefinitions
  themselves (`indicator_defs.fhir_extensions`), not from a second list.
It is not a profile validator, and the CQL it does not compile.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

from indicator_defs.fhir_extensions import EXTENSION_BASE, structure_definitions
from indicator_defs.fhir_measure import MEASURE_POPULATION
from server.fhir_report import DATA_ABSENT_REASON, POPULATION_CODES

EXPRESSION_LANGUAGES = ("text/cql", "text/fhirpath", "application/x-fhir-query")
PUBLICATION_STATUS = ("draft", "active", "retired", "unknown")
REPORT_STATUS = ("complete", "pending", "error")
REPORT_TYPES = ("individual", "subject-list", "summary", "data-collection")
BUNDLE_TYPES = (
    "document", "message", "transaction", "transaction-response", "batch", "batch-response",
    "history", "searchset", "collection",
)  # fmt: skip
_NAME = re.compile(r"^[A-Z]([A-Za-z0-9_]){0,254}$")
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def check_resource(resource: Any) -> list[str]:
    """Every problem as "path: what is wrong"; an empty list is a conformant resource."""
    if not isinstance(resource, dict):
        return ["resource: must be a JSON object"]
    problems: list[str] = []
    kind = resource.get("resourceType")
    root = str(kind or "resource")
    _elements(resource, root, problems)
    _resource(resource, root, problems)
    _klynge_extensions(resource, root, root, problems)
    return problems


def _resource(res: dict[str, Any], path: str, problems: list[str]) -> None:
    kind = res.get("resourceType")
    rid = res.get("id")
    if rid is not None and not (isinstance(rid, str) and _ID.match(rid)):
        problems.append(f"{path}.id: {rid!r} is not a FHIR id")
    checks = {
        "Measure": _measure,
        "ValueSet": _value_set,
        "Library": _library,
        "MeasureReport": _measure_report,
        "Bundle": _bundle,
        "StructureDefinition": _structure_definition,
        "Questionnaire": _questionnaire,
    }
    check = checks.get(str(kind))
    if check is None:
        problems.append(f"{path}.resourceType: {kind!r} is not a resource Klynge exports")
        return
    check(res, path, problems)
    contained = res.get("contained") or []
    for i, inner in enumerate(contained):
        where = f"{path}.contained[{i}]"
        if not isinstance(inner, dict):
            problems.append(f"{where}: must be a resource")
            continue
        if inner.get("contained"):
            problems.append(f"{where}: dom-2: a contained resource contains no others")
        _resource(inner, where, problems)
        if f"#{inner.get('id')}" not in set(_strings(res, skip=inner)):
            problems.append(f"{where}: dom-3: never referred to as #{inner.get('id')}")


def _strings(node: Any, skip: object) -> Iterator[str]:
    if node is skip:
        return
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value, skip)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value, skip)


def _elements(node: Any, path: str, problems: list[str]) -> None:
    """ele-1 and JSON's rules for every element, ext-1 for every extension."""
    if node is None:
        problems.append(f"{path}: null is not a FHIR value")
    elif isinstance(node, str) and not node.strip():
        problems.append(f"{path}: empty string")
    elif isinstance(node, list):
        if not node:
            problems.append(f"{path}: empty array")
        for i, item in enumerate(node):
            _elements(item, f"{path}[{i}]", problems)
    elif isinstance(node, dict):
        if not node:
            problems.append(f"{path}: empty object (ele-1)")
        for key, value in node.items():
            _elements(value, f"{path}.{key}", problems)
        for i, ext in enumerate(node.get("extension") or []):
            if isinstance(ext, dict):
                _extension(ext, f"{path}.extension[{i}]", problems)


def _extension(ext: dict[str, Any], path: str, problems: list[str]) -> None:
    if not isinstance(ext.get("url"), str):
        problems.append(f"{path}.url: required")
    values = [k for k in ext if k.startswith("value")]
    if len(values) > 1 or bool(values) == bool(ext.get("extension")):
        problems.append(f"{path}: ext-1: either one value[x] or extensions")


def _required(res: dict[str, Any], path: str, name: str, codes: tuple[str, ...]) -> list[str]:
    value = res.get(name)
    if value not in codes:
        return [f"{path}.{name}: {value!r} is not one of {', '.join(codes)}"]
    return []


def _expression(expr: Any, path: str, problems: list[str]) -> None:
    if not isinstance(expr, dict):
        problems.append(f"{path}: required")
        return
    problems += _required(expr, path, "language", EXPRESSION_LANGUAGES)
    if not expr.get("expression") and not expr.get("reference"):
        problems.append(f"{path}: exp-1: an expression or a reference")


def _measure(res: dict[str, Any], path: str, problems: list[str]) -> None:
    problems += _required(res, path, "status", PUBLICATION_STATUS)
    name = res.get("name")
    if name is not None and not (isinstance(name, str) and _NAME.match(name)):
        problems.append(f"{path}.name: mea-0: {name!r} is not a computable name")
    for g, group in enumerate(res.get("group") or []):
        gpath = f"{path}.group[{g}]"
        for p, pop in enumerate(group.get("population") or []):
            _expression(pop.get("criteria"), f"{gpath}.population[{p}].criteria", problems)
        for s, strat in enumerate(group.get("stratifier") or []):
            spath = f"{gpath}.stratifier[{s}]"
            own = any(k in strat for k in ("code", "description", "criteria"))
            if own == bool(strat.get("component")):
                problems.append(f"{spath}: mea-1: either one criteria or components, not both")
            if "criteria" in strat:
                _expression(strat["criteria"], f"{spath}.criteria", problems)
            for c, comp in enumerate(strat.get("component") or []):
                _expression(comp.get("criteria"), f"{spath}.component[{c}].criteria", problems)


def _questionnaire(res: dict[str, Any], path: str, problems: list[str]) -> None:
    problems += _required(res, path, "status", PUBLICATION_STATUS)
    name = res.get("name")
    if name is not None and not (isinstance(name, str) and _NAME.match(name)):
        problems.append(f"{path}.name: que-0: {name!r} is not a computable name")
    seen: set[str] = set()

    def items(nodes: Any, where: str) -> None:
        for i, item in enumerate(nodes or []):
            ipath = f"{where}.item[{i}]"
            kind, link = item.get("type"), item.get("linkId")
            if link in seen:
                problems.append(f"{ipath}.linkId: que-2: {link!r} is not unique")
            seen.add(link)
            if (kind == "group") != bool(item.get("item")) and kind in ("group", "display"):
                problems.append(f"{ipath}: que-1: a group has nested items, a display item none")
            if item.get("answerOption") and item.get("answerValueSet"):
                problems.append(f"{ipath}: que-4: answerOption or answerValueSet, not both")
            choice = kind in ("choice", "open-choice")
            if not choice and (item.get("answerOption") or item.get("answerValueSet")):
                problems.append(f"{ipath}: que-5: only choice items have answer options")
            if kind == "display" and ("required" in item or "repeats" in item):
                problems.append(f"{ipath}: que-6: a display item is neither required nor repeats")
            items(item.get("item"), ipath)

    items(res.get("item"), path)


def _value_set(res: dict[str, Any], path: str, problems: list[str]) -> None:
    problems += _required(res, path, "status", PUBLICATION_STATUS)
    compose = res.get("compose")
    if compose is None:
        return
    if not compose.get("include"):
        problems.append(f"{path}.compose.include: at least one")
    for part in ("include", "exclude"):
        for i, rule in enumerate(compose.get(part) or []):
            rpath = f"{path}.compose.{part}[{i}]"
            if not rule.get("system") and not rule.get("valueSet"):
                problems.append(f"{rpath}: vsd-1: a value set or a system")
            if (rule.get("concept") or rule.get("filter")) and not rule.get("system"):
                problems.append(f"{rpath}: vsd-2: concepts or filters need a system")
            if rule.get("concept") and rule.get("filter"):
                problems.append(f"{rpath}: vsd-3: concepts or filters, not both")
            for f, flt in enumerate(rule.get("filter") or []):
                if not all(flt.get(k) for k in ("property", "op", "value")):
                    problems.append(f"{rpath}.filter[{f}]: property, op and value are required")


def _library(res: dict[str, Any], path: str, problems: list[str]) -> None:
    problems += _required(res, path, "status", PUBLICATION_STATUS)
    if not res.get("type"):
        problems.append(f"{path}.type: required")
    for i, content in enumerate(res.get("content") or []):
        if not content.get("contentType"):
            problems.append(f"{path}.content[{i}].contentType: required")


def _measure_report(res: dict[str, Any], path: str, problems: list[str]) -> None:
    problems += _required(res, path, "status", REPORT_STATUS)
    problems += _required(res, path, "type", REPORT_TYPES)
    if not isinstance(res.get("measure"), str):
        problems.append(f"{path}.measure: required canonical")
    period = res.get("period")
    if not isinstance(period, dict):
        problems.append(f"{path}.period: required")
    elif str(period.get("start", "")) > str(period.get("end", "\uffff")):
        problems.append(f"{path}.period: per-1: start after end")
    groups = res.get("group") or []
    if res.get("type") == "data-collection" and groups:
        problems.append(f"{path}.group: mrp-1: a data collection carries no groups")
    for g, group in enumerate(groups):
        gpath = f"{path}.group[{g}]"
        _cell(group, gpath, problems)
        for s, strat in enumerate(group.get("stratifier") or []):
            for k, stratum in enumerate(strat.get("stratum") or []):
                kpath = f"{gpath}.stratifier[{s}].stratum[{k}]"
                if ("value" in stratum) == bool(stratum.get("component")):
                    problems.append(f"{kpath}: mrp-2: either a value or components")
                for c, comp in enumerate(stratum.get("component") or []):
                    if not comp.get("code") or not comp.get("value"):
                        problems.append(f"{kpath}.component[{c}]: code and value are required")
                _cell(stratum, kpath, problems)


def _cell(cell: dict[str, Any], path: str, problems: list[str]) -> None:
    """A group or stratum: population codes once each, counts whole or absent with a reason."""
    codes = []
    for p, pop in enumerate(cell.get("population") or []):
        ppath = f"{path}.population[{p}]"
        coding = ((pop.get("code") or {}).get("coding") or [{}])[0]
        if coding.get("system") != MEASURE_POPULATION or coding.get("code") not in ALL_CODES:
            problems.append(f"{ppath}.code: {coding.get('code')!r} is not a population code")
        codes.append(coding.get("code"))
        if "count" in pop:
            count = pop["count"]
            if isinstance(count, bool) or not isinstance(count, int):
                problems.append(f"{ppath}.count: {count!r} is not an integer")
        elif not _absent(pop.get("_count")):
            problems.append(f"{ppath}.count: absent without a data-absent-reason")
    # Proportion scoring (indicators, top-box shares) or continuous-variable (mean scores).
    required = CONTINUOUS_CODES if CONTINUOUS_CODES[1] in codes else POPULATION_CODES
    for needed in required:
        if codes.count(needed) != 1:
            problems.append(f"{path}.population: needs exactly one {needed!r}")
    score = cell.get("measureScore")
    if isinstance(score, dict) and "value" not in score and not _absent(score):
        problems.append(f"{path}.measureScore: empty without a data-absent-reason")
    if isinstance(score, dict) and "value" in score:
        value = score["value"]
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(f"{path}.measureScore.value: {value!r} is not a decimal")


CONTINUOUS_CODES = ("initial-population", "measure-population")
ALL_CODES = (*POPULATION_CODES, CONTINUOUS_CODES[1])


def _absent(element: Any) -> bool:
    exts = (element or {}).get("extension") or [] if isinstance(element, dict) else []
    return any(isinstance(e, dict) and e.get("url") == DATA_ABSENT_REASON for e in exts)


def _bundle(res: dict[str, Any], path: str, problems: list[str]) -> None:
    problems += _required(res, path, "type", BUNDLE_TYPES)
    seen: set[str] = set()
    for i, entry in enumerate(res.get("entry") or []):
        epath = f"{path}.entry[{i}]"
        url = entry.get("fullUrl")
        if isinstance(url, str):
            if url in seen:
                problems.append(f"{epath}.fullUrl: bdl-7: {url} twice")
            if "/_history/" in url:
                problems.append(f"{epath}.fullUrl: bdl-8: no version in a fullUrl")
            seen.add(url)
        inner = entry.get("resource")
        if isinstance(inner, dict):
            _resource(inner, f"{epath}.resource", problems)
        else:
            problems.append(f"{epath}.resource: required")


# --- StructureDefinitions of extensions (sdf-, eld- rules a differential can break) --------

SD_KINDS = ("primitive-type", "complex-type", "resource", "logical")
_SLICE_NAME = re.compile(r"^[a-zA-Z0-9/\-_\[\]@]+$")


def _structure_definition(res: dict[str, Any], path: str, problems: list[str]) -> None:
    problems += _required(res, path, "status", PUBLICATION_STATUS)
    problems += _required(res, path, "kind", SD_KINDS)
    for needed in ("url", "type"):
        if not isinstance(res.get(needed), str):
            problems.append(f"{path}.{needed}: required")
    name = res.get("name")
    if not (isinstance(name, str) and _NAME.match(name)):
        problems.append(f"{path}.name: sdf-0: {name!r} is not a computable name")
    if res.get("derivation") == "constraint" and not res.get("baseDefinition"):
        problems.append(f"{path}.baseDefinition: a constraint needs the definition it constrains")
    if res.get("type") == "Extension" and not res.get("context"):
        problems.append(f"{path}.context: sdf-5: an extension says where it may be used")
    elements = (res.get("differential") or {}).get("element") or []
    if not elements:
        problems.append(f"{path}.differential.element: at least one")
    kind = str(res.get("type"))
    ids: set[str] = set()
    for i, el in enumerate(elements):
        epath = f"{path}.differential.element[{i}]"
        el_path, el_id = str(el.get("path")), el.get("id")
        if el_path != kind and not el_path.startswith(f"{kind}."):
            problems.append(f"{epath}.path: sdf-8a: {el_path!r} is not under {kind}")
        if i == 0 and "." not in el_path and el.get("type"):
            problems.append(f"{epath}.type: sdf-15a: the root element has no type")
        if not isinstance(el_id, str) or el_id in ids:
            problems.append(f"{epath}.id: {el_id!r} missing or not unique")
        elif re.sub(r":[^.]+", "", el_id) != el_path:
            problems.append(f"{epath}.id: {el_id!r} does not name the path {el_path!r}")
        else:
            ids.add(el_id)
        slice_name = el.get("sliceName")
        if slice_name is not None and not _SLICE_NAME.match(str(slice_name)):
            problems.append(f"{epath}.sliceName: eld-16: {slice_name!r}")
        low, high = el.get("min"), el.get("max")
        if isinstance(low, int) and isinstance(high, str) and high.isdigit() and low > int(high):
            problems.append(f"{epath}: eld-2: min {low} above max {high}")
        if el_path.endswith(".url") and el_path.count(".") == 2 and isinstance(el_id, str):
            sliced = el_id.split(".")[1].partition(":")[2]
            if el.get("fixedUri") != sliced:
                problems.append(f"{epath}.fixedUri: a part's url is fixed to its name {sliced!r}")
    if kind == "Extension":
        fixed = [el.get("fixedUri") for el in elements if el.get("id") == "Extension.url"]
        if fixed != [res.get("url")]:
            problems.append(
                f"{path}: Extension.url must be fixed to the canonical {res.get('url')}"
            )


# --- Klynge's extensions in an instance, against their published definitions ----------------


@dataclass(frozen=True)
class _Shape:
    """What a StructureDefinition's differential allows: value types, or parts with counts."""

    contexts: frozenset[str]
    types: tuple[str, ...]
    parts: dict[str, tuple[int, int | None, tuple[str, ...]]]  # name -> (min, max, types)


def _types(el: dict[str, Any] | None) -> tuple[str, ...]:
    if el is None or el.get("max") == "0":
        return ()
    return tuple(str(t.get("code")) for t in el.get("type") or [])


def _shape(sd: dict[str, Any]) -> _Shape:
    by_id = {el["id"]: el for el in sd["differential"]["element"]}
    parts = {}
    for el in by_id.values():
        name = el.get("sliceName")
        if el.get("path") == "Extension.extension" and name:
            high = el.get("max", "*")
            parts[name] = (
                int(el.get("min", 0)),
                None if high == "*" else int(high),
                _types(by_id.get(f"{el['id']}.value[x]")),
            )
    contexts = frozenset(c["expression"] for c in sd.get("context") or [])
    return _Shape(contexts, _types(by_id.get("Extension.value[x]")), parts)


@cache
def published_shapes() -> dict[str, _Shape]:
    return {sd["url"]: _shape(sd) for sd in structure_definitions()}


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "decimal": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "string": (str,),
    "code": (str,),
    "Period": (dict,),
}


def _value_problem(ext: dict[str, Any], types: tuple[str, ...]) -> str | None:
    """None when the one value[x] is of an allowed type; else what is wrong."""
    keys = [k for k in ext if k.startswith("value")]
    allowed = {f"value{t[:1].upper()}{t[1:]}": t for t in types}
    if not keys:
        return f"no value (allowed: {', '.join(allowed) or 'parts only'})"
    key = keys[0]
    if key not in allowed:
        return f"{key} is not allowed (allowed: {', '.join(allowed) or 'parts only'})"
    value = ext[key]
    kind = allowed[key]
    ok = isinstance(value, _JSON_TYPES.get(kind, (object,)))
    if kind != "boolean" and isinstance(value, bool):
        ok = False
    return None if ok else f"{key} {value!r} is not a {kind}"


def _check_klynge_extension(
    ext: dict[str, Any], element: str, where: str, problems: list[str]
) -> None:
    url = ext.get("url")
    shape = published_shapes().get(str(url))
    if shape is None:
        problems.append(f"{where}: {url} has no published StructureDefinition")
        return
    if element not in shape.contexts:
        problems.append(f"{where}: {url} is not defined on {element}")
    if not shape.parts:
        wrong = _value_problem(ext, shape.types)
        if wrong:
            problems.append(f"{where}: {wrong}")
        return
    if any(k.startswith("value") for k in ext):
        problems.append(f"{where}: a complex extension has parts, not a value")
    counts: dict[str, int] = {}
    for i, part in enumerate(ext.get("extension") or []):
        name = part.get("url") if isinstance(part, dict) else None
        if name not in shape.parts:
            problems.append(f"{where}.extension[{i}]: {name!r} is not a part of {url}")
            continue
        counts[name] = counts.get(name, 0) + 1
        wrong = _value_problem(part, shape.parts[name][2])
        if wrong:
            problems.append(f"{where}.extension[{i}]: {wrong}")
    for name, (low, high, _) in shape.parts.items():
        n = counts.get(name, 0)
        if n < low or (high is not None and n > high):
            most = "*" if high is None else high
            problems.append(f"{where}: {n} × {name!r}, the definition allows {low}..{most}")


def _klynge_extensions(node: Any, element: str, where: str, problems: list[str]) -> None:
    """Walk the resource by element path (`MeasureReport.group.population.count`)."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            _klynge_extensions(item, element, f"{where}[{i}]", problems)
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("resourceType"), str) and where != element:
        element = node["resourceType"]
    for key, value in node.items():
        if key in ("extension", "modifierExtension") and isinstance(value, list):
            for i, ext in enumerate(value):
                url = ext.get("url") if isinstance(ext, dict) else None
                if isinstance(url, str) and url.startswith(f"{EXTENSION_BASE}/"):
                    _check_klynge_extension(ext, element, f"{where}.{key}[{i}]", problems)
            continue
        child = key[1:] if key.startswith("_") else key
        _klynge_extensions(value, f"{element}.{child}", f"{where}.{key}", problems)
