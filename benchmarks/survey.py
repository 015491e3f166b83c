"""Time a practice's year of patient-experience answers: load, FHIR import and compute.

A synthetic practice of --patients listed (default 10,000) with one year of
answers from `klynge synth`'s generator (about 10 % of the adults answer),
written as an extract whose event tables are empty, so the load measures the
patients and the answers only. Measured, each the median of --repeat runs:
- `load_s`: `load_extract` of that directory (every cell checked, the survey
  rules applied), and `load_without_answers_s` of the same without the
  answers file, so the difference is what the answers cost;
- `fhir_import_s`: the same answers as QuestionnaireResponse resources (one
  per respondent) beside the Patients, through `import_fhir` (Bulk NDJSON);
- `compute_s`: `compute_survey` for the year, and `respondent_values_s` (the
  practice report's intervals need them);
- baseline, in the same run: pandas `read_csv` of the same
  survey_responses.csv (no checks at all).
Prints one JSON object.

    python benchmarks/survey.py [--patients 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from timing import median_time  # benchmarks/timing.py

from client.engine.survey import compute_survey, respondent_values
from client.extract.fhir_import import import_fhir
from client.extract.loader import load_extract
from client.extract.writer import write_extract
from client.report.survey import survey_period
from client.synth.fhir import write_bulk_export
from client.synth.practice import synthesize_practice
from client.synth.survey import draw_survey_responses
from indicator_defs.survey_loader import load_surveys

REF = date(2026, 9, 30)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    survey = load_surveys()["PX"]
    practice = synthesize_practice(args.patients, REF, 1, rng=np.random.default_rng(args.seed))
    start, end = survey_period(REF)
    answers = draw_survey_responses(
        np.random.default_rng(args.seed), practice.patients, survey, REF
    )
    answers = answers[answers["date"] >= pd.Timestamp(start)].reset_index(drop=True)
    empty = {
        name: practice.table(name).iloc[0:0]
        for name in ("conditions", "prescriptions", "lab_results", "encounters")
    }
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        without = replace(practice, **empty)
        write_extract(without, root / "without")
        write_extract(replace(without, survey_responses=answers), root / "with")
        base_s, read = median_time(
            lambda: pd.read_csv(root / "with" / "survey_responses.csv"), args.repeat
        )
        load_s, loaded = median_time(lambda: load_extract(root / "with"), args.repeat)
        bare_s, _ = median_time(lambda: load_extract(root / "without"), args.repeat)
        write_bulk_export(replace(without, survey_responses=answers), root / "bulk")
        fhir_s, imported = median_time(lambda: import_fhir([root / "bulk"]), args.repeat)
        csv_bytes = (root / "with" / "survey_responses.csv").stat().st_size

    table = loaded.survey_responses
    compute_s, result = median_time(lambda: compute_survey(table, survey, start, end), args.repeat)
    values_s, _ = median_time(lambda: respondent_values(table, survey, start, end), args.repeat)
    assert len(read) == len(table) == len(imported.extract.survey_responses)
    print(
        json.dumps(
            {
                "patients_listed": args.patients,
                "period": [start.isoformat(), end.isoformat()],
                "respondents": result.respondents,
                "rows": len(table),
                "csv_kb": round(csv_bytes / 1e3),
                "load_s": round(load_s, 4),
                "load_without_answers_s": round(bare_s, 4),
                "answers_load_s": round(load_s - bare_s, 4),
                "fhir_import_s": round(fhir_s, 4),
                "compute_s": round(compute_s, 4),
                "respondent_values_s": round(values_s, 4),
                "baseline_pandas_read_csv_s": round(base_s, 4),
                "answers_load_vs_read_csv": round((load_s - bare_s) / base_s, 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
