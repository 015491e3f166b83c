"""A partner's Fetch at a real coordinator, beside a practice's; prints one JSON object.

    python benchmarks/partner_fetch.py [--fetches 50] [--refusals 200]

A real coordinator process (the demo's layout: one cluster of six practices,
the demo's partner granted four of its measures) releases one round; then,
over mutual TLS on loopback, each on a channel of its own:

- baseline: a practice fetches its cluster's release (`--fetches` times);
- grant: the partner fetches its grant, the same release cut to its measures;
- refused: the partner asks for a cluster it was not given (`--refusals` times
  in a loop): how fast it is refused, and how many `fetch_refused` entries the
  transparency log gained (one a minute per identity and reason).

Reported per kind: median and 90th-percentile milliseconds per fetch (a new
channel and TLS handshake each time, as `klynge partner fetch` makes) and the
bytes received.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def _timed(n: int, call: Callable[[], int]) -> dict[str, float]:
    times, size = [], 0
    for _ in range(n):
        started = time.perf_counter()
        size = call()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "n": n,
        "median_ms": round(statistics.median(times), 2),
        "p90_ms": round(times[int(0.9 * (n - 1))], 2),
        "bytes": size,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fetches", type=int, default=50)
    ap.add_argument("--refusals", type=int, default=200)
    args = ap.parse_args(argv)

    from adversarial.federation import LiveFederation

    from klynge.demo import DEMO_PARTNER_ID
    from protocols.wire import FETCH_CLUSTER, FETCH_PARTNER
    from server.partners import PartnerRequest
    from transport.fetch import FetchError, fetch_once
    from transport.pki import PkiLayout
    from transport.tls import TlsFiles, channel_credentials, load_tls

    with (
        tempfile.TemporaryDirectory() as tmp,
        LiveFederation.prepare(Path(tmp), practices=6, clusters=1, no_dp=True) as fed,
    ):
        cluster = fed.layout.federation.clusters[0].id
        port = fed.start_coordinator()
        fed.agent_process(fed.practices(cluster))
        assert fed.wait_for_rounds({cluster}) == {cluster: "released"}
        pki = PkiLayout(fed.layout.out / "pki")
        target = f"localhost:{port}"
        practice = channel_credentials(
            load_tls(TlsFiles.for_practice(pki, fed.practices(cluster)[0]))
        )
        partner = channel_credentials(
            load_tls(
                TlsFiles(
                    pki.ca_cert, pki.partner_cert(DEMO_PARTNER_ID), pki.partner_key(DEMO_PARTNER_ID)
                )
            )
        )

        def fetch(credentials, scope: str, body: bytes = b"") -> int:
            return len(fetch_once(credentials, target, scope, body=body, timeout=10).body)

        def refused() -> int:
            try:
                fetch(partner, FETCH_PARTNER, PartnerRequest(units=("K99",)).to_body())
            except FetchError as exc:
                assert exc.status == "PERMISSION_DENIED", exc
                return 0
            raise AssertionError("a request beyond the grant was served")

        def log_entries() -> int:
            lines = fed.layout.transparency_log.read_text().splitlines()
            return sum('"kind": "fetch_refused"' in line for line in lines)

        baseline = _timed(args.fetches, lambda: fetch(practice, FETCH_CLUSTER))
        grant = _timed(args.fetches, lambda: fetch(partner, FETCH_PARTNER))
        before = log_entries()
        refusals = _timed(args.refusals, refused)
        refusals["log_entries_added"] = log_entries() - before
    print(
        json.dumps(
            {
                "baseline_practice_cluster_fetch": baseline,
                "partner_grant_fetch": grant,
                "partner_refused_fetch": refusals,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
