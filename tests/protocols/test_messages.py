"""The wire form: every message round-trips, and bad bytes give MessageError, never a crash."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols import shamir
from protocols.errors import MessageError
from protocols.messages import (
    CIPHERTEXT_BYTES,
    MAGIC,
    SCOPE_CLUSTER,
    SCOPE_REGION,
    EncryptedShare,
    KeyAdvertisement,
    KeyBroadcast,
    MaskedInput,
    OwnerShare,
    Participant,
    RoundAnnouncement,
    ShareBundle,
    ShareDelivery,
    Stage,
    SurvivorSet,
    SurvivorSignature,
    UnmaskRequest,
    UnmaskResponse,
    decode_message,
    peek_header,
)
from protocols.params import RoundParams

FAST = settings(max_examples=60, deadline=None)

round_ids = st.binary(min_size=16, max_size=16)
indices = st.integers(0, 5000)
key32 = st.binary(min_size=32, max_size=32)
sig64 = st.binary(min_size=64, max_size=64)
index_sets = st.lists(indices, max_size=30, unique=True).map(lambda v: tuple(sorted(v)))
practice_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,11}", fullmatch=True)


@st.composite
def announcements(draw: st.DrawFn) -> RoundAnnouncement:
    ids = sorted(draw(st.sets(practice_ids, min_size=1, max_size=12)))
    keys = draw(st.lists(key32, min_size=len(ids), max_size=len(ids), unique=True))
    unit = draw(st.text(min_size=1, max_size=20).filter(lambda s: len(s.encode()) <= 256))
    region_wide = draw(st.booleans())
    return RoundAnnouncement(
        draw(round_ids),
        "" if region_wide else unit,
        draw(st.dates().map(lambda d: d.isoformat())),
        draw(key32),
        RoundParams(draw(st.integers(1, 60)), draw(st.integers(1, 60)), draw(st.integers(1, 99))),
        draw(st.integers(1, 4096)),
        tuple(Participant(i, k) for i, k in zip(ids, keys, strict=True)),
        SCOPE_REGION if region_wide else SCOPE_CLUSTER,
        unit if region_wide else "",
    )


@st.composite
def adverts(draw: st.DrawFn, round_id: bytes | None = None) -> KeyAdvertisement:
    return KeyAdvertisement(
        round_id or draw(round_ids),
        draw(indices),
        draw(key32),
        draw(key32),
        draw(key32),
        draw(sig64),
        draw(st.binary(min_size=16, max_size=16)),
    )


@st.composite
def broadcasts(draw: st.DrawFn) -> KeyBroadcast:
    rid = draw(round_ids)
    ads = tuple(draw(st.lists(adverts(rid), max_size=5)))
    advertised = draw(index_sets)
    nonces = tuple(bytes([i % 256]) * 16 for i in range(len(advertised)))
    return KeyBroadcast(rid, draw(indices), advertised, ads, nonces)


ciphertexts = st.binary(min_size=CIPHERTEXT_BYTES, max_size=CIPHERTEXT_BYTES)


@st.composite
def bundles(draw: st.DrawFn) -> ShareBundle:
    sender = draw(indices)
    recipients = draw(st.lists(indices.filter(lambda i: i != sender), max_size=6, unique=True))
    shares = tuple(EncryptedShare(sender, r, draw(ciphertexts)) for r in recipients)
    return ShareBundle(draw(round_ids), sender, shares)


@st.composite
def deliveries(draw: st.DrawFn) -> ShareDelivery:
    recipient = draw(indices)
    senders = draw(st.lists(indices.filter(lambda i: i != recipient), max_size=6, unique=True))
    shares = tuple(EncryptedShare(s, recipient, draw(ciphertexts)) for s in senders)
    return ShareDelivery(draw(round_ids), recipient, shares)


masked_inputs = st.builds(
    MaskedInput,
    round_ids,
    indices,
    st.integers(1, 64).flatmap(lambda n: st.binary(min_size=8 * n, max_size=8 * n)),
)
survivor_sets = st.builds(SurvivorSet, round_ids, index_sets)
survivor_sigs = st.builds(SurvivorSignature, round_ids, indices, sig64)


@st.composite
def requests(draw: st.DrawFn) -> UnmaskRequest:
    rid = draw(round_ids)
    sigs = tuple(
        draw(st.lists(st.builds(SurvivorSignature, st.just(rid), indices, sig64), max_size=5))
    )
    return UnmaskRequest(rid, draw(indices), sigs)


@st.composite
def responses(draw: st.DrawFn) -> UnmaskResponse:
    sender = draw(indices)
    owners = draw(st.lists(indices.filter(lambda i: i != sender), max_size=8, unique=True))
    split = draw(st.integers(0, len(owners)))
    field = st.integers(0, shamir.PRIME - 1)
    seeds = tuple(OwnerShare(o, draw(field)) for o in owners[:split])
    keys = tuple(OwnerShare(o, draw(field)) for o in owners[split:])
    return UnmaskResponse(draw(round_ids), sender, seeds, keys)


any_message = st.one_of(
    announcements(),
    adverts(),
    broadcasts(),
    bundles(),
    deliveries(),
    masked_inputs,
    survivor_sets,
    survivor_sigs,
    requests(),
    responses(),
)


@FAST
@given(any_message)
def test_every_message_round_trips(message) -> None:
    data = message.to_bytes()
    assert type(message).from_bytes(data) == message
    assert decode_message(data) == message
    cls, stage, round_id = peek_header(data)
    assert cls is type(message) and stage == message.stage and round_id == message.round_id


@FAST
@given(any_message, st.data())
def test_truncated_messages_raise_message_error(message, data) -> None:
    raw = message.to_bytes()
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(MessageError):
        decode_message(raw[:cut])
    with pytest.raises(MessageError):
        type(message).from_bytes(raw[:cut])


@FAST
@given(any_message, st.binary(min_size=1, max_size=9))
def test_trailing_bytes_raise_message_error(message, extra: bytes) -> None:
    with pytest.raises(MessageError):
        decode_message(message.to_bytes() + extra)


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(any_message, st.data())
def test_corrupted_bytes_decode_or_raise_message_error(message, data) -> None:
    raw = bytearray(message.to_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    try:
        decoded = decode_message(bytes(raw))
    except MessageError:
        return
    assert decoded.to_bytes() == bytes(raw)  # anything accepted re-encodes identically


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_message_error(blob: bytes) -> None:
    with pytest.raises(MessageError):
        decode_message(blob)  # no valid message starts without the magic
    try:  # behind a valid magic and version anything may follow: decode or MessageError
        decoded = decode_message(MAGIC + bytes([1]) + blob)
    except MessageError:
        return
    assert decoded.to_bytes() == MAGIC + bytes([1]) + blob


def test_a_header_with_unknown_version_kind_or_stage_is_rejected() -> None:
    raw = bytearray(SurvivorSet(bytes(16), (1, 2)).to_bytes())
    for pos, value in ((4, 3), (5, 99), (6, int(Stage.UNMASK))):
        bad = bytearray(raw)
        bad[pos] = value
        with pytest.raises(MessageError):
            decode_message(bytes(bad))
    with pytest.raises(MessageError):
        SurvivorSet.from_bytes(SurvivorSignature(bytes(16), 1, bytes(64)).to_bytes())


def test_huge_declared_counts_do_not_allocate() -> None:
    raw = SurvivorSet(bytes(16), ()).to_bytes()
    with pytest.raises(MessageError):
        decode_message(raw[:-4] + (2**32 - 1).to_bytes(4, "little"))


def test_unsorted_index_sets_are_rejected_on_the_wire() -> None:
    raw = SurvivorSet(bytes(16), (1, 5)).to_bytes()
    swapped = raw[:-8] + raw[-4:] + raw[-8:-4]
    with pytest.raises(MessageError):
        decode_message(swapped)


@pytest.mark.parametrize(
    "build",
    [
        lambda: SurvivorSet(bytes(15), ()),
        lambda: KeyAdvertisement(
            bytes(16), 0, bytes(31), bytes(32), bytes(32), bytes(64), bytes(16)
        ),
        lambda: KeyAdvertisement(
            bytes(16), -1, bytes(32), bytes(32), bytes(32), bytes(64), bytes(16)
        ),
        lambda: KeyAdvertisement(
            bytes(16), True, bytes(32), bytes(32), bytes(32), bytes(64), bytes(16)
        ),
        lambda: MaskedInput(bytes(16), 0, bytes(7)),
        lambda: MaskedInput(bytes(16), 0, b""),
        lambda: EncryptedShare(3, 3, bytes(CIPHERTEXT_BYTES)),
        lambda: OwnerShare(1, shamir.PRIME),
        lambda: UnmaskResponse(bytes(16), 0, (OwnerShare(1, 5),), (OwnerShare(1, 6),)),
        lambda: UnmaskResponse(bytes(16), 1, (OwnerShare(1, 5),), ()),
        lambda: ShareBundle(bytes(16), 0, (EncryptedShare(1, 2, bytes(CIPHERTEXT_BYTES)),)),
        lambda: Participant("bad id!", bytes(32)),
        lambda: SurvivorSet(bytes(16), (1,), version=3),
    ],
)
def test_invalid_fields_raise_message_error(build) -> None:
    with pytest.raises(MessageError):
        build()


def two_party_announcement() -> RoundAnnouncement:
    return RoundAnnouncement(
        bytes(16),
        "K01",
        "2025-03-31",
        bytes(32),
        RoundParams(4, 3, 5),
        8,
        (Participant("a", bytes(32)), Participant("b", bytes([1]) * 32)),
    )


def test_announcement_checks_order_dates_and_duplicate_keys() -> None:
    base = two_party_announcement()
    assert base.index_of("b") == 1 and base.index_of("c") is None
    with pytest.raises(MessageError):
        dataclasses.replace(base, participants=base.participants[::-1])
    with pytest.raises(MessageError):
        dataclasses.replace(
            base, participants=(Participant("a", bytes(32)), Participant("b", bytes(32)))
        )
    with pytest.raises(MessageError):
        dataclasses.replace(base, reference_date="2025-3-31")
    with pytest.raises(MessageError):
        dataclasses.replace(base, vector_length=0)
    assert len(base.digest) == 32
    assert base.digest != dataclasses.replace(base, manifest_hash=bytes([7]) * 32).digest


def test_announcement_says_what_it_sums_and_the_digest_binds_it() -> None:
    """A cluster round names its cluster; a region-wide round its region and no cluster."""
    cluster = two_party_announcement()
    assert cluster.scope == SCOPE_CLUSTER and cluster.unit == "K01"
    region = dataclasses.replace(cluster, cluster_id="", scope=SCOPE_REGION, region="Midtjylland")
    assert region.unit == "Midtjylland"
    assert RoundAnnouncement.from_bytes(region.to_bytes()) == region
    assert region.digest != cluster.digest  # every agent signs which kind of round it joins
    for bad in (
        {"scope": "nation"},
        {"region": "Midtjylland"},  # a cluster round naming a region
        {"scope": SCOPE_REGION},  # a region-wide round naming a cluster and no region
        {"scope": SCOPE_REGION, "cluster_id": "", "region": ""},
    ):
        with pytest.raises(MessageError):
            dataclasses.replace(cluster, **bad)
    data = bytearray(region.to_bytes())
    data[-(4 + len(b"Midtjylland")) - 1] = 7  # the scope code
    with pytest.raises(MessageError, match="scope"):
        RoundAnnouncement.from_bytes(bytes(data))


def test_encoding_refuses_inconsistent_nested_messages() -> None:
    share = EncryptedShare(1, 2, bytes(CIPHERTEXT_BYTES))
    with pytest.raises(MessageError):
        ShareDelivery(bytes(16), 3, (share,)).to_bytes()
    ad = KeyAdvertisement(bytes([1]) * 16, 0, bytes(32), bytes(32), bytes(32), bytes(64), bytes(16))
    with pytest.raises(MessageError):
        KeyBroadcast(bytes(16), 0, (0,), (ad,), (bytes(16),)).to_bytes()
    with pytest.raises(MessageError):  # one graph nonce per advertised practice
        KeyBroadcast(bytes(16), 0, (0, 1), (), (bytes(16),)).to_bytes()
