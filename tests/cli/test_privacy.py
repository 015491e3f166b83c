"""`klynge manifest ...` and `klynge audit ...` end to end through the CLI."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest
from typer.testing import CliRunner

from common.keyfiles import write_public_key
from klynge.cli import root
from privacy.defaults import default_manifest_path
from privacy.errors import (
    KeyFileError,
    LogError,
    ManifestError,
    ManifestRefused,
    RefusalReason,
    SignatureError,
    TrustStoreError,
)
from privacy.ledger import ChargeRequest, Ledger
from privacy.log_entries import Statement
from privacy.manifest import load_manifest
from privacy.plan import manifest_release
from privacy.signing import generate_private_key
from privacy.transparency import TransparencyLog
from tests import REPO_ROOT
from tests.langs import in_english
from tests.privacy.builders import cluster_length


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


CHECKLIST = {
    "da": [
        "1. Retsgrundlag og roller",
        "2. Låst indikatorsæt",
        "3. Dataminimering",
        "4. Granularitet pr. modtager",
        "5. Diskretionskontrol og differential privacy",
        "6. Sikker aggregering",
        "7. Revisionslog",
        "8. Sikkerhed (art. 32)",
        "9. Gennemsigtighed",
        "Bilag: Fortegnelse over behandlingsaktiviteter (GDPR art. 30)",
    ],
    "en": [
        "1. Legal basis and roles",
        "2. Locked indicator set",
        "3. Data minimisation",
        "4. Granularity per recipient",
        "5. Disclosure control and differential privacy",
        "6. Secure aggregation",
        "7. Audit log",
        "8. Security (Art. 32)",
        "9. Transparency",
        "Annex: Record of processing activities (GDPR Art. 30)",
    ],
}


@pytest.fixture(autouse=True)
def _isolated_language(monkeypatch):
    # `klynge --lang` writes KLYNGE_LANG; restore it after every test.
    monkeypatch.setenv("KLYNGE_LANG", "da")


@pytest.fixture
def runner():
    return CliRunner()


def run(runner, *args):
    return runner.invoke(root, [str(a) for a in args])


def fails(result, error_type, *fragments):
    """The CLI turned a typed error into one `klynge: ...` line and the type's exit code."""
    assert result.exit_code == error_type.exit_code, result.output
    assert "Traceback" not in result.output
    line = next(x for x in result.output.splitlines() if x.startswith("klynge: "))
    for fragment in fragments:
        assert fragment in line, (fragment, line)
    return line


@pytest.fixture
def signed(runner, tmp_path):
    """An authority key pair and a signed manifest initialised from the default."""
    key = tmp_path / "authority.pem"
    result = run(runner, "manifest", "keygen", "--out", key)
    assert result.exit_code == 0, result.output
    manifest = tmp_path / "m.toml"
    assert run(runner, "manifest", "init", "--out", manifest).exit_code == 0
    result = run(runner, "manifest", "sign", manifest, "--key", key)
    assert result.exit_code == 0, result.output
    return manifest, key, tmp_path / "authority.pub.pem"


def test_keygen_writes_a_private_key_only_its_owner_can_read(signed):
    _, key, public = signed
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert public.read_text().startswith("-----BEGIN PUBLIC KEY-----")


def test_keygen_creates_the_folder_it_is_told_to_write_into(runner, tmp_path):
    key = tmp_path / "authority" / "new" / "manifest.pem"
    result = run(runner, "manifest", "keygen", "--out", key)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert (key.parent / "manifest.pub.pem").is_file()
    again = run(runner, "manifest", "keygen", "--out", key)
    fails(again, KeyFileError, "manifest.pem", "already exists")


def test_sign_verify_and_tamper(runner, signed):
    manifest, _, public = signed
    result = run(runner, "--lang", "en", "manifest", "verify", manifest, "--key", public)
    assert result.exit_code == 0, result.output
    assert "Signature valid" in result.output
    digest = run(runner, "manifest", "hash", manifest).output.strip()
    assert digest == load_manifest(manifest).manifest.hash()
    tampered = manifest.with_name("tampered.toml")
    tampered.write_text(manifest.read_text().replace("min_cell = 5", "min_cell = 3"))
    result = run(runner, "manifest", "verify", tampered, "--key", public)
    fails(result, ManifestRefused, "tampered.toml", f"({RefusalReason.TAMPERED.value})")
    # Re-signing replaces the signature rather than adding a second one.
    assert run(runner, "manifest", "sign", manifest, "--key", signed[1]).exit_code == 0
    assert manifest.read_text().count("[signature]") == 1
    result = run(runner, "manifest", "verify", manifest)
    assert result.exit_code != 0  # neither --key nor --trust-dir


def test_trust_store_and_approval_flow(runner, signed, tmp_path):
    manifest, _, public = signed
    trust = tmp_path / "trust"
    assert (
        run(
            runner, "manifest", "trust-key", public, "--trust-dir", trust, "--name", "Region"
        ).exit_code
        == 0
    )
    result = run(
        runner, "manifest", "verify", manifest, "--trust-dir", trust, "--date", "2026-06-01"
    )
    fails(result, ManifestRefused, "(unapproved)")
    result = run(
        runner,
        "manifest",
        "approve",
        manifest,
        "--trust-dir",
        trust,
        "--by",
        "Dr. Holm",
        "--date",
        "2026-05-01",
    )
    assert result.exit_code == 0, result.output
    result = run(
        runner,
        "--lang",
        "en",
        "manifest",
        "verify",
        manifest,
        "--trust-dir",
        trust,
        "--date",
        "2026-06-01",
    )
    assert result.exit_code == 0, result.output
    assert "would accept" in result.output and "Dr. Holm" in result.output
    result = run(
        runner, "manifest", "verify", manifest, "--trust-dir", trust, "--date", "2029-01-01"
    )
    fails(result, ManifestRefused, "(expired)")
    assert run(runner, "manifest", "withdraw", manifest, "--trust-dir", trust).exit_code == 0
    result = run(
        runner, "manifest", "verify", manifest, "--trust-dir", trust, "--date", "2026-06-01"
    )
    fails(result, ManifestRefused, "(unapproved)")
    result = run(runner, "manifest", "withdraw", manifest, "--trust-dir", trust)
    fails(result, TrustStoreError, "not approved")


def test_diff_shows_a_reviewer_what_changed(runner, signed, tmp_path):
    manifest, _, _ = signed
    newer = tmp_path / "v2.toml"
    text = manifest.read_text().replace("version = 2", "version = 3", 1)
    text = text.replace(
        "[dp]\ndelta = 1e-06\ndesign_dropout = 0.2\nepsilon_per_release = 1.0",
        "[dp]\ndelta = 1e-06\ndesign_dropout = 0.2\nepsilon_per_release = 0.5",
    )
    newer.write_text(text)
    result = run(runner, "--lang", "en", "manifest", "diff", manifest, newer)
    assert result.exit_code == 0, result.output
    assert "~ manifest.version: 2 → 3" in result.output
    assert "~ dp.epsilon_per_release: 1.0 → 0.5" in result.output
    before = manifest_release(load_manifest(manifest).manifest).cost().epsilon
    assert f"ε per release {before:.3f} → 0.500" in result.output
    doc = json.loads(run(runner, "manifest", "diff", manifest, newer, "--json").output)
    assert {c["path"] for c in doc["changes"]} == {"manifest.version", "dp.epsilon_per_release"}
    same = run(runner, "--lang", "en", "manifest", "diff", manifest, manifest)
    assert "No difference" in same.output


def test_init_refuses_to_overwrite_and_matches_the_default(runner, tmp_path):
    out = tmp_path / "m.toml"
    assert run(runner, "manifest", "init", "--out", out).exit_code == 0
    assert out.read_text() == default_manifest_path().read_text()
    result = run(runner, "manifest", "init", "--out", out)
    fails(result, ManifestError, "m.toml", "--force")
    result = run(
        runner,
        "manifest",
        "init",
        "--out",
        out,
        "--force",
        "--id",
        "region-midt",
        "--version",
        "3",
        "--valid-from",
        "2027-01-01",
        "--valid-until",
        "2028-03-31",
        "--year",
        "2027",
    )
    assert result.exit_code == 0, result.output
    m = load_manifest(out).manifest
    assert (m.meta.id, m.meta.version) == ("region-midt", 3)
    assert m.schedule.reference_dates[0] == date(2027, 3, 31)
    assert len(m.schedule.reference_dates) == 4


def test_bad_inputs_are_typed_errors(runner, signed, tmp_path):
    manifest, _, _ = signed
    result = run(runner, "manifest", "sign", manifest, "--key", tmp_path / "missing.pem")
    fails(result, KeyFileError, "missing.pem", "key file not found")
    broken = tmp_path / "broken.toml"
    broken.write_text("format = [\n")
    fails(run(runner, "manifest", "hash", broken), ManifestError, "broken.toml", "not valid TOML")
    sig_text = manifest.read_text()
    value = sig_text.split('value = "')[1].split('"')[0]
    bad = tmp_path / "bad-sig.toml"
    bad.write_text(sig_text.replace(value, "%%%"))
    result = run(runner, "manifest", "verify", bad, "--key", signed[2])
    fails(result, SignatureError, "bad-sig.toml", "signature.value: not valid base64")


@pytest.mark.slow
def test_the_real_entry_point_prints_one_line_and_no_traceback(tmp_path):
    broken = tmp_path / "broken.toml"
    broken.write_text("[dp]\ndelta = 1e-6\n")
    proc = subprocess.run(
        [sys.executable, "-m", "klynge", "manifest", "hash", str(broken)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if k != "KLYNGE_LANG"},  # the default
    )
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0
    assert "broken.toml, nøgle 'format': påkrævet nøgle mangler" in proc.stderr  # Danish by default


@pytest.mark.parametrize("lang", ["da", "en"])
def test_audit_report_on_the_default_manifest_covers_the_checklist(runner, lang):
    result = run(runner, "--lang", lang, "audit", default_manifest_path())
    assert result.exit_code == 0, result.output
    for heading in CHECKLIST[lang]:
        assert f"## {heading}" in result.output
    decimal = "," if lang == "da" else "."
    assert f"ε = 0{decimal}99" in result.output  # calibrated to just under the target ε = 1
    assert "δ = 10⁻⁶" in result.output
    # What a reviewer and a quality consultant each need: the cost against a fellow practice,
    # and each indicator's expected precision with the goal's verdict.
    assert ("anden deltagende praksis" if lang == "da" else "fellow participant") in result.output
    met = "Manifestet når målet." if lang == "da" else "The manifest meets it."
    assert met in result.output


def test_audit_subcommand_form_formats_and_output_file(runner, tmp_path):
    out = tmp_path / "report.html"
    result = run(
        runner,
        "audit",
        "report",
        default_manifest_path(),
        "--format",
        "html",
        "--lang",
        "en",
        "--out",
        out,
    )
    assert result.exit_code == 0, result.output
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html
    for forbidden in ("<script", "<link", "src=", "http://", "https://"):
        assert forbidden not in html
    for heading in CHECKLIST["en"]:
        assert heading in html
    result = run(runner, "audit", "--format", "json", default_manifest_path())
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["figures"]["per_release"]["epsilon"] <= 1.0
    assert doc["figures"]["budget"]["schedule_fits"] is True
    assert doc["figures"]["definitions"]["state"] == "ok"
    assert [s["key"] for s in doc["sections"]][-1] == "art30"
    result = run(runner, "audit", default_manifest_path(), "--format", "pdf")
    assert result.exit_code != 0


def test_audit_reports_budget_used_signature_and_log(runner, signed, tmp_path):
    manifest_path, _, public = signed
    manifest = load_manifest(manifest_path).manifest
    ledger = Ledger.create(tmp_path / "ledger", "practice-0123", generate_private_key())
    ledger.charge(
        ChargeRequest(
            "r1",
            "coordinator",
            manifest,
            date(2026, 3, 31),
            manifest_release(manifest),
            b"masked" * 10,
            cluster_length(manifest),
        )
    )
    log_path = tmp_path / "log.jsonl"
    log = TransparencyLog.open(
        log_path, generate_private_key(), clock=lambda: datetime(2026, 4, 2, tzinfo=UTC)
    )
    log.publish(Statement.from_receipt(ledger.charges()[0].signed), ledger.identity)
    result = run(
        runner,
        "--lang",
        "en",
        "audit",
        manifest_path,
        "--ledger",
        tmp_path / "ledger",
        "--log",
        log_path,
        "--key",
        public,
    )
    assert result.exit_code == 0, result.output
    assert "## Budget used so far" in result.output
    assert "| 2026 | 1 | 0 |" in result.output
    assert "The log " in result.output and "verifies: 1 entries" in result.output
    assert "1 of them signed by 1 practices" in result.output
    assert "approval (signed by the practice)" in result.output  # what the log holds
    assert "signature by key" in result.output and ": valid." in result.output
    (tmp_path / "ledger" / "ledger.jsonl").write_text("garbage\n")
    result = run(runner, "--lang", "en", "audit", manifest_path, "--ledger", tmp_path / "ledger")
    assert result.exit_code == 0
    assert "The ledger could not be read" in result.output and "corrupt" in result.output


def test_verify_log_command(runner, tmp_path):
    log_path = tmp_path / "log.jsonl"
    key = generate_private_key()
    log = TransparencyLog.open(log_path, key)
    for i in range(3):
        log.append(
            "round_aborted",
            {
                "round_id": f"r{i}",
                "cluster": "K01",
                "reference_date": "2026-03-31",
                "manifest_hash": "a" * 64,
                "reason": "too few survivors",
                "attempt": 1,
                "retry": False,
            },
        )
    public = tmp_path / "log.pub"
    write_public_key(public, key.public_key(), form="hex")
    result = run(runner, "--lang", "en", "audit", "verify-log", log_path, "--log-key", public)
    assert result.exit_code == 0, result.output
    assert "Log intact" in result.output and "3 entries (round_aborted 3)" in result.output
    head = f"{log.head().tree_size}:{log.head().root}"
    assert head in result.output
    lines = log_path.read_text().splitlines()
    log_path.write_text("\n".join(lines[:-2]) + "\n")  # the last entry and its head cut off
    assert run(runner, "audit", "verify-log", log_path).exit_code == 0  # a valid prefix ...
    result = run(runner, "audit", "verify-log", log_path, "--expect-head", head)
    fails(result, LogError, "cut back")  # ... but not the log whose head was published
    log_path.write_text("\n".join([lines[0], *lines[3:]]) + "\n")
    fails(run(runner, "audit", "verify-log", log_path), LogError, "log.jsonl:2", "index 1")
    other = tmp_path / "other.pub"
    write_public_key(other, generate_private_key().public_key(), form="hex")
    log_path.write_text("\n".join(lines) + "\n")
    fails(run(runner, "audit", "verify-log", log_path, "--log-key", other), LogError, "log key")
    result = run(runner, "audit", "verify-log", log_path, "--expect-head", "3:xyz")
    assert result.exit_code != 0 and "SIZE:ROOT" in result.output
