"""`klynge agent status|run|init|registry` through the real CLI (CliRunner on klynge.cli.root)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from typer.testing import CliRunner

from client.agent.config import load_settings
from client.agent.status import status_document, write_status
from common.keyfiles import load_private_key, write_private_key, write_public_key
from klynge.cli import root
from privacy.ledger import ChargeRequest, Ledger
from privacy.manifest import load_manifest
from privacy.plan import round_release
from privacy.receipts import format_epsilon
from privacy.signing import generate_private_key
from protocols.identity import IdentityKey
from tests.client.agent.world import REF, TODAY, provision_world, write_signed_manifest
from tests.privacy.builders import cluster_length
from transport.signed_files import load_registry

runner = CliRunner()


@pytest.fixture(autouse=True)
def default_language(monkeypatch):
    monkeypatch.delenv("KLYNGE_LANG", raising=False)


@pytest.fixture
def world(tmp_path):
    return provision_world(tmp_path, n=2)


def invoke(*args: str):
    return runner.invoke(root, list(args))


def test_status_before_the_agent_ever_ran_is_danish_by_default(world):
    config = str(world.config("P0001"))
    result = invoke("agent", "status", "--config", config)
    assert result.exit_code == 0, result.output
    assert "Praksis P0001 (klynge K01)" in result.output
    assert "Agenten har ikke kørt endnu" in result.output
    assert f"Budget {TODAY.year}: brugt ε = 0,000 af 3,000, tilbage ε = 3,000" in result.output
    assert "(δ = 10⁻⁶; 0 udgivelser, 0 sendt)" in result.output
    assert "Seneste kvittering: ingen endnu" in result.output
    english = invoke("--lang", "en", "agent", "status", "--config", config)
    assert "The agent has not run yet" in english.output
    assert "Last receipt: none yet (nothing has left the practice)" in english.output


def test_status_shows_connection_last_round_budget_left_and_last_receipt(world):
    settings = world.settings("P0001")
    manifest = load_manifest(world.manifest_path).manifest
    ledger = Ledger.open(settings.ledger_dir, key=load_private_key(settings.identity_key))
    receipt = ledger.charge(
        ChargeRequest(
            round_id="ab" * 16,
            recipient="coordinator:K01",
            manifest=manifest,
            reference_date=REF,
            release=round_release(manifest, 5),
            payload=b"\x00" * 2680,
            coordinates=cluster_length(manifest),
        )
    )
    ledger.mark_sent("ab" * 16)
    write_status(
        settings.status_path,
        status_document(
            practice_id="P0001",
            cluster_id="K01",
            coordinator="127.0.0.1:7443",
            running=True,
            connection={"connected": True, "last_error": None},
            last_round=None,
            budget=[],
            receipt=None,
            releases={"cluster": {"file": "releases/cluster-abab.json", "round_id": "ab"}},
            updated_at="2026-11-23T10:00:00+00:00",
            pid=os.getpid(),
        ),
    )
    result = invoke("--lang", "en", "agent", "status", "--config", str(settings.path))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Connection: connected to 127.0.0.1:7443" in out
    assert "Last round: none yet" in out
    left = 3.0 - receipt.year_epsilon_spent
    assert f"spent ε = {receipt.year_epsilon_spent:.3f} of 3.000, left ε = {left:.3f}" in out
    assert "(δ = 10⁻⁶; 1 releases, 1 sent)" in out
    assert "Last receipt: Sent to coordinator:K01" in out and "2680 bytes" in out
    assert f"Downloaded cluster result: {settings.state_dir}/releases/cluster-abab.json" in out
    danish = invoke("agent", "status", "--config", str(settings.path)).output
    assert f"Hentet klyngeresultat: {settings.state_dir}/releases/cluster-abab.json" in danish
    assert f"Privatlivsomkostning ε = {format_epsilon(receipt.epsilon, 'da')} (δ = 10⁻⁶)" in danish

    as_json = json.loads(invoke("agent", "status", "--config", str(settings.path), "--json").output)
    assert as_json["last_receipt"]["round_id"] == "ab" * 16 and as_json["last_receipt"]["sent"]
    assert as_json["status"]["connection"]["connected"] is True
    assert as_json["budget"][0]["epsilon_budget"] == 3.0

    # a status written by a process that is gone is not reported as connected
    document = json.loads(settings.status_path.read_text())
    document["pid"] = _dead_pid()
    settings.status_path.write_text(json.dumps(document))
    stopped = invoke("--lang", "en", "agent", "status", "--config", str(settings.path))
    assert "Connection: the agent is not running" in stopped.output


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_config_errors_are_one_line_and_a_non_zero_exit(world, tmp_path):
    missing = invoke("agent", "status", "--config", str(tmp_path / "none.toml"))
    assert missing.exit_code == 2
    assert missing.output.strip().count("\n") == 0
    assert "none.toml" in missing.output and "Traceback" not in missing.output

    config = world.config("P0001")
    config.write_text(config.read_text().replace("[trust]", "[trust]\ndirr = 1"))
    bad = invoke("agent", "run", "--config", str(config), "--once")
    assert bad.exit_code == 2
    assert "nøgle 'trust.dirr': ukendt nøgle" in bad.output and "Traceback" not in bad.output

    timeout_without_once = invoke("agent", "run", "--config", str(config), "--timeout", "3")
    assert timeout_without_once.exit_code != 0 and "--once" in timeout_without_once.output


def test_run_refuses_to_start_when_the_registry_is_missing(world):
    world.registry_path.unlink()
    result = invoke("agent", "run", "--config", str(world.config("P0001")), "--once")
    assert result.exit_code != 0
    assert "registry.json" in result.output and "Traceback" not in result.output
    two = invoke(
        "agent",
        "run",
        "--config",
        str(world.config("P0001")),
        "--config",
        str(world.config("P0001")),
    )
    assert two.exit_code != 0 and "name the same practice" in two.output


@pytest.mark.parametrize("authority_form", ["hex", "pem file"])
def test_init_and_registry_commands_set_up_a_startable_agent(tmp_path, world, authority_form):
    authority = generate_private_key()
    write_private_key(tmp_path / "registry-authority.pem", authority)
    manifest_key = generate_private_key()
    write_public_key(tmp_path / "manifest-authority.pub.pem", manifest_key.public_key())
    manifest = tmp_path / "m2.toml"
    write_signed_manifest(load_manifest(world.manifest_path).manifest, manifest_key, manifest)
    registry_public = IdentityKey(authority).public_key.hex()
    if authority_form == "pem file":  # issue 14: what `klynge manifest keygen` writes
        write_public_key(tmp_path / "registry-authority.pub.pem", authority.public_key())
        registry_public = str(tmp_path / "registry-authority.pub.pem")
    result = invoke(
        "--lang",
        "en",
        "agent",
        "init",
        str(tmp_path / "new-agent"),
        "--practice",
        "P0042",
        "--cluster",
        "K02",
        "--extract",
        str(tmp_path / "extracts" / "P0001"),
        "--pki",
        str(tmp_path / "pki"),
        "--manifest",
        str(manifest),
        "--manifest-authority",
        str(tmp_path / "manifest-authority.pub.pem"),
        "--registry",
        str(tmp_path / "registry2.json"),
        "--registry-authority-key",
        registry_public,
        "--log-key",
        registry_public,  # any Ed25519 public key will do for set-up
        "--approved-by",
        "Dr. Jensen",
        "--port-file",
        str(tmp_path / "coordinator.port"),
        "--date",
        TODAY.isoformat(),
    )
    assert result.exit_code == 0, result.output
    assert "Agent for P0042 set up" in result.output
    config = tmp_path / "new-agent" / "agent.toml"
    assert load_settings(config).registry_authority_key == IdentityKey(authority).public_key
    registry = invoke(
        "agent",
        "registry",
        "--out",
        str(tmp_path / "registry2.json"),
        "--authority",
        str(tmp_path / "registry-authority.pem"),
        "--config",
        str(config),
        "--config",
        str(world.config("P0001")),
    )
    assert registry.exit_code == 0, registry.output
    loaded = load_registry(tmp_path / "registry2.json", IdentityKey(authority).public_key)
    assert {e.practice_id: e.cluster for e in loaded.entries} == {"P0001": "K01", "P0042": "K02"}
    again = invoke(
        "agent",
        "init",
        str(tmp_path / "new-agent"),
        "--practice",
        "P0042",
        "--cluster",
        "K02",
        "--extract",
        "x",
        "--pki",
        "x",
        "--manifest",
        str(manifest),
        "--manifest-authority",
        str(tmp_path / "manifest-authority.pub.pem"),
        "--registry",
        "r.json",
        "--registry-authority-key",
        registry_public,
        "--log-key",
        registry_public,  # any Ed25519 public key will do for set-up
        "--approved-by",
        "x",
        "--coordinator",
        "localhost:1",
    )
    assert again.exit_code != 0 and "already exists" in again.output
