"""Recognising Danish CPR numbers, so they never reach a log, an error or a message.

A CPR number is DDMMYY-SSSS (the hyphen optional). Since 2007 numbers need
not pass the modulus-11 check, so a CPR-like value is any ten digits whose
first six are a calendar day (DDMMYY in some century) and which are not part
of a longer run of digits. That flags a few innocent numbers too; for
masking, a false alarm costs a hidden example, a miss would leak a person.
The practice's own extract and local report may hold CPR numbers as patient
ids (docs/fhir.md, "CPR"); everything else shows them masked.
"""

from __future__ import annotations

import re

_CPR = re.compile(r"(?<!\d)(\d{2})(\d{2})\d{2}-?\d{4}(?!\d)")
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # 29 Feb: a leap year in some century
MASK = "<CPR>"


def _is_day(day: str, month: str) -> bool:
    d, m = int(day), int(month)
    return 1 <= m <= 12 and 1 <= d <= _DAYS[m - 1]


def has_cpr(text: str) -> bool:
    """Whether `text` contains a CPR-like number anywhere."""
    return any(_is_day(m.group(1), m.group(2)) for m in _CPR.finditer(text))


def mask_cpr(text: str) -> str:
    """`text` with every CPR-like number replaced by <CPR>."""
    return _CPR.sub(lambda m: MASK if _is_day(m.group(1), m.group(2)) else m.group(0), text)
