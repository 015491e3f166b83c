"""Every exported ValueSet expands (R4 compose rules) to exactly the codes the engines match."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from indicator_defs import load_catalogue
from indicator_defs import model as m
from indicator_defs.codelists import Codelist, CodeSystem
from indicator_defs.fhir_cql import criteria_json
from indicator_defs.fhir_expand import ExpansionError, expand
from indicator_defs.fhir_measure import (
    ATC_SYSTEM,
    CRITERION_EXT,
    ICPC2_SYSTEM,
    LAB_SYSTEM_URIS,
    OK22_SERVICE_SYSTEM,
    SKS_D_SYSTEM,
    measure_library,
    measure_resource,
    sks_code,
    used_codelists,
)

CATALOGUE = load_catalogue()
_DIGITS = "0123456789"


def _variants(code: str) -> set[str]:
    """A code, its prefixes and children (one more character): where prefix rules err."""
    out = {code[:k] for k in range(1, len(code) + 1)}
    out |= {code + d for d in _DIGITS + "AX"}
    return out


def _universe() -> dict[CodeSystem, set[tuple[str, str | None]]]:
    """Candidate (code, extract system) per terminology, from every code list of the catalogue."""
    found: dict[CodeSystem, set[tuple[str, str | None]]] = {s: set() for s in CodeSystem}
    for cl in CATALOGUE.codelists.values():
        for entry in (*cl.codes, *cl.exclude):
            if cl.system is CodeSystem.LAB:
                code = entry.partition(":")[2]
                found[cl.system] |= {
                    (c, s) for c in _variants(code) for s in ("NPU", "DNK", "LOCAL")
                }
            elif cl.system is CodeSystem.ICD10:
                plain = entry.replace(".", "")
                found[cl.system] |= {(c, "ICD10") for c in _variants(plain)}
            else:
                system = "ICPC2" if cl.system is CodeSystem.ICPC2 else None
                found[cl.system] |= {(c, system) for c in _variants(entry)}
    return found


UNIVERSE = _universe()


def _fhir(cl: Codelist, code: str, row_system: str | None) -> tuple[str, str]:
    """Where the import puts an extract code (docs/fhir.md, code systems)."""
    if cl.system is CodeSystem.ICD10:
        return (SKS_D_SYSTEM, sks_code(code))
    if cl.system is CodeSystem.LAB:
        return (LAB_SYSTEM_URIS[str(row_system)], code)
    uri = {CodeSystem.ICPC2: ICPC2_SYSTEM, CodeSystem.ATC: ATC_SYSTEM}
    return (uri.get(cl.system, OK22_SERVICE_SYSTEM), code)


@pytest.mark.parametrize("indicator_id", sorted(CATALOGUE.indicators))
def test_every_value_set_expands_to_the_codes_the_engine_matches(indicator_id: str) -> None:
    indicator = CATALOGUE.indicators[indicator_id]
    contained = {vs["url"].rsplit("/", 1)[1]: vs for vs in measure_resource(indicator)["contained"]}
    for cl in used_codelists(indicator):
        candidates = {_fhir(cl, c, s): (c, s) for c, s in UNIVERSE[cl.system]}
        matched = {fhir for fhir, (c, s) in candidates.items() if cl.matches(c, s)}
        assert matched, f"{cl.name}: the universe holds none of its codes"
        assert expand(contained[cl.name], candidates) == matched, cl.name


def test_the_expander_follows_r4_compose_semantics() -> None:
    """Filters within an include AND, includes OR, excludes subtract; the old export's bug shows."""
    codes = [("s", c) for c in ("A1", "A12", "B1", "B2", "C")]
    two_filters = {"compose": {"include": [{"system": "s", "filter": [
        {"property": "concept", "op": "is-a", "value": "A1"},
        {"property": "concept", "op": "is-a", "value": "B1"},
    ]}]}}  # fmt: skip
    assert expand(two_filters, codes) == set()  # one include, two prefixes: nothing
    split = {"compose": {
        "include": [
            {"system": "s", "filter": [{"property": "concept", "op": "is-a", "value": "A1"}]},
            {"system": "s", "filter": [{"property": "code", "op": "regex", "value": "B.*"}]},
        ],
        "exclude": [{"system": "s", "concept": [{"code": "B2"}]}],
    }}  # fmt: skip
    assert expand(split, codes) == {("s", "A1"), ("s", "A12"), ("s", "B1")}
    assert expand({"compose": {"include": [{"system": "s"}]}}, codes) == set(codes)
    with pytest.raises(ExpansionError, match="descendent-of"):
        bad = {"property": "concept", "op": "descendent-of", "value": "A"}
        expand({"compose": {"include": [{"system": "s", "filter": [bad]}]}}, codes)


@pytest.mark.parametrize("indicator_id", sorted(CATALOGUE.indicators))
def test_every_population_has_cql_or_the_criterion_extension(indicator_id: str) -> None:
    indicator = CATALOGUE.indicators[indicator_id]
    library = measure_library(indicator)
    for pop in measure_resource(indicator)["group"][0]["population"]:
        criteria, code = pop["criteria"], pop["code"]["coding"][0]["code"]
        assert criteria["language"] == "text/cql"
        assert f'define "{criteria["expression"]}":' in library.text
        external = bool(library.fallbacks[code])
        assert external == any(e["url"] == CRITERION_EXT for e in criteria.get("extension", []))


@dataclass(frozen=True)
class _Episode:
    """A node type the visitor has never seen (as the episode construct will be)."""

    anchor: str


def test_an_unknown_node_falls_back_to_the_extension_never_to_nothing() -> None:
    dm = CATALOGUE.indicators["DM-01"]
    assert dm.numerator is not None
    odd = m.AllOf((dm.numerator, _Episode("diagnosis")))  # type: ignore[arg-type]
    indicator = type(dm)(**{**dm.__dict__, "numerator": odd})
    library = measure_library(indicator)  # describe.py words it once the node is added there
    (fallback,) = library.fallbacks["numerator"]
    assert fallback.node_type == "_Episode" and fallback.definition["anchor"] == "diagnosis"
    assert library.fallbacks["denominator"] == ()
    assert 'define function "Klynge Criterion 1"() returns Boolean: external' in library.text
    assert '"Klynge Criterion 1"()' in library.text.split('define "Numerator":')[1]
    assert '"_Episode"' in criteria_json(library.fallbacks["numerator"])
