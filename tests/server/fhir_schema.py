"""The R4 JSON schema (HL7's fhir.schema.json, cut to what Klynge exports) as a test oracle.

`fhir_r4.schema.json` beside this file holds the R4 definitions of Measure,
MeasureReport, ValueSet, Library, Bundle, StructureDefinition and
Questionnaire and every type they use, verbatim but for the description
texts; its `ResourceList` is narrowed to those, so a Bundle or `contained`
with anything else fails (docs/fhir.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft6Validator

from indicator_defs.fhir_extensions import EXTENSION_BASE
from server.fhir_conformance import check_resource

SCHEMA = Path(__file__).with_name("fhir_r4.schema.json")


@cache
def _validator() -> Draft6Validator:
    return Draft6Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))


def schema_problems(resource: Any) -> list[str]:
    """Every R4 JSON-schema violation as "path: message" (best match per oneOf branch)."""
    problems = []
    for error in _validator().iter_errors(resource):
        leaf = min(error.context or [error], key=lambda e: len(e.absolute_path) * -1)
        where = ".".join(str(p) for p in leaf.absolute_path) or "resource"
        problems.append(f"{where}: {leaf.message[:200]}")
    return problems


def r4_problems(resource: Any) -> list[str]:
    """The schema's problems and the invariants' (server.fhir_conformance)."""
    return schema_problems(resource) + check_resource(resource)


def klynge_extension_urls(node: Any) -> Iterator[str]:
    """Every Klynge extension URL anywhere in a resource (parts' names are not URLs)."""
    if isinstance(node, list):
        for item in node:
            yield from klynge_extension_urls(item)
    elif isinstance(node, dict):
        url = node.get("url")
        if isinstance(url, str) and url.startswith(f"{EXTENSION_BASE}/"):
            yield url
        for value in node.values():
            yield from klynge_extension_urls(value)
