"""The structure-aware fuzzer: mutants of recorded messages, both directions, real parts.

A live federation (`federation.LiveFederation`: a real coordinator process, honest
agents as processes) runs one round. One practice runs here as a real
`AgentDaemon` over mTLS, and:

- towards the coordinator: after each genuine envelope it sends, it sends
  mutants of it and of its earlier envelopes (`protocols.mutations`) through its
  real session, each under a fresh sequence number; the coordinator answers each
  with an acknowledgement or an Error frame naming the refusal;
- towards the agent: each genuine envelope the coordinator sends is also fed,
  with its mutants, to a shadow `AgentCore` of the same practice (its own ledger
  and receipts directory, replies discarded), the real agent code end to end.

Unhandled means a catch-all handler was reached: an INTERNAL error frame or a
`handler_failed` line from the coordinator, an `agent_failed` line (or an
exception) from the agent. The round itself must still release: the mutants
come after the genuine messages, and a malformed message costs nothing.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from client.agent.core import AgentCore
from privacy.ledger import Ledger
from protocols.envelope import Envelope, ErrorCode
from protocols.mutations import mutate
from tests.adversarial.federation import LiveFederation

_CATCH_ALL_AGENT = "agent_failed"


@dataclass
class FuzzReport:
    to_coordinator: int = 0
    to_agent: int = 0
    coordinator_answers: Counter[str] = field(default_factory=Counter)
    agent_outcomes: Counter[str] = field(default_factory=Counter)
    mutations: Counter[str] = field(default_factory=Counter)
    unhandled: list[str] = field(default_factory=list)
    round_state: str = ""
    contributors: int = 0
    seconds: float = 0.0

    def as_json(self) -> dict[str, object]:
        return {
            "messages_to_coordinator": self.to_coordinator,
            "messages_to_agent": self.to_agent,
            "coordinator_refusals_by_reason": dict(self.coordinator_answers.most_common()),
            "agent_outcomes_by_reason": dict(self.agent_outcomes.most_common()),
            "mutations": dict(self.mutations.most_common()),
            "unhandled_exceptions": len(self.unhandled),
            "unhandled_examples": self.unhandled[:10],
            "honest_round": self.round_state,
            "contributors": self.contributors,
            "seconds": round(self.seconds, 1),
        }


class _Events(logging.Handler):
    """The shadow core's log events, one list per fed message."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.events: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            body = json.loads(record.getMessage())
        except ValueError:
            return
        if isinstance(body, dict):
            self.events.append(body)


def _reason(code: ErrorCode, text: str) -> str:
    """A refusal grouped by its kind, not its values (indices and ids vary)."""
    head = text.split(":")[0] if code is not ErrorCode.REJECTED else text.split(":", 2)[-1]
    words = "".join(c if not c.isdigit() else "#" for c in head).strip()
    return f"{code.name}: {words[:70]}"


def _outcome(events: list[dict[str, object]]) -> str:
    if not events:
        return "answered from cache or ignored silently"
    last = events[-1]
    name = str(last.get("event"))
    why = last.get("reason") or last.get("kind") or ""
    return f"{name}: {why}"[:80]


def run_fuzz(root: Path, per_direction: int, seed: int = 12) -> FuzzReport:
    """Run one fuzzed round; about `per_direction` mutants each way."""
    report = FuzzReport()
    rng = random.Random(seed)
    started = time.monotonic()
    with LiveFederation.prepare(root, practices=6, stage_timeout_s=60.0) as fed:
        cluster = fed.layout.federation.clusters[0].id
        fuzzer, *honest = fed.practices(cluster)
        fed.start_coordinator()
        fed.agent_process(honest)
        daemon = fed.daemon(fuzzer)
        per_message = max(1, per_direction // 5)  # about five genuine messages each way

        # The shadow core: same practice and code, its own ledger, replies discarded.
        shadow_log = logging.getLogger(f"klynge.fuzz.shadow.{seed}")
        shadow_log.propagate = False
        capture = _Events()
        shadow_log.addHandler(capture)
        shadow_log.setLevel(logging.DEBUG)
        context = daemon.core.context
        shadow_dir = root / "shadow"
        shadow_context = replace(
            context,
            ledger=Ledger.create(shadow_dir / "ledger", context.practice_id, context.receipt_key),
            receipts_dir=shadow_dir / "receipts",
        )
        shadow = AgentCore(shadow_context, logger=shadow_log)
        from_coordinator: list[Envelope] = []
        from_agent: list[Envelope] = []
        lock = threading.Lock()

        def feed_shadow(envelope: Envelope) -> None:
            shadow.on_envelope(envelope)
            from_coordinator.append(envelope)
            for _ in range(per_message):
                label, mutant = mutate(envelope, rng, from_coordinator)
                capture.events.clear()
                report.mutations[f"to_agent.{label}"] += 1
                try:
                    shadow.on_envelope(mutant)
                except Exception as exc:  # on_envelope promises never to raise
                    report.unhandled.append(f"agent raised {type(exc).__name__} on {label}")
                    continue
                report.to_agent += 1
                outcome = _outcome(capture.events)
                report.agent_outcomes[outcome] += 1
                if any(e.get("event") == _CATCH_ALL_AGENT for e in capture.events):
                    report.unhandled.append(f"agent_failed on {label}: {outcome}")

        original_on_frame = daemon.on_frame
        original_send = daemon._send
        original_on_error = daemon.on_error

        def on_frame(session, envelope: Envelope) -> None:  # type: ignore[no-untyped-def]
            original_on_frame(session, envelope)
            with lock:
                feed_shadow(envelope)

        outbox: queue.Queue[Envelope | None] = queue.Queue()

        def send(reply: Envelope) -> None:
            outbox.put(reply)  # sent from the fuzzing thread: this one must go on reading acks

        def send_mutants() -> None:
            """Each genuine reply, then its mutants; the next genuine reply only once those
            are answered, so the round waits at a stage while its mutants are parsed."""
            while (reply := outbox.get()) is not None:
                with daemon._lock:
                    original_send(reply)
                from_agent.append(reply)
                for _ in range(per_message):
                    with lock:
                        label, mutant = mutate(reply, rng, from_agent)
                    mutant = replace(mutant, sender=reply.sender, seq=rng.randrange(1, 2**63))
                    while daemon.transport.pending > 500:
                        time.sleep(0.01)
                    try:
                        daemon.transport.send(mutant)
                    except Exception as exc:  # refused before sending (envelope checks)
                        with lock:
                            report.coordinator_answers[f"not sent: {type(exc).__name__}"] += 1
                        continue
                    with lock:
                        report.mutations[f"to_coordinator.{label}"] += 1
                        report.to_coordinator += 1
                deadline = time.monotonic() + 10  # the stage deadline is 60 s
                while daemon.transport.pending > 0 and time.monotonic() < deadline:
                    time.sleep(0.01)

        sender = threading.Thread(target=send_mutants, name="fuzz-sender", daemon=True)
        sender.start()

        def on_error(session, code, reason, key) -> None:  # type: ignore[no-untyped-def]
            with lock:
                report.coordinator_answers[_reason(code, reason)] += 1
                if code is ErrorCode.INTERNAL:
                    report.unhandled.append(f"coordinator INTERNAL: {reason[:80]}")
            original_on_error(session, code, reason, key)

        daemon.on_frame = on_frame  # type: ignore[method-assign]
        daemon._send = send  # type: ignore[method-assign]
        daemon.on_error = on_error  # type: ignore[method-assign]
        daemon.start()

        states = fed.wait_for_rounds({cluster}, timeout=600)
        report.round_state = states[cluster]
        outbox.put(None)
        sender.join(timeout=300)
        deadline = time.monotonic() + 30  # let the last answers arrive
        while daemon.transport.pending and time.monotonic() < deadline:
            time.sleep(0.1)
        events = fed.coordinator_events()
        for e in events:
            if e.get("event") == "handler_failed":
                report.unhandled.append(f"coordinator handler_failed: {e.get('error')}")
            if e.get("event") == "released" and e.get("aggregate_level") == "cluster":
                report.contributors = int(e.get("contributors", 0))  # type: ignore[call-overload]
        answered = sum(report.coordinator_answers.values())
        report.coordinator_answers["accepted or acknowledged as a duplicate"] = max(
            0, report.to_coordinator - answered
        )
    report.seconds = time.monotonic() - started
    return report
