"""Dates as people type them and as Klynge writes them.

Input is strict ISO 8601 (YYYY-MM-DD): a Danish 01-02-2026 and an American
02/01/2026 are both ambiguous, so neither is guessed at. Output for people is
in `common.formatting`.
"""

from __future__ import annotations

from datetime import date

from common.errors import KlyngeError


class DateError(KlyngeError):
    """A date that is not YYYY-MM-DD; names where it came from."""

    def __init__(self, value: object, where: str) -> None:
        self.value, self.where = value, where
        super().__init__(f"{where}: '{value}' is not a date in YYYY-MM-DD form")


def parse_iso_date(value: object, where: str) -> date:
    """The date `value` names, exactly YYYY-MM-DD; `where` names the option, key or field."""
    if isinstance(value, date):
        return value
    if not isinstance(value, str) or len(value) != 10:
        raise DateError(value, where)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise DateError(value, where) from None
