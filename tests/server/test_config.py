"""`server.toml` is read strictly: defaults, resolved paths, and errors naming file and key."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from server.config import ConfigError, load_server_settings
from tests.langs import in_english


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin English messages; tests/cli/test_errors.py pins the Danish."""
    in_english(monkeypatch)


VALID = """
[coordinator]
listen = "127.0.0.1:0"
port_file = "coordinator.port"
store = "coordinator.sqlite"

[tls]
pki_dir = "pki"

[federation]
file = "federation.toml"
registry = "registry.json"
registry_authority = "authority.pub"

[manifest]
file = "manifest.toml"

[transparency]
key = "log.key"

[rounds]
schedule = ["2026-09-30", 2026-12-31]
start_when = "manual"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deploy" / "server.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_resolves_paths_and_fills_defaults(tmp_path):
    path = write(tmp_path, VALID)
    s = load_server_settings(path)
    base = path.parent.resolve()
    assert (s.host, s.port) == ("127.0.0.1", 0)
    assert s.port_file == base / "coordinator.port"
    assert s.store == base / "coordinator.sqlite"
    assert s.log is None
    assert s.state_dir == base / "coordinator-state"
    assert s.trigger_dir == base / "coordinator-state" / "triggers"
    assert s.registry_authority == base / "authority.pub"
    assert s.rounds.schedule == (date(2026, 9, 30), date(2026, 12, 31))
    assert s.rounds.start_when == "manual"
    assert (s.rounds.ready_after_s, s.rounds.stage_timeout_s) == (30.0, 10.0)
    assert s.rounds.exit_when_done is False
    assert s.log_key == base / "log.key"
    assert s.log_file == base / "coordinator-state" / "transparency.log"
    assert (s.rounds.max_attempts, s.rounds.retry_after_s) == (2, 600.0)


def test_rounds_may_be_left_out(tmp_path):
    head, _, _ = VALID.partition("[rounds]")
    rounds = load_server_settings(write(tmp_path, head)).rounds
    assert rounds.schedule == () and rounds.start_when == "all_connected"


@pytest.mark.parametrize(
    ("old", "new", "key", "fragment"),
    [
        ('listen = "127.0.0.1:0"', 'listen = "nohost"', "coordinator.listen", "HOST:PORT"),
        ('listen = "127.0.0.1:0"', 'listen = "h:70000"', "coordinator.listen", "HOST:PORT"),
        ('listen = "127.0.0.1:0"\n', "", "coordinator.listen", "required"),
        ('store = "coordinator.sqlite"', "store = 3", "coordinator.store", ""),
        ('pki_dir = "pki"', 'pki_dir = "pki"\npki = "x"', "tls.pki", "unknown key"),
        ("[manifest]", "[manifesto]\nx = 1\n[manifest]", "manifesto", "unknown"),
        ('"2026-09-30"', '"30-09-2026"', "rounds.schedule[0]", "YYYY-MM-DD"),
        ("2026-12-31]", "7]", "rounds.schedule[1]", "YYYY-MM-DD"),
        ('start_when = "manual"', 'start_when = "later"', "rounds.start_when", "manual"),
        ('start_when = "manual"', "stage_timeout_s = 0", "rounds.stage_timeout_s", ""),
        ('start_when = "manual"', 'ready_after_s = "soon"', "rounds.ready_after_s", ""),
        ('start_when = "manual"', "exit_when_done = 1", "rounds.exit_when_done", "true or false"),
        ('start_when = "manual"', "max_attempts = 3", "rounds.max_attempts", "2"),
        ('key = "log.key"', 'log = "t.log"', "transparency.key", "required"),
    ],
)
def test_errors_name_the_file_and_the_key(tmp_path, old, new, key, fragment):
    assert old in VALID
    path = write(tmp_path, VALID.replace(old, new, 1))
    with pytest.raises(ConfigError) as info:
        load_server_settings(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert f"key '{key}'" in message, message
    assert fragment in message, message


def test_an_unreadable_or_broken_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"server\.toml"):
        load_server_settings(tmp_path / "server.toml")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_server_settings(write(tmp_path, "[coordinator\n"))
