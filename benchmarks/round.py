"""Time federated rounds over mutual TLS on loopback, from announcement to stored release.

Real processes: one coordinator, agent processes hosting the practices
(each practice with its own certificate and gRPC session). Times come from
the coordinator's own log: `round_opened` to `released` per cluster.

    python benchmarks/round.py [--patients 2000]

Prints one JSON object: the 15-practice cluster round (goal <= 2 s wall), and
rounds per minute with 100 agents across 10 clusters. The baseline measured
in the same run is the same cluster's local work without any network or
cryptography: computing and summing the 15 practices' indicator vectors.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

from client.engine.fast import evaluate_fast
from client.extract.loader import load_extract
from indicator_defs import load_catalogue
from klynge.demo import DemoOptions, prepare, run
from privacy.layout import ReleaseLayout, RoundScope
from privacy.manifest import load_manifest


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def round_times(log: Path) -> dict[str, tuple[float, float]]:
    """cluster -> (opened, released) wall-clock seconds, from the coordinator's log."""
    opened, released = {}, {}
    for line in log.read_text().splitlines():
        event = json.loads(line)
        if event.get("event") == "round_opened":
            opened[event["cluster"]] = _ts(event["ts"])
        elif event.get("event") == "released" and event.get("aggregate_level") == "cluster":
            released[event["unit"]] = _ts(event["ts"])
    return {c: (opened[c], released[c]) for c in released if c in opened}


def federation(out: Path, practices: int, clusters: int, patients: int | None, seed: int):
    options = DemoOptions(
        out=out,
        practices=practices,
        clusters=clusters,
        patients=patients,
        seed=seed,
        stage_timeout_s=30.0,
        timeout_s=600.0,
        region_round=False,  # cluster rounds only (benchmarks/region_round.py times the other)
    )
    layout = prepare(options)
    t0 = time.perf_counter()
    run(layout, options)
    total = time.perf_counter() - t0
    return layout, round_times(layout.coordinator_dir / "coordinator.log"), total


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=None, help="list size (default realistic)")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        layout, times, _ = federation(Path(tmp) / "one", 15, 1, args.patients, args.seed)
        ((opened, released),) = times.values()
        cluster_round_s = released - opened

        # Baseline: the same practices' local vectors, summed in one process.
        manifest = load_manifest(layout.manifest).manifest
        cells = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
        catalogue = load_catalogue()
        t0 = time.perf_counter()
        total = None
        for p in layout.federation.practices:
            extract = load_extract(layout.federation.extract_dir(p))
            result = evaluate_fast(extract, catalogue, DemoOptions.reference_date)
            vector = cells.encode(result.counts(), result.list_size)
            total = vector if total is None else total + vector
        local_s = time.perf_counter() - t0

        _, times100, wall100 = federation(Path(tmp) / "hundred", 100, 10, args.patients, args.seed)
        first = min(o for o, _ in times100.values())
        last = max(r for _, r in times100.values())
        span = last - first
        per_round = [r - o for o, r in times100.values()]
    print(
        json.dumps(
            {
                "cluster_round_practices": 15,
                "cluster_round_s": round(cluster_round_s, 3),
                "cluster_round_goal_met": cluster_round_s <= 2.0,
                "baseline_local_compute_and_sum_s": round(local_s, 3),
                "hundred_agents_clusters": len(times100),
                "hundred_agents_round_span_s": round(span, 3),
                "hundred_agents_rounds_per_minute": round(len(times100) / span * 60, 1)
                if span
                else None,
                "hundred_agents_median_round_s": round(float(np.median(per_round)), 3),
                "hundred_agents_demo_wall_s": round(wall100, 1),
                "vector_length": int(total.size) if total is not None else None,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
