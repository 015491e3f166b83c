"""FHIR `date` and `dateTime` values as Danish calendar days.

A day in the extract is a day in Denmark: a dateTime with a time zone is
moved to Europe/Copenhagen before its date is taken, so 2024-03-31T23:30:00Z
is 1 April. A dateTime without a zone (FHIR requires one when there is a
time) is read as Danish local time, as written. A plain date is that date.
Partial dates (2024, 2024-03) name no day and are refused.

Results are cached by date, hour and zone: with whole-hour offsets, as every
Danish system writes, the Danish date of an instant depends on nothing else
(daylight saving changes on the hour), so a practice's millions of
timestamps cost a few thousand real conversions.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

DANISH_TIME = ZoneInfo("Europe/Copenhagen")
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
PARTIAL_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")
_CACHE_MAX = 500_000

# Days run from -719162 (year 1) to 2932896 (year 9999); these lie far outside.
BAD = -2_000_000_001
PARTIAL = -2_000_000_002
NO_ZONE = 1 << 30  # added to a day read from a dateTime without a time zone


class DanishDays:
    """Converts FHIR date/dateTime strings to days since 1970-01-01 in Danish time."""

    def __init__(self) -> None:
        self.cache: dict[str, int] = {}  # plain dates (no time), for callers' fast path
        self.timed: dict[str, int] = {}  # by date, hour and zone

    def day(self, value: str) -> int:
        """Days since 1970-01-01, or BAD / PARTIAL; NO_ZONE is added for a zone-less time."""
        if len(value) == 10:
            found = self.cache.get(value)
            if found is None:
                found = _convert(value)
                if found >= -719162 and len(self.cache) < _CACHE_MAX:
                    self.cache[value] = found
            return found
        if len(value) > 19 and (value[-1] == "Z" or value[-3:] == ":00"):
            key = value[:13] + ("Z" if value[-1] == "Z" else value[-6:])
        else:
            return _convert(value)
        found = self.timed.get(key)
        if found is None:
            found = _convert(value)
            if len(self.timed) < _CACHE_MAX:
                self.timed[key] = found
        return found


def _convert(value: str) -> int:
    if _DATE.match(value):
        try:
            return date.fromisoformat(value).toordinal() - EPOCH_ORDINAL
        except ValueError:
            return BAD
    match = _DATETIME.match(value)
    if match is None:
        return PARTIAL if PARTIAL_DATE.match(value) else BAD
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return BAD
    if moment.tzinfo is None:
        return moment.date().toordinal() - EPOCH_ORDINAL + NO_ZONE
    return moment.astimezone(DANISH_TIME).date().toordinal() - EPOCH_ORDINAL


def iso_day(day: int) -> str:
    """A day number as YYYY-MM-DD, for messages."""
    return date.fromordinal(day + EPOCH_ORDINAL).isoformat()


def last_day(partial: str) -> int:
    """The last day a partial date (YYYY or YYYY-MM) can mean, as days since 1970-01-01."""
    year = int(partial[:4])
    month = int(partial[5:7]) if len(partial) == 7 else 12
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return following.toordinal() - 1 - EPOCH_ORDINAL
