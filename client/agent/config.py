"""`agent.toml`: everything one practice agent needs to know, read strictly.

Every key is typed and unknown keys are errors (a misspelt `maifests` must not
silently leave the agent without a manifest). Relative paths resolve against
the directory of the config file, so an agent directory can be moved whole.
Errors name the file and the key.

    format = "klynge-agent/1"
    practice_id = "P0001"
    cluster_id = "K01"
    extract_dir = "../federation/practices/P0001"
    state_dir = "state"                  # ledger/, receipts/, releases/, status.json
    manifests = ["../manifest.toml"]     # the manifests this agent may run rounds under

    [coordinator]
    address = "coordinator.region:7443"  # or: port_file = "..." (+ host = "127.0.0.1")
    server_name = "localhost"            # optional: name on the coordinator's certificate
    port_wait_s = 30                     # how long to wait for port_file to appear
    fetch_timeout_s = 30
    region_wait_s = 30                   # how long to retry a regional release not yet built

    [identity]
    pki_dir = "../pki"                   # mTLS files, `klynge pki` layout
    key = "identity.key"                 # Ed25519 identity key (PKCS#8 PEM, 0600)

    [registry]
    path = "../registry.json"            # signed practice registry (detached .sig beside it)
    authority_key = "<64 hex>"           # or: authority_key_file = "registry-authority.pub"

    [trust]
    dir = "trust"                        # authorities.toml + approved.toml (privacy.trust)
"""

from __future__ import annotations

import re
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from client.agent.errors import AgentConfigError
from protocols.errors import IdentityKeyError
from protocols.identity import public_key_from_hex, read_public_key
from protocols.registry import PRACTICE_ID
from transport.pki import PkiLayout
from transport.tls import TlsFiles

FORMAT = "klynge-agent/1"
CONFIG_NAME = "agent.toml"
_HOST_PORT = re.compile(r"^(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>\d{1,5})$")
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)$")
_CLUSTER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class CoordinatorSettings:
    """Where the coordinator listens: a fixed address, or a port file written when it binds."""

    address: str | None
    port_file: Path | None
    host: str
    server_name: str | None
    port_wait_s: float
    fetch_timeout_s: float
    region_wait_s: float

    def current_target(self, fallback: str) -> str:
        """The address to dial now, without waiting: a coordinator that restarted on a
        new port (the demo binds port 0) is found again; if the port file is missing
        or unreadable for a moment, the last known address stands."""
        if self.address is not None or self.port_file is None:
            return self.address or fallback
        try:
            text = self.port_file.read_text(encoding="utf-8").strip()
            return _target_from_port_file(self.port_file, text, self.host) if text else fallback
        except (OSError, UnicodeDecodeError, AgentConfigError):
            return fallback

    def target(
        self,
        *,
        sleep: Callable[[float], object] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> str:
        """host:port to dial; waits up to `port_wait_s` for the port file to appear.

        The demo's coordinator binds port 0 and writes the port it got, so agents
        started beside it may look before the file exists.
        """
        if self.address is not None:
            return self.address
        assert self.port_file is not None
        deadline = clock() + self.port_wait_s
        while True:
            try:
                text = self.port_file.read_text(encoding="utf-8").strip()
            except FileNotFoundError:
                text = ""
            except (OSError, UnicodeDecodeError) as exc:
                raise AgentConfigError(
                    self.port_file, None, f"cannot read port file ({exc})"
                ) from None
            if text:
                return _target_from_port_file(self.port_file, text, self.host)
            if clock() >= deadline:
                raise AgentConfigError(
                    self.port_file,
                    None,
                    f"the coordinator's port file did not appear within {self.port_wait_s:g} s",
                )
            sleep(0.1)


def _target_from_port_file(path: Path, text: str, host: str) -> str:
    if text.isdigit() and 0 < int(text) < 65536:
        return f"{host}:{int(text)}"
    match = _HOST_PORT.match(text)
    if match and 0 < int(match["port"]) < 65536:
        return text
    raise AgentConfigError(path, None, f"expected a port number or host:port, got {text[:40]!r}")


@dataclass(frozen=True)
class AgentSettings:
    """One practice agent's configuration, with every path absolute."""

    path: Path
    practice_id: str
    cluster_id: str
    extract_dir: Path
    state_dir: Path
    manifests: tuple[Path, ...]
    coordinator: CoordinatorSettings
    pki_dir: Path
    identity_key: Path
    registry: Path
    registry_signature: Path | None
    registry_authority_key: bytes
    trust_dir: Path

    @property
    def ledger_dir(self) -> Path:
        return self.state_dir / "ledger"

    @property
    def receipts_dir(self) -> Path:
        return self.state_dir / "receipts"

    @property
    def releases_dir(self) -> Path:
        return self.state_dir / "releases"

    @property
    def status_path(self) -> Path:
        return self.state_dir / "status.json"

    @property
    def tls_files(self) -> TlsFiles:
        return TlsFiles.for_practice(PkiLayout(self.pki_dir), self.practice_id)


class _Table:
    """Typed access to one TOML table that remembers which keys were read."""

    def __init__(self, path: Path, data: dict[str, Any], prefix: str = "") -> None:
        self.path = path
        self.data = data
        self.prefix = prefix
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.prefix}{name}"

    def fail(self, name: str | None, message: str) -> AgentConfigError:
        return AgentConfigError(self.path, self.key(name) if name else self.prefix[:-1], message)

    def raw(self, name: str, required: bool = True) -> Any:
        self.used.add(name)
        if name not in self.data:
            if required:
                raise self.fail(name, "required key is missing")
            return None
        return self.data[name]

    def string(self, name: str, *, required: bool = True, pattern: re.Pattern[str] | None = None):
        value = self.raw(name, required)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, f"must be non-empty text, got {_type(value)}")
        if pattern is not None and not pattern.fullmatch(value):
            raise self.fail(name, f"{value[:64]!r} is not of the form {pattern.pattern}")
        return value

    def path_value(self, name: str, *, required: bool = True) -> Path | None:
        value = self.string(name, required=required)
        if value is None:
            return None
        return (self.path.parent / Path(value).expanduser()).resolve()

    def seconds(self, name: str, default: float) -> float:
        value = self.raw(name, required=False)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise self.fail(name, f"must be a number of seconds ≥ 0, got {value!r}")
        return float(value)

    def table(self, name: str) -> _Table:
        value = self.raw(name)
        if not isinstance(value, dict):
            raise self.fail(name, f"must be a table, got {_type(value)}")
        return _Table(self.path, value, f"{self.key(name)}.")

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.fail(unknown[0], "unknown key")


def _type(value: Any) -> str:
    return type(value).__name__


def load_settings(path: Path | str) -> AgentSettings:
    """Read and validate `agent.toml` (files it names are checked when the agent starts)."""
    path = Path(path).expanduser().resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AgentConfigError(path, None, "agent configuration file not found") from None
    except IsADirectoryError:
        raise AgentConfigError(path, None, "is a directory, not a configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AgentConfigError(path, None, f"cannot read ({exc})") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AgentConfigError(path, None, f"not valid TOML ({exc})") from None
    return parse_settings(document, path)


def parse_settings(document: dict[str, Any], path: Path) -> AgentSettings:
    root = _Table(path, document)
    fmt = root.string("format")
    if fmt != FORMAT:
        raise root.fail("format", f"unsupported format {fmt!r}; this version reads {FORMAT!r}")
    practice_id = root.string("practice_id", pattern=PRACTICE_ID)
    cluster_id = root.string("cluster_id", pattern=_CLUSTER_ID)
    extract_dir = root.path_value("extract_dir")
    state_dir = root.path_value("state_dir")
    manifests_raw = root.raw("manifests")
    if (
        not isinstance(manifests_raw, list)
        or not manifests_raw
        or not all(isinstance(m, str) and m.strip() for m in manifests_raw)
    ):
        raise root.fail("manifests", "must be a non-empty list of manifest file paths")
    manifests = tuple((path.parent / Path(m).expanduser()).resolve() for m in manifests_raw)
    coordinator = _coordinator(root.table("coordinator"))
    identity = root.table("identity")
    pki_dir = identity.path_value("pki_dir")
    identity_key = identity.path_value("key")
    identity.done()
    registry_table = root.table("registry")
    registry = registry_table.path_value("path")
    signature = registry_table.path_value("signature", required=False)
    authority_key = _authority_key(registry_table)
    registry_table.done()
    trust = root.table("trust")
    trust_dir = trust.path_value("dir")
    trust.done()
    root.done()
    assert extract_dir and state_dir and pki_dir and identity_key and registry and trust_dir
    return AgentSettings(
        path=path,
        practice_id=practice_id,
        cluster_id=cluster_id,
        extract_dir=extract_dir,
        state_dir=state_dir,
        manifests=manifests,
        coordinator=coordinator,
        pki_dir=pki_dir,
        identity_key=identity_key,
        registry=registry,
        registry_signature=signature,
        registry_authority_key=authority_key,
        trust_dir=trust_dir,
    )


def _coordinator(t: _Table) -> CoordinatorSettings:
    address = t.string("address", required=False)
    port_file = t.path_value("port_file", required=False)
    if (address is None) == (port_file is None):
        raise t.fail(None, "set exactly one of address (host:port) or port_file")
    if address is not None:
        match = _HOST_PORT.match(address)
        if not match or not 0 < int(match["port"]) < 65536:
            raise t.fail("address", f"must be host:port, got {address[:64]!r}")
    host = t.string("host", required=False, pattern=_HOST) or "127.0.0.1"
    if address is not None and "host" in t.data:
        raise t.fail("host", "only used with port_file; address already names the host")
    settings = CoordinatorSettings(
        address=address,
        port_file=port_file,
        host=host,
        server_name=t.string("server_name", required=False, pattern=_HOST),
        port_wait_s=t.seconds("port_wait_s", 30.0),
        fetch_timeout_s=t.seconds("fetch_timeout_s", 30.0) or 30.0,
        region_wait_s=t.seconds("region_wait_s", 30.0),
    )
    t.done()
    return settings


def _authority_key(t: _Table) -> bytes:
    inline = t.string("authority_key", required=False)
    key_file = t.path_value("authority_key_file", required=False)
    if (inline is None) == (key_file is None):
        raise t.fail(None, "set exactly one of authority_key (64 hex) or authority_key_file")
    try:
        if inline is not None:
            return public_key_from_hex(inline, source=f"{t.path}: {t.key('authority_key')}")
        assert key_file is not None
        return read_public_key(key_file)
    except IdentityKeyError as exc:
        name = "authority_key" if inline is not None else "authority_key_file"
        raise t.fail(name, str(exc.fields["reason"])) from None
