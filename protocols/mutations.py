"""Structure-aware mutations of recorded valid messages, for fuzzing both ends.

Not on the production path: `tests/adversarial` runs a short fuzz in CI and
`benchmarks/fuzz.py` sends 10,000 mutants at a real coordinator and into a
real agent. Pure and seeded: `mutate(envelope, rng, recorded)` returns a label
and a mutant of one recorded valid envelope. Mutants keep the envelope's own
fields valid (a broken envelope is the transport's business and already
refused there), so they reach the payload parsers and the state machines:

- bytes: bit flips, truncation, trailing bytes;
- structure: a count or index in a binary message set to 0, 1, huge or random;
  a JSON field's value swapped for another type, or nested deeply;
- context: another round's id or another stage or kind in the envelope or in
  the payload's header; another recorded message replayed in its place
  (reordering, replays of earlier stages and rounds).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import replace

from protocols.envelope import Envelope
from protocols.messages import MAGIC, Stage

# Offsets in a binary SecAgg+ message: magic, version, kind, stage, round id.
_KIND_AT = len(MAGIC) + 1
_STAGE_AT = len(MAGIC) + 2
_ROUND_AT = len(MAGIC) + 3
_HEADER = _ROUND_AT + 16

KINDS = (
    "RoundAnnouncement",
    "KeyAdvertisement",
    "KeyBroadcast",
    "ShareBundle",
    "ShareDelivery",
    "MaskedInput",
    "SurvivorSet",
    "SurvivorSignature",
    "UnmaskRequest",
    "UnmaskResponse",
    "Refusal",
    "RoundOutcome",
)
STAGES = tuple(s.name for s in Stage)
_SWAPS: tuple[object, ...] = (
    None,
    True,
    False,
    0,
    -1,
    2**64,
    1.5,
    "",
    "x" * 5000,
    [],
    ["released"],
    {},
    {"nested": {"deeper": [1, 2, 3]}},
)


def _flip(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return b"\x00"
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        i = rng.randrange(len(out) * 8)
        out[i // 8] ^= 1 << (i % 8)
    return bytes(out)


def _structure_binary(data: bytes, rng: random.Random) -> bytes:
    """Overwrite one aligned u32 after the header (a count, an index or a length)."""
    if len(data) < _HEADER + 4:
        return data + b"\xff" * 4
    at = rng.randrange(_HEADER, len(data) - 3)
    value = rng.choice((0, 1, 0xFFFFFFFF, 0x7FFFFFFF, rng.getrandbits(32), rng.randrange(64)))
    return data[:at] + value.to_bytes(4, "little") + data[at + 4 :]


def _structure_json(data: bytes, rng: random.Random, nest: bool) -> bytes:
    try:
        doc = json.loads(data)
    except ValueError:
        return data
    if not isinstance(doc, dict) or not doc:
        return data
    key = rng.choice(sorted(doc))
    if nest:
        depth = rng.choice((2, 50, 1000, 100_000))
        return json.dumps({**doc, key: "@"}).encode().replace(b'"@"', b"[" * depth + b"]" * depth)
    if rng.random() < 0.15:
        doc.pop(key)
    elif rng.random() < 0.15:
        doc["unexpected"] = rng.choice(_SWAPS)
    else:
        doc[key] = rng.choice(_SWAPS)
    return json.dumps(doc).encode()


def mutate(
    envelope: Envelope, rng: random.Random, recorded: Sequence[Envelope] = ()
) -> tuple[str, Envelope]:
    """(label, mutant) for one recorded valid `envelope`; `recorded` feeds replays."""
    payload = envelope.payload
    is_json = envelope.kind in ("Refusal", "RoundOutcome")
    kind = rng.choice(
        (
            "bit_flip",
            "truncate",
            "extend",
            "type_swap",
            "nesting",
            "wrong_round",
            "wrong_stage",
            "wrong_kind",
            "replay",
        )
    )
    if kind == "bit_flip":
        payload = _flip(payload, rng)
    elif kind == "truncate":
        payload = payload[: rng.randrange(len(payload) + 1)] if payload else b""
    elif kind == "extend":
        payload = payload + rng.randbytes(rng.randint(1, 256))
    elif kind == "type_swap":
        if is_json:
            payload = _structure_json(payload, rng, nest=False)
        else:
            payload = _structure_binary(payload, rng)
    elif kind == "nesting":
        if is_json:
            payload = _structure_json(payload, rng, nest=True)
        else:  # JSON where binary belongs, nested
            payload = b"[" * 10_000 + b"]" * 10_000
    elif kind == "wrong_round":
        other = rng.randbytes(16)
        if rng.random() < 0.5 or is_json or len(payload) < _HEADER:
            return kind, replace(envelope, round_id=other.hex())
        payload = payload[:_ROUND_AT] + other + payload[_HEADER:]
    elif kind == "wrong_stage":
        if rng.random() < 0.5 or is_json or len(payload) < _HEADER:
            return kind, replace(envelope, stage=rng.choice(STAGES))
        payload = payload[:_STAGE_AT] + bytes([rng.randrange(1, 10)]) + payload[_STAGE_AT + 1 :]
    elif kind == "wrong_kind":
        if rng.random() < 0.5 or is_json or len(payload) < _HEADER:
            return kind, replace(envelope, kind=rng.choice(KINDS))
        payload = payload[:_KIND_AT] + bytes([rng.randrange(0, 13)]) + payload[_KIND_AT + 1 :]
    else:  # replay another recorded message in this one's place
        if recorded:
            other_envelope = rng.choice(recorded)
            return kind, replace(other_envelope, sender=envelope.sender, seq=envelope.seq)
        payload = _flip(payload, rng)
    return kind, replace(envelope, payload=payload)
