"""The coordinator's configuration file (server.toml).

Relative paths resolve against the file's own directory, so a deployment
directory can be moved as a whole.

    [coordinator]
    listen = "127.0.0.1:0"          # port 0: pick a free port, write it to port_file
    port_file = "coordinator.port"
    store = "coordinator.sqlite"
    log = "coordinator.log"         # JSON lines; never values, vectors or keys
    state_dir = "coordinator"       # trigger spool and other runtime files

    [tls]
    pki_dir = "pki"                 # from `klynge pki init`

    [federation]
    file = "federation.toml"        # practice -> cluster -> region
    registry = "registry.json"      # the signed practice registry (identity keys)
    registry_authority = "authority.pub"

    [manifest]
    file = "manifest.toml"          # the signed protocol manifest

    [rounds]
    schedule = ["2026-09-30"]       # reference dates run when a cluster is ready
    start_when = "all_connected"    # or "manual": only `klynge server trigger`
    ready_after_s = 30              # then start with whoever is connected (>= minimum)
    stage_timeout_s = 10
    exit_when_done = false          # the demo stops the coordinator after its rounds
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from common.errors import KlyngeError


class ConfigError(KlyngeError):
    def __init__(self, file: Path, key: str, message: str) -> None:
        super().__init__(f"{file}, key '{key}': {message}" if key else f"{file}: {message}")


@dataclass(frozen=True)
class RoundSettings:
    schedule: tuple[date, ...]
    start_when: str
    ready_after_s: float
    stage_timeout_s: float
    exit_when_done: bool


@dataclass(frozen=True)
class ServerSettings:
    source: Path
    host: str
    port: int
    port_file: Path | None
    store: Path
    log: Path | None
    state_dir: Path
    pki_dir: Path
    federation: Path
    registry: Path
    registry_authority: Path
    manifest: Path
    rounds: RoundSettings

    @property
    def trigger_dir(self) -> Path:
        return self.state_dir / "triggers"


_SECTIONS = {
    "coordinator": ({"listen", "store"}, {"port_file", "log", "state_dir"}),
    "tls": ({"pki_dir"}, set()),
    "federation": ({"file", "registry", "registry_authority"}, set()),
    "manifest": ({"file"}, set()),
    "rounds": (
        set(),
        {"schedule", "start_when", "ready_after_s", "stage_timeout_s", "exit_when_done"},
    ),
}


def load_server_settings(path: Path) -> ServerSettings:
    path = Path(path)
    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(path, "", f"cannot be read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, "", f"not valid TOML: {exc}") from None
    unknown = set(data) - set(_SECTIONS)
    if unknown:
        raise ConfigError(path, sorted(unknown)[0], "unknown section")
    for section, (required, optional) in _SECTIONS.items():
        table = data.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(path, section, "must be a table")
        for key in required - set(table):
            raise ConfigError(path, f"{section}.{key}", "is required")
        for key in set(table) - required - optional:
            raise ConfigError(path, f"{section}.{key}", "unknown key")
    base = path.parent

    def p(section: str, key: str, default: str | None = None) -> Path | None:
        value = data.get(section, {}).get(key, default)
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise ConfigError(path, f"{section}.{key}", "must be a path")
        return (base / value).resolve()

    def given(section: str, key: str, default: str | None = None) -> Path:
        value = p(section, key, default)
        assert value is not None  # checked against _SECTIONS above, or it has a default
        return value

    listen = data["coordinator"]["listen"]
    host, _, port_text = str(listen).rpartition(":")
    if not host or not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise ConfigError(path, "coordinator.listen", "must be HOST:PORT, e.g. 127.0.0.1:50051")
    rounds = data.get("rounds", {})
    schedule = []
    for i, value in enumerate(rounds.get("schedule", [])):
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                value = None
        if not isinstance(value, date):
            raise ConfigError(path, f"rounds.schedule[{i}]", "must be a date YYYY-MM-DD")
        schedule.append(value)
    start_when = rounds.get("start_when", "all_connected")
    if start_when not in ("all_connected", "manual"):
        raise ConfigError(path, "rounds.start_when", "must be 'all_connected' or 'manual'")

    def positive(key: str, default: float) -> float:
        value = rounds.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError(path, f"rounds.{key}", "must be a positive number of seconds")
        return float(value)

    exit_when_done = rounds.get("exit_when_done", False)
    if not isinstance(exit_when_done, bool):
        raise ConfigError(path, "rounds.exit_when_done", "must be true or false")
    return ServerSettings(
        source=path,
        host=host,
        port=int(port_text),
        port_file=p("coordinator", "port_file"),
        store=given("coordinator", "store"),
        log=p("coordinator", "log"),
        state_dir=given("coordinator", "state_dir", "coordinator-state"),
        pki_dir=given("tls", "pki_dir"),
        federation=given("federation", "file"),
        registry=given("federation", "registry"),
        registry_authority=given("federation", "registry_authority"),
        manifest=given("manifest", "file"),
        rounds=RoundSettings(
            schedule=tuple(schedule),
            start_when=start_when,
            ready_after_s=positive("ready_after_s", 30),
            stage_timeout_s=positive("stage_timeout_s", 10),
            exit_when_done=exit_when_done,
        ),
    )
