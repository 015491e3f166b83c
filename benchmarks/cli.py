"""How fast the `klynge` command answers; prints one JSON object.

    python benchmarks/cli.py [--runs 7]

Each case runs as a fresh process, `--runs` times, interleaved with the
baseline `python -c pass` (interpreter start-up on this machine, in the same
run, under the same load). Reported per case: the median wall time in
seconds, the median of the baseline, and the difference (what Klynge adds);
for a case with a goal (issue 14: `klynge --help` at most 0.3 s, `klynge
indicators list` at most 0.5 s, wall time on this machine), the goal and
whether the median meets it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = {
    "help": ["--help"],
    "indicators_list": ["indicators", "list"],
    "server_help": ["server", "--help"],
}
GOALS_S = {"help": 0.3, "indicators_list": 0.5}


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args(argv)
    baseline: list[float] = []
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        baseline.append(_wall([sys.executable, "-c", "pass"]))
        for name, case in CASES.items():
            times[name].append(_wall([sys.executable, "-m", "klynge", *case]))
    base = statistics.median(baseline)
    cases: dict[str, dict[str, object]] = {}
    for name, ts in times.items():
        median = statistics.median(ts)
        cases[name] = {"median_s": round(median, 3), "over_baseline_s": round(median - base, 3)}
        if name in GOALS_S:
            cases[name] |= {"goal_s": GOALS_S[name], "goal_met": median <= GOALS_S[name]}
    print(
        json.dumps(
            {
                "runs": args.runs,
                "baseline_python_pass_s": round(base, 3),
                "cases": cases,
                "all_goals_met": all(c.get("goal_met", True) for c in cases.values()),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
