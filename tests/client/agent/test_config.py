"""`agent.toml` is read strictly: every error names the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.agent.config import FORMAT, load_settings
from client.agent.errors import AgentConfigError
from common.keyfiles import write_public_key
from protocols.identity import IdentityKey
from tests.langs import in_english


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


KEY = IdentityKey.generate(lambda n: bytes(range(n))).public_key.hex()  # fixed: stable test ids

VALID = f"""
format = "{FORMAT}"
practice_id = "P0001"
cluster_id = "K01"
extract_dir = "extract"
state_dir = "state"
manifests = ["../manifest.toml"]

[coordinator]
address = "coordinator.region:7443"
log_key = "{KEY}"

[identity]
pki_dir = "../pki"
key = "identity.key"

[registry]
path = "../registry.json"
authority_key = "{KEY}"

[trust]
dir = "trust"
"""


def write(tmp_path: Path, text: str) -> Path:
    directory = tmp_path / "agent"
    directory.mkdir(exist_ok=True)
    path = directory / "agent.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_config_resolves_paths_against_its_own_directory(tmp_path):
    path = write(tmp_path, VALID)
    s = load_settings(path)
    base = path.parent.resolve()
    assert s.practice_id == "P0001" and s.cluster_id == "K01"
    assert s.extract_dir == base / "extract"
    assert s.manifests == ((tmp_path / "manifest.toml").resolve(),)
    assert s.ledger_dir == base / "state" / "ledger"
    assert s.status_path == base / "state" / "status.json"
    assert s.registry_authority_key.hex() == KEY
    assert s.coordinator.target() == "coordinator.region:7443"
    assert s.tls_files.cert == (tmp_path / "pki" / "practices" / "P0001.pem").resolve()
    assert s.coordinator.region_wait_s == 30.0
    assert s.coordinator.log_key.hex() == KEY
    assert s.log_head_path == base / "state" / "log_head.json"


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            'format = "klynge-agent/1"',
            'format = "klynge-agent/9"',
            r"key 'format': unsupported format",
        ),
        (
            'practice_id = "P0001"',
            'practice_id = "P 1"',
            r"key 'practice_id': 'P 1' is not of the form",
        ),
        ('practice_id = "P0001"', "", r"key 'practice_id': required key is missing"),
        (
            'manifests = ["../manifest.toml"]',
            "manifests = []",
            r"key 'manifests': must not be empty",
        ),
        (
            'state_dir = "state"',
            'state_dir = "state"\nstat_dir = "x"',
            r"key 'stat_dir': unknown key",
        ),
        (
            'address = "coordinator.region:7443"',
            'address = "nohost"',
            r"key 'coordinator\.address': must be host:port",
        ),
        (
            'address = "coordinator.region:7443"',
            'address = "h:1"\nport_file = "p"',
            r"key 'coordinator': set exactly one of address",
        ),
        (
            'key = "identity.key"',
            "key = 7",
            r"key 'identity\.key': must be non-empty text, got an integer",
        ),
        (
            f'authority_key = "{KEY}"',
            'authority_key = "abc"',
            r"key 'registry\.authority_key': .*64",
        ),
        ('[trust]\ndir = "trust"', "[trust]\n", r"key 'trust\.dir': required key is missing"),
        (
            'address = "coordinator.region:7443"',
            'address = "h:1"\nfetch_timeout_s = -1',
            r"key 'coordinator\.fetch_timeout_s': must be at least 0",
        ),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, old, new, message):
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new))
    with pytest.raises(AgentConfigError, match=message) as info:
        load_settings(path)
    assert str(info.value).startswith(str(path.resolve()))


def test_unreadable_or_invalid_files(tmp_path):
    with pytest.raises(AgentConfigError, match="agent configuration file not found"):
        load_settings(tmp_path / "nope.toml")
    with pytest.raises(AgentConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "format = \n"))
    with pytest.raises(AgentConfigError, match="is a directory"):
        load_settings(tmp_path)


@pytest.mark.parametrize("form", ["hex", "pem"])
def test_the_authority_key_may_come_from_a_file(tmp_path, form):
    key = IdentityKey.generate().public_key
    write_public_key(tmp_path / "registry-authority.pub", key, form=form)
    text = VALID.replace(
        f'authority_key = "{KEY}"', 'authority_key_file = "../registry-authority.pub"'
    )
    assert load_settings(write(tmp_path, text)).registry_authority_key == key
    missing = text.replace("registry-authority.pub", "missing.pub")
    with pytest.raises(AgentConfigError, match=r"registry\.authority_key_file"):
        load_settings(write(tmp_path, missing))


def test_a_port_file_is_read_when_the_coordinator_has_written_it(tmp_path):
    text = VALID.replace('address = "coordinator.region:7443"', 'port_file = "../port"')
    coordinator = load_settings(write(tmp_path, text)).coordinator
    port_file = tmp_path / "port"
    clock = iter(range(1000))
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:
            port_file.write_text("40123\n")

    assert coordinator.target(sleep=sleep, clock=lambda: float(next(clock))) == "127.0.0.1:40123"
    assert len(waits) == 3
    port_file.write_text("localhost:7000")
    assert coordinator.target() == "localhost:7000"
    port_file.write_text("port 80")
    with pytest.raises(AgentConfigError, match="expected a port number"):
        coordinator.target()
    port_file.unlink()
    with pytest.raises(AgentConfigError, match="did not appear within 30 s"):
        coordinator.target(sleep=lambda _s: None, clock=lambda: float(next(clock)) * 10)
