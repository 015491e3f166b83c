"""Dates as integer day numbers (days since 1970-01-01) inside the generator.

Integer days keep every draw vectorised and exact: a window is a pair of
ints, "d in [a, b]" is two comparisons, and no timezone or unit can creep in.
Conversion to pandas datetimes happens once, when the tables are assembled.
"""

from __future__ import annotations

from datetime import date

import numpy as np

NO_DATE = np.iinfo(np.int64).min
"""Sentinel for an empty date cell (becomes NaT / an empty CSV cell)."""

DAYS_PER_YEAR = 365.2425

_EPOCH = date(1970, 1, 1)


def to_day(d: date) -> int:
    return (d - _EPOCH).days


def from_day(day: int) -> date:
    return date.fromordinal(_EPOCH.toordinal() + int(day))


def years_before(d: date, years: int) -> date:
    """The same calendar day `years` earlier (29 February falls back to the 28th)."""
    try:
        return d.replace(year=d.year - years)
    except ValueError:
        return d.replace(year=d.year - years, day=28)


def same_day_years_before(reference: date, years: np.ndarray) -> np.ndarray:
    """Day numbers of `reference`'s month and day, `years` earlier (vectorised).

    Used for birthdays that fall exactly on the reference date. A 29 February
    reference rolls over to 1 March in common years, which is still a valid
    birth date, just not a birthday on R.
    """
    ref_month = np.datetime64(reference, "M")
    months = ref_month - (12 * years.astype(np.int64)).astype("timedelta64[M]")
    days = months.astype("datetime64[D]") + np.timedelta64(reference.day - 1, "D")
    return days.astype(np.int64)


def to_datetime64(days: np.ndarray) -> np.ndarray:
    """Day numbers to datetime64[us] (the unit pandas gives parsed ISO dates), NaT for NO_DATE."""
    out = days.astype("datetime64[D]").astype("datetime64[us]")
    out[days == NO_DATE] = np.datetime64("NaT")
    return out
