"""What the Merkle transparency log costs: append, proofs, verification, and proof sizes.

    python benchmarks/transparency.py [--entries 2000] [--practices 300]

Builds a log of real entries: practices' signed receipts (of the shipped
manifest, with their full mechanism parameters) and approvals, rounds opened,
and then other clusters' releases up to the requested size. It times:

- append: one entry and its signed tree head, written and fsync'd (the
  coordinator's cost per entry), a practice's statement published (its
  signature checked first), and the same appends without the disk (leaf hash,
  tree, root, signed head and the two JSON lines);
- view: the coordinator building one practice's view (its statements and its
  rounds' outcomes with inclusion proofs, and a consistency proof), and the
  practice verifying it (head signature, consistency, every inclusion);
- single proofs: one inclusion and one consistency proof verified;
- verify-log: the whole file checked offline, per entry.

The baseline, measured in the same run on the same entries, is a plain
SHA-256 of each entry's canonical bytes: what hashing the records costs with
no tree, no signature and no disk. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from common.canonical import domain_message
from privacy.defaults import default_manifest_path
from privacy.layout import ReleaseLayout, RoundScope
from privacy.ledger import ChargeRequest, Ledger
from privacy.log_entries import (
    LEAF_DOMAIN,
    Kind,
    LogEntry,
    Statement,
    approval_payload,
    sign_head,
    sign_statement,
)
from privacy.log_proofs import LogView, build_view, verify_view
from privacy.manifest import load_manifest
from privacy.merkle import MerkleTree, verify_consistency, verify_inclusion
from privacy.plan import round_release
from privacy.signing import generate_private_key
from privacy.transparency import Checkpoint, TransparencyLog, verify_log

REF = date(2026, 9, 30)


def _timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _us(samples: list[float]) -> dict[str, float]:
    return {
        "median_us": round(statistics.median(samples) * 1e6, 1),
        "p90_us": round(sorted(samples)[int(0.9 * (len(samples) - 1))] * 1e6, 1),
    }


def _statements(work: Path, practices: int) -> tuple[list[Statement], dict[str, Ed25519PublicKey]]:
    """One signed receipt and one approval per practice, as real agents would make them."""
    manifest = load_manifest(default_manifest_path()).manifest
    release = round_release(manifest, 12)
    keys = {f"P{i:04d}": generate_private_key() for i in range(practices)}
    out: list[Statement] = []
    for i, (pid, key) in enumerate(keys.items()):
        ledger = Ledger.create(work / "ledgers" / pid, pid, key)
        ledger.charge(
            ChargeRequest(
                f"round-{i % 10}",
                "coordinator:K01",
                manifest,
                REF,
                release,
                bytes(ReleaseLayout.for_round(manifest, RoundScope.CLUSTER).length * 8),
                ReleaseLayout.for_round(manifest, RoundScope.CLUSTER).length,
            )
        )
        out.append(Statement.from_receipt(ledger.charges()[0].signed))
        approval = approval_payload(pid, manifest.meta.id, 1, manifest.hash(), REF)
        out.append(sign_statement(Kind.APPROVAL, approval, key))
    identities = {pid: key.public_key() for pid, key in keys.items()}
    return out, identities


def _round(i: int, participants: list[str]) -> dict[str, object]:
    return {
        "round_id": f"round-{i}",
        "cluster": f"K{i:02d}",
        "reference_date": REF.isoformat(),
        "manifest_hash": "a" * 64,
        "participants": participants,
        "k": 16,
        "t": 9,
        "minimum": 5,
        "attempt": 1,
        "code_version": "klynge/bench",
    }


def _release(i: int) -> dict[str, object]:
    """Another cluster's release (the bulk of a log besides receipts)."""
    return {
        "release_id": i,
        "aggregate": f"K{i % 97:02d}",
        "level": "cluster",
        "reference_date": REF.isoformat(),
        "round_ids": [f"other-{i}"],
        "contributors": 16,
        "manifest_hash": "a" * 64,
        "recipients": ["cluster", "region"],
        "suppressed": [
            {"indicator": "DM-01", "stratum": "total", "cell": "numerator", "reason": "small"}
        ],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=2000, help="log size to measure at")
    ap.add_argument("--practices", type=int, default=300, help="distinct signing practices")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        statements, identities = _statements(work, args.practices)
        pids = sorted(identities)
        key = generate_private_key()
        log = TransparencyLog.open(work / "transparency.log", key)
        for r in range(10):
            log.append(Kind.ROUND_OPENED, _round(r, pids[r::10]))

        # Fill to the requested size with the region's mix: receipts, approvals, rounds.
        append_s: list[float] = []
        publish_s: list[float] = []
        baseline_s: list[float] = []
        n = 0
        while len(log) < args.entries:
            statement = statements[n % len(statements)]
            n += 1
            if n > len(statements):  # each statement is published once; add coordinator entries
                payload = _release(len(log))
                leaf = domain_message(LEAF_DOMAIN, {"kind": "release", "payload": payload})
                t0 = time.perf_counter()
                hashlib.sha256(leaf).digest()
                baseline_s.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                log.append(Kind.RELEASE, payload)
                append_s.append(time.perf_counter() - t0)
                continue
            leaf = domain_message(LEAF_DOMAIN, statement.document())
            t0 = time.perf_counter()
            hashlib.sha256(leaf).digest()
            baseline_s.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            log.publish(statement, identities[statement.practice_id])
            publish_s.append(time.perf_counter() - t0)

        size = len(log)
        # The same appends without the disk: leaf hash, tree, root, signed head, the lines.
        tree = MerkleTree()
        entries = [log.entry(i) for i in range(size)]

        def in_memory(entry: LogEntry) -> None:
            tree.append_hash(entry.leaf_hash())
            head = sign_head(key, len(tree), tree.root(), entry.time)
            json.dumps({"type": "entry", **entry.document()}, sort_keys=True)
            json.dumps({"type": "head", **head.document()}, sort_keys=True)

        memory_s = []
        for entry in entries:
            t0 = time.perf_counter()
            in_memory(entry)
            memory_s.append(time.perf_counter() - t0)
        seen = Checkpoint(size // 2, log.root(size // 2).hex())
        practice = pids[0]
        build = _timed(lambda: build_view(log, practice, seen), 50)
        view = build_view(log, practice, seen)
        wire = view.to_bytes()
        parsed = LogView.from_bytes(wire)
        verify = _timed(
            lambda: verify_view(
                parsed,
                log_key=key.public_key(),
                since=seen,
                practice_id=practice,
                identity=identities[practice],
            ),
            50,
        )
        entry = log.entry(size // 3)
        inclusion = log.inclusion_proof(entry.index)
        consistency = log.consistency_proof(seen.tree_size)
        root = log.root(size)
        one_inclusion = _timed(
            lambda: verify_inclusion(entry.leaf_hash(), entry.index, size, inclusion, root), 200
        )
        one_consistency = _timed(
            lambda: verify_consistency(
                seen.tree_size, size, bytes.fromhex(seen.root), root, consistency
            ),
            200,
        )
        t0 = time.perf_counter()
        verify_log(log.path, log_key=key.public_key(), identities=identities)
        offline = time.perf_counter() - t0
        file_bytes = log.path.stat().st_size

    report = {
        "benchmark": "transparency",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "entries": size,
        "practices": args.practices,
        "baseline_sha256_per_entry": _us(baseline_s),
        "append_in_memory_tree_and_signed_head": _us(memory_s),
        "append_coordinator_entry_durable": _us(append_s),
        "publish_practice_statement_durable": _us(publish_s),
        "view_build_at_coordinator": _us(build),
        "view_verify_at_practice": _us(verify),
        "view": {
            "statements": len(view.statements),
            "outcomes": len(view.outcomes),
            "bytes": len(wire),
        },
        "inclusion_proof": {
            "hashes": len(inclusion),
            "bytes": 32 * len(inclusion),
            **_us(one_inclusion),
        },
        "consistency_proof": {
            "from": seen.tree_size,
            "hashes": len(consistency),
            "bytes": 32 * len(consistency),
            **_us(one_consistency),
        },
        "verify_log_offline": {
            "seconds": round(offline, 3),
            "per_entry_us": round(offline / size * 1e6, 1),
            "file_bytes": file_bytes,
            "bytes_per_entry": round(file_bytes / size),
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
