"""The runbooks are a test: their commands, run as written, release one round.

`docs/runbook-region.md` and `docs/runbook-practice.md` are read for their
marked shell blocks (see `tests.e2e.runbook`), which run in step order with
`bash -euo pipefail` in empty folders: one for the region's machine and one
for each practice's machine, with the venv's `klynge` first on PATH. The files
of each "send" step are moved between the folders exactly as the runbooks say
(outbox to inbox). The runbooks themselves start the coordinator and the
agents in the background and wait for them; the test only stops what is still
running at the end. A command in the docs that fails fails the test, so the
docs cannot drift from the code.

Afterwards the test checks what the runbooks promise: one released round in
the region's store, the reports written, and no private key of a practice
ever on the region's machine (nor the region's keys on a practice's).
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import sys
from pathlib import Path

import pytest

from tests.e2e.runbook import Machine, RunbookError, merge, read_steps, send

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs"
PRACTICES = [f"P{i:04d}" for i in range(1, 7)]  # the runbooks' trial: six practices in K01
STEP_TIMEOUT_S = 240.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _steps():
    return merge(read_steps(DOCS / "runbook-region.md"), read_steps(DOCS / "runbook-practice.md"))


def test_every_shell_block_of_the_runbooks_is_marked_and_the_steps_alternate():
    steps = _steps()
    assert {s.machine for s in steps if not s.is_send} == {"region", "practice"}
    assert [(s.machine, s.receiver) for s in steps if s.is_send] == [
        ("region", "practice"),
        ("practice", "region"),
        ("region", "practice"),
    ]


def test_read_steps_refuses_an_unmarked_block(tmp_path: Path):
    page = tmp_path / "runbook.md"
    page.write_text("<!-- runbook: step 1, region -->\n```sh\ntrue\n```\n\n```sh\nfalse\n```\n")
    with pytest.raises(RunbookError, match=re.escape("runbook.md:6: a ```sh block without")):
        read_steps(page)


def test_the_runbooks_release_one_round_from_empty_folders(tmp_path: Path):
    port = _free_port()
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    base = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    }
    base.pop("KLYNGE_LANG", None)
    region = Machine(
        "region",
        tmp_path / "region",
        {**base, "COORDINATOR_HOST": "localhost", "PORT": str(port)},
        scratch,
    )
    practices = {
        p: Machine(
            p,
            tmp_path / f"practice-{p}",
            {
                **base,
                "PRACTICE": p,
                "CLUSTER": "K01",
                "REGION": "Hovedstaden",
                "COORDINATOR": f"localhost:{port}",
            },
            scratch,
        )
        for p in PRACTICES
    }
    try:
        for step in _steps():
            if step.is_send and step.machine == "region":
                for p, machine in practices.items():
                    moved = send(region.folder / "outbox" / p, machine.folder / "inbox")
                    assert moved, f"{step.source}: nothing to send to {p}"
            elif step.is_send:
                for p, machine in practices.items():
                    moved = send(machine.folder / "outbox", region.folder / "inbox")
                    assert moved, f"{step.source}: {p} sent nothing"
            elif step.machine == "region":
                region.run(step, STEP_TIMEOUT_S)
            else:  # separate machines: every practice at once
                handed = [(m, m.submit(step)) for m in practices.values()]
                for machine, done in handed:
                    machine.wait(step, done, STEP_TIMEOUT_S)
    finally:
        for machine in (region, *practices.values()):
            machine.stop()

    store = region.folder / "state" / "coordinator.sqlite"
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        rounds = con.execute("SELECT cluster, reference_date, state FROM rounds").fetchall()
        releases = con.execute("SELECT COUNT(*) FROM releases").fetchone()[0]
    finally:
        con.close()
    assert rounds == [("K01", "2026-09-30", "released")], region.tail()
    assert releases >= 1
    for report in ("region.html", "cluster-K01.html"):
        assert (region.folder / report).stat().st_size > 0
    for machine in practices.values():
        assert (machine.folder / "report.html").stat().st_size > 0, machine.tail()
        assert (machine.folder / "audit.html").stat().st_size > 0

    # Nothing secret on the wrong machine: no practice's identity or TLS key at the region,
    # and none of the region's private keys at a practice.
    region_files = {f.name for f in region.folder.rglob("*") if f.is_file()}
    assert not {"identity.key", "tls.key"} & region_files
    assert not list((region.folder / "pki" / "practices").glob("*.key"))
    for machine in practices.values():
        names = {f.name for f in machine.folder.rglob("*") if f.is_file()}
        region_secrets = {"ca.key", "server.key", "log.key"}
        region_secrets |= {"manifest-authority.key", "registry-authority.key"}
        assert not region_secrets & names
        assert {"identity.key", f"{machine.name}.key"} <= names
