"""`agent.toml`: everything one practice agent needs to know, read strictly.

Every key is typed and unknown keys are errors (a misspelt `maifests` must not
silently leave the agent without a manifest). Relative paths resolve against
the directory of the config file, so an agent directory can be moved whole.
Errors name the file and the key.

    format = "klynge-agent/1"
    practice_id = "P0001"
    cluster_id = "K01"
    region = "Midtjylland"               # optional: for the registry this practice is listed in
    extract_dir = "../federation/practices/P0001"
    state_dir = "state"                  # ledger/, receipts/, releases/, status.json
    manifests = ["../manifest.toml"]     # the manifests this agent may run rounds under

    [coordinator]
    address = "coordinator.region:7443"  # or: port_file = "..." (+ host = "127.0.0.1")
    server_name = "localhost"            # optional: name on the coordinator's certificate
    port_wait_s = 30                     # how long to wait for port_file to appear
    fetch_timeout_s = 30
    region_wait_s = 30                   # how long to retry a regional release not yet built
    log_key = "<64 hex>"                 # the coordinator's transparency-log key (tree heads);
                                         # or: log_key_file = "..." (PEM or 64 hex)

    [identity]
    pki_dir = "../pki"                   # mTLS files, `klynge pki` layout
    key = "identity.key"                 # Ed25519 identity key (PKCS#8 PEM, 0600)

    [registry]
    path = "../registry.json"            # signed practice registry (detached .sig beside it)
    authority_key = "<64 hex>"           # or: authority_key_file = "..." (PEM or 64 hex)

    [trust]
    dir = "trust"                        # authorities.toml + approved.toml (privacy.trust)
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from client.agent.errors import AgentConfigError
from common import i18n
from common.errors import KeyFileError
from common.keyfiles import load_public_key, public_bytes
from common.tomlfile import Table, read_table
from protocols.errors import IdentityKeyError
from protocols.identity import public_key_from_hex
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
    log_key: bytes  # raw Ed25519: the key every tree head of the coordinator's log is signed with

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
                message = i18n.t("agent.config.port_unreadable", reason=exc)
                raise AgentConfigError(self.port_file, None, message) from None
            if text:
                return _target_from_port_file(self.port_file, text, self.host)
            if clock() >= deadline:
                raise AgentConfigError(
                    self.port_file,
                    None,
                    i18n.t("agent.config.port_missing", seconds=f"{self.port_wait_s:g}"),
                )
            sleep(0.1)


i18n.register(
    {
        "agent.config.port_unreadable": {
            "en": "cannot read port file ({reason})",
            "da": "portfilen kan ikke læses ({reason})",
        },
        "agent.config.port_missing": {
            "en": "the coordinator's port file did not appear within {seconds} s",
            "da": "koordinatorens portfil kom ikke inden for {seconds} s",
        },
        "agent.config.port_text": {
            "en": "expected a port number or host:port, got {text}",
            "da": "forventede et portnummer eller vært:port, men fandt {text}",
        },
        "agent.config.format": {
            "en": "unsupported format {found}; this version reads {expected}",
            "da": "ukendt format {found}; denne version læser {expected}",
        },
        "agent.config.address_or_port_file": {
            "en": "set exactly one of address (host:port) or port_file",
            "da": "angiv præcis én af address (vært:port) og port_file",
        },
        "agent.config.address": {
            "en": "must be host:port, got {got}",
            "da": "skal være vært:port, men er {got}",
        },
        "agent.config.host": {
            "en": "only used with port_file; address already names the host",
            "da": "bruges kun med port_file; address angiver allerede værten",
        },
        "agent.config.key_or_file": {
            "en": "set exactly one of {name} (64 hex) or {name}_file",
            "da": "angiv præcis én af {name} (64 hex-tegn) og {name}_file",
        },
    }
)


def _target_from_port_file(path: Path, text: str, host: str) -> str:
    if text.isdigit() and 0 < int(text) < 65536:
        return f"{host}:{int(text)}"
    match = _HOST_PORT.match(text)
    if match and 0 < int(match["port"]) < 65536:
        return text
    message = i18n.t("agent.config.port_text", text=repr(text[:40]))
    raise AgentConfigError(path, None, message)


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
    # The region as provisioned, written into the registry it signs; the agent trusts only
    # the signed registry's region (checked against this one at start-up when both are set).
    region: str = ""

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
    def contributions_dir(self) -> Path:
        """The practice's own bounded cells and noise share per round: never sent."""
        return self.state_dir / "contributions"

    @property
    def status_path(self) -> Path:
        return self.state_dir / "status.json"

    @property
    def log_head_path(self) -> Path:
        """The last transparency-log head this agent verified (it must only ever grow)."""
        return self.state_dir / "log_head.json"

    @property
    def tls_files(self) -> TlsFiles:
        return TlsFiles.for_practice(PkiLayout(self.pki_dir), self.practice_id)


def load_settings(path: Path | str) -> AgentSettings:
    """Read and validate `agent.toml` (files it names are checked when the agent starts)."""
    path = Path(path).expanduser().resolve()
    root = read_table(path, error=AgentConfigError, what="agent")
    fmt = root.string("format")
    if fmt != FORMAT:
        message = i18n.t("agent.config.format", found=repr(fmt), expected=repr(FORMAT))
        raise root.fail("format", message)
    practice_id = root.string("practice_id", pattern=PRACTICE_ID)
    cluster_id = root.string("cluster_id", pattern=_CLUSTER_ID)
    region = root.string("region", required=False, default="")
    extract_dir = root.path_value("extract_dir")
    state_dir = root.path_value("state_dir")
    manifests = tuple(root.resolve(m) for m in root.strings("manifests", nonempty=True))
    coordinator = _coordinator(root.table("coordinator"))
    identity = root.table("identity")
    pki_dir = identity.path_value("pki_dir")
    identity_key = identity.path_value("key")
    identity.done()
    registry_table = root.table("registry")
    registry = registry_table.path_value("path")
    signature = registry_table.path_value("signature", required=False)
    authority_key = _public_key(registry_table, "authority_key")
    registry_table.done()
    trust = root.table("trust")
    trust_dir = trust.path_value("dir")
    trust.done()
    root.done()
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
        region=region,
    )


def _coordinator(t: Table) -> CoordinatorSettings:
    address = t.string("address", required=False)
    port_file = t.path_value("port_file", required=False)
    if (address is None) == (port_file is None):
        raise t.fail(None, i18n.t("agent.config.address_or_port_file"))
    if address is not None:
        match = _HOST_PORT.match(address)
        if not match or not 0 < int(match["port"]) < 65536:
            raise t.fail("address", i18n.t("agent.config.address", got=repr(address[:64])))
    host = t.string("host", required=False, pattern=_HOST) or "127.0.0.1"
    if address is not None and "host" in t:
        raise t.fail("host", i18n.t("agent.config.host"))
    settings = CoordinatorSettings(
        address=address,
        port_file=port_file,
        host=host,
        server_name=t.string("server_name", required=False, pattern=_HOST),
        port_wait_s=_seconds(t, "port_wait_s"),
        fetch_timeout_s=_seconds(t, "fetch_timeout_s") or 30.0,
        region_wait_s=_seconds(t, "region_wait_s"),
        log_key=_public_key(t, "log_key"),
    )
    t.done()
    return settings


def _seconds(t: Table, name: str) -> float:
    return t.number(name, required=False, default=30.0, minimum=0)


def _public_key(t: Table, name: str) -> bytes:
    """An Ed25519 public key given inline as `name` (64 hex) or in the file `name`_file."""
    inline = t.string(name, required=False)
    key_file = t.path_value(f"{name}_file", required=False)
    if (inline is None) == (key_file is None):
        raise t.fail(None, i18n.t("agent.config.key_or_file", name=name))
    if inline is not None:
        try:
            return public_key_from_hex(inline, source=t.key(name))
        except IdentityKeyError as exc:
            raise t.fail(name, str(exc.fields["reason"])) from None
    try:
        return public_bytes(load_public_key(key_file))  # PEM or 64 hex
    except KeyFileError as exc:
        raise t.fail(f"{name}_file", str(exc)) from None
