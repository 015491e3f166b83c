"""Shared builders for the server room's tests (no tests here)."""

from __future__ import annotations


def release_head(**fields: object) -> dict:
    """The identity of a cluster K01 release of 2026-09-30, as the coordinator publishes it;
    `fields` add or replace keys (the indicators, surveys, ε)."""
    return {
        "release_id": 7,
        "created_at": "2026-10-01T12:00:00+00:00",
        "level": "cluster",
        "unit": "K01",
        "reference_date": "2026-09-30",
        "round_ids": ["r1"],
        "manifest_hash": "ab" * 32,
        "contributors": 6,
        "mechanism": "distributed_skellam",
        **fields,
    }
