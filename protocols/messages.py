"""The messages of one SecAgg+ round, as frozen dataclasses with a strict wire form.

Every message carries the protocol version, the round id and its stage, so a
transport can route, deduplicate and retry them idempotently (same bytes,
same answer). `to_bytes()` / `from_bytes()` use the binary framing in
`codec`:

    magic "KLSA" | version u8 | kind u8 | stage u8 | round id (16 bytes) | body

`from_bytes` checks every length, count, range and ordering and raises
`MessageError` for anything else, so bytes off the wire are fully validated.
Messages built in-process validate their scalar fields on construction; the
elements of large collections (index lists, forwarded advertisements) are
checked by the state machine that consumes them, which must check their
meaning anyway, so the coordinator does not pay for the same check twice.

Direction and stage:

    coordinator -> agent            agent -> coordinator
    ANNOUNCE      RoundAnnouncement
    ADVERTISE_KEYS                  KeyAdvertisement
    SHARE_KEYS    KeyBroadcast      ShareBundle
    MASKED_INPUT  ShareDelivery     MaskedInput
    CONSISTENCY   SurvivorSet       SurvivorSignature
    UNMASK        UnmaskRequest     UnmaskResponse
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property
from typing import Any, ClassVar, Self

import numpy as np

from protocols import shamir
from protocols.codec import Reader, Writer
from protocols.errors import MessageError, ParameterError
from protocols.params import MAX_PARTICIPANTS, RoundParams
from protocols.prg import MAX_WORDS
from protocols.registry import PRACTICE_ID

PROTOCOL_VERSION = 2  # 2: graph nonces in advertisements and broadcasts
MAGIC = b"KLSA"
ROUND_ID_BYTES = 16
KEY_BYTES = 32  # X25519 public keys, SHA-256 digests
GRAPH_NONCE_BYTES = 16  # each practice's fresh contribution to the neighbour graph's seed
IDENTITY_KEY_BYTES = 32
SIGNATURE_BYTES = 64
SHARE_PLAINTEXT_BYTES = 2 * shamir.ELEMENT_BYTES
CIPHERTEXT_BYTES = SHARE_PLAINTEXT_BYTES + 16  # AES-GCM tag
MAX_VECTOR_LENGTH = MAX_WORDS
MAX_TEXT = 256
# What a round sums (`RoundAnnouncement.scope`): one cluster, or every practice of a region.
SCOPE_CLUSTER = "cluster"
SCOPE_REGION = "region"
SCOPES: tuple[str, ...] = (SCOPE_CLUSTER, SCOPE_REGION)  # wire code = index
_HEADER_BYTES = len(MAGIC) + 3 + ROUND_ID_BYTES


class Stage(IntEnum):
    """The stages of a round; also the states of the agent and coordinator machines."""

    ANNOUNCE = 1
    ADVERTISE_KEYS = 2
    SHARE_KEYS = 3
    MASKED_INPUT = 4
    CONSISTENCY = 5
    UNMASK = 6
    DONE = 7
    ABORTED = 8


# --- field checks -------------------------------------------------------------


def _bytes(name: str, value: object, size: int) -> None:
    if not isinstance(value, bytes):
        raise MessageError(name, f"expected bytes, got {type(value).__name__}")
    if len(value) != size:
        raise MessageError(name, f"expected {size} bytes, got {len(value)}")


def _int(name: str, value: object, low: int, high: int) -> None:
    if type(value) is not int and (
        not isinstance(value, int | np.integer) or isinstance(value, bool)
    ):
        raise MessageError(name, f"expected an integer, got {type(value).__name__}")
    if not low <= value <= high:
        raise MessageError(name, f"{value} outside {low}..{high}")


def _index(name: str, value: object) -> None:
    _int(name, value, 0, MAX_PARTICIPANTS - 1)


def _text(name: str, value: object) -> None:
    if not isinstance(value, str):
        raise MessageError(name, f"expected text, got {type(value).__name__}")
    if not value or len(value.encode("utf-8")) > MAX_TEXT:
        raise MessageError(name, f"must be 1..{MAX_TEXT} bytes of UTF-8")


def _tuple(obj: object, name: str, item_type: type | None = None) -> tuple[Any, ...]:
    value = getattr(obj, name)
    if isinstance(value, list):
        value = tuple(value)
        object.__setattr__(obj, name, value)
    if not isinstance(value, tuple):
        raise MessageError(name, f"expected a tuple, got {type(value).__name__}")
    if item_type is not None:
        for i, item in enumerate(value):
            if not isinstance(item, item_type):
                raise MessageError(f"{name}[{i}]", f"expected {item_type.__name__}")
    return value


def _sorted_unique(name: str, values: tuple[int, ...]) -> None:
    for i in range(1, len(values)):
        if values[i] <= values[i - 1]:
            raise MessageError(name, "must be sorted and without duplicates")


# --- base ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Message:
    KIND: ClassVar[int] = 0
    STAGE: ClassVar[Stage] = Stage.ANNOUNCE

    round_id: bytes
    version: int = field(default=PROTOCOL_VERSION, kw_only=True)

    def __post_init__(self) -> None:
        _bytes("round_id", self.round_id, ROUND_ID_BYTES)
        if self.version != PROTOCOL_VERSION:
            raise MessageError("version", f"unsupported protocol version {self.version}")

    @property
    def stage(self) -> Stage:
        return self.STAGE

    def to_bytes(self) -> bytes:
        w = Writer()
        w.fixed(MAGIC)
        w.u8(self.version)
        w.u8(self.KIND)
        w.u8(int(self.STAGE))
        w.fixed(self.round_id)
        self._write_body(w)
        return w.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        r = Reader(data)
        kind, round_id = _read_header(r)
        if kind != cls.KIND:
            raise MessageError("kind", f"expected {cls.__name__}, got kind {kind}")
        try:
            message = cls._read_body(r, round_id)
        except ParameterError as exc:
            raise MessageError(str(exc.fields["field"]), str(exc.fields["reason"])) from None
        r.finish()
        return message

    def _write_body(self, w: Writer) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def _read_body(cls, r: Reader, round_id: bytes) -> Self:  # pragma: no cover - abstract
        raise NotImplementedError


def _read_header(r: Reader) -> tuple[int, bytes]:
    if r.fixed(len(MAGIC), "magic") != MAGIC:
        raise MessageError("magic", "not a Klynge secure-aggregation message")
    version = r.u8("version")
    if version != PROTOCOL_VERSION:
        raise MessageError("version", f"unsupported protocol version {version}")
    kind = r.u8("kind")
    if kind not in _KINDS:
        raise MessageError("kind", f"unknown message kind {kind}")
    stage = r.u8("stage")
    if stage != _KINDS[kind].STAGE:
        raise MessageError("stage", f"stage {stage} does not match kind {kind}")
    return kind, r.fixed(ROUND_ID_BYTES, "round_id")


_practice_id_ok = PRACTICE_ID.fullmatch


# --- ANNOUNCE -----------------------------------------------------------------


@dataclass(frozen=True)
class Participant:
    """A practice in the round: its registry id and long-term Ed25519 identity key."""

    practice_id: str
    identity_key: bytes

    def __post_init__(self) -> None:
        if type(self.practice_id) is not str or not _practice_id_ok(self.practice_id):
            raise MessageError("practice_id", f"invalid practice id {self.practice_id!r}")
        if type(self.identity_key) is not bytes or len(self.identity_key) != IDENTITY_KEY_BYTES:
            _bytes("identity_key", self.identity_key, IDENTITY_KEY_BYTES)


@dataclass(frozen=True)
class RoundAnnouncement(_Message):
    """Who takes part, with which parameters, for which manifest and reference date.

    Participants are sorted by practice id; a participant's index in this
    tuple is how every later message refers to it. `scope` says what the
    round sums: one cluster (`cluster_id`, `region` empty) or, in a
    region-wide round, every practice of `region` (`cluster_id` empty). Both
    are in the digest every agent signs, so a coordinator cannot present a
    cluster round to one practice and a region round to another.
    """

    KIND: ClassVar[int] = 1
    STAGE: ClassVar[Stage] = Stage.ANNOUNCE

    cluster_id: str
    reference_date: str
    manifest_hash: bytes
    params: RoundParams
    vector_length: int
    participants: tuple[Participant, ...]
    scope: str = SCOPE_CLUSTER
    region: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.scope not in SCOPES:
            raise MessageError("scope", f"expected one of {', '.join(SCOPES)}")
        if self.scope == SCOPE_CLUSTER:
            _text("cluster_id", self.cluster_id)
            if self.region != "":
                raise MessageError("region", "a cluster round names no region")
        else:
            if self.cluster_id != "":
                raise MessageError("cluster_id", "a region-wide round names no cluster")
            _text("region", self.region)
        if not isinstance(self.reference_date, str):
            raise MessageError("reference_date", "expected text YYYY-MM-DD")
        try:
            parsed = dt.date.fromisoformat(self.reference_date)
        except ValueError:
            raise MessageError("reference_date", "expected a date YYYY-MM-DD") from None
        if parsed.isoformat() != self.reference_date:
            raise MessageError("reference_date", "expected a date YYYY-MM-DD")
        _bytes("manifest_hash", self.manifest_hash, KEY_BYTES)
        if not isinstance(self.params, RoundParams):
            raise MessageError("params", "expected RoundParams")
        _int("vector_length", self.vector_length, 1, MAX_VECTOR_LENGTH)
        participants = _tuple(self, "participants", Participant)
        if not 1 <= len(participants) <= MAX_PARTICIPANTS:
            raise MessageError("participants", f"need 1..{MAX_PARTICIPANTS} participants")
        for i in range(1, len(participants)):
            if participants[i].practice_id <= participants[i - 1].practice_id:
                raise MessageError("participants", "must be sorted by practice id, no duplicates")
        if len({p.identity_key for p in participants}) != len(participants):
            raise MessageError("participants", "two participants share an identity key")

    @property
    def unit(self) -> str:
        """What the round sums: the cluster id, or the region of a region-wide round."""
        return self.region if self.scope == SCOPE_REGION else self.cluster_id

    @cached_property
    def digest(self) -> bytes:
        """SHA-256 of the encoding; agents sign it, binding their keys to this exact round."""
        return hashlib.sha256(self.to_bytes()).digest()

    def index_of(self, practice_id: str) -> int | None:
        lo, hi = 0, len(self.participants)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.participants[mid].practice_id < practice_id:
                lo = mid + 1
            else:
                hi = mid
        if lo < len(self.participants) and self.participants[lo].practice_id == practice_id:
            return lo
        return None

    def _write_body(self, w: Writer) -> None:
        w.text(self.cluster_id)
        w.text(self.reference_date)
        w.fixed(self.manifest_hash)
        w.u32(self.params.k)
        w.u32(self.params.threshold)
        w.u32(self.params.min_survivors)
        w.u32(self.vector_length)
        w.u32(len(self.participants))
        for p in self.participants:
            w.text(p.practice_id)
            w.fixed(p.identity_key)
        w.u8(SCOPES.index(self.scope))
        w.text(self.region)

    @classmethod
    def _read_body(cls, r: Reader, round_id: bytes) -> Self:
        cluster_id = r.text("cluster_id", MAX_TEXT)
        reference_date = r.text("reference_date", MAX_TEXT)
        manifest_hash = r.fixed(KEY_BYTES, "manifest_hash")
        params = RoundParams(r.u32("params.k"), r.u32("params.threshold"), r.u32("params.min"))
        vector_length = r.u32("vector_length")
        records = r.labelled_keys("participants", MAX_PARTICIPANTS, 64, IDENTITY_KEY_BYTES)
        participants = tuple(Participant(pid, key) for pid, key in records)
        code = r.u8("scope")
        if code >= len(SCOPES):
            raise MessageError("scope", f"unknown scope code {code}")
        region = r.text("region", MAX_TEXT)
        return cls(
            round_id,
            cluster_id,
            reference_date,
            manifest_hash,
            params,
            vector_length,
            participants,
            SCOPES[code],
            region,
        )


# --- ADVERTISE_KEYS -----------------------------------------------------------


@dataclass(frozen=True)
class KeyAdvertisement(_Message):
    """A practice's fresh round keys, signed with its long-term identity key.

    `self_mask_commitment` is SHA-256 over the self-mask seed; the coordinator
    checks the reconstructed seed against it, so corrupted shares are detected
    instead of silently producing a wrong sum. `graph_nonce` is fresh randomness
    that goes into the neighbour graph's seed (see `neighbours`).
    """

    KIND: ClassVar[int] = 2
    STAGE: ClassVar[Stage] = Stage.ADVERTISE_KEYS
    BODY_BYTES: ClassVar[int] = 4 + 3 * KEY_BYTES + SIGNATURE_BYTES + GRAPH_NONCE_BYTES

    sender: int
    encryption_key: bytes
    mask_key: bytes
    self_mask_commitment: bytes
    signature: bytes
    graph_nonce: bytes

    def __post_init__(self) -> None:
        super().__post_init__()
        _index("sender", self.sender)
        _bytes("encryption_key", self.encryption_key, KEY_BYTES)
        _bytes("mask_key", self.mask_key, KEY_BYTES)
        _bytes("self_mask_commitment", self.self_mask_commitment, KEY_BYTES)
        _bytes("signature", self.signature, SIGNATURE_BYTES)
        _bytes("graph_nonce", self.graph_nonce, GRAPH_NONCE_BYTES)

    def _write_body(self, w: Writer) -> None:
        w.u32(self.sender)
        w.fixed(self.encryption_key)
        w.fixed(self.mask_key)
        w.fixed(self.self_mask_commitment)
        w.fixed(self.signature)
        w.fixed(self.graph_nonce)

    @classmethod
    def _read_body(cls, r: Reader, round_id: bytes, prefix: str = "") -> Self:
        return cls(
            round_id,
            r.u32(prefix + "sender"),
            r.fixed(KEY_BYTES, prefix + "encryption_key"),
            r.fixed(KEY_BYTES, prefix + "mask_key"),
            r.fixed(KEY_BYTES, prefix + "self_mask_commitment"),
            r.fixed(SIGNATURE_BYTES, prefix + "signature"),
            r.fixed(GRAPH_NONCE_BYTES, prefix + "graph_nonce"),
        )


# --- SHARE_KEYS ---------------------------------------------------------------


@dataclass(frozen=True)
class KeyBroadcast(_Message):
    """To one agent: who advertised keys, each one's graph nonce (in the same order),
    and the signed keys of its neighbours."""

    KIND: ClassVar[int] = 3
    STAGE: ClassVar[Stage] = Stage.SHARE_KEYS

    recipient: int
    advertised: tuple[int, ...]
    neighbour_keys: tuple[KeyAdvertisement, ...]
    graph_nonces: tuple[bytes, ...]

    def __post_init__(self) -> None:
        super().__post_init__()
        _index("recipient", self.recipient)
        _tuple(self, "advertised")
        _tuple(self, "neighbour_keys")
        _tuple(self, "graph_nonces")

    def _write_body(self, w: Writer) -> None:
        w.u32(self.recipient)
        w.u32_list(self.advertised)
        w.u32(len(self.neighbour_keys))
        for i, ad in enumerate(self.neighbour_keys):
            if ad.round_id != self.round_id:
                raise MessageError(f"neighbour_keys[{i}]", "belongs to another round")
            ad._write_body(w)
        if len(self.graph_nonces) != len(self.advertised):
            raise MessageError("graph_nonces", "one per advertised practice")
        w.fixed(b"".join(self.graph_nonces))

    @classmethod
    def _read_body(cls, r: Reader, round_id: bytes) -> Self:
        recipient = r.u32("recipient")
        advertised = r.u32_list("advertised", MAX_PARTICIPANTS)
        _sorted_unique("advertised", advertised)
        n = r.count("neighbour_keys", KeyAdvertisement.BODY_BYTES, MAX_PARTICIPANTS)
        keys = tuple(
            KeyAdvertisement._read_body(r, round_id, f"neighbour_keys[{i}].") for i in range(n)
        )
        block = r.fixed(GRAPH_NONCE_BYTES * len(advertised), "graph_nonces")
        nonces = tuple(
            block[i : i + GRAPH_NONCE_BYTES] for i in range(0, len(block), GRAPH_NONCE_BYTES)
        )
        return cls(round_id, recipient, advertised, keys, nonces)


@dataclass(frozen=True)
class EncryptedShare:
    """AES-GCM(self-mask share || mask-key share) from `sender` to `recipient`."""

    sender: int
    recipient: int
    ciphertext: bytes

    def __post_init__(self) -> None:
        _index("sender", self.sender)
        _index("recipient", self.recipient)
        if self.sender == self.recipient:
            raise MessageError("recipient", "a share cannot be addressed to its sender")
        _bytes("ciphertext", self.ciphertext, CIPHERTEXT_BYTES)


@dataclass(frozen=True)
class ShareBundle(_Message):
    """From one agent: its encrypted shares, one per neighbour."""

    KIND: ClassVar[int] = 4
    STAGE: ClassVar[Stage] = Stage.SHARE_KEYS

    sender: int
    shares: tuple[EncryptedShare, ...]

    def __post_init__(self) -> None:
        super().__post_init__()
        _index("sender", self.sender)
        shares = _tuple(self, "shares", EncryptedShare)
        recipients = set()
        for i, share in enumerate(shares):
            if share.sender != self.sender:
                raise MessageError(f"shares[{i}].sender", "differs from the bundle's sender")
            recipients.add(share.recipient)
        if len(recipients) != len(shares):
            raise MessageError("shares", "two shares for the same recipient")

    def _write_body(self, w: Writer) -> None:
        w.u32(self.sender)
        w.u32(len(self.shares))
        for share in self.shares:
            w.u32(share.recipient)
            w.fixed(share.ciphertext)

    @classmethod
    def _read_body(cls, r: Reader, round_id: bytes) -> Self:
        sender = r.u32("sender")
        _index("sender", sender)
        n = r.count("shares", 4 + CIPHERTEXT_BYTES, MAX_PARTICIPANTS)
        shares = tuple(
            EncryptedShare(
                sender,
                r.u32(f"shares[{i}].recipient"),
                r.fixed(CIPHERTEXT_BYTES, f"shares[{i}].ciphertext"),
            )
            for i in range(n)
        )
        return cls(round_id, sender, shares)


# --- MASKED_INPUT -------------------------------------------------------------


@dataclass(frozen=True)
class ShareDelivery(_Message):
    """To one agent: the shares its neighbours addressed to it; asks for the masked input."""

    KIND: ClassVar[int] = 5
    STAGE: ClassVar[Stage] = Stage.MASKED_INPUT

    recipient: int
    shares: tuple[EncryptedShare, ...]

    def __post_init__(self) -> None:
        super().__post_init__()
        _index("recipient", self.recipient)
        _tuple(self, "shares")

    def _write_body(self, w: Writer) -> None:
        w.u32(self.recipient)
        w.u32(len(self.shares))
        for i, share in enumerate(self.shares):
            if share.recipient != self.recipient:
                raise MessageError(f"shares[{i}].recipient", "differs from the delivery's")
            w.u32(share.sender)
            w.fixed(share.ciphertext)

    @classmethod
    def _read_body(cls, r: Reader, round_id: bytes) -> Self:
        recipient = r.u32("recipient")
        _index("recipient", recipient)
        n = r.count("shares", 4 + CIPHERTEXT_BYTES, MAX_PARTICIPANTS)
        shares = tuple(
            EncryptedShare(
                r.u32(f"shares[{i}].sender"),
                recipient,
                r.fixed(CIPHERTEXT_BYTES, f"shares[{i}].ciphertext"),
            )
            for i in range(n)
        )
        if len({s.sender for s in shares}) != len(shares):
            raise MessageError("shares", "two shares from the same sender")
        return cls(round_id, recipient, shares)


@dataclass(frozen=True)
class MaskedInput(_Message):
    """From one agent: y = x + PRG(self mask) + sum of signed pairwise masks, mod 2^64.

    Stored as immutable little-endian bytes; `vector` is a read-only uint64 view.
    """

    KIND: ClassVar[int] = 6
    STAGE: ClassVar[Stage] = Stage.MASKED_INPUT

    sender: int
    masked: bytes

    def __post_init__(self) -> None:
        super().__post_init__()
        _index("sender", self.sender)
        if not isinstance(self.masked, bytes):
            raise MessageError("masked", "expected bytes")
        if not self.masked or len(self.masked) % 8 or len(self.masked) > 8 * MAX_VECTOR_LENGTH:
            raise MessageError("masked", "must be 1..2^24 little-endian uint64 words")

    @property
    def length(self) -> int:
        return len(self.masked) // 8

    @property
    def vector(self) -> np.ndarray:
        return np.frombuffer(self.masked, dtype="<u8")

    def _write_body(self, w: Writer) -> None:
        w.u32(self.sender)
        w.var_bytes(self.masked)

    @classmethod
    def _read_body(cls, r: Reader, round_id: bytes) -> Self:
        sender = r.u32("sender")
        return cls(round_id, sender, r.var_bytes("masked", 8 * MAX_VECTOR_LENGTH))


# --- CONSISTENCY --------------------------------------------------------------


@dataclass(frozen=True)
class SurvivorSet(_Message):
    """The practices whose masked input the coordinator holds; each agent signs it once."""

    KIND: ClassVar[int] = 7
    STAGE: ClassVar[Stage] = Stage.CONSISTENCY

    survivors: tuple[int, ...]

    def __post_init__(self) -> None:
        super().__post_init__()
        _tuple(self, "survivors")

    def _write_body(self, w: Writer) -> None:
        w.u32_list(self.survivors)

    @classmethod
    def _read_body(cls, r: Reader, round_id: bytes) -> Self:
        survivors = r.u32_list("survivors", MAX_PARTICIPANTS)
        _sorted_unique("survivors", survivors)
        return cls(round_id, survivors)


@dataclass(frozen=True)
class SurvivorSignature(_Message):
    """An agent's Ed25519 signature over (announcement, advertised set, survivor set)."""

    KIND: ClassVar[int] = 8
    STAGE: ClassVar[Stage] = Stage.CONSISTENCY
    BODY_BYTES: ClassVar[int] = 4 + SIGNATURE_BYTES

    sender: int
    signature: bytes

    def __post_init__(self) -> None:
        super().__post_init__()
        _index("sender", self.sender)
        _bytes("signature", self.signature, SIGNATURE_BYTES)

    def _write_body(self, w: Writer) -> None:
        w.u32(self.sender)
        w.fixed(self.signature)

    @classmethod
    def _read_body(cls, r: Reader, round_id: bytes, prefix: str = "") -> Self:
        return cls(round_id, r.u32(prefix + "sender"), r.fixed(SIGNATURE_BYTES, prefix + "sig"))


# --- UNMASK -------------------------------------------------------------------


@dataclass(frozen=True)
class UnmaskRequest(_Message):
    """To one agent: its neighbours' survivor signatures; it needs t valid ones to answer."""

    KIND: ClassVar[int] = 9
    STAGE: ClassVar[Stage] = Stage.UNMASK

    recipient: int
    signatures: tuple[SurvivorSignature, ...]

    def __post_init__(self) -> None:
        super().__post_init__()
        _index("recipient", self.recipient)
        _tuple(self, "signatures")

    def _write_body(self, w: Writer) -> None:
        w.u32(self.recipient)
        w.u32(len(self.signatures))
        for i, sig in enumerate(self.signatures):
            if sig.round_id != self.round_id:
                raise MessageError(f"signatures[{i}]", "belongs to another round")
            sig._write_body(w)

    @classmethod
    def _read_body(cls, r: Reader, round_id: bytes) -> Self:
        recipient = r.u32("recipient")
        n = r.count("signatures", SurvivorSignature.BODY_BYTES, MAX_PARTICIPANTS)
        sigs = tuple(
            SurvivorSignature._read_body(r, round_id, f"signatures[{i}].") for i in range(n)
        )
        return cls(round_id, recipient, sigs)


@dataclass(frozen=True)
class OwnerShare:
    """One Shamir share of `owner`'s secret, as a field element."""

    owner: int
    share: int

    def __post_init__(self) -> None:
        _index("owner", self.owner)
        if not isinstance(self.share, int) or not 0 <= self.share < shamir.PRIME:
            raise MessageError("share", "outside the field GF(2^521 - 1)")


@dataclass(frozen=True)
class UnmaskResponse(_Message):
    """From one agent: per neighbour, the self-mask share (it survived) or the mask-key
    share (it dropped). The type cannot hold both for one owner."""

    KIND: ClassVar[int] = 10
    STAGE: ClassVar[Stage] = Stage.UNMASK

    sender: int
    self_mask_shares: tuple[OwnerShare, ...]
    key_shares: tuple[OwnerShare, ...]

    def __post_init__(self) -> None:
        super().__post_init__()
        _index("sender", self.sender)
        self_shares = _tuple(self, "self_mask_shares", OwnerShare)
        key_shares = _tuple(self, "key_shares", OwnerShare)
        owners = [s.owner for s in self_shares] + [s.owner for s in key_shares]
        if len(set(owners)) != len(owners):
            raise MessageError("shares", "an owner appears twice (both shares are never revealed)")
        if self.sender in owners:
            raise MessageError("shares", "an agent never reveals its own secrets")

    def _write_body(self, w: Writer) -> None:
        w.u32(self.sender)
        for group in (self.self_mask_shares, self.key_shares):
            w.u32(len(group))
            for s in group:
                w.u32(s.owner)
                w.fixed(shamir.encode_element(s.share))

    @classmethod
    def _read_body(cls, r: Reader, round_id: bytes) -> Self:
        sender = r.u32("sender")
        groups = []
        for name in ("self_mask_shares", "key_shares"):
            n = r.count(name, 4 + shamir.ELEMENT_BYTES, MAX_PARTICIPANTS)
            group = []
            for i in range(n):
                owner = r.u32(f"{name}[{i}].owner")
                raw = r.fixed(shamir.ELEMENT_BYTES, f"{name}[{i}].share")
                try:
                    value = shamir.decode_element(raw)
                except ValueError as exc:
                    raise MessageError(f"{name}[{i}].share", str(exc)) from None
                group.append(OwnerShare(owner, value))
            groups.append(tuple(group))
        return cls(round_id, sender, groups[0], groups[1])


# --- dispatch -----------------------------------------------------------------

Message = (
    RoundAnnouncement
    | KeyAdvertisement
    | KeyBroadcast
    | ShareBundle
    | ShareDelivery
    | MaskedInput
    | SurvivorSet
    | SurvivorSignature
    | UnmaskRequest
    | UnmaskResponse
)
AgentMessage = KeyAdvertisement | ShareBundle | MaskedInput | SurvivorSignature | UnmaskResponse
CoordinatorMessage = RoundAnnouncement | KeyBroadcast | ShareDelivery | SurvivorSet | UnmaskRequest

_KINDS: dict[int, type[Message]] = {
    cls.KIND: cls
    for cls in (
        RoundAnnouncement,
        KeyAdvertisement,
        KeyBroadcast,
        ShareBundle,
        ShareDelivery,
        MaskedInput,
        SurvivorSet,
        SurvivorSignature,
        UnmaskRequest,
        UnmaskResponse,
    )
}


def decode_message(data: bytes) -> Message:
    """Any message from its bytes; raises MessageError for anything malformed."""
    r = Reader(data)
    kind, _ = _read_header(r)
    return _KINDS[kind].from_bytes(data)


def peek_header(data: bytes) -> tuple[type[_Message], Stage, bytes]:
    """(message class, stage, round id) without decoding the body: for routing and dedup."""
    r = Reader(data)
    kind, round_id = _read_header(r)
    cls = _KINDS[kind]
    return cls, cls.STAGE, round_id
