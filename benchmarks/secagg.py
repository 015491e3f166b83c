"""Benchmark one hardened SecAgg+ round at cluster scale; prints one JSON object.

    python benchmarks/secagg.py --clients 1700 --length 4096 --dropout 0.1
    python benchmarks/secagg.py --clients 1700 --jobs 2            # coordinator on 2 cores
    python benchmarks/secagg.py --compare-flower [--flower-python PATH]

What is measured (all CPU figures are process/thread CPU, not wall time):
- every agent runs the full protocol in-process; `client_cpu_ms` is the median
  over agents that completed the round of the CPU spent inside that agent's
  state machine, summed over all stages (`client_cpu_ms_by_stage` splits it);
  `client_codec_ms` is the extra cost of decoding what a sampled agent
  receives and encoding what it sends, which a real transport adds;
- `server_cpu_s` is the coordinator's CPU over all stages (its own thread plus
  any worker processes with --jobs > 1); `server_wall_s` its elapsed time;
  `server_unmask_cpu_s` the final unmasking alone;
- `plain_sum_s` sums the same survivors' vectors with numpy: the floor;
- `exact` is true when the unmasked sum equals the plain sum bit for bit;
- with `--corrupt-holders K`, K practices return a wrong share for every secret
  they hold; `share_faults_named` counts the wrong shares the coordinator found
  and named, and `server_unmask_cpu_s` then includes the decoding.

Dropouts: a fraction `--dropout` of practices vanish at `--dropout-stage`.
The default, after sharing keys, is the coordinator's worst case: each such
practice's mask key must be rebuilt and every pairwise mask it shares with a
survivor regenerated (one X25519 exchange and one PRG stream per pair).

Flower comparison (`--compare-flower`): times Flower 1.41's SecAgg+ primitives
(`flwr.common.secure_aggregation`: pycryptodome Shamir, its numpy-seeded PRG,
its ECDH+HKDF key agreement and Fernet share encryption) for one client's
work and for the server's per-survivor and per-dropout unmasking work, and
scales the server figure to the same N and dropout. Flower is not installed
with Klynge (its dependencies conflict with ours); pass `--flower-python` to
run that part under an interpreter that has `flwr==1.41.*`.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from protocols.simulator import DROPOUT_STAGES, DropoutPattern


def _parse(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=1700)
    ap.add_argument("--length", type=int, default=4096)
    ap.add_argument("--dropout", type=float, default=0.1)
    ap.add_argument("--dropout-stage", choices=(*DROPOUT_STAGES, "spread"), default="after_sharing")
    ap.add_argument("--jobs", type=int, default=1, help="coordinator processes for unmasking")
    ap.add_argument("--seed", type=int, default=20250101)
    ap.add_argument("--codec-sample", type=int, default=25, help="agents sampled for codec cost")
    ap.add_argument(
        "--corrupt-holders",
        type=int,
        default=0,
        help="practices that return a wrong share for every secret they hold (decoding cost)",
    )
    ap.add_argument("--compare-flower", action="store_true")
    ap.add_argument("--flower-python", help="interpreter with flwr==1.41.* for the comparison")
    ap.add_argument("--flower-samples", type=int, default=20)
    ap.add_argument("--flower-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--k", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--t", type=int, default=None, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


# --- Klynge -------------------------------------------------------------------------


def _timed_job(job: object) -> tuple[np.ndarray, float]:
    from protocols.coordinator import run_unmask_job

    start = time.process_time()
    result = run_unmask_job(job)  # type: ignore[arg-type]
    return result, time.process_time() - start


def _dropout_pattern(practice_ids: tuple[str, ...], fraction: float, stage: str, rng):
    count = round(fraction * len(practice_ids))
    dropped = rng.choice(np.array(practice_ids), count, replace=False).tolist()
    stages = DROPOUT_STAGES if stage == "spread" else (stage,)
    return DropoutPattern.at_stages({pid: stages[i % len(stages)] for i, pid in enumerate(dropped)})


def run_klynge(args: argparse.Namespace) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from protocols.messages import decode_message
    from protocols.params import analyse, default_params
    from protocols.randomness import seeded_random_bytes
    from protocols.simulator import make_cluster, plain_sum, simulate_round

    rng = np.random.default_rng(args.seed)
    random_bytes = seeded_random_bytes(args.seed)
    cluster = make_cluster(args.clients, random_bytes)
    vectors = {
        pid: rng.integers(0, 1_000_000, args.length, dtype=np.int64) for pid in cluster.practice_ids
    }
    info = np.iinfo(np.int64)
    vectors[cluster.practice_ids[0]][:2] = (info.min, info.max)  # exercise the full range
    params = default_params(args.clients)
    if args.k is not None or args.t is not None:
        from protocols.params import RoundParams

        params = RoundParams(args.k or params.k, args.t or params.threshold, params.min_survivors)
    dropout = _dropout_pattern(cluster.practice_ids, args.dropout, args.dropout_stage, rng)

    sample = set(sorted(cluster.practice_ids)[:: max(1, args.clients // max(1, args.codec_sample))])
    received: dict[str, list] = {pid: [] for pid in sample}

    def capture(recipient: int, message):
        pid = cluster.practice_ids[recipient]
        if pid in received:
            received[pid].append(message)
        return message

    agents = None
    if args.corrupt_holders:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from adversarial.faulty import FaultyAgent

        from protocols.agent import SecAggAgent

        # The lowest indices rank first among holders, so their shares are the ones tried.
        liars = set(sorted(set(cluster.practice_ids) - dropout.all())[: args.corrupt_holders])
        agents = {
            pid: (FaultyAgent if pid in liars else SecAggAgent)(
                pid, cluster.identities[pid], cluster.registry, random_bytes
            )
            for pid in cluster.practice_ids
        }

    pool = None
    worker_cpu = [0.0]
    map_fn = None
    if args.jobs > 1:
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=args.jobs, mp_context=multiprocessing.get_context("fork")
        )
        list(pool.map(abs, range(args.jobs)))  # start the workers before timing

        def map_fn(fn, jobs):
            results = list(pool.map(_timed_job, jobs))
            worker_cpu[0] += sum(cpu for _, cpu in results)
            return [r for r, _ in results]

    try:
        outcome = simulate_round(
            cluster,
            vectors,
            params=params,
            dropout=dropout,
            random_bytes=random_bytes,
            tamper=capture,
            timer=time.thread_time,
            wall_timer=time.perf_counter,
            map_fn=map_fn,
            jobs=args.jobs,
            agents=agents,
        )
    finally:
        if pool is not None:
            pool.shutdown()

    completed = sorted(outcome.responses)  # agents that answered the unmask request
    cpu_ms = [outcome.agent_cpu[p] * 1e3 for p in completed]
    by_stage = (
        {
            stage: round(
                statistics.median(outcome.agent_cpu_by_stage[p][stage] * 1e3 for p in completed), 3
            )
            for stage in ("ANNOUNCE", "SHARE_KEYS", "MASKED_INPUT", "CONSISTENCY", "UNMASK")
        }
        if completed
        else {}
    )

    codec_ms = []
    for pid in sorted(sample):
        if pid not in outcome.responses:
            continue
        blobs = [m.to_bytes() for m in received[pid]]
        start = time.process_time()
        for blob in blobs:
            decode_message(blob)
        codec_ms.append((time.process_time() - start) * 1e3)

    survivors = [vectors[p] for p in outcome.result.practice_ids] if outcome.result else []
    start = time.process_time()
    plain = plain_sum(survivors, args.length)
    plain_sum_s = time.process_time() - start
    exact = bool(outcome.result is not None and np.array_equal(outcome.result.vector, plain))

    analysis = analyse(args.clients, params, args.dropout)
    server_cpu = outcome.coordinator_cpu + worker_cpu[0]
    unmask_cpu = outcome.coordinator_cpu_by_call.get("finish", 0.0) + worker_cpu[0]
    return {
        "clients": args.clients,
        "length": args.length,
        "dropout": args.dropout,
        "dropout_stage": args.dropout_stage,
        "k": params.k,
        "t": params.threshold,
        "min_survivors": params.min_survivors,
        "survivors": len(outcome.result.contributors) if outcome.result else 0,
        "client_cpu_ms": round(statistics.median(cpu_ms), 3) if cpu_ms else None,
        "client_cpu_ms_p90": round(float(np.percentile(cpu_ms, 90)), 3) if cpu_ms else None,
        "client_cpu_ms_by_stage": by_stage,
        "client_codec_ms": round(statistics.median(codec_ms), 3) if codec_ms else None,
        "server_cpu_s": round(server_cpu, 4),
        "server_wall_s": round(outcome.coordinator_wall, 4),
        "server_unmask_cpu_s": round(unmask_cpu, 4),
        "server_cpu_s_by_call": {
            k: round(v, 4) for k, v in outcome.coordinator_cpu_by_call.items()
        },
        "server_jobs": args.jobs,
        "corrupt_holders": args.corrupt_holders,
        "share_faults_named": len(outcome.result.share_faults) if outcome.result else None,
        "plain_sum_s": round(plain_sum_s, 5),
        "exact": exact,
        "error": str(outcome.error) if outcome.error else None,
        "abort_probability": analysis.total,
        "machine": {
            "cpus": os.cpu_count(),
            "processor": _cpu_model(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cryptography": _version("cryptography"),
        },
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


# --- Flower -------------------------------------------------------------------------


def run_flower(clients: int, length: int, dropout: float, k: int, t: int, samples: int) -> dict:
    """Time Flower 1.41's SecAgg+ primitives (called, not copied) for the same workload."""
    import flwr
    from flwr.common.secure_aggregation.crypto.shamir import combine_shares, create_shares
    from flwr.common.secure_aggregation.crypto.symmetric_encryption import (
        decrypt,
        encrypt,
        generate_shared_key,
    )
    from flwr.common.secure_aggregation.secaggplus_utils import pseudo_rand_gen
    from flwr.supercore.primitives.asymmetric import (
        bytes_to_private_key,
        bytes_to_public_key,
        generate_key_pairs,
        private_key_to_bytes,
        public_key_to_bytes,
    )

    mod_range = 1 << 32  # Flower's largest modulus; Klynge uses 2^64
    shape = [(length,)]

    def keypair() -> tuple[bytes, bytes]:
        sk, pk = generate_key_pairs()
        return private_key_to_bytes(sk), public_key_to_bytes(pk)

    peers = [keypair() for _ in range(k)]

    def one_client() -> None:
        sk1, _ = keypair()
        sk2, _ = keypair()
        seed = os.urandom(32)
        b_shares = create_shares(seed, t, k)
        sk_shares = create_shares(sk1, t, k)
        for j in range(k):
            key = generate_shared_key(bytes_to_private_key(sk2), bytes_to_public_key(peers[j][1]))
            ct = encrypt(key, b_shares[j] + sk_shares[j])
            decrypt(key, ct)  # stands for decrypting the neighbour's share to us
        mask = pseudo_rand_gen(seed, mod_range, shape)[0]
        for j in range(k):
            key = generate_shared_key(bytes_to_private_key(sk1), bytes_to_public_key(peers[j][1]))
            mask = mask + pseudo_rand_gen(key, mod_range, shape)[0]

    client_runs = []
    for _ in range(max(1, samples // 4)):
        start = time.process_time()
        one_client()
        client_runs.append(time.process_time() - start)

    # Server units: one survivor (rebuild seed from t shares, regenerate its mask) and one
    # dropped client (rebuild its key, agree with each live neighbour, regenerate masks).
    seed_share_sets = [create_shares(os.urandom(32), t, k)[:t] for _ in range(samples)]
    acc = np.zeros(length, dtype=np.int64)
    start = time.process_time()
    for shares in seed_share_sets:
        secret = combine_shares(shares)
        acc = acc - pseudo_rand_gen(secret, mod_range, shape)[0]
    survivor_unit = (time.process_time() - start) / samples
    live_neighbours = round(k * (1 - dropout))
    dropped_sets = [create_shares(keypair()[0], t, k)[:t] for _ in range(max(1, samples // 4))]
    start = time.process_time()
    for shares in dropped_sets:
        secret = combine_shares(shares)
        for j in range(live_neighbours):
            key = generate_shared_key(
                bytes_to_private_key(secret), bytes_to_public_key(peers[j][1])
            )
            acc = acc - pseudo_rand_gen(key, mod_range, shape)[0]
    dropped_unit = (time.process_time() - start) / len(dropped_sets)
    n_dropped = round(dropout * clients)
    n_survivors = clients - n_dropped
    return {
        "flower_version": flwr.__version__,
        "flower_method": (
            f"one client's primitives timed directly ({len(client_runs)} runs, k={k}, t={t}); "
            f"server = {n_survivors} x timed survivor unit + {n_dropped} x timed dropout unit "
            f"({samples} and {len(dropped_sets)} samples, {live_neighbours} live neighbours each)"
        ),
        "flower_client_cpu_ms": round(statistics.median(client_runs) * 1e3, 2),
        "flower_server_cpu_s": round(n_survivors * survivor_unit + n_dropped * dropped_unit, 2),
        "flower_server_survivor_unit_ms": round(survivor_unit * 1e3, 3),
        "flower_server_dropout_unit_ms": round(dropped_unit * 1e3, 2),
    }


def compare_flower(args: argparse.Namespace, result: dict) -> dict:
    k, t = result["k"], result["t"]
    try:
        import flwr  # noqa: F401
    except ImportError:
        if not args.flower_python:
            return {"flower_error": "flwr is not importable; pass --flower-python"}
        cmd = [
            args.flower_python,
            str(Path(__file__).resolve()),
            "--flower-only",
            f"--clients={args.clients}",
            f"--length={args.length}",
            f"--dropout={args.dropout}",
            f"--k={k}",
            f"--t={t}",
            f"--flower-samples={args.flower_samples}",
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return {"flower_error": done.stderr.strip().splitlines()[-1:]}
        return json.loads(done.stdout)
    return run_flower(args.clients, args.length, args.dropout, k, t, args.flower_samples)


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    if args.flower_only:
        print(
            json.dumps(
                run_flower(
                    args.clients, args.length, args.dropout, args.k, args.t, args.flower_samples
                )
            )
        )
        return
    result = run_klynge(args)
    if args.compare_flower:
        flower = compare_flower(args, result)
        result.update(flower)
        if "flower_server_cpu_s" in flower and result["server_unmask_cpu_s"]:
            # Flower's figure covers unmasking only, so compare like with like.
            result["server_unmask_speedup_vs_flower"] = round(
                flower["flower_server_cpu_s"] / result["server_unmask_cpu_s"], 1
            )
            result["client_speedup_vs_flower"] = round(
                flower["flower_client_cpu_ms"] / result["client_cpu_ms"], 2
            )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
