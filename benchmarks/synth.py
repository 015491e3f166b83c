"""Time the synthetic practice generator and the extract writer.

Prints one JSON object: generation time for one practice (median of
--repeat runs), the time to draw its survey answers (`klynge synth` adds
them to every practice), rows produced, and write times for CSV and Parquet. The
baseline, measured in the same run on the same frames, is pandas'
`DataFrame.to_csv` for CSV and `DataFrame.to_parquet` for Parquet (no
canonical decimals, no atomic rename), so the ratio shows what the writer's
guarantees cost.

    python benchmarks/synth.py [--patients 20000] [--years 10] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
from timing import median_time  # benchmarks/timing.py

from client.extract.tables import Extract
from client.extract.writer import write_extract
from client.synth.practice import synthesize_practice
from client.synth.quality import QualityProfile
from client.synth.survey import draw_survey_responses
from indicator_defs.survey_loader import load_surveys

REF = date(2026, 9, 30)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--patients", type=int, default=20_000)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    def generate() -> object:
        rng = np.random.default_rng(args.seed)
        return synthesize_practice(args.patients, REF, args.years, QualityProfile.typical(), rng)

    generate_s, clinical = median_time(generate, args.repeat)
    survey = load_surveys()["PX"]

    def answers() -> object:
        rng = np.random.default_rng(args.seed)
        return draw_survey_responses(rng, clinical.patients, survey, REF)

    survey_s, responses = median_time(answers, args.repeat)
    extract: Extract = replace(clinical, survey_responses=responses)
    names = extract.present_tables()
    rows = {name: len(extract.table(name)) for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        csv_s, _ = median_time(lambda: write_extract(extract, root / "csv", "csv"), args.repeat)
        pq_s, _ = median_time(lambda: write_extract(extract, root / "pq", "parquet"), args.repeat)

        def pandas_csv() -> None:
            for name in names:
                extract.table(name).to_csv(root / f"{name}.pd.csv", index=False)

        def pandas_parquet() -> None:
            for name in names:
                extract.table(name).to_parquet(root / f"{name}.pd.parquet", index=False)

        base_csv_s, _ = median_time(pandas_csv, args.repeat)
        base_pq_s, _ = median_time(pandas_parquet, args.repeat)
        csv_bytes = sum(f.stat().st_size for f in (root / "csv").iterdir())
        pq_bytes = sum(f.stat().st_size for f in (root / "pq").iterdir())

    total_rows = sum(rows.values())
    print(
        json.dumps(
            {
                "patients_listed": args.patients,
                "years": args.years,
                "rows": rows,
                "generate_s": round(generate_s, 3),
                "generate_rows_per_s": round(total_rows / generate_s),
                "survey_s": round(survey_s, 3),
                "write_csv_s": round(csv_s, 3),
                "write_parquet_s": round(pq_s, 3),
                "baseline_pandas_to_csv_s": round(base_csv_s, 3),
                "baseline_pandas_to_parquet_s": round(base_pq_s, 3),
                "csv_speedup_over_pandas": round(base_csv_s / csv_s, 2),
                "parquet_ratio_over_pandas": round(base_pq_s / pq_s, 2),
                "csv_mb": round(csv_bytes / 1e6, 1),
                "parquet_mb": round(pq_bytes / 1e6, 1),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
