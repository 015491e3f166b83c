"""The structure-aware fuzzer at scale: 10,000 mutated messages; prints one JSON object.

    python benchmarks/fuzz.py [--messages 10000] [--seed 12]

Half the mutants go to a real coordinator process over mTLS, half into a real
agent (its transport's envelopes and its agent code), during one honest round
of a live six-practice federation on loopback (`tests/adversarial/fuzzing.py`
describes the harness). Printed: how many went each way, the coordinator's
refusals and the agent's outcomes grouped by reason, the mutation mix, the
number of unhandled exceptions (catch-all handlers reached; must be 0), and
whether the honest round still released with every practice counted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=12)
    args = ap.parse_args(argv)

    from adversarial.fuzzing import run_fuzz

    with tempfile.TemporaryDirectory() as tmp:
        report = run_fuzz(Path(tmp), per_direction=args.messages // 2, seed=args.seed)
    print(json.dumps(report.as_json(), indent=2, ensure_ascii=False))
    if report.unhandled:
        sys.exit(1)


if __name__ == "__main__":
    main()
