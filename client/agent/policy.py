"""What a round announcement must satisfy before this practice advertises keys.

The coordinator is not trusted (ARCHITECTURE.md), so everything it announces
is checked against what the practice holds locally: its own cluster (or, for
a region-wide round, its own region and the signed registry's word that every
participant is of that region), the manifests it approved (re-read from the
trust store for every round, so a withdrawn approval stops the next round
without a restart), the signed schedule (a region-wide round only on the
manifest's region-round dates), the vector layout the manifest prescribes for
the round's scope, the SecAgg parameters and the survivor floor the noise is
sized for, and the ledger. Each check is a small function that raises
`RoundRefused` with a stable reason code and one line for the log; the
registry, identity and SecAgg+ parameter checks follow in
`protocols.agent.SecAggAgent.advertise`.

Refusing here, before advertising, matters beyond politeness: a practice that
advertises keys and then refuses to send its input forces the others to
reveal mask-key shares for it, which costs them work and the round a survivor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from pathlib import Path

from common.errors import KlyngeError
from privacy.catalogue import InstalledCatalogue
from privacy.errors import (
    AlreadyContributed,
    BudgetExceeded,
    LedgerCorrupt,
    LedgerError,
    ManifestError,
    ManifestRefused,
    RefusalReason,
    TrustStoreError,
)
from privacy.layout import ReleaseLayout, RoundScope
from privacy.ledger import Ledger
from privacy.manifest import SignedManifest
from privacy.plan import round_min_survivors, round_params
from privacy.release import Release
from privacy.trust import (
    APPROVED_FILE,
    AUTHORITIES_FILE,
    AcceptedManifest,
    check_manifest,
    check_reference_date,
    load_trust_store,
)
from protocols.errors import (
    BelowMinimumError,
    ConsistencyError,
    InputError,
    ParameterError,
    SecAggError,
    ShareAuthenticationError,
    SignatureError,
    UnknownParticipantError,
)
from protocols.messages import SCOPE_REGION, RoundAnnouncement
from protocols.registry import PracticeRegistry


class RefusalCode(StrEnum):
    """The `reason` of a `protocols.wire.Refusal`: stable codes the coordinator can count."""

    WRONG_CLUSTER = "wrong_cluster"
    PARTICIPANT_OTHER_CLUSTER = "participant_other_cluster"
    WRONG_REGION = "wrong_region"
    PARTICIPANT_OTHER_REGION = "participant_other_region"
    MANIFEST_UNKNOWN = "manifest_unknown"
    MANIFEST_UNSIGNED = "manifest_unsigned"
    MANIFEST_UNKNOWN_AUTHORITY = "manifest_unknown_authority"
    MANIFEST_TAMPERED = "manifest_tampered"
    MANIFEST_NOT_YET_VALID = "manifest_not_yet_valid"
    MANIFEST_EXPIRED = "manifest_expired"
    MANIFEST_UNAPPROVED = "manifest_unapproved"
    MANIFEST_DEFINITION_MISMATCH = "manifest_definition_mismatch"
    MANIFEST_OFF_SCHEDULE = "manifest_off_schedule"
    MANIFEST_INVALID = "manifest_invalid"
    TRUST_STORE = "trust_store_unusable"
    REFERENCE_DATE_IN_FUTURE = "reference_date_in_future"
    VECTOR_LENGTH = "vector_length_mismatch"
    MIN_SURVIVORS = "min_survivors_too_low"
    ALREADY_CONTRIBUTED = "already_contributed"
    BUDGET_EXCEEDED = "budget_exceeded"
    LEDGER_UNUSABLE = "ledger_unusable"
    ROUND_REPLAYED = "round_replayed"
    ANNOUNCEMENT_CHANGED = "announcement_changed"
    MALFORMED_MESSAGE = "malformed_message"
    UNKNOWN_PARTICIPANT = "unknown_participant"
    UNSAFE_PARAMETERS = "unsafe_parameters"
    INVALID_SIGNATURE = "invalid_signature"
    SHARE_AUTHENTICATION = "share_authentication"
    CONSISTENCY = "consistency"
    BELOW_MINIMUM = "below_minimum"
    PROTOCOL_VIOLATION = "protocol_violation"
    INPUT_REJECTED = "input_rejected"
    COMPUTE_FAILED = "compute_failed"
    RECEIPT_FAILED = "receipt_failed"
    LOG_UNVERIFIABLE = "log_unverifiable"  # the log's proofs fail, or it cannot be reached
    LEDGER_BEHIND_LOG = "ledger_behind_log"  # the log holds receipts the ledger lacks
    RECEIPT_NOT_LOGGED = "receipt_not_logged"  # a receipt the log should hold is not in it
    INTERNAL_ERROR = "internal_error"


_MANIFEST_CODES = {
    RefusalReason.UNSIGNED: RefusalCode.MANIFEST_UNSIGNED,
    RefusalReason.UNKNOWN_AUTHORITY: RefusalCode.MANIFEST_UNKNOWN_AUTHORITY,
    RefusalReason.TAMPERED: RefusalCode.MANIFEST_TAMPERED,
    RefusalReason.NOT_YET_VALID: RefusalCode.MANIFEST_NOT_YET_VALID,
    RefusalReason.EXPIRED: RefusalCode.MANIFEST_EXPIRED,
    RefusalReason.UNAPPROVED: RefusalCode.MANIFEST_UNAPPROVED,
    RefusalReason.DEFINITION_MISMATCH: RefusalCode.MANIFEST_DEFINITION_MISMATCH,
    RefusalReason.OFF_SCHEDULE: RefusalCode.MANIFEST_OFF_SCHEDULE,
}


class RoundRefused(KlyngeError):
    """This practice will not take part in (or continue) a round; `code` says why."""

    def __init__(self, code: RefusalCode, detail: str) -> None:
        self.code = code
        self.detail = detail.replace("\n", " ")
        super().__init__(f"{code.value}: {self.detail}")


def manifest_refusal(exc: ManifestRefused) -> RoundRefused:
    return RoundRefused(_MANIFEST_CODES.get(exc.reason, RefusalCode.MANIFEST_INVALID), exc.detail)


def secagg_refusal(exc: SecAggError) -> RoundRefused:
    """The refusal for an error that makes this practice leave the round."""
    if isinstance(exc, UnknownParticipantError):
        code = RefusalCode.UNKNOWN_PARTICIPANT
    elif isinstance(exc, ParameterError):
        code = RefusalCode.UNSAFE_PARAMETERS
    elif isinstance(exc, SignatureError):
        code = RefusalCode.INVALID_SIGNATURE
    elif isinstance(exc, ShareAuthenticationError):
        code = RefusalCode.SHARE_AUTHENTICATION
    elif isinstance(exc, BelowMinimumError):
        code = RefusalCode.BELOW_MINIMUM
    elif isinstance(exc, ConsistencyError):
        code = RefusalCode.CONSISTENCY
    elif isinstance(exc, InputError):
        code = RefusalCode.INPUT_REJECTED
    else:
        code = RefusalCode.PROTOCOL_VIOLATION
    return RoundRefused(code, str(exc))


def ledger_refusal(exc: Exception) -> RoundRefused:
    if isinstance(exc, AlreadyContributed):
        return RoundRefused(RefusalCode.ALREADY_CONTRIBUTED, str(exc))
    if isinstance(exc, BudgetExceeded):
        return RoundRefused(RefusalCode.BUDGET_EXCEEDED, str(exc))
    if isinstance(exc, LedgerCorrupt | LedgerError):
        return RoundRefused(RefusalCode.LEDGER_UNUSABLE, str(exc))
    return RoundRefused(RefusalCode.LEDGER_UNUSABLE, f"ledger failed ({type(exc).__name__})")


# --- the checks, in the order the agent applies them ---------------------------------


def check_cluster(announcement: RoundAnnouncement, cluster_id: str) -> None:
    if announcement.cluster_id != cluster_id:
        raise RoundRefused(
            RefusalCode.WRONG_CLUSTER,
            f"round is for cluster {announcement.cluster_id!r}; this practice is in {cluster_id!r}",
        )


def check_participants_cluster(announcement: RoundAnnouncement, registry: PracticeRegistry) -> None:
    """Every participant the signed registry places in a cluster is in the announced one.

    Not a privacy rule (the registry check already stops invented practices)
    but an integrity one: a coordinator must not fold other clusters'
    practices into this cluster's sum and publish it under this cluster's name.
    """
    clusters = {e.practice_id: e.cluster for e in registry.entries}
    for p in announcement.participants:
        cluster = clusters.get(p.practice_id, "")
        if cluster and cluster != announcement.cluster_id:
            raise RoundRefused(
                RefusalCode.PARTICIPANT_OTHER_CLUSTER,
                f"participant {p.practice_id} is registered in cluster {cluster!r}, "
                f"not {announcement.cluster_id!r}",
            )


def round_scope(announcement: RoundAnnouncement) -> RoundScope:
    return RoundScope.REGION if announcement.scope == SCOPE_REGION else RoundScope.CLUSTER


def check_region(announcement: RoundAnnouncement, region: str, registry: PracticeRegistry) -> None:
    """A region-wide round of this practice's own region, whose every participant the signed
    registry places in that region.

    The practice's region is the signed registry's, never the coordinator's
    word. A participant outside the region would be summed into a release
    published under this region's name; one missing from the registry could
    be a coordinator's invention (the registry check in `protocols.agent`
    refuses it too, after this one).
    """
    if not region:
        raise RoundRefused(
            RefusalCode.WRONG_REGION,
            f"round is for region {announcement.region!r}; the signed registry places this "
            "practice in no region, so it takes part in no region-wide round",
        )
    if announcement.region != region:
        raise RoundRefused(
            RefusalCode.WRONG_REGION,
            f"round is for region {announcement.region!r}; this practice is in {region!r}",
        )
    for p in announcement.participants:
        entry = registry.entry(p.practice_id)
        if entry is None:
            raise RoundRefused(
                RefusalCode.UNKNOWN_PARTICIPANT,
                f"participant {p.practice_id} is not in the signed registry",
            )
        if entry.region != region:
            where = repr(entry.region) if entry.region else "no region"
            raise RoundRefused(
                RefusalCode.PARTICIPANT_OTHER_REGION,
                f"participant {p.practice_id} is registered in {where}, not {region!r}",
            )


class ManifestGate:
    """`privacy.trust.check_manifest` for announced hashes, re-run only when an input changes.

    The trust store is re-read for every round (a withdrawn approval must stop
    the next round without a restart), but the full check, which recomputes the
    manifest's privacy plan (about 0.1 s), runs again only when the trust files'
    bytes or the date differ from the last check. `check_manifest` is a pure
    function of those inputs, so a cached answer is the answer it would give.
    Start-up runs `check_all` once, which also warms the cache for the first round.
    """

    def __init__(
        self,
        manifests: Sequence[SignedManifest],
        trust_dir: Path,
        installed: InstalledCatalogue,
    ) -> None:
        self._by_hash = {signed.manifest.hash(): signed for signed in manifests}
        self._trust_dir = Path(trust_dir)
        self._installed = installed
        self._cache: dict[tuple[str, bytes, date], AcceptedManifest | RoundRefused] = {}

    def accept(self, announcement: RoundAnnouncement, today: date) -> AcceptedManifest:
        """The configured manifest the announcement names, after every trust check passes."""
        wanted = announcement.manifest_hash.hex()
        if wanted not in self._by_hash:
            raise RoundRefused(
                RefusalCode.MANIFEST_UNKNOWN,
                f"announced manifest {wanted[:16]}… is not a manifest this practice runs",
            )
        result = self._result(wanted, today)
        if isinstance(result, RoundRefused):
            raise RoundRefused(result.code, result.detail)
        return result

    def check_all(
        self, today: date
    ) -> list[tuple[SignedManifest, AcceptedManifest | RoundRefused]]:
        """Every configured manifest with its verdict today (for start-up)."""
        return [(signed, self._result(h, today)) for h, signed in self._by_hash.items()]

    def _result(self, wanted: str, today: date) -> AcceptedManifest | RoundRefused:
        try:
            fingerprint = self._trust_fingerprint()
        except RoundRefused as refusal:
            return refusal
        key = (wanted, fingerprint, today)
        result = self._cache.get(key)
        if result is None:
            self._cache = {
                k: v for k, v in self._cache.items() if k[1] == fingerprint and k[2] == today
            }
            result = self._cache[key] = self._check(self._by_hash[wanted], today)
        return result

    def _trust_fingerprint(self) -> bytes:
        digest = hashlib.sha256()
        for name in (AUTHORITIES_FILE, APPROVED_FILE):
            try:
                data = (self._trust_dir / name).read_bytes()
            except FileNotFoundError:
                data = b"<missing>"
            except OSError as exc:
                raise RoundRefused(
                    RefusalCode.TRUST_STORE, f"{self._trust_dir / name}: cannot read ({exc})"
                ) from None
            digest.update(len(data).to_bytes(8, "big") + data)
        return digest.digest()

    def _check(self, signed: SignedManifest, today: date) -> AcceptedManifest | RoundRefused:
        try:
            store = load_trust_store(self._trust_dir)
            return check_manifest(signed, store, self._installed, today)
        except TrustStoreError as exc:
            return RoundRefused(RefusalCode.TRUST_STORE, str(exc))
        except ManifestRefused as exc:
            return manifest_refusal(exc)
        except ManifestError as exc:
            return RoundRefused(RefusalCode.MANIFEST_INVALID, str(exc))


def check_reference(
    accepted: AcceptedManifest, announcement: RoundAnnouncement, today: date
) -> date:
    """The announced reference date, if the signed schedule lists it (for its scope) and it is
    not in the future."""
    reference = date.fromisoformat(announcement.reference_date)  # the message validated the form
    try:
        check_reference_date(accepted, reference, round_scope(announcement))
    except ManifestRefused as exc:
        raise manifest_refusal(exc) from None
    if reference > today:
        raise RoundRefused(
            RefusalCode.REFERENCE_DATE_IN_FUTURE,
            f"reference date {reference.isoformat()} is after today ({today.isoformat()}); "
            "the extract cannot describe it yet",
        )
    return reference


def check_vector_length(accepted: AcceptedManifest, announcement: RoundAnnouncement) -> None:
    """The length of the layout the manifest prescribes for the round's scope."""
    expected = ReleaseLayout.for_round(accepted.manifest, round_scope(announcement)).length
    if announcement.vector_length != expected:
        raise RoundRefused(
            RefusalCode.VECTOR_LENGTH,
            f"announced vector length {announcement.vector_length}; manifest "
            f"{accepted.manifest.meta.id} v{accepted.manifest.meta.version} prescribes {expected}",
        )


def check_region_params(accepted: AcceptedManifest, announcement: RoundAnnouncement) -> None:
    """A region-wide round's neighbours and threshold are the manifest's (`plan.round_params`).

    Fewer neighbours than the authority signed for would leave each secret
    with fewer holders than it decided on; `SecAggAgent.advertise` then checks
    that the parameters are safe at all.
    """
    n = len(announcement.participants)
    try:
        wanted = round_params(accepted.manifest, n, RoundScope.REGION)
    except SecAggError as exc:
        raise secagg_refusal(exc) from None
    got = announcement.params
    if (got.k, got.threshold) != (wanted.k, wanted.threshold):
        raise RoundRefused(
            RefusalCode.UNSAFE_PARAMETERS,
            f"round announces k = {got.k}, t = {got.threshold}; for {n} participants manifest "
            f"{accepted.manifest.meta.id} v{accepted.manifest.meta.version} prescribes "
            f"k = {wanted.k}, t = {wanted.threshold}",
        )


def check_min_survivors(accepted: AcceptedManifest, announcement: RoundAnnouncement) -> int:
    """The round's survivor floor, if it is at least the one this practice's noise is sized for.

    Each practice adds λ = μ / (2·floor); a round that unmasks with fewer
    survivors than its announced floor would release less noise than μ, so
    the floor must be at least `plan.round_min_survivors` for this cluster size.
    """
    floor = round_min_survivors(accepted.manifest, len(announcement.participants))
    announced = announcement.params.min_survivors
    if announced < floor:
        raise RoundRefused(
            RefusalCode.MIN_SURVIVORS,
            f"round accepts {announced} survivors; with {len(announcement.participants)} "
            f"participants the manifest requires at least {floor}",
        )
    return announced


def check_ledger(
    ledger: Ledger,
    round_id: str,
    accepted: AcceptedManifest,
    reference: date,
    release: Release,
    aborted_rounds: frozenset[str] = frozenset(),
    scope: RoundScope = RoundScope.CLUSTER,
) -> None:
    """Ask the ledger, without writing, whether it would accept this round's charge."""
    try:
        ledger.check(
            round_id,
            accepted.manifest,
            reference,
            release,
            aborted_rounds=aborted_rounds,
            scope=scope,
        )
    except Exception as exc:
        raise ledger_refusal(exc) from None
