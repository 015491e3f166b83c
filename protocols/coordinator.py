"""The coordinator side of a SecAgg+ round: a pure state machine.

The coordinator relays messages and finally unmasks the sum of the survivors'
vectors. It holds nothing secret and is not trusted: everything that protects
a practice is enforced by the agents (`protocols.agent`). This class is the
honest coordinator; tests play a dishonest one by editing its messages.

    ADVERTISE_KEYS --close_advertising--> SHARE_KEYS --close_sharing-->
    MASKED_INPUT --close_masked_input--> CONSISTENCY --close_consistency-->
    UNMASK --finish--> DONE                     (any abort --> ABORTED)

`receive(message)` accepts agent messages for the current stage; identical
redeliveries are ignored and a second, different message from the same agent
is refused. A bad message is rejected without harming the round. The
`close_*` calls are the stage deadlines; the transport calls them when every
expected message arrived or its timer fired (no clock lives here).

Unmasking: the sum of the masked inputs, minus every survivor's self mask
(seed rebuilt from t shares and checked against its signed commitment), minus
every pairwise mask that a survivor shares with a practice that dropped after
sharing (that practice's mask key rebuilt from t shares and checked against
its signed public key). The mask regeneration is split into independent jobs
so a caller can spread it over processes with `finish(map_fn=pool.map)`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from protocols import shamir
from protocols.errors import (
    BelowMinimumError,
    ProtocolError,
    ReconstructionError,
    SecAggError,
    StaleMessageError,
)
from protocols.kdf import Purpose, owner_key, pair_key
from protocols.messages import (
    SCOPE_CLUSTER,
    AgentMessage,
    EncryptedShare,
    KeyAdvertisement,
    KeyBroadcast,
    MaskedInput,
    Message,
    Participant,
    RoundAnnouncement,
    ShareBundle,
    ShareDelivery,
    Stage,
    SurvivorSet,
    SurvivorSignature,
    UnmaskRequest,
    UnmaskResponse,
)
from protocols.neighbours import NeighbourGraph, build_graph
from protocols.params import RoundParams, default_params
from protocols.prg import add_masks
from protocols.randomness import RandomBytes, system_random_bytes
from protocols.transcript import nonce_digest, self_mask_commitment

MapFunction = Callable[[Callable[..., np.ndarray], Iterable[object]], Iterable[np.ndarray]]


@dataclass(frozen=True)
class ShareFault:
    """A share a holder returned that is not on the polynomial the owner's other shares
    (and its signed commitment) agree on: the holder altered it, or the owner dealt it
    wrong. It was left out; the secret was rebuilt from the others."""

    holder: str
    owner: str
    secret: str  # "self_mask_seed" or "mask_key"


@dataclass(frozen=True)
class AggregateResult:
    """The unmasked sum over `contributors` (participant indices), as int64 modulo 2^64."""

    round_id: bytes
    contributors: tuple[int, ...]
    practice_ids: tuple[str, ...]
    vector: np.ndarray
    share_faults: tuple[ShareFault, ...] = ()

    @property
    def count(self) -> int:
        return len(self.contributors)


@dataclass(frozen=True)
class UnmaskJob:
    """A picklable slice of mask regeneration; `run_unmask_job` turns it into a partial sum.

    self_masks: (owner, rebuilt self-mask seed) per survivor;
    pair_masks: (dropped owner, its rebuilt mask private key, ((survivor, survivor's mask
    public key), ...)) per practice that dropped after sharing.
    """

    round_id: bytes
    length: int
    self_masks: tuple[tuple[int, bytes], ...]
    pair_masks: tuple[tuple[int, bytes, tuple[tuple[int, bytes], ...]], ...]


def run_unmask_job(job: UnmaskJob) -> np.ndarray:
    """The total of the masks in `job` that must be subtracted from the masked sum."""
    acc = np.zeros(job.length, dtype=np.uint64)
    keys = [owner_key(seed, job.round_id, Purpose.SELF_MASK, u) for u, seed in job.self_masks]
    signs = [1] * len(keys)
    public_keys: dict[bytes, X25519PublicKey] = {}  # a survivor often neighbours several dropouts
    for u, private, partners in job.pair_masks:
        sk = X25519PrivateKey.from_private_bytes(private)
        for v, public in partners:
            peer = public_keys.get(public)
            if peer is None:
                peer = public_keys[public] = X25519PublicKey.from_public_bytes(public)
            shared = sk.exchange(peer)
            keys.append(pair_key(shared, job.round_id, Purpose.PAIR_MASK, u, v))
            # v added +PRG when v < u and -PRG otherwise; accumulate what v added.
            signs.append(1 if v < u else -1)
    return add_masks(acc, keys, signs)


def _code(what: str) -> str:
    return what.replace(" ", "_").replace("-", "_")


def _as_secret(value: int) -> bytes | None:
    """A rebuilt field element as a 256-bit secret, or None if it cannot be one."""
    return None if value >> 256 else value.to_bytes(32, "big")


def _matches_commitment(round_id: bytes, owner: int, commitment: bytes) -> Callable[[bytes], bool]:
    """The check of a rebuilt self-mask seed: its signed SHA-256 commitment."""
    return lambda seed: self_mask_commitment(round_id, owner, seed) == commitment


def _matches_public_key(signed: bytes) -> Callable[[bytes], bool]:
    """The check of a rebuilt mask key: the X25519 public key its owner signed."""

    def check(private: bytes) -> bool:
        public = X25519PrivateKey.from_private_bytes(private).public_key()
        return public.public_bytes_raw() == signed

    return check


class SecAggCoordinator:
    """One round for one cluster (see module docstring)."""

    def __init__(self, announcement: RoundAnnouncement) -> None:
        announcement.params.check_for(len(announcement.participants))
        self._ann = announcement
        self._n = len(announcement.participants)
        self._stage = Stage.ADVERTISE_KEYS
        self._ads: dict[int, KeyAdvertisement] = {}
        self._bundles: dict[int, ShareBundle] = {}
        self._inputs: dict[int, MaskedInput] = {}
        self._signatures: dict[int, SurvivorSignature] = {}
        self._responses: dict[int, UnmaskResponse] = {}
        self._sum = np.zeros(announcement.vector_length, dtype=np.uint64)
        self._graph: NeighbourGraph | None = None
        self._advertised: tuple[int, ...] = ()
        self._advertised_set: frozenset[int] = frozenset()
        self._survivor_set: frozenset[int] = frozenset()
        self._shared: frozenset[int] = frozenset()
        self._delivered_from: dict[int, frozenset[int]] = {}
        self._survivors: tuple[int, ...] = ()
        self._requested: frozenset[int] = frozenset()
        # owner -> [(holder, share)], in arrival order
        self._seed_shares: dict[int, list[tuple[int, int]]] = {}
        self._key_shares: dict[int, list[tuple[int, int]]] = {}
        self._result: AggregateResult | None = None
        # Holders caught returning a wrong share; their shares are tried last for other owners.
        self._suspects: set[int] = set()
        self._faults: list[ShareFault] = []

    @classmethod
    def new_round(
        cls,
        *,
        cluster_id: str,
        reference_date: dt.date | str,
        manifest_hash: bytes,
        participants: Sequence[Participant],
        vector_length: int,
        params: RoundParams | None = None,
        random_bytes: RandomBytes = system_random_bytes,
        scope: str = SCOPE_CLUSTER,
        region: str = "",
    ) -> SecAggCoordinator:
        """A round with a fresh random id; participants are sorted by practice id.

        A region-wide round (`scope` SCOPE_REGION) names its `region` and no cluster.
        """
        ordered = tuple(sorted(participants, key=lambda p: p.practice_id))
        if isinstance(reference_date, dt.date):
            reference_date = reference_date.isoformat()
        announcement = RoundAnnouncement(
            random_bytes(16),
            cluster_id,
            reference_date,
            manifest_hash,
            params or default_params(len(ordered)),
            vector_length,
            ordered,
            scope,
            region,
        )
        return cls(announcement)

    # --- state ------------------------------------------------------------------

    @property
    def announcement(self) -> RoundAnnouncement:
        return self._ann

    @property
    def stage(self) -> Stage:
        return self._stage

    @property
    def advertised(self) -> tuple[int, ...]:
        return self._advertised

    @property
    def survivors(self) -> tuple[int, ...]:
        return self._survivors

    @property
    def graph(self) -> NeighbourGraph | None:
        return self._graph

    def _abort(self, error: SecAggError) -> SecAggError:
        self._stage = Stage.ABORTED
        return error

    def _require(self, stage: Stage) -> None:
        if self._stage != stage:
            raise ProtocolError(stage.name, f"the round is at stage {self._stage.name}")

    def _name(self, index: int) -> str:
        return self._ann.participants[index].practice_id

    # --- receiving ----------------------------------------------------------------

    def receive(self, message: Message) -> None:
        """Accept one agent message for the current stage (see module docstring).

        Takes any message, since that is what arrives: a coordinator's own
        kinds are refused here.
        """
        if message.round_id != self._ann.round_id:
            raise StaleMessageError(type(message).__name__, "belongs to another round")
        if not isinstance(message, AgentMessage):
            raise ProtocolError("any", f"a coordinator does not accept {type(message).__name__}")
        store = self._store_for(message)
        sender = message.sender
        if not 0 <= sender < self._n:
            raise ProtocolError(message.STAGE.name, f"unknown sender index {sender}")
        previous = store.get(sender)
        if previous is not None:
            if previous == message:
                return  # a redelivery: idempotent
            raise ProtocolError(
                message.STAGE.name, f"{self._name(sender)} sent two different messages"
            )
        if self._stage != message.STAGE:
            raise StaleMessageError(
                type(message).__name__,
                f"stage {message.STAGE.name} is closed or not open; round is at {self._stage.name}",
            )
        if isinstance(message, KeyAdvertisement):
            pass  # signatures are the agents' business: they verify their neighbours
        elif isinstance(message, ShareBundle):
            self._check_bundle(message)
        elif isinstance(message, MaskedInput):
            self._check_masked_input(message)
        elif isinstance(message, SurvivorSignature):
            if sender not in self._survivor_set:
                raise ProtocolError("CONSISTENCY", f"{self._name(sender)} is not a survivor")
        elif isinstance(message, UnmaskResponse):
            self._take_response(message)
        store[sender] = message

    def _store_for(self, message: AgentMessage) -> dict[int, Any]:
        if isinstance(message, KeyAdvertisement):
            return self._ads
        if isinstance(message, ShareBundle):
            return self._bundles
        if isinstance(message, MaskedInput):
            return self._inputs
        if isinstance(message, SurvivorSignature):
            return self._signatures
        return self._responses

    def _check_bundle(self, bundle: ShareBundle) -> None:
        assert self._graph is not None
        if bundle.sender not in self._advertised_set:
            raise ProtocolError("SHARE_KEYS", f"{self._name(bundle.sender)} did not advertise keys")
        recipients = {share.recipient for share in bundle.shares}
        if recipients != set(self._graph.neighbours_of(bundle.sender)):
            raise ProtocolError(
                "SHARE_KEYS",
                f"{self._name(bundle.sender)} did not share with exactly its neighbours",
            )

    def _check_masked_input(self, message: MaskedInput) -> None:
        if message.sender not in self._shared:
            raise ProtocolError("MASKED_INPUT", f"{self._name(message.sender)} did not share keys")
        if message.length != self._ann.vector_length:
            raise ProtocolError(
                "MASKED_INPUT",
                f"{self._name(message.sender)} sent {message.length} values, "
                f"expected {self._ann.vector_length}",
            )
        np.add(self._sum, message.vector, out=self._sum)

    def _take_response(self, response: UnmaskResponse) -> None:
        sender = response.sender
        if sender not in self._requested:
            raise ProtocolError("UNMASK", f"{self._name(sender)} was not asked to unmask")
        held = self._delivered_from.get(sender, frozenset())
        survivors = self._survivor_set
        for group, want_survivor in (
            (response.self_mask_shares, True),
            (response.key_shares, False),
        ):
            for item in group:
                if item.owner not in held:
                    raise ProtocolError(
                        "UNMASK", f"{self._name(sender)} holds no share of #{item.owner}"
                    )
                if (item.owner in survivors) != want_survivor:
                    raise ProtocolError(
                        "UNMASK",
                        f"{self._name(sender)} revealed the wrong share "
                        f"of {self._name(item.owner)}",
                    )
        for group, target in (
            (response.self_mask_shares, self._seed_shares),
            (response.key_shares, self._key_shares),
        ):
            for item in group:
                target.setdefault(item.owner, []).append((sender, item.share))

    # --- stage transitions ------------------------------------------------------------

    def close_advertising(self) -> dict[int, KeyBroadcast]:
        """Fix who advertised keys, derive the graph, and give each its neighbours' keys."""
        self._require(Stage.ADVERTISE_KEYS)
        advertised = tuple(sorted(self._ads))
        m = self._ann.params.min_survivors
        if len(advertised) < m:
            raise self._abort(BelowMinimumError("ADVERTISE_KEYS", len(advertised), m))
        ads = self._ads
        nonces = tuple(ads[u].graph_nonce for u in advertised)
        graph = build_graph(
            self._ann.round_id, advertised, self._ann.params.k, nonce_digest(nonces)
        )
        graph.fill()
        self._graph, self._advertised = graph, advertised
        self._advertised_set = frozenset(advertised)
        broadcasts = {
            u: KeyBroadcast(
                self._ann.round_id,
                u,
                advertised,
                tuple(ads[v] for v in graph.neighbours_of(u)),
                nonces,
            )
            for u in advertised
        }
        self._stage = Stage.SHARE_KEYS
        return broadcasts

    def close_sharing(self) -> dict[int, ShareDelivery]:
        """Route each share to its recipient, among the practices that shared."""
        self._require(Stage.SHARE_KEYS)
        shared = frozenset(self._bundles)
        m = self._ann.params.min_survivors
        if len(shared) < m:
            raise self._abort(BelowMinimumError("SHARE_KEYS", len(shared), m))
        inbox: dict[int, list[EncryptedShare]] = {v: [] for v in shared}
        for u in sorted(shared):
            for share in self._bundles[u].shares:
                box = inbox.get(share.recipient)
                if box is not None:
                    box.append(share)
        self._shared = shared
        self._delivered_from = {v: frozenset(s.sender for s in box) for v, box in inbox.items()}
        self._stage = Stage.MASKED_INPUT
        return {v: ShareDelivery(self._ann.round_id, v, tuple(box)) for v, box in inbox.items()}

    def close_masked_input(self) -> SurvivorSet:
        """Fix the survivors: the practices whose masked input arrived."""
        self._require(Stage.MASKED_INPUT)
        survivors = tuple(sorted(self._inputs))
        m = self._ann.params.min_survivors
        if len(survivors) < m:
            raise self._abort(BelowMinimumError("MASKED_INPUT", len(survivors), m))
        self._survivors = survivors
        self._survivor_set = frozenset(survivors)
        self._stage = Stage.CONSISTENCY
        return SurvivorSet(self._ann.round_id, survivors)

    def close_consistency(self) -> dict[int, UnmaskRequest]:
        """Send each signer its neighbours' signatures; agents lacking t would refuse anyway."""
        self._require(Stage.CONSISTENCY)
        assert self._graph is not None
        t = self._ann.params.threshold
        signatures = self._signatures
        requests = {}
        for u in sorted(signatures):
            theirs = tuple(signatures[v] for v in self._graph.neighbours_of(u) if v in signatures)
            if len(theirs) >= t:
                requests[u] = UnmaskRequest(self._ann.round_id, u, theirs)
        self._requested = frozenset(requests)
        self._stage = Stage.UNMASK
        return requests

    def finish(self, map_fn: MapFunction | None = None, jobs: int = 1) -> AggregateResult:
        """Rebuild the needed secrets, strip every mask, and return the survivors' sum.

        `map_fn` (e.g. a process pool's map) runs `jobs` slices of mask regeneration.
        """
        self._require(Stage.UNMASK)
        try:
            job_list = self._unmask_jobs(max(1, jobs))
        except SecAggError as exc:
            raise self._abort(exc) from None
        partials = list((map_fn or map)(run_unmask_job, job_list))
        total = self._sum.copy()
        for partial in partials:
            np.subtract(total, partial, out=total)
        vector = total.view(np.int64)
        vector.flags.writeable = False
        self._result = AggregateResult(
            self._ann.round_id,
            self._survivors,
            tuple(self._name(u) for u in self._survivors),
            vector,
            tuple(self._faults),
        )
        self._stage = Stage.DONE
        return self._result

    @property
    def share_faults(self) -> tuple[ShareFault, ...]:
        """Wrong shares found so far (also after an abort, to name the culprits)."""
        return tuple(self._faults)

    def _rebuild(
        self,
        owner: int,
        shares: dict[int, list[tuple[int, int]]],
        what: str,
        valid: Callable[[bytes], bool],
    ) -> bytes:
        """`owner`'s secret from its holders' shares, checked by `valid` (its commitment).

        Fast path: t shares from holders not yet caught lying, as before. If the
        result fails its check, decode all returned shares as a Reed-Solomon
        codeword (`shamir.decode`): up to (n - t) / 2 wrong shares are corrected and
        their holders named; holders caught for earlier owners are dropped first,
        which costs one point each instead of two. Whatever is returned is only
        used if it passes `valid`, so a decoder fooled beyond its radius is harmless.
        """
        t = self._ann.params.threshold
        held = shares.get(owner, ())
        if len(held) < t:
            raise ReconstructionError(
                self._name(owner), f"{len(held)} shares of its {what} returned, {t} needed"
            )
        assert self._graph is not None
        # Shamir x = the holder's rank in the owner's neighbour list. Sorted by holder, the
        # t first points repeat across owners, so their Lagrange coefficients are cached.
        neighbours = self._graph.neighbours_of(owner)
        points: list[tuple[int, int, int]] = []  # (x, share, holder)
        rank = 0
        for holder, y in sorted(held):
            while neighbours[rank] != holder:
                rank += 1
            points.append((rank + 1, y, holder))
        trusted = [p for p in points if p[2] not in self._suspects]
        if len(trusted) >= t:
            secret = _as_secret(shamir.reconstruct([(x, y) for x, y, _ in trusted[:t]]))
            if secret is not None and valid(secret):
                return secret
        attempts = [trusted, points] if len(trusted) < len(points) else [points]
        agreed_but_invalid = False
        for attempt in attempts:
            try:
                decoded = shamir.decode([(x, y) for x, y, _ in attempt], t)
            except shamir.DecodingError:
                continue
            secret = _as_secret(decoded.secret)
            if secret is None or not valid(secret):
                agreed_but_invalid = agreed_but_invalid or not decoded.wrong
                continue
            wrong = set(decoded.wrong)
            for x, _, holder in attempt:
                if x in wrong:
                    self._suspects.add(holder)
                    self._faults.append(
                        ShareFault(self._name(holder), self._name(owner), _code(what))
                    )
            return secret
        suspects = sorted(self._name(h) for _, _, h in points if h in self._suspects)
        named = ""
        if suspects:
            named = f"; shares from {', '.join(suspects)} were wrong for other owners"
        if agreed_but_invalid:
            raise ReconstructionError(
                self._name(owner),
                f"the returned shares agree on a {what} that does not match its signed "
                f"commitment (the owner dealt them so, or every holder altered them){named}",
            )
        raise ReconstructionError(
            self._name(owner),
            f"{len(held)} shares of its {what} returned, too many are wrong to correct "
            f"(at most {(len(held) - t) // 2}){named}",
        )

    def _rebuild_all(
        self,
        wanted: list[tuple[int, dict[int, list[tuple[int, int]]], str, Callable[[bytes], bool]]],
    ) -> dict[int, bytes]:
        """Rebuild each secret; retry the failures once with every holder caught meanwhile
        dropped first, so which owner comes first never decides whether a round survives."""
        out: dict[int, bytes] = {}
        failed = []
        for item in wanted:
            try:
                out[item[0]] = self._rebuild(*item)
            except ReconstructionError:
                failed.append(item)
        for item in failed:
            out[item[0]] = self._rebuild(*item)
        return out

    def _unmask_jobs(self, jobs: int) -> list[UnmaskJob]:
        round_id = self._ann.round_id
        graph = self._graph
        assert graph is not None
        seeds = self._rebuild_all(
            [
                (
                    u,
                    self._seed_shares,
                    "self-mask seed",
                    _matches_commitment(round_id, u, self._ads[u].self_mask_commitment),
                )
                for u in self._survivors
            ]
        )
        self_masks = [(u, seeds[u]) for u in self._survivors]
        dropped = sorted(self._shared - self._survivor_set)
        keys = self._rebuild_all(
            [
                (
                    u,
                    self._key_shares,
                    "mask key",
                    _matches_public_key(self._ads[u].mask_key),
                )
                for u in dropped
            ]
        )
        pair_masks: list[tuple[int, bytes, tuple[tuple[int, bytes], ...]]] = []
        for u in dropped:
            partners = tuple(
                (v, self._ads[v].mask_key)
                for v in graph.neighbours_of(u)
                if v in self._survivor_set and u in self._delivered_from.get(v, ())
            )
            if partners:
                pair_masks.append((u, keys[u], partners))
        # Balance the slices by the number of PRG streams each implies.
        slices: list[tuple[list[tuple[int, bytes]], list[tuple[int, bytes, Any]], int]] = [
            ([], [], 0) for _ in range(jobs)
        ]
        for item in sorted(pair_masks, key=lambda p: -len(p[2])):
            i = min(range(jobs), key=lambda j: slices[j][2])
            s, p, w = slices[i]
            p.append(item)
            slices[i] = (s, p, w + 3 * len(item[2]))  # an ECDH costs about two streams
        for own in self_masks:
            i = min(range(jobs), key=lambda j: slices[j][2])
            s, p, w = slices[i]
            s.append(own)
            slices[i] = (s, p, w + 1)
        return [
            UnmaskJob(round_id, self._ann.vector_length, tuple(s), tuple(p))
            for s, p, _ in slices
            if s or p
        ]
