"""Time the indicator engine on a large synthetic practice, against DuckDB.

Prints one JSON object. Both sides get their data already in memory and are
timed in two phases, so the comparison is like for like:
- prepare: the engine builds its columnar arrays; DuckDB copies the pandas
  frames into native tables;
- evaluate: the engine computes the catalogue (or the nine pinned
  indicators, six of them episodes, days covered or deaths); DuckDB runs the
  hand-written SQL for the pinned nine.
The goal (issue 15) is the whole catalogue within 2 s, preparation included,
so `engine_cold_full_catalogue_s` times exactly that: a fresh preparation
and a first evaluation, with no cache from an earlier run. The DuckDB result
is also checked against the engine, stratum by stratum.

    python benchmarks/engine.py [--patients 20000] [--years 10] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date

import duckdb
import numpy as np
from timing import median_time  # benchmarks/timing.py

from client.engine.duckdb_sql import PINNED_IDS, engine_cells, load_tables, run_pinned
from client.engine.fast import PreparedExtract, evaluate_fast, evaluate_prepared
from client.synth.practice import synthesize_practice
from indicator_defs import load_catalogue

REF = date(2026, 9, 30)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--patients", type=int, default=20_000)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    t0 = time.perf_counter()
    extract = synthesize_practice(
        n_patients=args.patients,
        reference_date=REF,
        years_history=args.years,
        rng=np.random.default_rng(args.seed),
    )
    synth_s = time.perf_counter() - t0
    rows = {
        name: len(getattr(extract, name))
        for name in ("patients", "conditions", "prescriptions", "lab_results", "encounters")
    }

    catalogue = load_catalogue()
    pinned = catalogue.select(list(PINNED_IDS))

    cold_s, full = median_time(lambda: evaluate_fast(extract, catalogue, REF), args.repeat)
    prepare_s, prepared = median_time(lambda: PreparedExtract.from_extract(extract), args.repeat)
    full_s, _ = median_time(lambda: evaluate_prepared(prepared, catalogue, REF), args.repeat)
    pinned_s, engine_pinned = median_time(
        lambda: evaluate_prepared(prepared, pinned, REF), args.repeat
    )

    con = duckdb.connect()
    con.execute("PRAGMA threads=1")  # the engine uses one core; so does the baseline
    duck_prepare_s, _ = median_time(lambda: load_tables(con, extract), args.repeat)
    duck_s, duck = median_time(lambda: run_pinned(con, REF), args.repeat)
    print(
        json.dumps(
            {
                "patients": args.patients,
                "years": args.years,
                "rows": rows,
                "indicators": len(catalogue.indicators),
                "pinned": list(PINNED_IDS),
                "synth_s": round(synth_s, 3),
                "engine_cold_full_catalogue_s": round(cold_s, 4),
                "engine_prepare_s": round(prepare_s, 4),
                "engine_full_catalogue_s": round(full_s, 4),
                "engine_pinned_s": round(pinned_s, 4),
                "duckdb_prepare_s": round(duck_prepare_s, 4),
                "duckdb_pinned_s": round(duck_s, 4),
                "pinned_ratio_duckdb_over_engine": round(duck_s / pinned_s, 2),
                "full_catalogue_goal_met": cold_s <= 2.0,
                "duckdb_agrees": duck == engine_cells(engine_pinned),
                "list_size": full.list_size,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
