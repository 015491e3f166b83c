"""What the shipped manifest's releases are worth: precision at ε ≈ 1, checked three ways.

    python benchmarks/utility.py                 # tables for the shipped default manifest
    python benchmarks/utility.py --manifest M    # another manifest
    python benchmarks/utility.py --markdown      # the tables docs/privacy.md embeds
    python benchmarks/utility.py --json          # everything, for machines
    python benchmarks/utility.py --clipping      # share of events the per-patient cap removes
    python benchmarks/utility.py --validate      # a DP demo against a --no-dp demo, same seed

Printed:
- μ, each block's share of the budget, ε per release and per year;
- per indicator, the expected denominator and the 95 % half-width from noise beside the one
  from chance (binomial or Poisson) at a small, median and large cluster, a region and the
  nation; the goal (headline indicators within ±2 pp at a median cluster, ±0.5 at a region);
- the smallest ε per release that meets ±2 pp on every headline indicator, at each size;
- a Monte Carlo check that the released 95 % intervals cover the true rate 95 % of the time,
  built with the coordinator's own estimator (`privacy.estimation`);
- the baseline: the first release layout (numerator and denominator per age/sex stratum in
  every cluster round, no weights), priced by the same calibrator in the same run;
- the survey measures' half-widths (noise and chance) at a median cluster and a region,
  with 10 % of adults answering, and how much wider the clinical intervals get by adding
  the survey: the same manifest without its surveys, calibrated in the same run, is the
  baseline.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from privacy.defaults import default_manifest_path
from privacy.estimation import Z95, estimate_release, rate_interval
from privacy.layout import ReleaseLayout, RoundScope
from privacy.manifest import Manifest, load_manifest
from privacy.plan import manifest_release, privacy_plan, round_min_survivors
from privacy.rdp import RdpCurve, SkellamTerm, calibrate
from privacy.utility import (
    GOAL_CLUSTER_HALF_WIDTH,
    GOAL_REGION_HALF_WIDTH,
    MEDIAN_CLUSTER,
    REGION,
    SIZES,
    UnitSize,
    budget_shares,
    expected_cells,
    precision,
    survey_precision,
)

HEADLINE_EPSILONS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)


def _points(value: float, proportion: bool) -> float:
    """Half-widths for people: percentage points, or per 1,000 for a rate per listed patient."""
    return value * (100 if proportion else 1000)


def precision_table(manifest: Manifest) -> list[dict[str, object]]:
    rows = []
    by_size = {s.name: {p.indicator_id: p for p in precision(manifest, s)} for s in SIZES}
    shares = budget_shares(manifest)
    for entry in manifest.indicators:
        median = by_size[MEDIAN_CLUSTER.name][entry.id]
        row: dict[str, object] = {
            "id": entry.id,
            "headline": entry.headline,
            "noise_weight": entry.noise_weight,
            "budget_share": round(shares[f"indicator:{entry.id}"], 4),
            "unit": "pp" if median.proportion else "per 1,000",
            "expected_denominator_median": round(median.denominator),
        }
        for size in SIZES:
            p = by_size[size.name][entry.id]
            row[f"noise_{size.name}"] = round(_points(p.noise_half_width, p.proportion), 2)
            row[f"chance_{size.name}"] = round(_points(p.sampling_half_width, p.proportion), 2)
        rows.append(row)
    return rows


def smallest_epsilon(manifest: Manifest, size: UnitSize, goal: float) -> float | None:
    """The least ε per cluster release (on a coarse grid) whose headline noise meets `goal`."""
    assert manifest.dp is not None
    for eps in HEADLINE_EPSILONS:
        trial = replace(manifest, dp=replace(manifest.dp, epsilon_per_release=eps, mu=None))
        worst = max((p.noise_half_width for p in precision(trial, size) if p.headline), default=0.0)
        if worst <= goal:
            return eps
    return None


def first_layout_baseline(manifest: Manifest) -> dict[str, float]:
    """The first layout at the same ε: (numerator, denominator) per stratum, caps 12, no weights.

    Priced with the project's own calibrator, it reproduces the issue's "before" figures:
    every patient-level indicator costs Δ₂² = 2, each capped event indicator 2·12², the
    practice-rate histogram a third of the budget; an indicator's total sums 8 noisy strata.
    """
    assert manifest.dp is not None and manifest.dp.epsilon_per_release is not None
    eps, delta = manifest.dp.epsilon_per_release, manifest.dp.delta
    terms = []
    for entry in manifest.indicators:
        cap = 12 if entry.unit == "events" else 1
        terms.append((2 * cap, 2 * cap * cap, cap * cap))  # l1, l2², weight cap²
    terms.append((1, 1, 1))  # list size
    if manifest.distribution is not None:  # the old histogram block, in the same release
        terms.append((1000, 154_000, 6200))

    def curve(mu: float) -> RdpCurve:
        return RdpCurve(tuple(SkellamTerm(mu * w, l1, l2) for l1, l2, w in terms))

    mu = calibrate(curve, eps, delta, low=1.0, high=1e12, integer=True)
    out = {"mu": mu}
    listed, practices = MEDIAN_CLUSTER.listed, MEDIAN_CLUSTER.practices
    floor = round_min_survivors(manifest, practices)
    inflation = practices / floor  # shares were sized for the floor, as the old code did
    for entry in manifest.indicators:
        if not entry.headline or entry.cells != "pass_fail":
            continue
        d = listed * entry.expected_denominator_per_1000 / 1000
        p = entry.expected_rate
        weight = 144 if entry.unit == "events" else 1
        var = 8 * mu * weight * inflation  # 8 strata, numerator and denominator alike
        out[entry.id] = round(100 * Z95 * math.sqrt(var * (1 + p * p)) / d, 2)
    return out


def coverage(manifest: Manifest, trials: int, seed: int) -> dict[str, float]:
    """How often a median cluster's released 95 % interval holds the true rate.

    Each trial draws the cluster's patients (binomial chance) and its noise (Skellam, as
    the sum of the practices' shares), and computes intervals exactly as the coordinator
    does; about 95 % should hold the rate the population was drawn with.
    """
    rng = np.random.default_rng(seed)
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    n = MEDIAN_CLUSTER.practices
    release = manifest_release(manifest).with_min_survivors(round_min_survivors(manifest, n))
    variance = np.asarray(release.sum_variance(n), dtype=np.float64)
    mean, _ = expected_cells(manifest, layout, MEDIAN_CLUSTER.listed)
    hits = {e.id: 0 for e in manifest.indicators}
    for _ in range(trials):
        cells = mean.copy()
        for block in layout.blocks:
            entry = block.entry
            first, second = (block.index(0, f) for f in block.fields)
            if entry.cells == "pass_fail":
                d = round(mean[first] + mean[second])
                passed = rng.binomial(d, entry.expected_rate)
                cells[first], cells[second] = passed, d - passed
            else:
                cells[first] = rng.poisson(mean[first])
        noisy = cells + rng.poisson(variance / 2) - rng.poisson(variance / 2)
        figures = estimate_release(layout, noisy, variance)
        for entry in manifest.indicators:
            est = figures[entry.id, "total"]
            proportion = entry.cells == "pass_fail"
            i = rate_interval(
                min(max(est.rate, 0.0), 1.0) if proportion else max(est.rate, 0.0),
                est.denominator,
                est.rate_noise_variance,
                proportion=proportion,
            )
            hits[entry.id] += i.low <= entry.expected_rate <= i.high
    return {k: v / trials for k, v in hits.items()}


def clipping(seed: int, practices: int) -> dict[str, float]:
    """Share of counted events the per-patient cap removes, on synthetic practices."""
    from dataclasses import replace as dc_replace
    from datetime import date

    from client.engine.fast import evaluate_fast
    from client.synth.practice import synthesize_practice
    from indicator_defs import load_catalogue

    catalogue = load_catalogue()
    events = [i for i in catalogue.indicators.values() if i.unit.value == "events"]
    capped = {i.id: 0 for i in events}
    uncapped = {i.id: 0 for i in events}
    free = {i.id: dc_replace(i, cap_per_patient=10_000) for i in events}
    loose = dc_replace(catalogue, indicators={**catalogue.indicators, **free})
    ids = [i.id for i in events]
    ref = date(2026, 9, 30)
    for k in range(practices):
        extract = synthesize_practice(3200, ref, 2, rng=np.random.default_rng(seed + k))
        for ic in evaluate_fast(extract, catalogue.select(ids), ref).indicators:
            capped[ic.indicator_id] += ic.denominator if ic.indicator_id != "AB-01" else 0
            capped[ic.indicator_id] += ic.numerator if ic.indicator_id == "AB-01" else 0
        for ic in evaluate_fast(extract, loose.select(ids), ref).indicators:
            uncapped[ic.indicator_id] += ic.denominator if ic.indicator_id != "AB-01" else 0
            uncapped[ic.indicator_id] += ic.numerator if ic.indicator_id == "AB-01" else 0
    return {
        k: round(1 - capped[k] / uncapped[k], 5) if uncapped[k] else 0.0 for k in sorted(capped)
    }


def survey_table(manifest: Manifest) -> dict[str, object] | None:
    """The survey's half-widths, and the clinical cost of carrying it (baseline: no survey)."""
    if not manifest.survey_entries:
        return None
    rows = []
    for size in (MEDIAN_CLUSTER, REGION):
        for p in survey_precision(manifest, size):
            scale = 100 if p.kind == "top_box" else 1  # percentage points, or score points
            rows.append(
                {
                    "measure": p.measure_id,
                    "unit": "pp" if p.kind == "top_box" else "score (1-5)",
                    "size": size.name,
                    "respondents": round(p.respondents),
                    "noise": round(scale * p.noise_half_width, 3),
                    "chance": round(scale * p.sampling_half_width, 3),
                }
            )
    without = replace(manifest, surveys=None)
    widening = {}
    for size in (MEDIAN_CLUSTER, REGION):
        before = {p.indicator_id: p.noise_half_width for p in precision(without, size)}
        ratios = [
            p.noise_half_width / before[p.indicator_id]
            for p in precision(manifest, size)
            if before[p.indicator_id] > 0
        ]
        widening[size.name] = round(float(np.median(ratios)) - 1, 4)
    return {
        "measures": rows,
        "mu_with_survey": getattr(manifest_release(manifest), "mu", None),
        "mu_without_survey": getattr(manifest_release(without), "mu", None),
        "clinical_noise_wider_by": widening,
    }


def summary(manifest: Manifest, trials: int, seed: int) -> dict[str, object]:
    plan = privacy_plan(manifest)
    release = plan.release
    shares = budget_shares(manifest)
    misses = [
        p.indicator_id
        for p in precision(manifest, MEDIAN_CLUSTER)
        if p.headline and p.noise_half_width > GOAL_CLUSTER_HALF_WIDTH
    ] + [
        p.indicator_id
        for p in precision(manifest, REGION)
        if p.headline and p.noise_half_width > GOAL_REGION_HALF_WIDTH
    ]
    return {
        "manifest": {"id": manifest.meta.id, "hash": manifest.hash()},
        "mu": getattr(release, "mu", None),
        "epsilon_per_release": plan.per_release.epsilon,
        "epsilon_against_coordinator": release.colluders_epsilon(0),
        "region_epsilon_per_release": None
        if plan.region_per_release is None
        else plan.region_per_release.epsilon,
        "per_year": [
            {
                "year": y.year,
                "cluster_releases": y.releases,
                "region_releases": y.region_releases,
                "epsilon": round(y.epsilon, 3),
                "epsilon_with_one_retry": round(y.epsilon_with_retry, 3),
            }
            for y in plan.years
        ],
        "budget": manifest.budget.epsilon_per_year,
        "block_shares": {k: round(v, 4) for k, v in shares.items()},
        "indicators": precision_table(manifest),
        "goal_met": not misses,
        "goal_missed_by": sorted(set(misses)),
        "smallest_epsilon_for_2pp": {
            s.name: smallest_epsilon(manifest, s, GOAL_CLUSTER_HALF_WIDTH) for s in SIZES
        },
        "coverage_95": coverage(manifest, trials, seed) if trials else None,
        "baseline_first_layout": first_layout_baseline(manifest),
        "survey": survey_table(manifest),
    }


def validate(seed: int, practices: int) -> dict[str, object]:
    """A DP demo against a --no-dp demo of the same seed: is the noise what the release says?

    Both run the real federation on loopback (coordinator, agents, mTLS). For every
    released cell, (DP value − exact value) / stated noise SD should look like a standard
    normal: mean ≈ 0, SD ≈ 1.
    """
    import tempfile

    from klynge.demo import DemoOptions, prepare, run
    from server.results import results_document
    from server.store import Store

    def demo(root: Path, no_dp: bool) -> dict[str, object]:
        options = DemoOptions(out=root, practices=practices, clusters=1, seed=seed, no_dp=no_dp)
        layout = prepare(options)
        run(layout, options)
        store = Store.open(layout.store)
        try:
            return results_document(store, options.reference_date)
        finally:
            store.close()

    with tempfile.TemporaryDirectory() as tmp:
        exact = demo(Path(tmp) / "exact", True)
        noisy = demo(Path(tmp) / "noisy", False)
    z = []
    for unit, doc in noisy["clusters"].items():  # type: ignore[attr-defined]
        truth = {i["id"]: i for i in exact["clusters"][unit]["indicators"]}  # type: ignore[index]
        for ind in doc["indicators"]:
            t = truth[ind["id"]]
            exact_cells = (
                {"passed": t["numerator"], "failed": t["denominator"] - t["numerator"]}
                if "passed" in ind["cells"]
                else {"events": t["numerator"], "listed": t["denominator"]}
            )
            for name, value in ind["cells"].items():
                z.append((value - exact_cells[name]) / ind["cell_noise_sd"][name])
    values = np.asarray(z)
    return {
        "cells": int(values.size),
        "mean_z": round(float(values.mean()), 3),
        "sd_z": round(float(values.std(ddof=1)), 3),
        "within_3_sd": round(float(np.mean(np.abs(values) <= 3)), 4),
    }


def _n(value: float | None, decimals: int = 1) -> str:
    return "–" if value is None else f"{value:.{decimals}f}"


def markdown(data: dict[str, object]) -> str:
    """The tables docs/privacy.md embeds (between its utility markers)."""
    rows = data["indicators"]
    assert isinstance(rows, list)
    lines = [
        f"Manifest `{data['manifest']['id']}` (hash `{data['manifest']['hash'][:16]}`), "  # type: ignore[index]
        f"μ = {data['mu']:g} at ε = {data['epsilon_per_release']:.3f} per cluster release; "
        f"region-wide round ε = {_n(data['region_epsilon_per_release'], 3)}; "  # type: ignore[arg-type]
        f"against the coordinator, which knows no practice's noise share, "
        f"ε = {_n(data['epsilon_against_coordinator'], 3)}. "  # type: ignore[arg-type]
        "Half-widths are 95 %, in percentage points (per 1,000 for AB-01).",
        "",
        "| indicator | headline | weight | share of ε | noise, small cluster | noise, median "
        "| noise, large | noise, region | noise, nation | chance, median |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['id']} | {'yes' if r['headline'] else ''} | {r['noise_weight']} | "
            f"{100 * r['budget_share']:.1f} % | {_n(r['noise_small_cluster'])} | "
            f"{_n(r['noise_median_cluster'])} | {_n(r['noise_large_cluster'])} | "
            f"{_n(r['noise_region'], 2)} | {_n(r['noise_nation'], 2)} | "
            f"{_n(r['chance_median_cluster'])} |"
        )
    lines += ["", "| year | cluster releases | region-wide rounds | ε | ε with one retried round |"]
    lines.append("|---|---|---|---|---|")
    for y in data["per_year"]:  # type: ignore[attr-defined]
        lines.append(
            f"| {y['year']} | {y['cluster_releases']} | {y['region_releases']} | "
            f"{y['epsilon']:.2f} | {y['epsilon_with_one_retry']:.2f} |"
        )
    smallest = data["smallest_epsilon_for_2pp"]
    assert isinstance(smallest, dict)
    lines += [
        "",
        "Smallest ε per cluster release at which every headline indicator is within ±2 pp: "
        + "; ".join(f"{k.replace('_', ' ')} {_n(v, 2)}" for k, v in smallest.items())
        + ".",
    ]
    survey = data.get("survey")
    if isinstance(survey, dict):
        lines += [
            "",
            "Survey measures (10 % of adults answer; top-box shares in percentage points, the "
            "mean score in points on 1–5), 95 % half-widths:",
            "",
            "| measure | level | respondents | noise | chance |",
            "|---|---|---|---|---|",
        ]
        for r in survey["measures"]:
            lines.append(
                f"| {r['measure']} | {r['size'].replace('_', ' ')} | {r['respondents']:,} | "
                f"{r['noise']:.2f} | {r['chance']:.2f} |"
            )
        wider = survey["clinical_noise_wider_by"]
        lines += [
            "",
            f"Carrying the survey raises μ from {survey['mu_without_survey']:g} to "
            f"{survey['mu_with_survey']:g}: the clinical noise half-widths become "
            f"{100 * wider['median_cluster']:.1f} % wider (median over indicators, median "
            f"cluster; {100 * wider['region']:.1f} % at a region).",
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--manifest", type=Path, default=default_manifest_path())
    parser.add_argument("--trials", type=int, default=2000, help="Monte Carlo trials")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--clipping", action="store_true")
    parser.add_argument("--practices", type=int, default=15, help="for --clipping")
    parser.add_argument("--validate", action="store_true")
    args = parser.parse_args()
    manifest = load_manifest(args.manifest).manifest
    if args.clipping:
        print(json.dumps(clipping(args.seed, args.practices), indent=2))
        return
    if args.validate:
        print(json.dumps(validate(args.seed, args.practices), indent=2))
        return
    data = summary(manifest, 0 if args.markdown else args.trials, args.seed)
    if args.markdown:
        print(markdown(data), end="")
        return
    if args.json:
        print(json.dumps(data, indent=2))
        return
    print(markdown(data))
    print(json.dumps({k: data[k] for k in ("coverage_95", "baseline_first_layout")}, indent=2))


if __name__ == "__main__":
    main()
