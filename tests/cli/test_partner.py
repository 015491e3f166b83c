"""`klynge partner keygen`, `klynge pki sign --partner` and `klynge partner fetch`.

Set-up errors are one line each.
"""

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


def _signed_manifest(tmp_path: Path) -> tuple[Path, Path]:
    """The default manifest with HOSPITAL's [[partners]], signed; and the authority's public key."""
    key = tmp_path / "authority" / "manifest-authority.key"
    assert run("manifest", "keygen", "--out", str(key)).exit_code == 0
    manifest = tmp_path / "manifest.toml"
    manifest.write_text(default_manifest_path().read_text() + HOSPITAL)
    signed = run("manifest", "sign", str(manifest), "--key", str(key))
    assert signed.exit_code == 0, signed.output
    return manifest, key.with_name("manifest-authority.key.pub.pem")


def test_keygen_at_the_partner_and_sign_at_the_region(tmp_path, pki):
    """The partner's key stays in its folder; the region signs against the signed manifest."""
    own = PkiLayout(tmp_path / "partner" / "pki")
    request = tmp_path / "partner" / "outbox" / "rh-kvalitet.csr"
    keygen = ("partner", "keygen", "--pki", str(own.root), "--partner", "rh-kvalitet")
    made = run(*keygen, "--csr", str(request))
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(own.partner_key("rh-kvalitet").stat().st_mode) == 0o600
    assert "rh-kvalitet.key (0600; it stays on this machine)" in made.output
    key_before = own.partner_key("rh-kvalitet").read_bytes()
    _one_line(run(*keygen, "--csr", str(request)), "rh-kvalitet.key", "already exists")
    assert own.partner_key("rh-kvalitet").read_bytes() == key_before

    manifest, authority = _signed_manifest(tmp_path)
    sign = ("pki", "sign", "--dir", str(pki.root), "--csr", str(request))
    as_partner = ("--manifest", str(manifest), "--manifest-authority", str(authority))
    out = tmp_path / "outbox" / "tls.pem"
    signed = run(*sign, "--partner", "rh-kvalitet", *as_partner, "--out", str(out))
    assert signed.exit_code == 0, signed.output
    assert identity_of(load_certificate(out)) == ("partner", "rh-kvalitet")
    fingerprint = made.output.split("fingerprint: ")[1].split()[0]
    assert fingerprint in signed.output.replace("\n", "")  # read to each other by telephone
    assert "manifest's [[partners]] grants" in " ".join(signed.output.split())  # not markup
    assert not list(pki.root.rglob("*.csr")) and not (pki.root / "partners").exists()

    # Refusals: one line naming the file, nothing written.
    again = tmp_path / "outbox" / "again.pem"
    _one_line(  # another partner's channel
        run(*sign, "--partner", "kommune-sundhed", *as_partner, "--out", str(again)),
        "rh-kvalitet.csr",
        "names partner 'rh-kvalitet', but was expected from 'kommune-sundhed'",
    )
    plain = tmp_path / "plain.toml"  # signed, but declares no partner
    plain.write_text(default_manifest_path().read_text())
    key = tmp_path / "authority" / "manifest-authority.key"
    assert run("manifest", "sign", str(plain), "--key", str(key)).exit_code == 0
    undeclared = ("--manifest", str(plain), "--manifest-authority", str(authority))
    _one_line(
        run(*sign, "--partner", "rh-kvalitet", *undeclared, "--out", str(again)),
        "rh-kvalitet.csr",
        "is not declared in the [[partners]] of",
    )
    edited = tmp_path / "edited.toml"  # a partner added after the authority signed
    edited.write_text(plain.read_text() + HOSPITAL)
    changed = ("--manifest", str(edited), "--manifest-authority", str(authority))
    _one_line(run(*sign, "--partner", "rh-kvalitet", *changed, "--out", str(again)), "edited.toml")
    mixed = ("--federation", "federation.toml", "--out", str(again))
    _one_line(run(*sign, "--partner", "rh-kvalitet", *as_partner, *mixed), "--practice")
    _one_line(run(*sign, "--partner", "rh-kvalitet", "--out", str(again)), "--manifest")
    assert not again.exists()
    assert len(list(pki.issued_dir.iterdir())) == 1


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
