"""Errors of the practice report; each names the file and field it is about."""

from __future__ import annotations

from common.errors import KlyngeError


class ReportError(KlyngeError):
    """The practice report cannot be made from what is on disk; nothing was written."""
