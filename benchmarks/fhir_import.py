"""Time and memory of `klynge fhir import` on a synthetic practice, beside a plain json parse.

Generates a practice with `klynge synth`'s generator, writes it as FHIR with
`client.synth.fhir` (one collection Bundle, and a Bulk Data export folder),
then runs each measurement in a fresh Python process so that peak RSS is its
own: the baseline is `json.load` of the same Bundle file (what the old
importer started with), then the import of the Bundle and of the folder.
Prints one JSON object; CPU seconds beside wall seconds, because the machine
is shared and wall time moves with its load.

    python benchmarks/fhir_import.py [--patients 20000] [--years 10] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

from client.synth.fhir import write_bulk_export, write_bundle
from client.synth.practice import synthesize_practice
from client.synth.quality import QualityProfile

REF = date(2026, 9, 30)

_MEASURE = """
import json, resource, sys, time
kind, path = sys.argv[1], sys.argv[2]
start, cpu = time.perf_counter(), time.process_time()
if kind == "json":
    with open(path, "rb") as f:
        n = len(json.load(f)["entry"])
else:
    from client.extract.fhir_import import import_fhir
    n = len(import_fhir([path]).extract.patients)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
                  "peak_rss_mb": round(peak / 2**20), "n": n}))
"""


def measure(kind: str, path: Path) -> dict[str, object]:
    """One run in a fresh interpreter (imports excluded from the time, included in the RSS)."""
    out = subprocess.run(
        [sys.executable, "-c", _MEASURE, kind, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--patients", type=int, default=20_000)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--data", type=Path, help="Keep the FHIR files here (reused if present).")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or Path(tmp)
        bundle, folder = root / "practice.json", root / "export"
        if not bundle.exists() or not (folder / "manifest.json").exists():
            root.mkdir(parents=True, exist_ok=True)
            rng = np.random.default_rng(args.seed)
            extract = synthesize_practice(
                args.patients, REF, args.years, QualityProfile.typical(), rng
            )
            write_bundle(extract, bundle)
            write_bulk_export(extract, folder)
        with open(bundle, "rb") as f:
            entries = sum(
                chunk.count(b'"resource":') for chunk in iter(lambda: f.read(1 << 24), b"")
            )
        baseline = measure("json", bundle)
        from_bundle = measure("import", bundle)
        from_folder = measure("import", folder)
        print(
            json.dumps(
                {
                    "patients_listed": args.patients,
                    "years": args.years,
                    "entries": entries,
                    "bundle_mb": round(bundle.stat().st_size / 2**20),
                    "baseline_json_load": baseline,
                    "import_bundle": from_bundle,
                    "import_bulk_ndjson": from_folder,
                    "import_vs_json_time": round(
                        float(from_bundle["seconds"]) / float(baseline["seconds"]),
                        2,  # type: ignore[arg-type]
                    ),
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
