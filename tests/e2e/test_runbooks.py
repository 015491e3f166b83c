"""The runbooks are a test: their commands, run as written, release one round.

`docs/runbook-region.md`, `docs/runbook-practice.md` and
`docs/runbook-partner.md` are read for their marked shell blocks (see
`tests.e2e.runbook`), which run in step order with `bash -euo pipefail` in
empty folders: one for the region's machine, one for each practice's machine
and one for the partner's, with the venv's `klynge` first on PATH. The files
of each "send" step are moved between the folders exactly as the runbooks say
(outbox to inbox). After the practices' round the partner makes its key, the
region signs its request, and the partner fetches its grant once. The
runbooks themselves start the coordinator and the agents in the background and
wait for them; the test only stops what is still running at the end. A
command in the docs that fails fails the test, so the docs cannot drift from
the code.

Afterwards the test checks what the runbooks promise: one released round in
the region's store, the reports written, and the partner's three files
holding only its granted indicators. After every step it checks that no
private key of a practice or the partner is on the region's machine (a file
holding a private key there is one of the region's own, by path), and every
send that no file it moves holds a private key: each practice's and the
partner's TLS key is made on its own machine and only its certificate request
travels.
"""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import stat
import sys
from pathlib import Path

import pytest

from server.partners import parse_bundle
from tests.e2e.runbook import Machine, RunbookError, merge, read_steps, send
from transport.pki import (
    check_key_matches,
    identity_of,
    is_issued_by,
    load_certificate,
    load_private_key,
    practice_id_of,
)

pytestmark = pytest.mark.e2e

DOCS = Path(__file__).resolve().parents[2] / "docs"
PRACTICES = [f"P{i:04d}" for i in range(1, 7)]  # the runbooks' trial: six practices in K01
PARTNER = "rh-kvalitet"  # the partner the region's runbook declares in the manifest
PARTNER_MEASURES = {"AB-01", "AB-02", "DM-01", "DM-02"}  # and the indicators it grants
RUNBOOKS = ("runbook-region.md", "runbook-practice.md", "runbook-partner.md")
STEP_TIMEOUT_S = 240.0
# The only private keys the region's folder may hold, all the region's own.
REGION_KEYS = {
    "pki/ca.key",
    "pki/server.key",
    "authority/manifest-authority.key",
    "authority/registry-authority.key",
    "log.key",
}


def _private_keys(folder: Path) -> set[str]:
    """Files under `folder` named like a private key or holding one in PEM, relative paths."""
    found = set()
    for path in folder.rglob("*"):
        if path.is_file() and (path.suffix == ".key" or b"PRIVATE KEY-----" in path.read_bytes()):
            found.add(path.relative_to(folder).as_posix())
    return found


def _crossing_table(page: Path) -> list[list[str]]:
    """The rows of a runbook's table of files that cross between the machines."""
    text = page.read_text(encoding="utf-8")
    section = text.split("## Files that cross between the machines", 1)[1].split("\n## ", 1)[0]
    rows = [line.strip("|").split("|") for line in section.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row] for row in rows[1:]]  # without the header


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _steps():
    return merge(*(read_steps(DOCS / page) for page in RUNBOOKS))


def test_every_shell_block_of_the_runbooks_is_marked_and_the_steps_alternate():
    steps = _steps()
    assert {s.machine for s in steps if not s.is_send} == {"region", "practice", "partner"}
    assert [(s.machine, s.receiver) for s in steps if s.is_send] == [
        ("region", "practice"),
        ("practice", "region"),
        ("region", "practice"),
        ("partner", "region"),
        ("region", "partner"),
    ]
    # The partner's steps come after the practices' round, and the coordinator stops last.
    partner = [s.number for s in steps if s.machine == "partner" or s.receiver == "partner"]
    practice = [s.number for s in steps if s.machine == "practice" or s.receiver == "practice"]
    assert min(partner) > max(practice)
    assert steps[-1].machine == "region" and "kill -TERM" in steps[-1].script


@pytest.mark.parametrize(
    ("page", "sent"),
    [
        ("runbook-region.md", {"ca.pem", "tls.pem", "PRACTICE.csr", "PARTNER.csr"}),
        ("runbook-practice.md", {"ca.pem", "tls.pem", "PRACTICE.csr"}),
        ("runbook-partner.md", {"ca.pem", "tls.pem", "PARTNER.csr", "manifest.toml"}),
    ],
)
def test_the_files_that_cross_hold_no_private_key(page: str, sent: set[str]):
    rows = _crossing_table(DOCS / page)
    assert len(rows) >= len(sent)
    assert all(row[-1] == "no" for row in rows), rows  # nothing secret crosses
    files = [name for row in rows for name in re.findall(r"`([^`]+)`", row[2])]
    assert not [name for name in files if name.endswith(".key")]
    assert sent <= set(files)


def test_the_key_check_sees_a_practice_key_by_name_or_by_content(tmp_path: Path):
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.key").write_text("x")
    (tmp_path / "outbox").mkdir()
    (tmp_path / "outbox" / "tls.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    (tmp_path / "outbox" / "P0001.csr").write_text("-----BEGIN CERTIFICATE REQUEST-----\n")
    assert _private_keys(tmp_path) - REGION_KEYS == {"outbox/tls.pem"}


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
    partner = Machine(
        "partner",
        tmp_path / "partner",
        {**base, "PARTNER": PARTNER, "COORDINATOR": f"localhost:{port}"},
        scratch,
    )
    try:
        for step in _steps():
            if step.is_send and step.receiver == "partner":
                moved = send(region.folder / "outbox" / PARTNER, partner.folder / "inbox")
                assert {"tls.pem", "ca.pem", "manifest.toml"} <= set(moved), step.source
                assert not _private_keys(partner.folder / "inbox"), step.source
            elif step.is_send and step.machine == "partner":
                moved = send(partner.folder / "outbox", region.folder / "inbox")
                assert moved == [f"{PARTNER}.csr"], f"{step.source}: the partner sent {moved}"
            elif step.machine == "partner":
                partner.run(step, STEP_TIMEOUT_S)
            elif step.is_send and step.machine == "region":
                for p, machine in practices.items():
                    moved = send(region.folder / "outbox" / p, machine.folder / "inbox")
                    assert moved, f"{step.source}: nothing to send to {p}"
                    assert not _private_keys(machine.folder / "inbox"), step.source
            elif step.is_send:
                for p, machine in practices.items():
                    moved = send(machine.folder / "outbox", region.folder / "inbox")
                    assert moved, f"{step.source}: {p} sent nothing"
                    assert f"{p}.csr" in moved, f"{step.source}: {p} sent {moved}"
            elif step.machine == "region":
                region.run(step, STEP_TIMEOUT_S)
            else:  # separate machines: every practice at once
                handed = [(m, m.submit(step)) for m in practices.values()]
                for machine, done in handed:
                    machine.wait(step, done, STEP_TIMEOUT_S)
            # Nothing secret of a practice or the partner at the region, after any step.
            stray = _private_keys(region.folder) - REGION_KEYS
            assert not stray, f"after {step.source}: private keys at the region: {stray}"
    finally:
        for machine in (region, *practices.values(), partner):
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

    # Nothing secret on the wrong machine: a practice holds its own two keys (0600) and a
    # certificate the region signed for the TLS key it made, none of the region's keys.
    ca = load_certificate(region.folder / "pki" / "ca.pem")
    for p, machine in practices.items():
        assert _private_keys(machine.folder) == {
            "agent/identity.key",
            f"pki/practices/{p}.key",
        }
        tls_key = machine.folder / "pki" / "practices" / f"{p}.key"
        assert stat.S_IMODE(tls_key.stat().st_mode) == 0o600
        cert_path = machine.folder / "pki" / "practices" / f"{p}.pem"
        cert = load_certificate(cert_path)
        assert is_issued_by(cert, ca) and practice_id_of(cert) == p
        check_key_matches(cert_path, cert, load_private_key(tls_key))

    # The partner holds its own TLS key (0600) and nothing else secret, a certificate the
    # region signed for that key, and what it fetched: its grant, cut to its indicators.
    assert _private_keys(partner.folder) == {f"pki/partners/{PARTNER}.key"}, partner.tail()
    partner_key = partner.folder / "pki" / "partners" / f"{PARTNER}.key"
    assert stat.S_IMODE(partner_key.stat().st_mode) == 0o600
    cert_path = partner.folder / "pki" / "partners" / f"{PARTNER}.pem"
    cert = load_certificate(cert_path)
    assert is_issued_by(cert, ca) and identity_of(cert) == ("partner", PARTNER)
    check_key_matches(cert_path, cert, load_private_key(partner_key))
    received = partner.folder / "received"
    assert sorted(p.name for p in received.iterdir()) == [
        "measurereports.json",
        "partner.html",
        "releases.json",
    ], partner.tail()
    named, releases = parse_bundle((received / "releases.json").read_bytes(), "releases.json")
    assert named == PARTNER
    assert [(doc.level, doc.unit) for doc in releases] == [("cluster", "K01")]
    assert set(releases[0].figures) == PARTNER_MEASURES
