"""Results files for the region and cluster report tests, and the reports drawn from them."""

from __future__ import annotations

from indicator_defs import load_catalogue
from reporting import benchmark_page
from reporting.release_document import parse_results

CAT = load_catalogue()


def render_region_report(results: dict, catalogue, lang) -> str:
    """The region report of a results.json, read as the report reads it: parsed."""
    return benchmark_page.render_region_report(
        parse_results("results.json", results), catalogue, lang
    )


def render_cluster_report(results: dict, catalogue, cluster: str, lang) -> str:
    parsed = parse_results("results.json", results)
    return benchmark_page.render_cluster_report(parsed, catalogue, cluster, lang)


def render_report(results: dict, catalogue, lang) -> str:
    return benchmark_page.render_report(parse_results("results.json", results), catalogue, lang)


def cell_doc(rate: float | None, den: int = 1000, sd: float = 31.0, interval=None) -> dict:
    if rate is not None and interval is None:
        interval = [max(rate - 0.05, 0.0), min(rate + 0.05, 1.0)]
    return {
        "numerator": None if rate is None else round(rate * den),
        "denominator": den if rate is not None else None,
        "rate": rate,
        "interval": interval if rate is not None else None,
        "noise_sd": sd,
        "suppressed": {} if rate is not None else {"numerator": "small_count"},
        "strata": [],
    }


def survey_doc(value: float, sd: float, respondents: int, *, kind="top_box", uncertain=False):
    """One survey measure's released figure as a release document holds it."""
    half = 1.96 * sd
    low, high = (0.0, 1.0) if kind == "top_box" else (1.0, 5.0)
    return {
        "survey": "PX",
        "kind": kind,
        "value": value,
        "interval": [max(low, value - half), min(high, value + half)],
        "respondents": respondents,
        "value_noise_sd": sd,
        "uncertain": uncertain,
        "reason": "too_wide" if uncertain else None,
        "cells": {"units": 1, "respondents": respondents},
        "cell_noise_sd": {"units": 1.0, "respondents": 1.0},
    }


def unit_doc(unit: str, rate: float | None, rounds: list[str], **over: dict) -> dict:
    cells = {i: cell_doc(rate) for i in CAT.indicators}
    cells.update(over)
    return {
        "release_id": f"{unit}-{'-'.join(rounds)}",
        "created_at": "2026-10-01T10:00:00+00:00",
        "manifest_hash": "ab" * 32,
        "unit": unit,
        "round_ids": rounds,
        "contributors": 6 * len(rounds),
        "mechanism": "distributed_skellam",
        "epsilon_per_release": 0.99969,
        "delta_per_release": 1e-6,
        "indicators": [{"id": i, **c} for i, c in cells.items()],
    }


def results_doc(k01=None, k02=None, region=None, ref="2026-09-30", **region_extra) -> dict:
    reg = unit_doc("Midtjylland", 0.7, ["r1", "r2"], **(region or {}))
    reg.update(region_extra)
    return {
        "reference_date": ref,
        "clusters": {
            "K01": unit_doc("K01", 0.8, ["r1"], **(k01 or {})),
            "K02": unit_doc("K02", None, ["r2"], **(k02 or {})),
        },
        "regions": {"Midtjylland": reg},
        "aborted_rounds": [
            {"round_id": "r3", "cluster": "K03", "reason": "BelowMinimumError: 4 < 5"}
        ],
    }
