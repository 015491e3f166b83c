"""`klynge pki init|sign|list`, `klynge agent keygen`, and the files they write.

The demo's region-side path (`issue_practices`, no command) is tested here too.
"""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from typer.testing import CliRunner

from klynge.cli import root
from transport.pki import (
    PkiError,
    PkiLayout,
    build_practice_certificate,
    init_pki,
    is_issued_by,
    issue_practices,
    load_certificate,
    load_private_key,
    new_private_key,
    practice_id_of,
    practice_ids_from_federation,
    validate_practice_id,
    write_private_key,
)

runner = CliRunner()


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """Messages are matched in English; the default language is Danish."""
    monkeypatch.setenv("KLYNGE_LANG", "en")


NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def run(*args: str):
    return runner.invoke(root, ["--lang", "en", "pki", *args])


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


FEDERATION = (
    'format = "klynge-federation"\nversion = 1\nname = "t"\n'
    '[[clusters]]\nid = "K01"\nname = "Nord"\nregion = "Nordjylland"\n'
    '[[practices]]\nid = "P0001"\ncluster = "K01"\nextract = "p1"\nlist_size = 10\n'
    '[[practices]]\nid = "P0002"\ncluster = "K01"\nextract = "p2"\nlist_size = 10\n'
)


def keygen(*args: str):
    return runner.invoke(root, ["--lang", "en", "agent", "keygen", *args])


def test_init_writes_keys_0600_and_refuses_to_overwrite(tmp_path):
    pki = tmp_path / "pki"
    result = run("init", "--dir", str(pki))
    assert result.exit_code == 0, result.output
    layout = PkiLayout(pki)
    assert mode(layout.ca_key) == 0o600 and mode(layout.server_key) == 0o600
    assert mode(layout.ca_cert) == 0o644
    ca_key = layout.ca_key.read_bytes()
    again = run("init", "--dir", str(pki))
    assert again.exit_code != 0 and "refusing to overwrite" in again.output
    assert layout.ca_key.read_bytes() == ca_key


def test_keygen_at_the_practice_and_sign_at_the_region(tmp_path):
    federation = tmp_path / "region" / "federation.toml"
    federation.parent.mkdir()
    federation.write_text(FEDERATION, encoding="utf-8")
    assert practice_ids_from_federation(federation) == ["P0001", "P0002"]
    region = tmp_path / "region" / "pki"
    assert run("init", "--dir", str(region)).exit_code == 0

    practice = PkiLayout(tmp_path / "practice" / "pki")
    request = tmp_path / "practice" / "outbox" / "P0001.csr"
    made = keygen("--pki", str(practice.root), "--practice", "P0001", "--csr", str(request))
    assert made.exit_code == 0, made.output
    assert mode(practice.practice_key("P0001")) == 0o600 and request.exists()
    assert "P0001.key (0600; it stays on this machine)" in made.output
    key_before = practice.practice_key("P0001").read_bytes()
    again = keygen("--pki", str(practice.root), "--practice", "P0001", "--csr", str(request))
    assert again.exit_code != 0 and "Traceback" not in again.output
    assert "P0001.key: already exists" in again.output
    assert practice.practice_key("P0001").read_bytes() == key_before

    out = tmp_path / "region" / "outbox" / "P0001" / "tls.pem"
    args = ["sign", "--dir", str(region), "--csr", str(request), "--federation", str(federation)]
    signed = run(*args, "--practice", "P0001", "--out", str(out))
    assert signed.exit_code == 0, signed.output
    assert practice_id_of(load_certificate(out)) == "P0001"
    fingerprint = made.output.split("fingerprint: ")[1].split()[0]
    assert fingerprint in signed.output.replace("\n", "")  # read to each other by telephone
    listed = run("list", "--dir", str(region))
    assert listed.exit_code == 0 and "P0001" in listed.output

    # The request came from P0002's channel: refused, one line, nothing written.
    other = tmp_path / "region" / "outbox" / "P0002" / "tls.pem"
    refused = run(*args, "--practice", "P0002", "--out", str(other))
    assert refused.exit_code != 0
    assert refused.output.strip().count("\n") == 0 and "Traceback" not in refused.output
    assert "P0001.csr: names practice 'P0001', but was expected from 'P0002'" in refused.output
    assert not other.exists()
    assert len(list((region / "issued").iterdir())) == 1

    renewed = keygen(
        "--pki", str(practice.root), "--practice", "P0001", "--csr", str(request), "--force"
    )
    assert renewed.exit_code == 0, renewed.output
    assert practice.practice_key("P0001").read_bytes() != key_before


def _sign_a_new_request(tmp_path: Path, region: Path, federation: Path):
    """`pki sign` of a request `agent keygen` just made for P0001, into tmp_path/tls.pem."""
    assert keygen("--pki", str(tmp_path / "practice"), "--practice", "P0001").exit_code == 0
    request = PkiLayout(tmp_path / "practice").practice_request("P0001")
    return run(
        "sign",
        "--dir",
        str(region),
        "--csr",
        str(request),
        "--practice",
        "P0001",
        "--federation",
        str(federation),
        "--out",
        str(tmp_path / "tls.pem"),
    )


def test_sign_needs_a_ca(tmp_path):
    federation = tmp_path / "federation.toml"
    federation.write_text(FEDERATION, encoding="utf-8")
    missing = _sign_a_new_request(tmp_path, tmp_path / "region", federation)
    assert missing.exit_code != 0
    assert "ca.pem" in missing.output and "not found" in missing.output
    assert not (tmp_path / "tls.pem").exists()


def test_the_demo_issues_practice_keys_at_the_ca_and_keeps_them_on_rerun(tmp_path):
    layout = PkiLayout(tmp_path)
    init_pki(layout, now=NOW)
    issue_practices(layout, ["P0001", "123456"], now=NOW)
    for practice in ("P0001", "123456"):
        assert mode(layout.practice_key(practice)) == 0o600
        cert = load_certificate(layout.practice_cert(practice))
        assert practice_id_of(cert) == practice
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == practice
    assert not list(tmp_path.rglob("*.tmp"))
    key_before = layout.practice_key("P0001").read_bytes()
    with pytest.raises(PkiError, match=r"P0001\.pem: already exists"):
        issue_practices(layout, ["P0001"], now=NOW)
    kept = issue_practices(layout, ["P0001"], now=NOW, keep_existing=True)
    assert not kept[0].created
    assert layout.practice_key("P0001").read_bytes() == key_before


def test_bad_practice_ids_are_refused():
    for bad in ("", "../etc", "a b", "x" * 65, "-lead", "urn:x", "coordinator"):
        with pytest.raises(PkiError, match="practice id"):
            validate_practice_id(bad)
    with pytest.raises(PkiError, match="given twice"):
        issue_practices(PkiLayout(Path("/nonexistent")), ["P1", "P1"], now=NOW)


def test_corrupt_and_mismatched_files_name_the_file(tmp_path):
    layout = PkiLayout(tmp_path)
    init_pki(layout, now=NOW)
    layout.ca_cert.write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    with pytest.raises(PkiError, match=r"ca\.pem: not a valid PEM certificate"):
        issue_practices(layout, ["P1"], now=NOW)
    (tmp_path / "k.key").write_text("garbage")
    with pytest.raises(PkiError, match=r"k\.key: not a valid PEM private key"):
        load_private_key(tmp_path / "k.key")


def test_existing_certificate_of_another_ca_is_not_kept(tmp_path):
    layout = PkiLayout(tmp_path / "a")
    init_pki(layout, now=NOW)
    other = PkiLayout(tmp_path / "b")
    init_pki(other, now=NOW)
    issue_practices(other, ["P1"], now=NOW)
    layout.practices_dir.mkdir()
    layout.practice_cert("P1").write_bytes(other.practice_cert("P1").read_bytes())
    layout.practice_key("P1").write_bytes(other.practice_key("P1").read_bytes())
    with pytest.raises(PkiError, match="not issued by this CA"):
        issue_practices(layout, ["P1"], now=NOW, keep_existing=True)


def test_certificates_have_the_right_shape(tmp_path):
    layout = PkiLayout(tmp_path)
    init_pki(layout, now=NOW, hosts=("localhost", "127.0.0.1"))
    issue_practices(layout, ["P7"], now=NOW, days=30)
    ca = load_certificate(layout.ca_cert)
    server = load_certificate(layout.server_cert)
    client = load_certificate(layout.practice_cert("P7"))
    assert isinstance(load_private_key(layout.server_key), ec.EllipticCurvePrivateKey)
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert is_issued_by(server, ca) and is_issued_by(client, ca)
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    eku = client.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
    assert client.not_valid_after_utc - NOW == timedelta(days=30)
    assert client.not_valid_before_utc < NOW  # tolerates clock skew
    with pytest.raises(ValueError, match="no subjectAltName"):
        practice_id_of(ca)


def test_key_files_are_created_0600_and_never_replaced(tmp_path):
    path = tmp_path / "deep" / "k.key"
    write_private_key(path, new_private_key())
    assert mode(path) == 0o600
    before = path.read_bytes()
    with pytest.raises(PkiError, match="already exists"):
        write_private_key(path, new_private_key())
    assert path.read_bytes() == before


def test_practice_certificate_needs_valid_id(tmp_path):
    layout = PkiLayout(tmp_path)
    init_pki(layout, now=NOW)
    ca_key = load_private_key(layout.ca_key)
    with pytest.raises(PkiError):
        build_practice_certificate(
            ca_key,
            load_certificate(layout.ca_cert),
            new_private_key().public_key(),
            "bad id",
            now=NOW,
        )


def test_bad_federation_file_is_one_line_error(tmp_path):
    federation = tmp_path / "federation.toml"
    federation.write_text("[[practices]]\nid = 3\n", encoding="utf-8")
    assert run("init", "--dir", str(tmp_path / "pki")).exit_code == 0
    result = _sign_a_new_request(tmp_path, tmp_path / "pki", federation)
    assert result.exit_code != 0
    assert "federation.toml" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "tls.pem").exists()
