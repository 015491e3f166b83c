"""Provisioning an agent directory and starting from it: what must work, what must refuse.

An agent that would refuse every round must not start and look healthy, so
each unusable piece (registry, identity key, manifest approval, ledger,
extract) is a start-up error naming the file.
"""

from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import replace

import pytest

from client.agent.errors import AgentStartupError, ProvisionError
from client.agent.provision import (
    provision_agent,
    provisioned_from_config,
    write_practice_registry,
)
from client.agent.startup import load_agent
from client.extract.errors import ExtractError
from common.keyfiles import public_bytes
from privacy.errors import KeyFileError, LedgerCorrupt
from privacy.ledger import LEDGER_FILE
from privacy.signing import generate_private_key
from privacy.trust import load_trust_store, withdraw_approval
from protocols.errors import RegistryError, SignedDocumentError
from protocols.identity import IdentityKey
from protocols.registry import make_registry
from tests.client.agent.world import TODAY, default_manifest, provision_world, write_signed_manifest
from tests.langs import in_english
from transport.signed_files import load_registry, write_registry


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


@pytest.fixture
def world(tmp_path):
    return provision_world(tmp_path, n=3)


def test_provisioned_agents_start_and_match_the_signed_registry(world):
    registry = load_registry(world.registry_path, world.registry_authority.public_key)
    assert [e.practice_id for e in registry.entries] == ["P0001", "P0002", "P0003"]
    for agent in world.agents:
        settings = world.settings(agent.practice_id)
        key = agent.directory / "identity.key"
        assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
        assert registry.identity_key(agent.practice_id) == agent.identity_public_key
        assert provisioned_from_config(agent.config_path).identity_public_key == (
            agent.identity_public_key
        )
        document = tomllib.loads(agent.config_path.read_text())
        assert not any(str(v).startswith("/") for v in _leaves(document))  # movable directory
        context = load_agent(settings, today=TODAY)
        assert context.practice_id == agent.practice_id and context.cluster_id == "K01"
        assert context.ledger.charges() == []
        assert context.manifests[0].manifest.hash() == default_manifest().hash()
        store = load_trust_store(settings.trust_dir)
        assert [a.manifest_hash for a in store.approvals] == [default_manifest().hash()]


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def test_provisioning_never_overwrites_and_refuses_before_writing(world, tmp_path):
    agent = world.agents[0]
    key_before = (agent.directory / "identity.key").read_bytes()
    options = dict(
        practice_id=agent.practice_id,
        cluster_id="K01",
        extract_dir=tmp_path / "extracts" / agent.practice_id,
        pki_dir=world.pki_dir,
        manifests=[world.manifest_path],
        manifest_authority=world.manifest_authority.public_key(),
        registry_path=world.registry_path,
        registry_authority_key=world.registry_authority.public_key,
        log_key=public_bytes(world.log_key.public_key()),
        approved_by="Dr. Test",
        today=TODAY,
        coordinator_address="127.0.0.1:7443",
    )
    with pytest.raises(ProvisionError, match="already exists"):
        provision_agent(agent.directory, **options)
    assert (agent.directory / "identity.key").read_bytes() == key_before

    unsigned = tmp_path / "unsigned.toml"
    write_signed_manifest(default_manifest(), world.manifest_authority, unsigned, signed=False)
    fresh = tmp_path / "agents" / "P0099"
    with pytest.raises(ProvisionError, match="cannot approve"):
        provision_agent(fresh, **{**options, "practice_id": "P0099", "manifests": [unsigned]})
    assert not fresh.exists()


def test_a_registry_signed_by_another_authority_stops_the_agent(world):
    settings = world.settings("P0001")
    registry = load_registry(world.registry_path, world.registry_authority.public_key)
    write_registry(registry, world.registry_path, IdentityKey.generate())
    with pytest.raises(SignedDocumentError, match=r"registry\.json"):
        load_agent(settings, today=TODAY)


def test_an_identity_key_the_registry_does_not_list_stops_the_agent(world):
    settings = world.settings("P0001")
    registry = load_registry(world.registry_path, world.registry_authority.public_key)
    entries = [
        replace(e, identity_key=IdentityKey.generate().public_key)
        if e.practice_id == "P0001"
        else e
        for e in registry.entries
    ]
    forged = make_registry(entries, registry.issuer, registry.issued)
    write_registry(forged, world.registry_path, world.registry_authority)
    with pytest.raises(AgentStartupError, match="identity key is not the one"):
        load_agent(settings, today=TODAY)


def test_a_withdrawn_approval_stops_the_agent(world):
    settings = world.settings("P0002")
    withdraw_approval(settings.trust_dir, default_manifest().hash())
    with pytest.raises(AgentStartupError, match=r"manifest\.toml.*unapproved"):
        load_agent(settings, today=TODAY)


def test_an_expired_manifest_stops_the_agent(world):
    settings = world.settings("P0002")
    with pytest.raises(AgentStartupError, match="expired"):
        load_agent(settings, today=TODAY.replace(year=2029))


def test_a_corrupt_ledger_missing_extract_or_open_key_stops_the_agent(world):
    settings = world.settings("P0003")
    ledger_file = settings.ledger_dir / LEDGER_FILE
    original = ledger_file.read_bytes()
    ledger_file.write_bytes(original[:-3])
    with pytest.raises(LedgerCorrupt, match=LEDGER_FILE):
        load_agent(settings, today=TODAY)
    ledger_file.write_bytes(original)

    os.chmod(settings.identity_key, 0o644)
    with pytest.raises(KeyFileError, match="too open"):
        load_agent(settings, today=TODAY)
    os.chmod(settings.identity_key, 0o600)

    (settings.extract_dir / "patients.csv").unlink()
    with pytest.raises(ExtractError):
        load_agent(settings, today=TODAY)


def test_the_registry_helper_refuses_two_practices_with_one_key(world):
    twin = replace(world.agents[1], identity_public_key=world.agents[0].identity_public_key)
    with pytest.raises(RegistryError, match="P0001"):
        write_practice_registry(
            world.registry_path,
            [world.agents[0], twin],
            IdentityKey(generate_private_key()),
            issuer="x",
            issued=TODAY,
        )
