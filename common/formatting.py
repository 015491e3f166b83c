"""Numbers, rates and dates as a reader expects them: Danish by default, English on request.

Danish writes 12,3 % and 1.234 (a comma for decimals, a point for thousands,
a space before the percent sign); English writes 12.3% and 1,234. A report
that mixes the two is misread: "12,000 patienter" is twelve to a Dane. Every
report, the CLI and the FHIR narratives therefore format through this one
module, and a test scans the Danish outputs for dot decimals.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from zoneinfo import ZoneInfo

from common.i18n import Lang, current_lang

DANISH_TIME = ZoneInfo("Europe/Copenhagen")

_SEPARATORS: dict[Lang, tuple[str, str]] = {"da": (",", "."), "en": (".", ",")}

_MONTHS_DA = (
    "januar", "februar", "marts", "april", "maj", "juni",
    "juli", "august", "september", "oktober", "november", "december",
)  # fmt: skip
_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _lang(lang: Lang | None) -> Lang:
    return lang or current_lang()


def number(value: float, decimals: int = 0, lang: Lang | None = None) -> str:
    """`value` with `decimals` decimals and grouped thousands: 1.234,5 (da), 1,234.5 (en).

    >>> number(1234.5, 1, "da"), number(1234.5, 1, "en")
    ('1.234,5', '1,234.5')
    >>> number(-0.04, 1, "da")  # rounds to zero: no sign
    '0,0'
    >>> number(-2, 0, "da")  # a true minus sign
    '−2'
    """
    if math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    decimal, thousands = _SEPARATORS[_lang(lang)]
    text = f"{value:,.{decimals}f}"
    if text.startswith("-") and float(text.replace(",", "")) == 0:
        text = text[1:]  # no "-0,0"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands).replace("-", "−")


def integer(value: int | float, lang: Lang | None = None) -> str:
    """A count: 12.000 (da), 12,000 (en).

    >>> integer(12000, "da"), integer(12000, "en")
    ('12.000', '12,000')
    """
    return number(round(value), 0, lang)


def percent(proportion: float | None, decimals: int = 1, lang: Lang | None = None) -> str:
    """A proportion as a percentage: 12,3 % (da), 12.3% (en); None is a dash.

    Danish puts a no-break space before the sign:

    >>> percent(0.123, lang="da"), percent(0.123, lang="en"), percent(None)
    ('12,3\xa0%', '12.3%', '–')
    """
    if proportion is None:
        return "–"
    text = number(proportion * 100, decimals, lang)
    return f"{text}\u00a0%" if _lang(lang) == "da" else f"{text}%"


def points(proportion: float, decimals: int = 1, lang: Lang | None = None) -> str:
    """A difference of proportions in points: 2,0 procentpoint / 2.0 percentage points."""
    word = "procentpoint" if _lang(lang) == "da" else "percentage points"
    return f"{number(proportion * 100, decimals, lang)}\u00a0{word}"


def per(scale: int, lang: Lang | None = None) -> str:
    """The unit of a rate per `scale`: "pr. 1.000" (da), "per 1,000" (en)."""
    word = "pr." if _lang(lang) == "da" else "per"
    return f"{word}\u00a0{integer(scale, lang)}"


def rate(proportion: float | None, scale: int, decimals: int = 1, lang: Lang | None = None) -> str:
    """A rate for people: a percentage when `scale` is 100, else "369,2 pr. 1.000".

    >>> rate(0.3692, 1000, lang="da"), rate(0.3692, 1000, lang="en")
    ('369,2 pr.\xa01.000', '369.2 per\xa01,000')
    """
    if proportion is None:
        return "–"
    if scale == 100:
        return percent(proportion, decimals, lang)
    return f"{number(proportion * scale, decimals, lang)} {per(scale, lang)}"


def rate_value(proportion: float, scale: int, decimals: int = 1, lang: Lang | None = None) -> str:
    """The bare number of a rate on its scale (an axis tick or a table cell under a unit)."""
    return number(proportion * scale, decimals, lang)


def interval(
    bounds: tuple[float, float] | None, scale: int, decimals: int = 1, lang: Lang | None = None
) -> str:
    """A 95 % interval on a rate's scale: "80,1–88,4 %" or "350,0–420,5 pr. 1.000".

    >>> interval((0.801, 0.884), 100, lang="en")
    '80.1–88.4%'
    """
    if bounds is None:
        return "–"
    lo, hi = (number(b * scale, decimals, lang) for b in bounds)
    percent_sign = "\u00a0%" if _lang(lang) == "da" else "%"
    unit = percent_sign if scale == 100 else f" {per(scale, lang)}"
    return f"{lo}–{hi}{unit}"


def epsilon(value: float, lang: Lang | None = None, decimals: int = 2) -> str:
    """A privacy parameter ε: 1,00 (da), 1.00 (en); unbounded is ∞.

    >>> epsilon(1.0, "da"), epsilon(float("inf"), "en")
    ('1,00', '∞')
    """
    return "∞" if math.isinf(value) else number(value, decimals, lang)


def scientific(value: float, lang: Lang | None = None) -> str:
    """A small probability such as δ = 10⁻⁶, written with a superscript exponent.

    >>> scientific(1e-6), scientific(2.5e-7, "da")
    ('10⁻⁶', '2,5·10⁻⁷')
    """
    if value <= 0:
        return number(value, 0, lang)
    exponent = math.floor(math.log10(value))
    mantissa = value / 10**exponent
    sup = str(exponent).translate(str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"))
    if math.isclose(mantissa, 1.0):
        return f"10{sup}"
    return f"{number(mantissa, 1, lang)}·10{sup}"


def day(value: date, lang: Lang | None = None) -> str:
    """A date in words: 31. marts 2026 (da), 31 March 2026 (en).

    >>> day(date(2026, 3, 31), "da"), day(date(2026, 3, 31), "en")
    ('31. marts 2026', '31 March 2026')
    """
    if _lang(lang) == "da":
        return f"{value.day}. {_MONTHS_DA[value.month - 1]} {value.year}"
    return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"


def quarter(value: date, lang: Lang | None = None) -> str:
    """The quarter a reference date closes: 1. kvt. 2026 (da), Q1 2026 (en).

    >>> quarter(date(2026, 3, 31), "da"), quarter(date(2026, 12, 31), "en")
    ('1. kvt. 2026', 'Q4 2026')
    """
    q = (value.month - 1) // 3 + 1
    return f"{q}. kvt. {value.year}" if _lang(lang) == "da" else f"Q{q} {value.year}"


def timestamp(moment: datetime, lang: Lang | None = None) -> str:
    """A moment in Danish local time, one format everywhere: 01-12-2026 14:05 / 2026-12-01 14:05.

    A naive datetime is taken as UTC, the way Klynge stores every time.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo("UTC"))
    local = moment.astimezone(DANISH_TIME)
    if _lang(lang) == "da":
        return local.strftime("%d-%m-%Y kl. %H:%M")
    return local.strftime("%Y-%m-%d %H:%M")
