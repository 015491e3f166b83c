"""Shared pieces for the agent tests (no tests here).

A "world" is a cluster of practices with real pieces: synthetic extracts
(300 patients each), Ed25519 identities, a registry, the shipped default
manifest signed by a fresh authority key, a trust store and an empty ledger
per practice in a tmp dir. `run_round` plays a minimal honest coordinator:
the real `protocols.coordinator.SecAggCoordinator`, its `close_*` stages, and
the wire encoding in both directions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from client.agent.config import load_settings
from client.agent.core import AgentContext, AgentCore
from client.agent.policy import ManifestGate
from client.agent.provision import ProvisionedAgent, provision_agent, write_practice_registry
from client.engine.fast import PreparedExtract
from client.extract.writer import write_extract
from client.synth.practice import synthesize_practice
from common.keyfiles import public_bytes
from indicator_defs import load_catalogue
from indicator_defs.survey_loader import installed_surveys
from privacy.catalogue import from_catalogue
from privacy.defaults import default_manifest_path
from privacy.layout import RoundScope
from privacy.ledger import Ledger
from privacy.manifest import Manifest, Signature, SignedManifest, load_manifest
from privacy.manifest_toml import render_manifest, with_signature
from privacy.plan import round_min_survivors, round_params
from privacy.randomness import SeededStream
from privacy.signing import SIGNATURE_ALGORITHM, generate_private_key, key_id, sign
from privacy.trust import add_authority, approve_manifest
from protocols import wire
from protocols.coordinator import AggregateResult, SecAggCoordinator
from protocols.envelope import Envelope
from protocols.errors import SecAggError
from protocols.identity import IdentityKey
from protocols.messages import SCOPE_REGION, CoordinatorMessage, Participant, RoundAnnouncement
from protocols.params import RoundParams
from protocols.registry import PracticeRegistry, RegistryEntry, make_registry
from tests.privacy.builders import cluster_length, region_length

TODAY = dt.date(2026, 11, 23)
REF = dt.date(2026, 9, 30)  # in the default manifest's schedule, before TODAY
CLUSTER = "K01"
REGION = "Midtjylland"
PATIENTS = 300


@functools.cache
def catalogue():
    return load_catalogue()


@functools.cache
def extract(index: int) -> PreparedExtract:
    """A synthetic practice, prepared once per test session (read-only use)."""
    raw = synthesize_practice(PATIENTS, REF, 3, rng=np.random.default_rng(1000 + index))
    return PreparedExtract.from_extract(raw)


@functools.cache
def raw_extract(index: int):
    return synthesize_practice(PATIENTS, REF, 3, rng=np.random.default_rng(1000 + index))


def write_signed_manifest(
    manifest: Manifest, key: Ed25519PrivateKey, path: Path, *, signed: bool = True
) -> SignedManifest:
    text = render_manifest(manifest)
    if signed:
        signature = Signature(
            SIGNATURE_ALGORITHM,
            key_id(key.public_key()),
            manifest.hash(),
            sign(key, manifest.signing_message()),
        )
        text = with_signature(text, signature, str(path))
    path.write_text(text, encoding="utf-8")
    return load_manifest(path)


def default_manifest() -> Manifest:
    return load_manifest(default_manifest_path()).manifest


@dataclass
class World:
    root: Path
    practice_ids: list[str]
    authority: Ed25519PrivateKey
    manifest_path: Path
    signed: SignedManifest
    keys: dict[str, Ed25519PrivateKey]
    registry: PracticeRegistry
    cluster: str = CLUSTER
    cores: dict[str, AgentCore] = field(default_factory=dict)
    region: str = REGION
    # Patient-experience answers per practice (`survey_responses` rows); none by default.
    answers: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def manifest(self) -> Manifest:
        return self.signed.manifest

    def identity(self, pid: str) -> IdentityKey:
        return IdentityKey(self.keys[pid])

    def participants(self, ids: Sequence[str] | None = None) -> list[Participant]:
        return [Participant(p, self.identity(p).public_key) for p in ids or self.practice_ids]

    def trust_dir(self, pid: str) -> Path:
        return self.root / pid / "trust"

    def ledger_dir(self, pid: str) -> Path:
        return self.root / pid / "ledger"

    def receipts_dir(self, pid: str) -> Path:
        return self.root / pid / "receipts"

    def context(self, pid: str, ledger: Ledger | None = None) -> AgentContext:
        cat = catalogue()
        return AgentContext(
            practice_id=pid,
            cluster_id=self.cluster,
            region=self.region,
            identity=self.identity(pid),
            receipt_key=self.keys[pid],
            registry=self.registry,
            manifests=(self.signed,),
            gate=ManifestGate(
                (self.signed,), self.trust_dir(pid), from_catalogue(cat, installed_surveys())
            ),
            catalogue=cat,
            extract=replace(
                extract(self.practice_ids.index(pid)), survey_responses=self.answers.get(pid)
            ),
            ledger=ledger or Ledger.open(self.ledger_dir(pid), key=self.keys[pid]),
            receipts_dir=self.receipts_dir(pid),
            surveys=installed_surveys(),
        )

    def core(self, pid: str, *, today: dt.date = TODAY, seeds: list[str] | None = None):
        """A core whose noise is seeded per round (seeds records what it drew from)."""
        drawn = seeds if seeds is not None else []

        def source() -> SeededStream:
            seed = f"{pid}/{len(drawn)}"
            drawn.append(seed)
            return SeededStream(seed)

        core = AgentCore(self.context(pid), today=lambda: today, noise_source=source)
        self.cores[pid] = core
        return core


def make_world(root: Path, n: int = 6, manifest: Manifest | None = None) -> World:
    ids = [f"P{i + 1:04d}" for i in range(n)]
    authority = generate_private_key()
    manifest_path = root / "manifest.toml"
    signed = write_signed_manifest(manifest or default_manifest(), authority, manifest_path)
    keys = {p: generate_private_key() for p in ids}
    registry = make_registry(
        (
            RegistryEntry(p, IdentityKey(keys[p]).public_key, cluster=CLUSTER, region=REGION)
            for p in ids
        ),
        issuer="test authority",
        issued=dt.date(2026, 1, 1),
    )
    for pid in ids:
        trust = root / pid / "trust"
        add_authority(trust, "test manifest authority", authority.public_key())
        approve_manifest(trust, signed, "Dr. Test", TODAY)
        Ledger.create(root / pid / "ledger", pid, keys[pid])
    world = World(root, ids, authority, manifest_path, signed, keys, registry)
    return world


def announce(
    world: World,
    *,
    round_id: bytes | None = None,
    cluster: str | None = None,
    reference_date: dt.date = REF,
    manifest_hash: bytes | None = None,
    params: RoundParams | None = None,
    vector_length: int | None = None,
    ids: Sequence[str] | None = None,
    region: str | None = None,
) -> RoundAnnouncement:
    """An announcement built directly (for policy checks that come before any coordinator).

    With `region`, a region-wide round of that region, with the parameters and
    vector length the manifest prescribes for one.
    """
    participants = tuple(sorted(world.participants(ids), key=lambda p: p.practice_id))
    n = len(participants)
    if region is not None:
        return RoundAnnouncement(
            round_id or bytes(range(16)),
            "",
            reference_date.isoformat(),
            manifest_hash or bytes.fromhex(world.manifest.hash()),
            params or round_params(world.manifest, n, RoundScope.REGION),
            vector_length or region_length(world.manifest),
            participants,
            SCOPE_REGION,
            region,
        )
    return RoundAnnouncement(
        round_id or bytes(range(16)),
        cluster or world.cluster,
        reference_date.isoformat(),
        manifest_hash or bytes.fromhex(world.manifest.hash()),
        params
        or RoundParams(
            k=n - 1,
            threshold=n // 2 + 1,
            min_survivors=round_min_survivors(world.manifest, n),
        ),
        vector_length or cluster_length(world.manifest),
        participants,
    )


@dataclass
class RoundRun:
    coordinator: SecAggCoordinator
    refusals: dict[str, wire.Refusal] = field(default_factory=dict)
    sent: dict[str, list[Envelope]] = field(default_factory=dict)
    result: AggregateResult | None = None
    error: SecAggError | None = None

    @property
    def announcement(self) -> RoundAnnouncement:
        return self.coordinator.announcement

    @property
    def round_id(self) -> str:
        return self.announcement.round_id.hex()


Tamper = Callable[[str, Envelope], Envelope]


def run_round(
    world: World,
    cores: Mapping[str, AgentCore],
    *,
    reference_date: dt.date = REF,
    manifest_hash: bytes | None = None,
    params: RoundParams | None = None,
    drop_after: Mapping[str, str] | None = None,
    tamper: Tamper | None = None,
    random_bytes: Callable[[int], bytes] | None = None,
    region: str | None = None,
) -> RoundRun:
    """One round through the real coordinator state machine, envelopes on the wire form.

    With `region`, a region-wide round of that region (the manifest's parameters and layout).
    """
    n = len(cores)
    if region is not None:
        scoped: dict[str, object] = {
            "cluster_id": "",
            "scope": SCOPE_REGION,
            "region": region,
            "vector_length": region_length(world.manifest),
            "params": params or round_params(world.manifest, n, RoundScope.REGION),
        }
    else:
        scoped = {
            "cluster_id": world.cluster,
            "vector_length": cluster_length(world.manifest),
            "params": params or RoundParams(k=n - 1, threshold=n // 2 + 1, min_survivors=5),
        }
    coordinator = SecAggCoordinator.new_round(
        reference_date=reference_date,
        manifest_hash=manifest_hash or bytes.fromhex(world.manifest.hash()),
        participants=world.participants(sorted(cores)),
        **({"random_bytes": random_bytes} if random_bytes else {}),
        **scoped,  # type: ignore[arg-type]
    )
    run = RoundRun(coordinator)
    ann = coordinator.announcement
    drop_after = dict(drop_after or {})
    gone: set[str] = set()

    def deliver(pid: str, message: CoordinatorMessage | wire.RoundOutcome) -> None:
        if pid in gone or pid in run.refusals:
            return
        if isinstance(message, wire.RoundOutcome):
            envelope = message.to_envelope("coordinator")
        else:
            envelope = wire.to_envelope(message)
        if tamper is not None:
            envelope = tamper(pid, envelope)
        for reply in cores[pid].on_envelope(envelope):
            decoded = wire.from_envelope(reply)
            if isinstance(decoded, wire.Refusal):
                run.refusals[pid] = decoded
                continue
            run.sent.setdefault(pid, []).append(reply)
            cores[pid].on_sent(reply)
            with contextlib.suppress(SecAggError):  # a refused message: its sender is gone
                coordinator.receive(decoded)  # type: ignore[arg-type]
        if drop_after.get(pid) == envelope.stage:
            gone.add(pid)

    def pid_of(index: int) -> str:
        return ann.participants[index].practice_id

    try:
        for pid in sorted(cores):
            deliver(pid, ann)
        for u, msg in coordinator.close_advertising().items():
            deliver(pid_of(u), msg)
        for u, msg in coordinator.close_sharing().items():
            deliver(pid_of(u), msg)
        survivor_set = coordinator.close_masked_input()
        for u in survivor_set.survivors:
            deliver(pid_of(u), survivor_set)
        for u, msg in coordinator.close_consistency().items():
            deliver(pid_of(u), msg)
        run.result = coordinator.finish()
    except SecAggError as exc:
        run.error = exc
    outcome = wire.RoundOutcome(
        round_id=ann.round_id.hex(),
        cluster_id=ann.cluster_id,
        reference_date=reference_date.isoformat(),
        state="released" if run.result is not None else "aborted",
        reason="" if run.result is not None else type(run.error).__name__,
        contributors=run.result.count if run.result is not None else 0,
        scope=ann.scope,
        region=ann.region,
    )
    for pid in sorted(cores):
        if pid not in gone:
            cores[pid].on_envelope(outcome.to_envelope("coordinator"))
    return run


def with_id(manifest: Manifest, manifest_id: str, **dp: object) -> Manifest:
    """The same manifest under another id (so another hash), optionally other DP parameters."""
    changed = replace(manifest, meta=replace(manifest.meta, id=manifest_id))
    if dp:
        assert changed.dp is not None
        changed = replace(changed, dp=replace(changed.dp, **dp))
    return changed


# --- provisioned agent directories (files on disk, as `klynge agent run` reads them) ---------


@dataclass
class Provisioned:
    root: Path
    agents: list[ProvisionedAgent]
    manifest_path: Path
    manifest_authority: Ed25519PrivateKey
    registry_path: Path
    registry_authority: IdentityKey
    pki_dir: Path
    log_key: Ed25519PrivateKey  # the coordinator's transparency-log key the agents trust

    def config(self, pid: str) -> Path:
        return next(a.config_path for a in self.agents if a.practice_id == pid)

    def settings(self, pid: str):
        return load_settings(self.config(pid))


def provision_world(
    root: Path,
    n: int = 5,
    *,
    port_file: Path | None = None,
    pki_dir: Path | None = None,
    manifest: Manifest | None = None,
    region_wait_s: float | None = None,
    log_key: Ed25519PrivateKey | None = None,
) -> Provisioned:
    """n practices provisioned the way the demo does it, with the signed registry written."""
    authority = generate_private_key()
    manifest_path = root / "manifest.toml"
    write_signed_manifest(manifest or default_manifest(), authority, manifest_path)
    registry_authority = IdentityKey.generate()
    registry_path = root / "registry.json"
    pki_dir = pki_dir or root / "pki"
    log_key = log_key or generate_private_key()
    agents = []
    for i in range(n):
        pid = f"P{i + 1:04d}"
        extract_dir = root / "extracts" / pid
        write_extract(raw_extract(i), extract_dir)
        agents.append(
            provision_agent(
                root / "agents" / pid,
                practice_id=pid,
                cluster_id=CLUSTER,
                extract_dir=extract_dir,
                pki_dir=pki_dir,
                manifests=[manifest_path],
                manifest_authority=authority.public_key(),
                registry_path=registry_path,
                registry_authority_key=registry_authority.public_key,
                log_key=public_bytes(log_key.public_key()),
                approved_by="Dr. Test",
                today=TODAY,
                coordinator_address=None if port_file else "127.0.0.1:7443",
                coordinator_port_file=port_file,
                name=f"Lægehuset {pid}",
                region=REGION,
                region_wait_s=region_wait_s,
            )
        )
    write_practice_registry(
        registry_path, agents, registry_authority, issuer="Test region", issued=TODAY
    )
    return Provisioned(
        root, agents, manifest_path, authority, registry_path, registry_authority, pki_dir, log_key
    )


def charges(world: World, pid: str) -> list:
    """The practice's ledger charges, as its ledger reads them."""
    return Ledger.open(world.ledger_dir(pid)).charges()


def only_refusal(replies: list[Envelope]) -> wire.Refusal:
    """The one reply, which must be a refusal."""
    assert len(replies) == 1, replies
    message = wire.from_envelope(replies[0])
    assert isinstance(message, wire.Refusal), message
    return message
