"""Load and cross-check everything an agent needs before it dials the coordinator.

An agent that would refuse every round anyway must not start and look
healthy. So start-up fails, with one error naming the file, when: the
identity key is unreadable or not this practice's key in the signed registry;
the registry's signature does not verify against the locally configured
authority key; a configured manifest is not acceptable today (unsigned,
unknown authority, not approved, expired, definitions differ from those
installed); the extract does not load; or the ledger is missing, corrupt or
signed with another key than this practice's identity key.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from client.agent.config import AgentSettings
from client.agent.core import AgentContext
from client.agent.errors import AgentStartupError
from client.agent.policy import ManifestGate, RoundRefused
from client.engine.fast import PreparedExtract
from client.extract.loader import load_extract
from common.keyfiles import load_private_key
from indicator_defs import Catalogue, load_catalogue
from indicator_defs.survey_loader import installed_surveys
from privacy.catalogue import InstalledCatalogue, from_catalogue
from privacy.ledger import Ledger
from privacy.manifest import SignedManifest, load_manifest
from protocols.identity import IdentityKey
from protocols.registry import PracticeRegistry
from transport.signed_files import load_registry

_catalogue_cache: list[Catalogue] = []


def installed_definitions() -> Catalogue:
    """The indicator catalogue of this installation, read once per process."""
    if not _catalogue_cache:
        _catalogue_cache.append(load_catalogue())
    return _catalogue_cache[0]


def load_agent(
    settings: AgentSettings,
    *,
    today: date,
    catalogue: Catalogue | None = None,
    progress: Callable[[str], None] | None = None,
) -> AgentContext:
    """An `AgentContext` for `settings`, or one clear error saying what is wrong."""
    catalogue = catalogue or installed_definitions()
    surveys = installed_surveys()
    installed = from_catalogue(catalogue, surveys)
    step = progress or (lambda _name: None)

    step("identity")
    private = load_private_key(settings.identity_key)  # refuses keys readable by others
    identity = IdentityKey(private)
    step("registry")
    registry = load_registry(
        settings.registry, settings.registry_authority_key, settings.registry_signature
    )
    region = check_registry_entry(settings, registry, identity)
    step("manifests")
    manifests, gate = load_manifests(settings, installed, today)
    step("ledger")
    ledger = Ledger.open(settings.ledger_dir, key=private)  # signed with this identity key
    if ledger.practice_id != settings.practice_id:
        raise AgentStartupError(
            f"{ledger.path}: the ledger belongs to practice {ledger.practice_id!r}, "
            f"not {settings.practice_id!r}"
        )
    step("extract")
    extract = PreparedExtract.from_extract(load_extract(settings.extract_dir))
    settings.receipts_dir.mkdir(parents=True, exist_ok=True)
    settings.releases_dir.mkdir(parents=True, exist_ok=True)
    return AgentContext(
        practice_id=settings.practice_id,
        cluster_id=settings.cluster_id,
        region=region,
        identity=identity,
        receipt_key=private,
        registry=registry,
        manifests=manifests,
        gate=gate,
        catalogue=catalogue,
        extract=extract,
        ledger=ledger,
        receipts_dir=settings.receipts_dir,
        contributions_dir=settings.contributions_dir,
        surveys=surveys,
    )


def check_registry_entry(
    settings: AgentSettings, registry: PracticeRegistry, identity: IdentityKey
) -> str:
    """This practice is in the registry, with this identity key and this cluster; its region.

    The region is the signed registry's ("" if it names none: then the practice
    takes part in no region-wide round).
    """
    entry = registry.entry(settings.practice_id)
    if entry is None:
        raise AgentStartupError(
            f"{settings.registry}: practice {settings.practice_id} is not in the signed registry"
        )
    if entry.identity_key != identity.public_key:
        raise AgentStartupError(
            f"{settings.identity_key}: this identity key is not the one the signed registry "
            f"{settings.registry} lists for practice {settings.practice_id}"
        )
    if entry.cluster and entry.cluster != settings.cluster_id:
        raise AgentStartupError(
            f"{settings.path}: cluster_id is {settings.cluster_id!r}, but the signed registry "
            f"places practice {settings.practice_id} in {entry.cluster!r}"
        )
    if settings.region and entry.region and entry.region != settings.region:
        raise AgentStartupError(
            f"{settings.path}: region is {settings.region!r}, but the signed registry "
            f"places practice {settings.practice_id} in {entry.region!r}"
        )
    return entry.region


def load_manifests(
    settings: AgentSettings, installed: InstalledCatalogue, today: date
) -> tuple[tuple[SignedManifest, ...], ManifestGate]:
    """Every configured manifest, each acceptable today under the local trust store."""
    manifests = tuple(load_manifest(path) for path in settings.manifests)
    gate = ManifestGate(manifests, settings.trust_dir, installed)
    for signed, verdict in gate.check_all(today):
        if isinstance(verdict, RoundRefused):
            raise AgentStartupError(
                f"{signed.path}: the agent will not run rounds under this manifest: "
                f"{verdict.code.value}: {verdict.detail}"
            )
    return manifests, gate
