"""Time one region-wide round of many practices over mutual TLS on loopback.

Real processes: one coordinator (`klynge server run`) and a few agent
processes (`klynge agent run`) hosting the practices, each practice with its
own certificate, identity key, ledger and gRPC session; one region of
`--clusters` clusters. Once every practice is connected, a manual trigger asks
for the region's region-wide round on the demo's reference date (its manifest
schedules one there), so the round starts with all of them online.

    python benchmarks/region_round.py [--practices 400] [--clusters 20] [--processes 8]

Prints one JSON object:
- `round_s`: the round's wall time, `round_opened` to `released`, from the
  coordinator's own log (goal <= 15 s);
- `coordinator_peak_rss_mb`: the coordinator process's peak resident set
  (VmHWM) when the round has been released (goal <= 500 MB);
  `coordinator_cpu_s` its CPU time from the trigger to the release (the agents
  share this machine's cores with it; in the field each has its own);
- baselines measured in the same run: `baseline_plain_sum_s`, the same
  practices' region vectors summed with numpy in one process (the arithmetic
  the round protects), `baseline_local_compute_s`, computing those vectors
  from the loaded extracts in one process (what the agents do in the round, in
  parallel; `baseline_load_extracts_s` is their start-up), and
  `baseline_inprocess_secagg_s`, the same SecAgg+ round (same n, k, t and
  vector length) run in one process without network, TLS or processes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tomllib
from datetime import datetime
from pathlib import Path

import tomli_w

from client.agent.pipeline import compute_vector
from client.engine.fast import PreparedExtract
from client.extract.loader import load_extract
from indicator_defs import load_catalogue
from klynge.demo import DemoOptions, prepare, start_coordinator, stop_all
from privacy.bounding import bound_vector
from privacy.layout import ReleaseLayout, RoundScope, append_distribution
from privacy.manifest import load_manifest
from privacy.plan import round_params
from protocols.params import RoundParams
from protocols.simulator import make_cluster, plain_sum, simulate_round
from server.config import load_server_settings
from server.coordinator import write_trigger


def _klynge(*args: str) -> list[str]:
    return [sys.executable, "-m", "klynge", *args]


def _events(log: Path) -> list[dict]:
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            continue  # a line being written
    return out


def _ts(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def _peak_rss_mb(pid: int) -> float | None:
    """VmHWM of a live process, in MB (Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a live process so far (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait(condition, timeout: float, what: str, procs: list[subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if any(p.poll() is not None for p in procs):
            raise SystemExit(f"a process stopped while waiting for {what}")
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.2)


def run_round(args: argparse.Namespace, out: Path) -> dict:
    options = DemoOptions(
        out=out,
        practices=args.practices,
        clusters=args.clusters,
        patients=args.patients,
        seed=args.seed,
        stage_timeout_s=args.stage_timeout,
    )
    t0 = time.perf_counter()
    layout = prepare(options)
    prepare_s = time.perf_counter() - t0
    # Only the region-wide round, by hand once everyone is connected.
    settings = tomllib.loads(layout.server_config.read_text())
    settings["rounds"].update(schedule=[], start_when="manual", ready_after_s=0.1)
    layout.server_config.write_text(tomli_w.dumps(settings))
    server = load_server_settings(layout.server_config)
    assert server.log is not None
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs: list[subprocess.Popen] = []
    logs = layout.logs
    try:
        coordinator, _port = start_coordinator(layout, env, procs)
        practices = [p.id for p in layout.federation.practices]
        groups = [practices[i :: args.processes] for i in range(args.processes)]
        started = time.perf_counter()
        for k, group in enumerate(groups):
            cmd = ["agent", "run"]
            for pid in group:
                cmd += ["--config", str(layout.agent_configs[pid])]
            with open(logs / f"agents-{k}.out", "wb") as sink:
                procs.append(
                    subprocess.Popen(
                        _klynge(*cmd),
                        stdout=sink,
                        stderr=subprocess.STDOUT,
                        env=env,
                        start_new_session=True,
                    )
                )

        def connected() -> bool:
            seen = {
                e.get("practice")
                for e in _events(server.log)
                if e.get("event") == "agent_connected"
            }
            return len(seen) >= len(practices)

        _wait(connected, args.timeout, "every practice to connect", procs)
        connect_s = time.perf_counter() - started
        cpu_before = _cpu_s(coordinator.pid)
        write_trigger(server.trigger_dir, options.region, options.reference_date, region=True)

        def ended() -> bool:
            return any(
                (e.get("event") == "released" and e.get("scope") == "region")
                or e.get("event") in ("round_aborted", "round_not_started")
                for e in _events(server.log)
            )

        _wait(ended, args.timeout, "the region-wide round", procs)
        rss = _peak_rss_mb(coordinator.pid)
        cpu_after = _cpu_s(coordinator.pid)
    finally:
        stop_all(procs)
    events = _events(server.log)
    opened = next(e for e in events if e.get("event") == "round_opened")
    stages = _stage_times(logs, _ts(opened["ts"]))
    released = [e for e in events if e.get("event") == "released" and e.get("scope") == "region"]
    aborted = [e for e in events if e.get("event") in ("round_aborted", "round_not_started")]
    result = {
        "prepare_s": round(prepare_s, 1),
        "connect_s": round(connect_s, 1),
        "participants": opened["participants"],
        "k": opened["k"],
        "t": opened["t"],
        "min_survivors": opened["minimum"],
        "coordinator_peak_rss_mb": None if rss is None else round(rss, 1),
        "coordinator_cpu_s": None
        if cpu_before is None or cpu_after is None
        else round(cpu_after - cpu_before, 2),
    }
    result["last_answer_by_stage_s"] = stages
    if released:
        result["round_s"] = round(_ts(released[0]["ts"]) - _ts(opened["ts"]), 3)
        result["contributors"] = released[0]["contributors"]
    else:
        result["round_s"] = None
        result["aborted"] = aborted[0].get("reason") if aborted else "unknown"
    result["layout"] = layout
    return result


def _stage_times(logs: Path, opened: float) -> dict[str, float]:
    """Per stage, when the last practice answered it, in seconds after the round opened
    (from the agents' own log lines): where the round's time goes."""
    last: dict[str, float] = {}
    for path in sorted(logs.glob("agents-*.out")):
        for event in _events(path):
            if event.get("event") in ("round_joined", "stage_answered") and "ts" in event:
                stage = event.get("stage", "ANNOUNCE")
                last[stage] = max(last.get(stage, 0.0), _ts(event["ts"]) - opened)
    return {k: round(v, 2) for k, v in sorted(last.items(), key=lambda kv: kv[1])}


def baselines(layout, params_k: int, params_t: int, minimum: int) -> dict:
    """The same practices' region vectors summed in one process, and the same SecAgg+ round
    in one process without network."""
    manifest = load_manifest(layout.manifest).manifest
    catalogue = load_catalogue()
    ref = DemoOptions.reference_date
    cells = ReleaseLayout.for_round(manifest, RoundScope.REGION)
    t0 = time.perf_counter()  # what each agent does once, at start-up
    extracts = [
        PreparedExtract.from_extract(load_extract(layout.federation.extract_dir(p)))
        for p in layout.federation.practices
    ]
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()  # what each agent does in the round
    vectors = []
    for extract in extracts:
        counts = compute_vector(extract, catalogue, manifest, ref, RoundScope.REGION)
        bounded, _ = bound_vector(counts, cells, manifest.bounding.max_list_size)
        vectors.append(append_distribution(bounded, cells))  # the vector an agent masks
    compute_s = time.perf_counter() - t0
    length = cells.length
    t0 = time.perf_counter()
    plain_sum(vectors, length)
    plain_s = time.perf_counter() - t0
    cluster = make_cluster(len(vectors))
    t0 = time.perf_counter()
    sim = simulate_round(
        cluster,
        dict(zip(cluster.practice_ids, vectors, strict=True)),
        params=RoundParams(params_k, params_t, minimum),
    )
    secagg_s = time.perf_counter() - t0
    return {
        "vector_length": length,
        "baseline_load_extracts_s": round(load_s, 3),
        "baseline_local_compute_s": round(compute_s, 3),
        "baseline_plain_sum_s": round(plain_s, 6),
        "baseline_inprocess_secagg_s": round(secagg_s, 3),
        "baseline_inprocess_exact": sim.exact,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--practices", type=int, default=400)
    ap.add_argument("--clusters", type=int, default=20)
    ap.add_argument("--processes", type=int, default=8, help="agent processes hosting them")
    ap.add_argument("--patients", type=int, default=200, help="list size per practice")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--stage-timeout", type=float, default=60.0)
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--keep", type=Path, default=None, help="keep the federation and logs here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measured = run_round(args, args.keep or Path(tmp) / "region")
        layout = measured.pop("layout")
        manifest = load_manifest(layout.manifest).manifest
        expected = round_params(manifest, measured["participants"], RoundScope.REGION)
        base = baselines(layout, measured["k"], measured["t"], measured["min_survivors"])
    round_s, rss = measured["round_s"], measured["coordinator_peak_rss_mb"]
    print(
        json.dumps(
            {
                "practices": args.practices,
                "clusters": args.clusters,
                "agent_processes": args.processes,
                "patients_per_practice": args.patients,
                **measured,
                "params_from_manifest": (measured["k"], measured["t"])
                == (expected.k, expected.threshold),
                **base,
                "round_goal_met": round_s is not None and round_s <= 15.0,
                "rss_goal_met": rss is not None and rss <= 500.0,
                "cpus": os.cpu_count(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
