"""The few ways the reports write numbers beyond `common.formatting`'s, built on it.

Kept here so that a Danish report never shows an English decimal point:
every number still passes through `common.formatting`.
"""

from __future__ import annotations

from common.formatting import number, rate_value
from common.i18n import Lang


def bare_interval(bounds: tuple[float, float] | None, scale: int, lang: Lang) -> str:
    """ "80,1–89,9": an interval beside its rate, whose unit the rate already says."""
    if bounds is None:
        return ""
    low, high = bounds
    return f"{rate_value(max(low, 0.0), scale, lang=lang)}–{rate_value(high, scale, lang=lang)}"


def practices(value: float, lang: Lang) -> str:
    """A number of practices in a noisy histogram: one decimal below ten, whole above."""
    return number(value, 1 if value < 10 else 0, lang)
