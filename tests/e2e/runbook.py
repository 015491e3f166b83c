"""Read the runbooks' marked steps and run them, one shell per machine.

Markers (HTML comments, invisible when the page is rendered):

    <!-- runbook: step N, region -->            the ```sh block after it runs on the region
    <!-- runbook: step N, practice -->          ... on every practice's machine
    <!-- runbook: step N, partner -->           ... on the partner's machine
    <!-- runbook: step N, send region -> practice -->   move outbox/PRACTICE/* to its inbox/
    <!-- runbook: step N, send practice -> region -->   move each practice's outbox/* to inbox/
    <!-- runbook: step N, send region -> partner -->    move outbox/PARTNER/* to its inbox/
    <!-- runbook: step N, send partner -> region -->    move the partner's outbox/* to inbox/
    <!-- runbook: not run (why) -->             the next ```sh block is left out, on purpose

Every ```sh block must carry one of them, so a block nobody runs cannot hide in
a runbook. Each machine is one long-lived `bash -euo pipefail` reading the
blocks in order, as a person pastes them into one terminal: variables and
background jobs (`&`, `$!`, `wait`) carry over from block to block, and the
first failing command ends the shell, which fails the test.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

MACHINES = ("region", "practice", "partner")
_MACHINE = "|".join(MACHINES)
_MARKER = re.compile(r"<!--\s*runbook:\s*(.*?)\s*-->")
_STEP = re.compile(rf"step (\d+), ({_MACHINE})$")
_SEND = re.compile(rf"step (\d+), send ({_MACHINE}) -> ({_MACHINE})$")
_FENCE = re.compile(r"```sh\n(.*?)```", re.S)


class RunbookError(AssertionError):
    """A runbook that cannot be read as steps, or a step that failed."""


@dataclass(frozen=True)
class Step:
    number: int
    machine: str  # "region", "practice" or "partner"; for a send, the sender
    script: str = ""  # empty for a send
    receiver: str = ""  # set for a send
    source: str = ""  # "file:line", for messages

    @property
    def is_send(self) -> bool:
        return bool(self.receiver)


def read_steps(path: Path) -> list[Step]:
    """The marked steps of one runbook, in document order; every ```sh block marked."""
    text = path.read_text(encoding="utf-8")
    steps: list[Step] = []
    skipped: set[int] = set()  # offsets of blocks marked "not run"
    marked: set[int] = set()
    for marker in _MARKER.finditer(text):
        label = marker.group(1)
        line = text.count("\n", 0, marker.start()) + 1
        where = f"{path.name}:{line}"
        block = _FENCE.match(text, _skip_blank(text, marker.end()))
        if label.startswith("not run"):
            if block is None:
                raise RunbookError(f"{where}: 'not run' marker without a ```sh block after it")
            skipped.add(block.start())
        elif send := _SEND.match(label):
            if send.group(2) == send.group(3) or "region" not in (send.group(2), send.group(3)):
                raise RunbookError(f"{where}: a send goes between the region and another machine")
            steps.append(
                Step(int(send.group(1)), send.group(2), receiver=send.group(3), source=where)
            )
        elif step := _STEP.match(label):
            if block is None:
                raise RunbookError(f"{where}: marker without a ```sh block right after it")
            marked.add(block.start())
            steps.append(Step(int(step.group(1)), step.group(2), block.group(1), source=where))
        else:
            raise RunbookError(f"{where}: unknown runbook marker {label!r}")
    for block in _FENCE.finditer(text):
        if block.start() not in marked | skipped:
            line = text.count("\n", 0, block.start()) + 1
            raise RunbookError(f"{path.name}:{line}: a ```sh block without a runbook marker")
    numbers = [s.number for s in steps]
    if numbers != sorted(numbers):
        raise RunbookError(f"{path.name}: steps out of order: {numbers}")
    return steps


def _skip_blank(text: str, at: int) -> int:
    while at < len(text) and text[at] in " \t\n":
        at += 1
    return at


def merge(*runbooks: list[Step]) -> list[Step]:
    """All steps in step order; a step number belongs to one machine (or one send)."""
    steps = sorted((s for book in runbooks for s in book), key=lambda s: s.number)
    owners: dict[int, tuple[str, bool]] = {}
    for s in steps:
        owner = owners.setdefault(s.number, (s.machine, s.is_send))
        if owner != (s.machine, s.is_send):
            raise RunbookError(f"{s.source}: step {s.number} is already another machine's")
    return steps


class Machine:
    """One folder and one bash reading blocks on its stdin; logs in `log`."""

    def __init__(self, name: str, folder: Path, env: dict[str, str], scratch: Path) -> None:
        self.name = name
        self.folder = folder
        self.log = scratch / f"{name}.log"
        self._scratch = scratch
        self._blocks = 0
        folder.mkdir(parents=True)
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                ["bash", "--noprofile", "--norc", "-euo", "pipefail", "-s"],
                cwd=folder,
                env=env,
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped as one
            )

    def submit(self, step: Step) -> Path:
        """Hand one block to this machine's shell; returns the file that marks its end."""
        self._blocks += 1
        block = self._scratch / f"{self.name}-{self._blocks}.sh"
        done = self._scratch / f"{self.name}-{self._blocks}.done"
        block.write_text(step.script, encoding="utf-8")
        assert self.proc.stdin is not None
        try:
            self.proc.stdin.write(f"source {_quote(block)}\n: > {_quote(done)}\n".encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # the shell has ended; `wait` reports it
        return done

    def wait(self, step: Step, done: Path, timeout_s: float) -> None:
        """Wait for a submitted block; raise with the log's tail if the shell ended."""
        deadline = time.monotonic() + timeout_s
        while not done.exists():
            if self.proc.poll() is not None:
                raise RunbookError(
                    f"{step.source} failed on {self.name} (exit {self.proc.returncode}):\n"
                    f"{self.tail()}"
                )
            if time.monotonic() > deadline:
                raise RunbookError(f"{step.source} on {self.name}: no end in {timeout_s:.0f} s")
            time.sleep(0.05)

    def run(self, step: Step, timeout_s: float) -> None:
        self.wait(step, self.submit(step), timeout_s)

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        """End the shell and everything it started in the background (its process group)."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=5)
                if sig == signal.SIGTERM:
                    time.sleep(0.2)  # let children in the group finish their own SIGTERM


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"


def send(sender: Path, receiver: Path) -> list[str]:
    """Move every file of `sender` (an outbox) into `receiver` (an inbox), keeping modes;
    the outbox is left empty, so a later send carries only what was put there since."""
    moved = []
    receiver.mkdir(parents=True, exist_ok=True)
    for item in sorted(sender.iterdir()) if sender.is_dir() else []:
        shutil.move(str(item), receiver / item.name)
        moved.append(item.name)
    return moved
