"""Error types of the privacy layer.

Every error names the file and the field, line or entry it refers to, so an
operator can act on one line of output. They are all KlyngeErrors, so the CLI
prints them without a traceback and exits non-zero.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from common.errors import FileKeyError, KlyngeError
from common.errors import KeyFileError as KeyFileError  # key files: common.keyfiles


class PrivacyError(KlyngeError):
    """Base of all privacy-layer errors."""


class ManifestError(PrivacyError, FileKeyError):
    """A manifest that cannot be parsed or fails validation; names the file and the key."""


class SignatureError(PrivacyError):
    """A signature or public key that is malformed (bad base64, wrong length)."""


class BadSignature(SignatureError):
    """A well-formed signature that does not verify under the given key."""


class RefusalReason(StrEnum):
    """Why an agent refuses to run a round under a manifest."""

    UNSIGNED = "unsigned"
    UNKNOWN_AUTHORITY = "unknown_authority"
    TAMPERED = "tampered"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    UNAPPROVED = "unapproved"
    DEFINITION_MISMATCH = "definition_mismatch"
    OFF_SCHEDULE = "off_schedule"


class ManifestRefused(PrivacyError):
    """The agent's trust check failed; `reason` says which rule refused it."""

    exit_code = 3

    def __init__(self, reason: RefusalReason, detail: str):
        self.reason = reason
        self.detail = detail
        super().__init__(f"manifest refused ({reason.value}): {detail}")


class TrustStoreError(PrivacyError, FileKeyError):
    """The agent's local trust store is malformed; names the file and the key."""


class BudgetExceeded(PrivacyError):
    """A release would overspend the yearly budget; nothing was charged."""

    exit_code = 4

    def __init__(self, message: str, *, spent: float, requested: float, budget: float):
        self.spent = spent
        self.requested = requested
        self.budget = budget
        super().__init__(message)


class AlreadyContributed(PrivacyError):
    """This practice already released a vector for this manifest and reference date."""

    exit_code = 4


class LedgerCorrupt(PrivacyError):
    """The ledger on disk fails its checks. It is never reset silently: an operator must act."""

    exit_code = 5

    def __init__(self, path: Path | str, message: str, *, line: int | None = None):
        self.path = str(path)
        self.line = line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(
            f"{where}: privacy ledger is corrupt ({message}); releases are refused until it is "
            "rebuilt from the transparency log (`klynge agent recover-ledger`)"
        )


class LedgerError(PrivacyError):
    """A ledger operation that cannot proceed (locked, bad request)."""


class MechanismError(PrivacyError):
    """Mechanism parameters that cannot give the stated guarantee."""


class BoundingError(PrivacyError):
    """A vector that does not have the layout the manifest prescribes."""


class DisclosureError(PrivacyError):
    """Disclosure-control input that is inconsistent with its layout."""


class LogError(PrivacyError):
    """A transparency log that cannot be read or fails verification."""

    def __init__(self, path: Path | str | None, message: str, *, line: int | None = None):
        self.path = str(path) if path else None
        self.line = line
        where = f"{path}:{line}" if path and line is not None else (str(path) if path else "")
        super().__init__(f"{where}: {message}" if where else message)
