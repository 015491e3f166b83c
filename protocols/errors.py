"""Typed errors of the secure-aggregation core.

Every way a round can go wrong is its own type, so the agent daemon and the
coordinator service can react precisely (retry, drop one message, abort the
round) and the CLI can print one line naming the participant, field or stage.
The distinction that matters most for privacy reviews:

- `BelowMinimumError` is an abort *by design*: fewer practices than the
  round's minimum survived, so nothing may be revealed.
- `ReconstructionError` is a failure of the protocol: enough practices
  survived, but some secret could not be rebuilt from the shares returned.

Errors that mean "the coordinator misbehaved" (`SignatureError`,
`ShareAuthenticationError`, `UnknownParticipantError`, `ConsistencyError`)
make an agent abandon the round; `StaleMessageError` only rejects one message
(an old round, another recipient, the wrong stage) and leaves the round alive.
"""

from __future__ import annotations

from typing import ClassVar

from common.errors import KlyngeError
from common.i18n import register, t

register(
    {
        "secagg.message": {
            "en": "malformed secure-aggregation message: field {field}: {reason}",
            "da": "fejlformateret besked i sikker aggregering: felt {field}: {reason}",
        },
        "secagg.stale": {
            "en": "secure-aggregation message rejected ({what}): {reason}",
            "da": "besked i sikker aggregering afvist ({what}): {reason}",
        },
        "secagg.protocol": {
            "en": "secure-aggregation protocol violation at stage {stage}: {reason}",
            "da": "brud på protokollen for sikker aggregering i fasen {stage}: {reason}",
        },
        "secagg.parameter": {
            "en": "invalid secure-aggregation parameter {field}: {reason}",
            "da": "ugyldig parameter for sikker aggregering {field}: {reason}",
        },
        "secagg.registry": {
            "en": "practice registry {source}: {field}: {reason}",
            "da": "praksisregister {source}: {field}: {reason}",
        },
        "secagg.identity": {
            "en": "identity key {source}: {reason}",
            "da": "identitetsnøgle {source}: {reason}",
        },
        "secagg.signed_document": {
            "en": "signed document {source}: {reason}",
            "da": "signeret dokument {source}: {reason}",
        },
        "secagg.unknown_participant": {
            "en": "participant {practice_id} refused: {reason}",
            "da": "deltager {practice_id} afvist: {reason}",
        },
        "secagg.signature": {
            "en": "invalid signature from participant {participant} on {what}; "
            "the coordinator may have substituted a key",
            "da": "ugyldig signatur fra deltager {participant} på {what}; "
            "koordinatoren kan have udskiftet en nøgle",
        },
        "secagg.share_auth": {
            "en": "encrypted key share from participant {participant} failed authentication",
            "da": "krypteret nøgleandel fra deltager {participant} kunne ikke autentificeres",
        },
        "secagg.consistency": {
            "en": "survivor set refused: {reason}",
            "da": "listen over overlevende deltagere afvist: {reason}",
        },
        "secagg.below_minimum": {
            "en": "round aborted at stage {stage}: {count} participants remain, "
            "the round requires at least {minimum}; nothing is revealed",
            "da": "runden afbrudt i fasen {stage}: {count} deltagere tilbage, "
            "runden kræver mindst {minimum}; intet afsløres",
        },
        "secagg.reconstruction": {
            "en": "cannot unmask the sum: secret of participant {participant}: {reason}",
            "da": "summen kan ikke afmaskeres: hemmelighed for deltager {participant}: {reason}",
        },
        "secagg.input": {
            "en": "input vector {field}: {reason}",
            "da": "inputvektor {field}: {reason}",
        },
    }
)


class SecAggError(KlyngeError):
    """Root of the secure-aggregation errors; `fields` keeps the raw values."""

    key: ClassVar[str] = "secagg.protocol"
    aborts_round: ClassVar[bool] = True

    def __init__(self, **fields: object) -> None:
        self.fields = fields
        super().__init__(t(self.key, None, **fields))

    def to_english(self) -> str:
        """The message in English, as stores and logs record it whatever the reader's language."""
        return t(self.key, "en", **self.fields)


class MessageError(SecAggError):
    """Bytes or fields that do not form a valid message (truncated, oversized, bad value)."""

    key = "secagg.message"
    aborts_round = False

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field=field, reason=reason)


class StaleMessageError(SecAggError):
    """A well-formed message that does not belong here: another round, recipient or stage.

    Replays of old rounds land here. The message is dropped; the round goes on.
    """

    key = "secagg.stale"
    aborts_round = False

    def __init__(self, what: str, reason: str) -> None:
        super().__init__(what=what, reason=reason)


class ProtocolError(SecAggError):
    """A message that contradicts the protocol (equivocation, misrouting, wrong set)."""

    key = "secagg.protocol"

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(stage=stage, reason=reason)


class ParameterError(SecAggError):
    """Round parameters that are unsafe or impossible for the cluster size."""

    key = "secagg.parameter"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field=field, reason=reason)


class RegistryError(SecAggError):
    """A practice registry that is malformed or not signed by the trusted authority."""

    key = "secagg.registry"

    def __init__(self, source: str, field: str, reason: str) -> None:
        super().__init__(source=source, field=field, reason=reason)


class IdentityKeyError(SecAggError):
    """An identity or authority key file that cannot be used."""

    key = "secagg.identity"

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(source=source, reason=reason)


class SignedDocumentError(SecAggError):
    """A detached signature that is missing, malformed, or not by the trusted authority."""

    key = "secagg.signed_document"

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(source=source, reason=reason)


class UnknownParticipantError(SecAggError):
    """An announced participant missing from the signed registry, or with another key."""

    key = "secagg.unknown_participant"

    def __init__(self, practice_id: str, reason: str) -> None:
        super().__init__(practice_id=practice_id, reason=reason)


class SignatureError(SecAggError):
    """A signature that does not verify: a substituted key, a replay, or a forgery."""

    key = "secagg.signature"

    def __init__(self, participant: str, what: str) -> None:
        super().__init__(participant=participant, what=what)


class ShareAuthenticationError(SecAggError):
    """An AES-GCM share that fails authentication: tampered, replayed or misrouted."""

    key = "secagg.share_auth"

    def __init__(self, participant: str) -> None:
        super().__init__(participant=participant)


class ConsistencyError(SecAggError):
    """The coordinator's view of who survived cannot be trusted, so nothing is revealed."""

    key = "secagg.consistency"

    def __init__(self, reason: str) -> None:
        super().__init__(reason=reason)


class BelowMinimumError(SecAggError):
    """Fewer survivors than the round's minimum: an abort by design, revealing nothing."""

    key = "secagg.below_minimum"

    def __init__(self, stage: str, count: int, minimum: int) -> None:
        super().__init__(stage=stage, count=count, minimum=minimum)


class ReconstructionError(SecAggError):
    """Enough survivors, but a needed secret could not be rebuilt or failed its check."""

    key = "secagg.reconstruction"

    def __init__(self, participant: str, reason: str) -> None:
        super().__init__(participant=participant, reason=reason)


class InputError(SecAggError):
    """The practice's own vector is unusable (shape, dtype, range); the round stays alive."""

    key = "secagg.input"
    aborts_round = False

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(field=field, reason=reason)
