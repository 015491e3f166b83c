"""The scanner the Danish-output tests rely on finds each kind of slip and lets Danish be."""

from __future__ import annotations

from tests.browser.danish import scan


def _kinds(text: str, allowed: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    return [(s.kind, s.text) for s in scan(text, allowed)]


def test_finds_dot_decimals_english_words_codes_and_a_bare_percent():
    assert _kinds("ε = 0.994 (δ = 1e-06)") == [("dot decimal", "0.994"), ("dot decimal", "1e-06")]
    assert _kinds("12.3% af patienterne") == [
        ("dot decimal", "12.3"),
        ("percent without a space", "3%"),
    ]
    assert _kinds("Mekanisme: distributed_skellam") == [("raw code", "distributed_skellam")]
    assert _kinds("Klynge K01 is suppressed") == [
        ("English word", "is"),
        ("English word", "suppressed"),
    ]


def test_danish_numbers_dates_ids_and_paths_pass():
    text = (
        "12,3 % · 369,2 pr. 1.000 · 12.345.678 patienter · inden for 95 %-intervallet · "
        "referencedato 2026-09-30 · dannet 01-12-2026 kl. 14:05 · DM-01 · acr 2026.1 · "
        "runde dac9d79a9649c21b · /tmp/x/results.json · NPU27300"
    )
    assert scan(text) == []


def test_allowed_identifiers_pass_and_each_slip_names_its_line():
    assert scan("- patients: patient_id, birth_date", frozenset({"patient_id", "birth_date"})) == []
    (slip,) = scan("første linje\nanden: small_count")
    assert "small_count" in str(slip) and "anden: small_count" in str(slip)
