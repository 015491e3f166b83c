"""An in-process round: N agents, one coordinator, and a chosen dropout pattern.

Used by the tests and the benchmark. Nothing here is on the production path:
the simulator plays the transport, delivering each message to its recipient,
optionally through the binary wire form (`wire=True`) and optionally through
a `tamper` hook that lets a test play a malicious coordinator by rewriting
what each agent receives.

An agent that refuses (raises a `SecAggError`) is recorded and treated as
gone for the rest of the round, exactly as a transport would treat it; the
coordinator's own abort is recorded too. `simulate_round` therefore never
raises for protocol outcomes: it returns what happened, and what each agent
revealed, so tests can check both the sum and the absence of leaks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import ParamSpec, TypeVar, cast

import numpy as np

from protocols.agent import SecAggAgent
from protocols.coordinator import AggregateResult, MapFunction, SecAggCoordinator
from protocols.errors import SecAggError
from protocols.identity import IdentityKey
from protocols.messages import (
    AgentMessage,
    CoordinatorMessage,
    Message,
    Participant,
    RoundAnnouncement,
    Stage,
    UnmaskResponse,
    decode_message,
)
from protocols.params import RoundParams
from protocols.randomness import RandomBytes, system_random_bytes
from protocols.registry import PracticeRegistry, RegistryEntry, make_registry

Tamper = Callable[[int, CoordinatorMessage], CoordinatorMessage | None]
Timer = Callable[[], float]

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=Message)


def _over_the_wire(message: M) -> M:
    """The message as the other side decodes it from its bytes: the same kind, re-checked."""
    decoded = decode_message(message.to_bytes())
    if type(decoded) is not type(message):
        raise AssertionError(f"{type(message).__name__} decoded as {type(decoded).__name__}")
    return cast(M, decoded)


@dataclass(frozen=True)
class Cluster:
    """Practices with identity keys and the registry that vouches for them."""

    practice_ids: tuple[str, ...]
    identities: Mapping[str, IdentityKey]
    registry: PracticeRegistry
    authority: IdentityKey

    @property
    def participants(self) -> tuple[Participant, ...]:
        return tuple(Participant(p, self.identities[p].public_key) for p in self.practice_ids)


def make_cluster(size: int, random_bytes: RandomBytes = system_random_bytes) -> Cluster:
    """`size` practices named p0000.. with fresh identities and a signed-registry stand-in."""
    ids = tuple(f"p{i:04d}" for i in range(size))
    identities = {p: IdentityKey.generate(random_bytes) for p in ids}
    authority = IdentityKey.generate(random_bytes)
    registry = make_registry(
        (RegistryEntry(p, identities[p].public_key, cluster="sim") for p in ids),
        issuer="simulator",
        issued=dt.date(2025, 1, 1),
    )
    return Cluster(ids, identities, registry, authority)


@dataclass(frozen=True)
class DropoutPattern:
    """Practice ids that vanish at each point of the round."""

    before_advertising: frozenset[str] = frozenset()
    after_advertising: frozenset[str] = frozenset()
    after_sharing: frozenset[str] = frozenset()
    after_masked_input: frozenset[str] = frozenset()
    during_unmasking: frozenset[str] = frozenset()

    @classmethod
    def at_stages(cls, stage_of: Mapping[str, str]) -> DropoutPattern:
        """Each practice in `stage_of` vanishes at the stage named for it (see DROPOUT_STAGES)."""
        groups: dict[str, set[str]] = {stage: set() for stage in DROPOUT_STAGES}
        for practice_id, stage in stage_of.items():
            groups[stage].add(practice_id)
        return cls(**{stage: frozenset(ids) for stage, ids in groups.items()})

    def all(self) -> frozenset[str]:
        return (
            self.before_advertising
            | self.after_advertising
            | self.after_sharing
            | self.after_masked_input
            | self.during_unmasking
        )


# The points of a round at which a practice can vanish, in the order they happen.
DROPOUT_STAGES: tuple[str, ...] = tuple(f.name for f in fields(DropoutPattern))


@dataclass
class SimulationResult:
    announcement: RoundAnnouncement
    result: AggregateResult | None
    expected: np.ndarray | None  # wrapping int64 sum over the coordinator's contributors
    error: SecAggError | None  # the coordinator's abort, if any
    agent_errors: dict[str, SecAggError] = field(default_factory=dict)
    responses: dict[str, UnmaskResponse] = field(default_factory=dict)
    agents: dict[str, SecAggAgent] = field(default_factory=dict)
    coordinator: SecAggCoordinator | None = None
    agent_cpu: dict[str, float] = field(default_factory=dict)
    agent_cpu_by_stage: dict[str, dict[str, float]] = field(default_factory=dict)
    coordinator_cpu: float = 0.0
    coordinator_cpu_by_call: dict[str, float] = field(default_factory=dict)
    coordinator_wall: float = 0.0

    @property
    def exact(self) -> bool:
        return (
            self.result is not None
            and self.expected is not None
            and np.array_equal(self.result.vector, self.expected)
        )


def plain_sum(vectors: Sequence[np.ndarray], length: int) -> np.ndarray:
    """The reference: sum of int64 vectors modulo 2^64, read back as int64."""
    total = np.zeros(length, dtype=np.uint64)
    for v in vectors:
        np.add(total, np.asarray(v, dtype=np.int64).view(np.uint64), out=total)
    return total.view(np.int64)


def simulate_round(
    cluster: Cluster,
    vectors: Mapping[str, np.ndarray],
    *,
    params: RoundParams,
    dropout: DropoutPattern = DropoutPattern(),
    random_bytes: RandomBytes = system_random_bytes,
    tamper: Tamper | None = None,
    wire: bool = False,
    timer: Timer | None = None,
    wall_timer: Timer | None = None,
    map_fn: MapFunction | None = None,
    jobs: int = 1,
    manifest_hash: bytes | None = None,
    agents: Mapping[str, SecAggAgent] | None = None,
) -> SimulationResult:
    """Run one round and report what happened (see module docstring).

    `timer` (e.g. time.thread_time) charges the CPU of each agent call to that
    agent and of each coordinator call to the coordinator; `wall_timer` (e.g.
    time.perf_counter) adds the coordinator's elapsed time.
    """
    length = len(next(iter(vectors.values())))
    coordinator = SecAggCoordinator.new_round(
        cluster_id="sim",
        reference_date="2025-01-01",
        manifest_hash=manifest_hash or hashlib.sha256(b"simulated manifest").digest(),
        participants=cluster.participants,
        vector_length=length,
        params=params,
        random_bytes=random_bytes,
    )
    ann = coordinator.announcement
    index = {p.practice_id: i for i, p in enumerate(ann.participants)}
    if agents is None:
        agents = {
            pid: SecAggAgent(pid, cluster.identities[pid], cluster.registry, random_bytes)
            for pid in cluster.practice_ids
        }
    out = SimulationResult(ann, None, None, None, agents=dict(agents), coordinator=coordinator)
    alive = {pid for pid in cluster.practice_ids if pid not in dropout.before_advertising}
    clock = timer or (lambda: 0.0)
    wall = wall_timer or (lambda: 0.0)

    def charge_coordinator(fn: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        start, start_wall = clock(), wall()
        try:
            return fn(*args, **kwargs)
        finally:
            spent = clock() - start
            out.coordinator_wall += wall() - start_wall
            out.coordinator_cpu += spent
            name = fn.__name__
            out.coordinator_cpu_by_call[name] = out.coordinator_cpu_by_call.get(name, 0.0) + spent

    def deliver(
        pid: str, message: CoordinatorMessage, provide: np.ndarray | None = None
    ) -> AgentMessage | None:
        """Hand `message` to agent `pid`; None if it refuses (then it is gone)."""
        if tamper is not None:
            tampered = tamper(index[pid], message)
            if tampered is None:
                return None
            message = tampered
        if wire:
            message = _over_the_wire(message)
        agent = agents[pid]
        start = clock()
        try:
            if provide is None:
                reply = agent.handle(message)
            else:
                reply = agent.handle(message, lambda: provide)
        except SecAggError as exc:
            out.agent_errors[pid] = exc
            alive.discard(pid)
            return None
        finally:
            spent = clock() - start
            out.agent_cpu[pid] = out.agent_cpu.get(pid, 0.0) + spent
            stages = out.agent_cpu_by_stage.setdefault(pid, {})
            stages[message.STAGE.name] = stages.get(message.STAGE.name, 0.0) + spent
        if wire and reply is not None:
            reply = _over_the_wire(reply)
        return reply

    def send(reply: AgentMessage | None) -> None:
        if reply is not None:
            # A rejected message is not counted; its sender is then treated as gone.
            with contextlib.suppress(SecAggError):
                charge_coordinator(coordinator.receive, reply)

    try:
        for pid in sorted(alive):
            send(deliver(pid, ann))
        alive -= dropout.after_advertising
        broadcasts = charge_coordinator(coordinator.close_advertising)
        for u, broadcast in broadcasts.items():
            pid = ann.participants[u].practice_id
            if pid in alive:
                send(deliver(pid, broadcast))
        alive -= dropout.after_sharing
        deliveries = charge_coordinator(coordinator.close_sharing)
        for u, delivery in deliveries.items():
            pid = ann.participants[u].practice_id
            if pid in alive:
                send(deliver(pid, delivery, np.asarray(vectors[pid])))
        alive -= dropout.after_masked_input
        survivor_set = charge_coordinator(coordinator.close_masked_input)
        for pid in sorted(alive):
            send(deliver(pid, survivor_set))
        alive -= dropout.during_unmasking
        requests = charge_coordinator(coordinator.close_consistency)
        for u, request in requests.items():
            pid = ann.participants[u].practice_id
            if pid in alive:
                reply = deliver(pid, request)
                if isinstance(reply, UnmaskResponse):
                    out.responses[pid] = reply
                send(reply)
        out.result = charge_coordinator(coordinator.finish, map_fn, jobs)
    except SecAggError as exc:
        out.error = exc
    if coordinator.stage in (Stage.CONSISTENCY, Stage.UNMASK, Stage.DONE):
        contributors = [ann.participants[u].practice_id for u in coordinator.survivors]
        out.expected = plain_sum([vectors[p] for p in contributors], length)
    return out
