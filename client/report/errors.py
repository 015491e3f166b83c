"""Errors of the practice report; each names the file and field it is about."""

from __future__ import annotations

from pathlib import Path

from common.errors import KlyngeError


class ReportError(KlyngeError):
    """The practice report cannot be made from what is on disk; nothing was written."""


class ReleaseFileError(ReportError):
    """A downloaded release file is not a release document this version can read."""

    def __init__(self, path: Path | str, field: str | None, message: str) -> None:
        self.path = str(path)
        self.field = field
        where = f"{path}: {field}" if field else str(path)
        super().__init__(f"{where}: {message}")
