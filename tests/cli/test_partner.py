"""`klynge pki issue-partner` and `klynge partner fetch`: set-up errors are one line each."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomli_w
from typer.testing import CliRunner

from klynge.cli import root
from privacy.defaults import default_manifest_path
from tests.privacy.builders import HOSPITAL
from transport.pki import PkiLayout, identity_of, init_pki, issue_practices, load_certificate

runner = CliRunner()


@pytest.fixture(autouse=True)
def english(monkeypatch):
    monkeypatch.setenv("KLYNGE_LANG", "en")


def run(*args: str):
    return runner.invoke(root, ["--lang", "en", *args])


def _one_line(result, *words: str) -> None:
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    for word in words:
        assert word in lines[0], lines[0]


@pytest.fixture
def pki(tmp_path) -> PkiLayout:
    layout = PkiLayout(tmp_path / "pki")
    init_pki(layout, now=datetime.now(UTC))
    return layout


def test_issue_partner_writes_a_partner_certificate_and_never_replaces_it(pki):
    result = run("pki", "issue-partner", "--dir", str(pki.root), "--id", "rh-kvalitet")
    assert result.exit_code == 0, result.output
    assert "urn:klynge:partner:rh-kvalitet" in result.output
    cert = load_certificate(pki.partner_cert("rh-kvalitet"))
    assert identity_of(cert) == ("partner", "rh-kvalitet")
    assert stat.S_IMODE(pki.partner_key("rh-kvalitet").stat().st_mode) == 0o600
    again = run("pki", "issue-partner", "--dir", str(pki.root), "--id", "rh-kvalitet")
    assert again.exit_code != 0 and "already exists" in again.output
    bad = run("pki", "issue-partner", "--dir", str(pki.root), "--id", "../x")
    assert bad.exit_code != 0 and "../x" in bad.output


def _config(tmp_path: Path, pki: PkiLayout, manifest: Path, **partner: object) -> Path:
    path = tmp_path / "partner.toml"
    table = {
        "id": "rh-kvalitet",
        "coordinator": "localhost:1",
        "manifest": str(manifest),
        "out_dir": "out",
        **partner,
    }
    tls = {
        "ca": str(pki.ca_cert),
        "cert": str(pki.partner_cert("rh-kvalitet")),
        "key": str(pki.partner_key("rh-kvalitet")),
    }
    path.write_text(tomli_w.dumps({"partner": table, "tls": tls}))
    return path


def test_fetch_refuses_a_bad_set_up_with_one_line_naming_the_file(tmp_path, pki):
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(default_manifest_path().read_text() + HOSPITAL)
    fetch = ("partner", "fetch", "--config")
    _one_line(run(*fetch, str(tmp_path / "none.toml")), "none.toml", "not found")
    plain = tmp_path / "plain.toml"
    plain.write_text(default_manifest_path().read_text())
    config = _config(tmp_path, pki, plain)
    _one_line(run(*fetch, str(config)), "partner.toml", "partner.id", "declares no partner")
    config = _config(tmp_path, pki, manifest, colour="blue")
    _one_line(run(*fetch, str(config)), "partner.toml", "partner.colour")
    config = _config(tmp_path, pki, manifest, coordinator_port_file="port")
    _one_line(run(*fetch, str(config)), "partner.toml", "not both")
    config = _config(tmp_path, pki, manifest)
    _one_line(run(*fetch, str(config)), "rh-kvalitet.pem", "not found")  # not issued yet
    issue_practices(pki, ["rh-kvalitet"], now=datetime.now(UTC))  # a practice certificate
    practice = _config(tmp_path, pki, manifest)
    tls = {
        "ca": str(pki.ca_cert),
        "cert": str(pki.practice_cert("rh-kvalitet")),
        "key": str(pki.practice_key("rh-kvalitet")),
    }
    text = practice.read_text().split("[tls]")[0] + tomli_w.dumps({"tls": tls})
    practice.write_text(text)
    _one_line(run(*fetch, str(practice)), "rh-kvalitet.pem", "names practice")
    assert not (tmp_path / "out").exists()  # nothing half-written
