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

    [transparency]
    key = "log.key"                 # Ed25519 key that signs the log's tree heads (0600)
    log = "transparency.log"        # default: STATE_DIR/transparency.log

    [rounds]
    schedule = ["2026-09-30"]       # reference dates run when a cluster is ready
    start_when = "all_connected"    # or "manual": only `klynge server trigger`
    ready_after_s = 30              # then start with whoever is connected (>= minimum)
    stage_timeout_s = 10
    exit_when_done = false          # the demo stops the coordinator after its rounds
    max_attempts = 2                # a period whose round aborted is run once more ...
    retry_after_s = 600             # ... no sooner than this after the abort

    [operations]                    # all optional, all off by default
    metrics = "127.0.0.1:9464"      # Prometheus text format at http://HOST:PORT/metrics
    reflection = false              # gRPC server reflection (grpcurl); health is always on
    log_format = "json"             # or "text": one readable line per event

`klynge server init` writes this file, commented, for a new deployment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from common.errors import FileKeyError
from common.i18n import register, t
from common.logs import LOG_FORMATS
from common.tomlfile import Table, read_table
from privacy.ledger import MAX_ATTEMPTS_PER_PERIOD

START_WHEN = ("all_connected", "manual")


class ConfigError(FileKeyError):
    """`server.toml` is missing, malformed or has a key it should not; names file and key."""


@dataclass(frozen=True)
class RoundSettings:
    schedule: tuple[date, ...]
    start_when: str
    ready_after_s: float
    stage_timeout_s: float
    exit_when_done: bool
    max_attempts: int = 2
    retry_after_s: float = 600.0


@dataclass(frozen=True)
class OperationsSettings:
    metrics: tuple[str, int] | None = None  # (host, port) to serve /metrics on
    reflection: bool = False
    log_format: str = "json"


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
    log_key: Path
    log_file: Path
    rounds: RoundSettings
    operations: OperationsSettings = OperationsSettings()

    @property
    def trigger_dir(self) -> Path:
        return self.state_dir / "triggers"


def load_server_settings(path: Path) -> ServerSettings:
    path = Path(path)
    root = read_table(path, error=ConfigError, what="server")
    sections = ("coordinator", "tls", "federation", "manifest", "transparency")
    coordinator, tls, federation, manifest, transparency = (
        root.table(s, required=False) for s in sections
    )
    host, port = _address(coordinator, "listen", coordinator.string("listen"))
    state_dir = coordinator.path_value("state_dir", required=False, default="coordinator-state")
    settings = ServerSettings(
        source=path,
        host=host,
        port=port,
        port_file=coordinator.path_value("port_file", required=False),
        store=coordinator.path_value("store"),
        log=coordinator.path_value("log", required=False),
        state_dir=state_dir,
        pki_dir=tls.path_value("pki_dir"),
        federation=federation.path_value("file"),
        registry=federation.path_value("registry"),
        registry_authority=federation.path_value("registry_authority"),
        manifest=manifest.path_value("file"),
        log_key=transparency.path_value("key"),
        log_file=transparency.path_value("log", required=False) or state_dir / "transparency.log",
        rounds=_rounds(root.table("rounds", required=False)),
        operations=_operations(root.table("operations", required=False)),
    )
    for table in (coordinator, tls, federation, manifest, transparency, root):
        table.done()
    return settings


register(
    {
        "server.config.address": {
            "en": "must be HOST:PORT, e.g. 127.0.0.1:50051",
            "da": "skal være VÆRT:PORT, fx 127.0.0.1:50051",
        }
    }
)


def _address(table: Table, key: str, value: str) -> tuple[str, int]:
    host, _, port_text = value.rpartition(":")
    if not host or not port_text.isdigit() or not 0 <= int(port_text) < 65536:
        raise table.fail(key, t("server.config.address"))
    return host, int(port_text)


def _operations(t: Table) -> OperationsSettings:
    metrics = t.string("metrics", required=False)
    ops = OperationsSettings(
        metrics=_address(t, "metrics", metrics) if metrics else None,
        reflection=t.boolean("reflection", required=False, default=False),
        log_format=t.string("log_format", required=False, default="json", choices=LOG_FORMATS),
    )
    t.done()
    return ops


def _rounds(t: Table) -> RoundSettings:
    def day(key: str, value: object) -> date:
        return t.as_date(key, value, text=True)

    rounds = RoundSettings(
        schedule=t.array("schedule", day, required=False) or (),
        start_when=t.string(
            "start_when", required=False, default="all_connected", choices=START_WHEN
        ),
        ready_after_s=t.number("ready_after_s", required=False, default=30.0, positive=True),
        stage_timeout_s=t.number("stage_timeout_s", required=False, default=10.0, positive=True),
        exit_when_done=t.boolean("exit_when_done", required=False, default=False),
        # Agents accept no more rounds per period than this (each is charged in full).
        max_attempts=t.integer(
            "max_attempts", required=False, default=2, minimum=1, maximum=MAX_ATTEMPTS_PER_PERIOD
        ),
        retry_after_s=t.number("retry_after_s", required=False, default=600.0, minimum=0),
    )
    t.done()
    return rounds
