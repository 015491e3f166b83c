"""One round, driven by messages and a clock that are passed in.

A cluster round and a region-wide round move through the same stages under
the same deadlines and abort rules; only what they sum differs (`scope`,
`unit`), so one class drives both.

`SecAggCoordinator` knows the protocol's stages; this class knows *when* to
move between them: as soon as every practice still expected at a stage has
answered (or refused, or disconnected), or when the stage's deadline passes.
It opens no sockets and reads no clock, so tests drive it with fake time.
Everything it wants sent comes back as a list of `Outbound` messages.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from privacy.layout import RoundScope
from protocols.coordinator import AggregateResult, SecAggCoordinator
from protocols.errors import ProtocolError, SecAggError
from protocols.messages import SCOPE_REGION, Message, Stage, SurvivorSet


@dataclass(frozen=True)
class Outbound:
    practice_id: str
    message: Message


@dataclass
class RoundProgress:
    """What the round has seen so far; for logs and the store, never values."""

    refused: dict[str, str] = field(default_factory=dict)  # practice -> reason code
    dropped: dict[str, str] = field(default_factory=dict)  # practice -> stage it dropped at


class ClusterRound:
    def __init__(
        self,
        coordinator: SecAggCoordinator,
        stage_timeout_s: float,
        now: float,
        finish: Callable[[SecAggCoordinator], AggregateResult] | None = None,
    ) -> None:
        self.coordinator = coordinator
        self.announcement = coordinator.announcement
        self.round_id = self.announcement.round_id.hex()
        self.unit = self.announcement.unit  # the cluster, or the region of a region-wide round
        self.scope = (
            RoundScope.REGION if self.announcement.scope == SCOPE_REGION else RoundScope.CLUSTER
        )
        self._timeout = stage_timeout_s
        self._deadline = now + stage_timeout_s
        self._stage_started = now
        self.stage_durations: list[tuple[str, float]] = []  # closed stages, for metrics
        self._finish = finish or (lambda c: c.finish())
        self._names = [p.practice_id for p in self.announcement.participants]
        self._expected: set[int] = set(range(len(self._names)))
        self._gone: set[int] = set()
        self.progress = RoundProgress()
        self.result: AggregateResult | None = None
        self.abort_reason: str | None = None

    # --- state -----------------------------------------------------------------

    @property
    def stage(self) -> Stage:
        return self.coordinator.stage

    @property
    def finished(self) -> bool:
        return self.result is not None or self.abort_reason is not None

    def practice_ids(self) -> tuple[str, ...]:
        return tuple(self._names)

    def _index(self, practice_id: str) -> int | None:
        return self.announcement.index_of(practice_id)

    # --- inputs ------------------------------------------------------------------

    def start(self) -> list[Outbound]:
        return [Outbound(name, self.announcement) for name in self._names]

    def receive(self, practice_id: str, message: Message, now: float) -> list[Outbound]:
        """Hand one agent message to the protocol; raises SecAggError if it is refused."""
        if self.finished:
            return []
        index = self._index(practice_id)
        if index is None or getattr(message, "sender", index) != index:
            raise ProtocolError(self.stage.name, f"sender is not participant {practice_id}")
        stage = self.stage
        self.coordinator.receive(message)
        if message.stage is stage:  # a redelivery of an earlier stage's message answers nothing
            self._expected.discard(index)
        return self._advance_if_complete(now)

    def refuse(self, practice_id: str, reason: str, now: float) -> list[Outbound]:
        index = self._index(practice_id)
        if index is None or self.finished:
            return []
        self.progress.refused[practice_id] = reason
        self._gone.add(index)
        self._expected.discard(index)
        return self._advance_if_complete(now)

    def disconnected(self, practice_id: str, now: float) -> list[Outbound]:
        """A practice that disconnects is a dropout: the stage need not wait for it."""
        index = self._index(practice_id)
        if index is None or self.finished or index in self._gone:
            return []
        self._gone.add(index)
        if index in self._expected:
            self.progress.dropped[practice_id] = self.stage.name
            self._expected.discard(index)
        return self._advance_if_complete(now)

    def tick(self, now: float) -> list[Outbound]:
        """Close the current stage if its deadline has passed."""
        if self.finished or now < self._deadline:
            return []
        for index in self._expected:
            self.progress.dropped.setdefault(self._names[index], self.stage.name)
        return self._close(now)

    # --- stage transitions ---------------------------------------------------------

    def _advance_if_complete(self, now: float) -> list[Outbound]:
        if self._expected:
            return []
        return self._close(now)

    def _send(self, messages: Mapping[int, Message]) -> list[Outbound]:
        self._expected = {i for i in messages if i not in self._gone}
        return [Outbound(self._names[i], m) for i, m in messages.items() if i not in self._gone]

    def _close(self, now: float) -> list[Outbound]:
        c = self.coordinator
        self._deadline = now + self._timeout
        self.stage_durations.append((c.stage.name.lower(), now - self._stage_started))
        self._stage_started = now
        try:
            stage = c.stage
            if stage is Stage.ADVERTISE_KEYS:
                return self._send(c.close_advertising())
            if stage is Stage.SHARE_KEYS:
                return self._send(c.close_sharing())
            if stage is Stage.MASKED_INPUT:
                survivors: SurvivorSet = c.close_masked_input()
                return self._send({i: survivors for i in survivors.survivors})
            if stage is Stage.CONSISTENCY:
                return self._send(c.close_consistency())
            if stage is Stage.UNMASK:
                self.result = self._finish(c)
                self._expected = set()
                return []
        except SecAggError as exc:
            self.abort_reason = exc.to_english()  # recorded in words, never a class name
            self._expected = set()
        return []
