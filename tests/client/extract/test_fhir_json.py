"""The streaming reader: entries split across chunks, brackets in strings, NDJSON quirks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from client.extract import fhir_json
from client.extract.fhir_json import BLANK, FhirReadError, Malformed, read_bundle, read_ndjson
from client.extract.fhir_model import Entry
from tests.langs import in_english


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


def _entries(n: int) -> list[dict]:
    tricky = 'a "quote", brackets }]{[ and ,{"fullUrl": inside a string'
    return [
        {
            "fullUrl": f"urn:x:{i}",
            "resource": {"resourceType": "Observation", "id": f"o{i}", "status": tricky},
        }
        for i in range(n)
    ]


def _read(path: Path) -> list:
    items: list = []
    read_bundle(path, lambda batch: items.extend(batch[1]))
    return items


@pytest.mark.parametrize("indent", [None, 2])
@pytest.mark.parametrize("chunk", [64, 200, 1 << 20])
def test_bundle_entries_survive_any_chunking(tmp_path, monkeypatch, indent, chunk) -> None:
    monkeypatch.setattr(fhir_json, "CHUNK", chunk)
    entries = _entries(40)
    path = tmp_path / "b.json"
    bundle = {"resourceType": "Bundle", "entry": entries, "type": "collection"}
    path.write_text(json.dumps(bundle, indent=indent))
    items = _read(path)
    assert [i.resource.id for i in items] == [e["resource"]["id"] for e in entries]
    assert all(isinstance(i, Entry) and "}]{[" in i.resource.status for i in items)


def test_a_wrong_element_type_fails_only_its_entry(tmp_path) -> None:
    entries = _entries(5)
    entries[2]["resource"]["status"] = 7
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}))
    items = _read(path)
    assert isinstance(items[2], Malformed) and items[2].path == "$.resource.status"
    assert items[2].resource_id == "o2"
    assert [i.resource.id for k, i in enumerate(items) if k != 2] == ["o0", "o1", "o3", "o4"]


def test_truncated_bundle_is_an_error_with_a_place(tmp_path) -> None:
    path = tmp_path / "b.json"
    text = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": _entries(3)})
    path.write_text(text[:-30])
    with pytest.raises(FhirReadError, match=r"b\.json, byte \d+"):
        _read(path)


def test_a_bundle_cut_after_an_entry_comma_is_an_error_not_a_hang(tmp_path) -> None:
    """The file ends where the next entry should begin: no entry will ever be whole."""
    path = tmp_path / "b.json"
    text = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": _entries(2)})
    path.write_text(text[: text.rindex("}, {") + 3])
    with pytest.raises(FhirReadError, match=r"b\.json, byte \d+: not valid JSON"):
        _read(path)


def test_ndjson_keeps_line_numbers_across_blank_lines_and_crlf(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(fhir_json, "CHUNK", 50)
    lines = [json.dumps({"resourceType": "Patient", "id": f"p{i}"}) for i in range(6)]
    path = tmp_path / "Patient.ndjson"
    path.write_bytes(("\r\n".join(lines[:3]) + "\r\n\r\n" + "\n".join(lines[3:])).encode())
    numbered = [
        (first + k, item)
        for first, items in read_ndjson(path)
        for k, item in enumerate(items)
        if item is not BLANK
    ]
    assert [(n, item.id) for n, item in numbered] == [
        (1, "p0"),
        (2, "p1"),
        (3, "p2"),
        (5, "p3"),
        (6, "p4"),
        (7, "p5"),
    ]
