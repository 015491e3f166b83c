"""Set up a practice's agent directory, and the signed registry of all practices.

`provision_agent` creates, for one practice:

    DIR/identity.key         Ed25519 identity key, PKCS#8 PEM, mode 0600 (never overwritten)
    DIR/identity.pub         its public key, 64 hex characters (what the registry lists)
    DIR/trust/               the manifest authority's key and this practice's approvals
    DIR/state/ledger/        an empty privacy ledger, signed with the identity key (`Ledger.create`)
    DIR/agent.toml           the configuration `klynge agent run --config` reads

Everything that can be refused (a manifest not signed by the given authority,
an existing key or ledger) is checked before the first file is written, so a
failed provisioning leaves nothing behind that a retry would trip over.

The registry is built after every practice has its identity key:
`write_practice_registry` signs it with the registry authority's key. Agents
trust that authority's public key from their own `agent.toml`, never from the
coordinator.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import tomli_w
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from client.agent.config import CONFIG_NAME, FORMAT, load_settings
from client.agent.errors import ProvisionError
from common.federation import Federation, Practice
from common.keyfiles import load_private_key, write_private_key, write_public_key
from privacy.errors import ManifestRefused
from privacy.ledger import LEDGER_FILE, Ledger
from privacy.manifest import SignedManifest, load_manifest
from privacy.signing import key_id
from privacy.trust import add_authority, approve_manifest, check_signature
from protocols.identity import IdentityKey, public_key_to_hex
from protocols.randomness import RandomBytes, system_random_bytes
from protocols.registry import PracticeRegistry, RegistryEntry, make_registry
from transport.signed_files import write_registry

IDENTITY_KEY = "identity.key"
IDENTITY_PUBLIC = "identity.pub"
TRUST_DIR = "trust"
STATE_DIR = "state"


@dataclass(frozen=True)
class ProvisionedAgent:
    """What the registry needs from one provisioned practice."""

    practice_id: str
    cluster_id: str
    name: str
    directory: Path
    config_path: Path
    identity_public_key: bytes
    region: str = ""  # listed in the registry: which region-wide round it takes part in


def _relative(target: Path, base: Path) -> str:
    return Path(os.path.relpath(Path(target).resolve(), base.resolve())).as_posix()


def provision_agent(
    directory: Path,
    *,
    practice_id: str,
    cluster_id: str,
    extract_dir: Path,
    pki_dir: Path,
    manifests: Sequence[Path],
    manifest_authority: Ed25519PublicKey,
    registry_path: Path,
    registry_authority_key: bytes,
    log_key: bytes,
    approved_by: str,
    today: date,
    coordinator_address: str | None = None,
    coordinator_port_file: Path | None = None,
    coordinator_host: str | None = None,
    server_name: str | None = None,
    port_wait_s: float | None = None,
    region_wait_s: float | None = None,
    authority_name: str = "manifest authority",
    name: str = "",
    region: str = "",
    random_bytes: RandomBytes = system_random_bytes,
) -> ProvisionedAgent:
    """Create one practice's agent directory (see module docstring); returns its public key."""
    directory = Path(directory).resolve()
    if (coordinator_address is None) == (coordinator_port_file is None):
        raise ProvisionError("give exactly one of coordinator_address or coordinator_port_file")
    if not manifests:
        raise ProvisionError(f"{directory}: an agent needs at least one manifest")
    config_path = directory / CONFIG_NAME
    key_path = directory / IDENTITY_KEY
    ledger_dir = directory / STATE_DIR / "ledger"
    for existing in (config_path, key_path, ledger_dir / LEDGER_FILE):
        if existing.exists():
            raise ProvisionError(f"{existing}: already exists; an agent is never provisioned twice")
    signed = [_signed_by(path, manifest_authority) for path in manifests]

    directory.mkdir(parents=True, exist_ok=True)
    identity = IdentityKey.generate(random_bytes)
    write_private_key(key_path, identity.private_key)
    # Derived from the key just written, so a stale copy left beside it is replaced.
    write_public_key(directory / IDENTITY_PUBLIC, identity.public_key, form="hex", overwrite=True)
    trust_dir = directory / TRUST_DIR
    add_authority(trust_dir, authority_name, manifest_authority)
    for manifest in signed:
        approve_manifest(trust_dir, manifest, approved_by, today)
    Ledger.create(ledger_dir, practice_id, identity.private_key)

    coordinator: dict[str, object] = {"log_key": public_key_to_hex(log_key)}
    if coordinator_address is not None:
        coordinator["address"] = coordinator_address
    else:
        assert coordinator_port_file is not None
        coordinator["port_file"] = _relative(coordinator_port_file, directory)
        if coordinator_host:
            coordinator["host"] = coordinator_host
    if server_name:
        coordinator["server_name"] = server_name
    if port_wait_s is not None:
        coordinator["port_wait_s"] = port_wait_s
    if region_wait_s is not None:
        coordinator["region_wait_s"] = region_wait_s
    document = {
        "format": FORMAT,
        "practice_id": practice_id,
        "cluster_id": cluster_id,
        **({"region": region} if region else {}),
        "extract_dir": _relative(extract_dir, directory),
        "state_dir": STATE_DIR,
        "manifests": [_relative(p, directory) for p in manifests],
        "coordinator": coordinator,
        "identity": {"pki_dir": _relative(pki_dir, directory), "key": IDENTITY_KEY},
        "registry": {
            "path": _relative(registry_path, directory),
            "authority_key": public_key_to_hex(registry_authority_key),
        },
        "trust": {"dir": TRUST_DIR},
    }
    header = (
        f"# Klynge practice agent for {practice_id} (cluster {cluster_id}).\n"
        "# Run: klynge agent run --config agent.toml    Status: klynge agent status --config "
        "agent.toml\n"
    )
    config_path.write_text(header + tomli_w.dumps(document), encoding="utf-8")
    load_settings(config_path)  # what we wrote must read back
    return ProvisionedAgent(
        practice_id, cluster_id, name, directory, config_path, identity.public_key, region
    )


def _signed_by(path: Path, authority: Ed25519PublicKey) -> SignedManifest:
    signed = load_manifest(path)
    try:
        check_signature(signed, {key_id(authority): authority})
    except ManifestRefused as exc:
        raise ProvisionError(f"{path}: cannot approve this manifest: {exc}") from None
    return signed


def provision_practice(
    federation: Federation, practice: Practice, agents_dir: Path, **options: object
) -> ProvisionedAgent:
    """`provision_agent` for a federation entry, in `agents_dir/<practice id>`."""
    return provision_agent(
        Path(agents_dir) / practice.id,
        practice_id=practice.id,
        cluster_id=practice.cluster,
        extract_dir=federation.extract_dir(practice),
        name=practice.name,
        region=practice.region,
        **options,  # type: ignore[arg-type]
    )


def provisioned_from_config(config_path: Path) -> ProvisionedAgent:
    """Recover what the registry needs from an existing agent directory."""
    settings = load_settings(config_path)
    public = IdentityKey(load_private_key(settings.identity_key)).public_key
    return ProvisionedAgent(
        settings.practice_id,
        settings.cluster_id,
        "",
        settings.path.parent,
        settings.path,
        public,
        settings.region,
    )


def build_registry(
    agents: Iterable[ProvisionedAgent], *, issuer: str, issued: date
) -> PracticeRegistry:
    return make_registry(
        (
            RegistryEntry(a.practice_id, a.identity_public_key, a.name, a.cluster_id, a.region)
            for a in agents
        ),
        issuer=issuer,
        issued=issued,
    )


def write_practice_registry(
    path: Path,
    agents: Iterable[ProvisionedAgent],
    authority: IdentityKey,
    *,
    issuer: str,
    issued: date,
) -> tuple[Path, Path]:
    """Sign and write the registry (`path` and `path.sig`) listing every agent's identity key."""
    registry = build_registry(agents, issuer=issuer, issued=issued)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return write_registry(registry, Path(path), authority)
