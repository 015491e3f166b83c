"""Coordinator memory and fairness under a session flood; prints one JSON object.

    python benchmarks/sessions.py [--streams 500] [--seconds 20]

A real coordinator process (the demo's layout, two clusters of five practices)
is measured in one run: idle (the baseline), then with `--streams` Hello-less
Session streams from one valid certificate of the other cluster, re-opened as
fast as they end, while the honest cluster's agents start and run their round.
Reported: the coordinator's resident memory (VmRSS, KiB) idle, under the flood
and at its peak; how the flood's streams ended; whether and how fast the honest
round released. Loopback only; bounded in time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--streams", type=int, default=500)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args(argv)

    from adversarial.federation import LiveFederation
    from adversarial.flood import Flood

    from transport.pki import PkiLayout
    from transport.tls import TlsFiles

    with (
        tempfile.TemporaryDirectory() as tmp,
        LiveFederation.prepare(Path(tmp), practices=10, clusters=2, no_dp=True) as fed,
    ):
        quiet, noisy = (c.id for c in fed.layout.federation.clusters)
        port = fed.start_coordinator()
        time.sleep(1.0)
        idle = fed.rss_kib()
        peak = {"value": idle}
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.2):
                peak["value"] = max(peak["value"], fed.rss_kib())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        pki = PkiLayout(fed.layout.out / "pki")
        flood = Flood(
            f"127.0.0.1:{port}",
            TlsFiles.for_practice(pki, fed.practices(noisy)[0]),
            streams=args.streams,
        )
        flood.start(seconds=args.seconds + 120)
        time.sleep(args.seconds)
        under_flood = fed.rss_kib()
        started = time.monotonic()
        fed.agent_process(fed.practices(quiet))
        states = fed.wait_for_rounds({quiet}, timeout=120)
        round_s = time.monotonic() - started
        flood.stop()
        stamps = {
            e["event"]: datetime.fromisoformat(str(e["ts"]))
            for e in fed.coordinator_events()
            if e.get("event") in ("round_opened", "released")
        }
        stop.set()
        sampler.join()
        result = {
            "streams": args.streams,
            "flood_seconds": args.seconds,
            "coordinator_rss_kib_idle": idle,
            "coordinator_rss_kib_under_flood": under_flood,
            "coordinator_rss_kib_peak": peak["value"],
            "flood_streams_opened": flood.opened,
            "flood_stream_endings": dict(flood.outcomes),
            "honest_round": states[quiet],
            # from starting the honest agents' process (CPU shared with the flooder) ...
            "honest_agents_start_to_release_s": round(round_s, 2),
            # ... and from the round's announcement to its release, in the coordinator's log
            "honest_round_open_to_release_s": round(
                (stamps["released"] - stamps["round_opened"]).total_seconds(), 3
            ),
        }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
