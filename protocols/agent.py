"""The practice side of a SecAgg+ round: a pure state machine.

One `SecAggAgent` takes part in one round. It is driven by the coordinator's
messages and answers with its own; it opens no sockets, starts no threads and
reads no clock. Randomness comes from the injected `random_bytes`.

    ANNOUNCE --advertise--> SHARE_KEYS --share_keys--> MASKED_INPUT
      --receive_shares, masked_input--> CONSISTENCY --sign_survivors--> UNMASK
      --unmask--> DONE                       (any refusal --> ABORTED)

What the agent refuses, and why (the coordinator is not trusted):
- participants not in the signed registry, or with another identity key
  (invented participants, substituted identities);
- parameters that are unsafe for the cluster (t not a majority of the
  neighbours, minimum below the privacy floor);
- neighbour keys whose Ed25519 signature does not verify (substituted keys,
  replayed keys from another round, a different announcement);
- fewer than t neighbours' shares delivered (the coordinator cutting it off);
- a survivor set that omits itself, is below the minimum, or differs from one
  it already signed;
- unmasking without t valid survivor signatures from its own neighbours.

For each neighbour it reveals the self-mask share if that neighbour is in the
signed survivor set and the mask-key share otherwise: never both, because it
signs one survivor set per round and `UnmaskResponse` cannot hold both.

The privacy seam: `receive_shares(delivery)` does every check that can fail
for protocol reasons; `masked_input(vector)` then only masks. A privacy layer
charges its budget ledger and adds its noise between the two calls, so budget
is spent only when the vector is certain to leave, and the vector is created
at the last moment. `handle(message, provide_input)` offers the same seam as
a callback for transports.

Messages are idempotent: redelivering an identical message returns the same
answer; a different message for a finished stage is refused.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from protocols import shamir
from protocols.errors import (
    BelowMinimumError,
    ConsistencyError,
    InputError,
    ProtocolError,
    SecAggError,
    ShareAuthenticationError,
    SignatureError,
    StaleMessageError,
    UnknownParticipantError,
)
from protocols.identity import IdentityKey, verify_signature
from protocols.kdf import Purpose, owner_key, pair_key
from protocols.messages import (
    GRAPH_NONCE_BYTES,
    AgentMessage,
    CoordinatorMessage,
    EncryptedShare,
    KeyAdvertisement,
    KeyBroadcast,
    MaskedInput,
    OwnerShare,
    RoundAnnouncement,
    ShareBundle,
    ShareDelivery,
    Stage,
    SurvivorSet,
    SurvivorSignature,
    UnmaskRequest,
    UnmaskResponse,
)
from protocols.neighbours import build_graph
from protocols.params import PRIVACY_FLOOR
from protocols.prg import MAX_WORDS, add_masks
from protocols.randomness import RandomBytes, system_random_bytes
from protocols.registry import PracticeRegistry
from protocols.texts import reason
from protocols.transcript import (
    DOMAIN_KEY_ADVERTISEMENT,
    DOMAIN_SURVIVORS,
    key_advertisement_payload,
    nonce_digest,
    self_mask_commitment,
    share_aad,
    share_nonce,
    survivor_payload,
)

InputProvider = Callable[[], np.ndarray]
_INT64_MAX = np.iinfo(np.int64).max


@dataclass(frozen=True)
class AgentPolicy:
    """Local limits a practice enforces whatever the coordinator announces."""

    privacy_floor: int = PRIVACY_FLOOR
    max_vector_length: int = MAX_WORDS


def _checked_indices(name: str, values: tuple[int, ...], n: int) -> np.ndarray:
    arr = np.asarray(values, dtype=np.int64)
    if arr.ndim != 1:
        raise ProtocolError(name, reason("bad_indices"))
    if arr.size and (arr[0] < 0 or arr[-1] >= n or np.any(arr[1:] <= arr[:-1])):
        raise ProtocolError(name, reason("bad_indices"))
    return arr


def _as_int64(vector: object, length: int) -> np.ndarray:
    arr = np.asarray(vector)
    if arr.dtype.kind not in "iu":
        raise InputError("dtype", reason("input_dtype", dtype=arr.dtype))
    if arr.ndim != 1 or arr.shape[0] != length:
        raise InputError("shape", reason("input_shape", length=length, shape=arr.shape))
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > _INT64_MAX:
        raise InputError("values", reason("input_range"))
    return np.ascontiguousarray(arr, dtype=np.int64)


class SecAggAgent:
    """One practice in one round (see module docstring)."""

    def __init__(
        self,
        practice_id: str,
        identity: IdentityKey,
        registry: PracticeRegistry,
        random_bytes: RandomBytes = system_random_bytes,
        policy: AgentPolicy | None = None,
    ) -> None:
        self.practice_id = practice_id
        self._identity = identity
        self._registry = registry
        self._random = random_bytes
        self._policy = policy or AgentPolicy()
        self._stage = Stage.ANNOUNCE
        # stage of a coordinator message -> (that message, our answer), for idempotency
        self._replies: dict[Stage, tuple[object, object]] = {}
        self._sent_input: tuple[bytes, MaskedInput] | None = None  # (digest of x, message)
        self._ann: RoundAnnouncement | None = None
        # This round's secrets, each wiped (None) once the protocol no longer needs it.
        self._enc_sk: X25519PrivateKey | None = None
        self._mask_sk: X25519PrivateKey | None = None
        self._seed: bytes | None = None
        self._graph_nonce = b""
        self._aeads: dict[int, AESGCM] | None = None
        self._holdings: dict[int, tuple[int, int]] | None = None

    # --- state ------------------------------------------------------------------

    @property
    def stage(self) -> Stage:
        return self._stage

    @property
    def index(self) -> int:
        """This practice's index among the announced participants."""
        if self._ann is None:
            raise ProtocolError("ANNOUNCE", reason("no_announcement"))
        return self._me

    @property
    def round_id(self) -> bytes | None:
        return None if self._ann is None else self._ann.round_id

    @property
    def ready_for_input(self) -> bool:
        """True between `receive_shares` and `masked_input`: the moment to charge budget."""
        return (
            self._stage == Stage.MASKED_INPUT
            and Stage.MASKED_INPUT in self._replies
            and self._sent_input is None
        )

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except SecAggError as exc:
            if exc.aborts_round:
                self._abort()
            raise
        except Exception:
            self._abort()
            raise

    def _abort(self) -> None:
        self._stage = Stage.ABORTED
        self._enc_sk = self._mask_sk = None
        self._seed = None
        self._aeads = None
        self._holdings = None

    def _cached(self, stage: Stage, message: object) -> object | None:
        """The earlier answer to an identical message, or None if this one is new."""
        cached = self._replies.get(stage)
        if cached is not None and cached[0] == message:
            return cached[1]
        return None

    def _expect(self, message: CoordinatorMessage, recipient: int | None = None) -> None:
        if self._stage == Stage.ABORTED:
            raise ProtocolError(message.STAGE.name, reason("abandoned"))
        if self._ann is None or message.round_id != self._ann.round_id:
            raise StaleMessageError(type(message).__name__, reason("other_round"))
        if recipient is not None and recipient != self._me:
            raise StaleMessageError(type(message).__name__, reason("other_recipient"))
        if self._stage != message.STAGE or message.STAGE in self._replies:
            raise StaleMessageError(
                type(message).__name__,
                reason("wrong_stage", got=message.STAGE.name, stage=self._stage.name),
            )

    def _name(self, index: int) -> str:
        assert self._ann is not None
        if 0 <= index < len(self._ann.participants):
            return self._ann.participants[index].practice_id
        return f"#{index}"

    # --- ANNOUNCE -> ADVERTISE_KEYS -------------------------------------------------

    def advertise(self, announcement: RoundAnnouncement) -> KeyAdvertisement:
        """Check the announcement against the registry and policy; return signed round keys."""
        cached = self._cached(Stage.ANNOUNCE, announcement)
        if cached is not None:
            return cached  # type: ignore[return-value]
        if self._stage != Stage.ANNOUNCE:
            raise StaleMessageError("RoundAnnouncement", reason("already_joined"))
        with self._guard():
            ann = announcement
            me = ann.index_of(self.practice_id)
            if me is None:
                raise UnknownParticipantError(self.practice_id, reason("not_announced"))
            if ann.participants[me].identity_key != self._identity.public_key:
                raise UnknownParticipantError(self.practice_id, reason("announced_other_key"))
            for p in ann.participants:
                registered = self._registry.identity_key(p.practice_id)
                if registered is None:
                    raise UnknownParticipantError(p.practice_id, reason("not_in_registry"))
                if registered != p.identity_key:
                    raise UnknownParticipantError(p.practice_id, reason("registry_key_differs"))
            ann.params.check_for(len(ann.participants), privacy_floor=self._policy.privacy_floor)
            if ann.vector_length > self._policy.max_vector_length:
                raise ProtocolError(
                    "ANNOUNCE",
                    reason(
                        "vector_too_long",
                        length=ann.vector_length,
                        limit=self._policy.max_vector_length,
                    ),
                )
            self._ann, self._me = ann, me
            self._enc_sk = X25519PrivateKey.from_private_bytes(self._random(32))
            self._mask_sk = X25519PrivateKey.from_private_bytes(self._random(32))
            self._seed = self._random(32)
            self._graph_nonce = self._random(GRAPH_NONCE_BYTES)
            enc_pk = self._enc_sk.public_key().public_bytes_raw()
            mask_pk = self._mask_sk.public_key().public_bytes_raw()
            commitment = self_mask_commitment(ann.round_id, me, self._seed)
            payload = key_advertisement_payload(
                ann.digest, me, enc_pk, mask_pk, commitment, self._graph_nonce
            )
            signature = self._identity.sign(DOMAIN_KEY_ADVERTISEMENT, payload)
            advert = KeyAdvertisement(
                ann.round_id, me, enc_pk, mask_pk, commitment, signature, self._graph_nonce
            )
            self._replies[Stage.ANNOUNCE] = (announcement, advert)
            self._stage = Stage.SHARE_KEYS
            return advert

    # --- SHARE_KEYS ----------------------------------------------------------------

    def share_keys(self, broadcast: KeyBroadcast) -> ShareBundle:
        """Verify neighbours' signed keys; Shamir-share our secrets to them, encrypted."""
        cached = self._cached(Stage.SHARE_KEYS, broadcast)
        if cached is not None:
            return cached  # type: ignore[return-value]
        self._expect(broadcast, broadcast.recipient)
        with self._guard():
            ann = self._ann
            assert ann is not None
            params, me, n = ann.params, self._me, len(ann.participants)
            advertised = _checked_indices("advertised", broadcast.advertised, n)
            pos = int(np.searchsorted(advertised, me))
            if pos == advertised.size or advertised[pos] != me:
                raise ProtocolError("SHARE_KEYS", reason("advertised_omits_self"))
            if advertised.size < params.min_survivors:
                raise BelowMinimumError("SHARE_KEYS", int(advertised.size), params.min_survivors)
            nonces = broadcast.graph_nonces
            if (
                len(nonces) != advertised.size
                or set(map(type, nonces)) != {bytes}
                or set(map(len, nonces)) != {GRAPH_NONCE_BYTES}
            ):
                raise ProtocolError("SHARE_KEYS", reason("graph_nonces_malformed"))
            if nonces[pos] != self._graph_nonce:
                raise ProtocolError("SHARE_KEYS", reason("graph_nonce_altered"))
            nonces_digest = nonce_digest(nonces)
            members = tuple(broadcast.advertised)
            graph = build_graph(ann.round_id, members, params.k, nonces_digest)
            neighbours = graph.neighbours_of(me)
            if len(neighbours) < params.threshold:
                raise BelowMinimumError("SHARE_KEYS", len(neighbours), params.threshold)
            ads = {ad.sender: ad for ad in broadcast.neighbour_keys}
            if len(ads) != len(broadcast.neighbour_keys) or set(ads) != set(neighbours):
                raise ProtocolError(
                    "SHARE_KEYS",
                    reason("keys_not_neighbours"),
                )
            for v in neighbours:
                ad = ads[v]
                payload = key_advertisement_payload(
                    ann.digest,
                    v,
                    ad.encryption_key,
                    ad.mask_key,
                    ad.self_mask_commitment,
                    ad.graph_nonce,
                )
                if ad.round_id != ann.round_id or not verify_signature(
                    ann.participants[v].identity_key,
                    DOMAIN_KEY_ADVERTISEMENT,
                    payload,
                    ad.signature,
                ):
                    raise SignatureError(self._name(v), reason("round_keys"))
                if nonces[int(np.searchsorted(advertised, v))] != ad.graph_nonce:
                    raise ProtocolError("SHARE_KEYS", reason("graph_nonce_altered"))
            assert self._seed is not None and self._mask_sk is not None
            secrets = [
                int.from_bytes(self._seed, "big"),
                int.from_bytes(self._mask_sk.private_bytes_raw(), "big"),
            ]
            seed_shares, key_shares = shamir.split_many(
                secrets, params.threshold, len(neighbours), self._random
            )
            aeads: dict[int, AESGCM] = {}
            shares = []
            for j, v in enumerate(neighbours):
                aead = AESGCM(
                    self._agree(self._enc_sk, ads[v].encryption_key, v, Purpose.SHARE_ENCRYPTION)
                )
                aeads[v] = aead
                plaintext = shamir.encode_element(seed_shares[j]) + shamir.encode_element(
                    key_shares[j]
                )
                ciphertext = aead.encrypt(
                    share_nonce(me, v), plaintext, share_aad(ann.round_id, me, v)
                )
                shares.append(EncryptedShare(me, v, ciphertext))
            self._advertised_array = advertised
            self._nonce_digest = nonces_digest
            self._neighbours = neighbours
            self._neighbour_ads = ads
            self._aeads = aeads
            bundle = ShareBundle(ann.round_id, me, tuple(shares))
            self._replies[Stage.SHARE_KEYS] = (broadcast, bundle)
            self._stage = Stage.MASKED_INPUT
            return bundle

    def _agree(
        self, private: X25519PrivateKey | None, peer_key: bytes, peer: int, purpose: Purpose
    ) -> bytes:
        assert private is not None and self._ann is not None
        try:
            shared = private.exchange(X25519PublicKey.from_public_bytes(peer_key))
        except ValueError:
            raise ProtocolError(
                purpose.name, reason("unusable_key", participant=self._name(peer))
            ) from None
        return pair_key(shared, self._ann.round_id, purpose, self._me, peer)

    # --- MASKED_INPUT ----------------------------------------------------------------

    def receive_shares(self, delivery: ShareDelivery) -> None:
        """Decrypt neighbours' shares. After this, only `masked_input` remains for this stage."""
        cached = self._replies.get(Stage.MASKED_INPUT)
        if cached is not None and cached[0] == delivery:
            return
        self._expect(delivery, delivery.recipient)
        with self._guard():
            ann = self._ann
            assert ann is not None and self._aeads is not None
            holdings: dict[int, tuple[int, int]] = {}
            for share in delivery.shares:
                u = share.sender
                aead = self._aeads.get(u)
                if aead is None or share.recipient != self._me:
                    raise ProtocolError(
                        "MASKED_INPUT", reason("share_from_stranger", participant=self._name(u))
                    )
                if u in holdings:
                    raise ProtocolError(
                        "MASKED_INPUT", reason("two_shares", participant=self._name(u))
                    )
                try:
                    plain = aead.decrypt(
                        share_nonce(u, self._me),
                        share.ciphertext,
                        share_aad(ann.round_id, u, self._me),
                    )
                    holdings[u] = (
                        shamir.decode_element(plain[: shamir.ELEMENT_BYTES]),
                        shamir.decode_element(plain[shamir.ELEMENT_BYTES :]),
                    )
                except InvalidTag:
                    raise ShareAuthenticationError(self._name(u)) from None
                except ValueError:
                    raise ProtocolError(
                        "MASKED_INPUT", reason("bad_share", participant=self._name(u))
                    ) from None
            if len(holdings) < ann.params.threshold:
                raise ConsistencyError(
                    reason(
                        "too_few_shares",
                        got=len(holdings),
                        total=len(self._neighbours),
                        t=ann.params.threshold,
                    )
                )
            self._holdings = holdings
            self._mask_partners = tuple(sorted(holdings))
            self._aeads = None
            self._enc_sk = None
            self._replies[Stage.MASKED_INPUT] = (delivery, None)

    def masked_input(self, vector: object) -> MaskedInput:
        """y = x + PRG(b) + sum over partners v of +-PRG(s_uv) mod 2^64. Sent at most once."""
        ann = self._ann
        sent = self._sent_input
        if self._stage == Stage.ABORTED:
            raise ProtocolError("MASKED_INPUT", reason("abandoned"))
        if ann is None or (sent is None and not self.ready_for_input):
            raise StaleMessageError("masked input", reason("shares_not_arrived"))
        x = _as_int64(vector, ann.vector_length)
        digest = hashlib.sha256(x.tobytes()).digest()
        if sent is not None:
            if sent[0] == digest:
                return sent[1]
            raise InputError("vector", reason("input_second"))
        with self._guard():
            assert self._seed is not None and self._mask_sk is not None
            me = self._me
            y = x.view(np.uint64).copy()
            keys = [owner_key(self._seed, ann.round_id, Purpose.SELF_MASK, me)]
            signs = [1]
            for v in self._mask_partners:
                keys.append(
                    self._agree(
                        self._mask_sk, self._neighbour_ads[v].mask_key, v, Purpose.PAIR_MASK
                    )
                )
                signs.append(1 if me < v else -1)
            add_masks(y, keys, signs)
            message = MaskedInput(ann.round_id, me, y.astype("<u8", copy=False).tobytes())
            self._seed = None
            self._mask_sk = None
            self._sent_input = (digest, message)
            self._stage = Stage.CONSISTENCY
            return message

    # --- CONSISTENCY ------------------------------------------------------------------

    def sign_survivors(self, survivor_set: SurvivorSet) -> SurvivorSignature:
        """Sign the survivor set once; refuse one that drops us or falls below the minimum."""
        cached = self._replies.get(Stage.CONSISTENCY)
        if (
            cached is not None
            and self._ann is not None
            and survivor_set.round_id == self._ann.round_id
        ):
            if cached[0] == survivor_set:
                return cached[1]  # type: ignore[return-value]
            with self._guard():
                raise ConsistencyError(reason("second_survivor_set"))
        self._expect_consistency(survivor_set)
        with self._guard():
            ann = self._ann
            assert ann is not None
            n = len(ann.participants)
            survivors = _checked_indices("survivors", survivor_set.survivors, n)
            advertised = self._advertised_array
            at = np.searchsorted(advertised, survivors)
            if np.any(at >= advertised.size) or np.any(
                advertised[np.minimum(at, advertised.size - 1)] != survivors
            ):
                raise ConsistencyError(reason("survivors_unknown"))
            pos = int(np.searchsorted(survivors, self._me))
            if pos == survivors.size or survivors[pos] != self._me:
                raise ConsistencyError(reason("excluded_self"))
            if survivors.size < ann.params.min_survivors:
                raise BelowMinimumError(
                    "CONSISTENCY", int(survivors.size), ann.params.min_survivors
                )
            payload = survivor_payload(ann.digest, advertised, self._nonce_digest, survivors)
            signature = self._identity.sign(DOMAIN_SURVIVORS, payload)
            message = SurvivorSignature(ann.round_id, self._me, signature)
            self._survivors = frozenset(survivors.tolist())
            self._survivor_payload = payload
            self._replies[Stage.CONSISTENCY] = (survivor_set, message)
            self._stage = Stage.UNMASK
            return message

    def _expect_consistency(self, survivor_set: SurvivorSet) -> None:
        if self._stage == Stage.ABORTED:
            raise ProtocolError("CONSISTENCY", reason("abandoned"))
        if self._ann is None or survivor_set.round_id != self._ann.round_id:
            raise StaleMessageError("SurvivorSet", reason("other_round"))
        if self._stage != Stage.CONSISTENCY:
            raise StaleMessageError(
                "SurvivorSet", reason("wrong_stage", got="CONSISTENCY", stage=self._stage.name)
            )

    # --- UNMASK ---------------------------------------------------------------------

    def unmask(self, request: UnmaskRequest) -> UnmaskResponse:
        """With t valid neighbour signatures over our survivor set, reveal one share each."""
        cached = self._replies.get(Stage.UNMASK)
        if cached is not None and cached[0] == request:
            return cached[1]  # type: ignore[return-value]
        if self._stage == Stage.DONE:
            raise StaleMessageError("UnmaskRequest", reason("already_answered"))
        if self._stage == Stage.ABORTED:
            raise ProtocolError("UNMASK", reason("abandoned"))
        if self._ann is None or request.round_id != self._ann.round_id:
            raise StaleMessageError("UnmaskRequest", reason("other_round"))
        if request.recipient != self._me:
            raise StaleMessageError("UnmaskRequest", reason("other_recipient"))
        if self._stage != Stage.UNMASK:
            raise StaleMessageError(
                "UnmaskRequest", reason("wrong_stage", got="UNMASK", stage=self._stage.name)
            )
        with self._guard():
            ann = self._ann
            t = ann.params.threshold
            valid: set[int] = set()
            rejected = 0
            for sig in request.signatures:
                signer = sig.sender
                if (
                    signer in valid
                    or signer not in self._survivors
                    or not self._is_neighbour(signer)
                    or sig.round_id != ann.round_id
                ):
                    rejected += 1
                    continue
                if verify_signature(
                    ann.participants[signer].identity_key,
                    DOMAIN_SURVIVORS,
                    self._survivor_payload,
                    sig.signature,
                ):
                    valid.add(signer)
                    if len(valid) == t:
                        break
                else:
                    rejected += 1
            if len(valid) < t:
                raise ConsistencyError(
                    reason("too_few_signatures", valid=len(valid), rejected=rejected, t=t)
                )
            assert self._holdings is not None
            self_mask_shares = []
            key_shares = []
            for u in self._mask_partners:
                seed_share, key_share = self._holdings[u]
                if u in self._survivors:
                    self_mask_shares.append(OwnerShare(u, seed_share))
                else:
                    key_shares.append(OwnerShare(u, key_share))
            response = UnmaskResponse(
                ann.round_id, self._me, tuple(self_mask_shares), tuple(key_shares)
            )
            self._holdings = None
            self._replies[Stage.UNMASK] = (request, response)
            self._stage = Stage.DONE
            return response

    def _is_neighbour(self, index: int) -> bool:
        i = bisect_left(self._neighbours, index)
        return i < len(self._neighbours) and self._neighbours[i] == index

    # --- transport seam ---------------------------------------------------------------

    def handle(
        self, message: CoordinatorMessage, provide_input: InputProvider | None = None
    ) -> AgentMessage | None:
        """Answer any coordinator message; `provide_input` is called only when the masked
        input is about to be computed (after every protocol check has passed)."""
        if isinstance(message, RoundAnnouncement):
            return self.advertise(message)
        if isinstance(message, KeyBroadcast):
            return self.share_keys(message)
        if isinstance(message, ShareDelivery):
            self.receive_shares(message)
            if provide_input is None:
                return None
            return self.masked_input(provide_input())
        if isinstance(message, SurvivorSet):
            return self.sign_survivors(message)
        if isinstance(message, UnmaskRequest):
            return self.unmask(message)
        raise ProtocolError("any", reason("not_accepted", kind=type(message).__name__))
