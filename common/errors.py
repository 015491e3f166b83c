"""The root of Klynge's error types.

Every error a user can cause (a bad extract, manifest, key, message) is a
KlyngeError subclass whose message names the file, row or field. The CLI
prints that message and exits non-zero; it never shows a traceback.
"""

from __future__ import annotations

from pathlib import Path

from common.i18n import register, t

register(
    {
        "errors.where.key": {"en": "key '{name}'", "da": "nøgle '{name}'"},
    }
)


class KlyngeError(Exception):
    exit_code: int = 2


class FileKeyError(KlyngeError):
    """Something wrong at one key of one file: the one shape of a configuration error.

    `key` is a dotted path inside the file ("rounds.schedule[2]"); `line`, when
    known, is the 1-based line in the file. Either may be absent when the fault
    is the whole file (missing, unreadable, not TOML).
    """

    def __init__(
        self,
        path: Path | str | None,
        key: str | None,
        message: str,
        *,
        line: int | None = None,
    ) -> None:
        self.path = str(path) if path is not None else None
        self.key = key or None
        self.line = line
        self.message = message
        super().__init__(f"{self.where}: {message}" if self.where else message)

    @property
    def where(self) -> str:
        parts = []
        if self.path:
            parts.append(self.path if self.line is None else f"{self.path}:{self.line}")
        if self.key:
            parts.append(t("errors.where.key", name=self.key))
        return ", ".join(parts)


class KeyFileError(FileKeyError):
    """A key file that is missing, unreadable, of the wrong kind or too widely readable."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(path, None, message)
