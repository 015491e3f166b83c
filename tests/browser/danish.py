"""Scan text a Danish reader sees for what gives it away as English or as code.

Three kinds of slip: a dot decimal ("12.3", "0.994", "1e-06": a Dane reads
12.000 as twelve thousand and 0.994 as nonsense), an English word from a
short stop-list, and a raw code (``distributed_skellam``, any snake_case
word). Identifiers are not words: ids such as ``DM-01``, hashes, round ids,
paths and dates are removed before the scan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Words that are English and never Danish ("for", "region", "rate", "interval" and
# "budget" are Danish words too, so they are not here).
ENGLISH = frozenset(
    [
        "the",
        "and",
        "of",
        "per",
        "with",
        "without",
        "from",
        "is",
        "are",
        "was",
        "not",
        "no",
        "only",
        "this",
        "that",
        "which",
        "suppressed",
        "intervals",
        "noise",
        "cluster",
        "clusters",
        "regions",
        "practice",
        "practices",
        "rates",
        "target",
        "report",
        "round",
        "rounds",
        "released",
        "release",
        "releases",
        "spent",
        "left",
        "uncertain",
        "hidden",
        "numerator",
        "denominator",
        "mechanism",
        "distribution",
        "trend",
        "funnel",
        "chart",
        "higher",
        "lower",
        "better",
        "worse",
        "above",
        "below",
        "between",
        "within",
        "outside",
        "inside",
        "than",
    ]
)
# Things to remove before looking: they are names, not prose.
_IGNORE = re.compile(
    r"[A-Za-z]+://\S+"  # URLs
    r"|(?<![\w.])[/~.][\w./-]*"  # paths
    r"|\b[\w.-]+\.(?:json|toml|html|md|log|pub|key|sqlite|csv|pem|sig)\b"  # file names
    r"|\b[0-9a-f]{8,}\b"  # hashes and round ids
    r"|\b\d{4}-\d{2}-\d{2}(?:[T ][\d:.+Z-]+)?"  # ISO dates (a date is not a decimal)
    r"|\bv\d+(?:\.\d+)+\b"  # versions
    r"|\b(?:NPU|DNK)\d+\b"  # laboratory codes
)
# 12.3, 0.994 and 1e-06, but not 1.000 or 12.345.678 (Danish thousands) nor 2026.1 (a
# calendar version); 0.125 has no thousands, so it is a decimal.
_DOT_DECIMAL = re.compile(
    r"(?<![\w.,])(?!(?:[1-9]\d{0,2}(?:\.\d{3})+|(?:19|20)\d\d\.\d{1,2})(?![\w.]))"
    r"\d+\.\d+(?![\w.])"
    r"|\b\d+(?:\.\d+)?e[-+]?\d+\b"
)
_PERCENT = re.compile(r"\d%")  # Danish writes 12,3 % with a space
_SNAKE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
_WORD = re.compile(r"[A-Za-zÆØÅæøå]+")


@dataclass(frozen=True)
class Slip:
    """One offending piece of text, with the line it stands in."""

    kind: str  # "dot decimal", "percent without a space", "English word" or "raw code"
    text: str
    line: str

    def __str__(self) -> str:
        return f"{self.kind} {self.text!r} in: {self.line.strip()[:160]}"


def scan(text: str, allowed: frozenset[str] = frozenset()) -> list[Slip]:
    """Every slip in ``text``; words in ``allowed`` (proper names, units) are let through."""
    slips: list[Slip] = []
    for raw_line in text.splitlines():
        line = _IGNORE.sub(" ", raw_line)
        for m in _DOT_DECIMAL.finditer(line):
            slips.append(Slip("dot decimal", m.group(), raw_line))
        for m in _PERCENT.finditer(line):
            slips.append(Slip("percent without a space", m.group(), raw_line))
        for m in _SNAKE.finditer(line):
            if m.group() not in allowed:
                slips.append(Slip("raw code", m.group(), raw_line))
        for m in _WORD.finditer(line):
            word = m.group()
            if word.lower() in ENGLISH and word not in allowed:
                slips.append(Slip("English word", word, raw_line))
    return slips
