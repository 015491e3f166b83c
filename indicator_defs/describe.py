"""Render a definition in words, so a reviewer need not read TOML or code.

The text is generated from the same model objects the engines evaluate, so
the words cannot drift from what is computed.
"""

from __future__ import annotations

from typing import Literal

from indicator_defs import model as m
from indicator_defs.codelists import Codelist

Lang = Literal["da", "en"]

_W = {
    "listed": {
        "da": "på praksisens liste på referencedatoen",
        "en": "on the practice list on the reference date",
    },
    "age_min": {"da": "alder mindst {min} år", "en": "aged {min} or over"},
    "age_max": {"da": "alder højst {max} år", "en": "aged {max} or under"},
    "age_range": {"da": "alder {min}-{max} år", "en": "aged {min}-{max}"},
    "sex_F": {"da": "kvinde", "en": "female"},
    "sex_M": {"da": "mand", "en": "male"},
    "cond_active": {"da": "aktiv diagnose {codes}", "en": "active diagnosis {codes}"},
    "cond_ever": {"da": "diagnose {codes} nogensinde", "en": "diagnosis {codes} ever recorded"},
    "cond_started": {
        "da": "diagnose {codes} startet {window}",
        "en": "diagnosis {codes} started {window}",
    },
    "rx": {
        "da": "{count} recept på {codes} {window}",
        "en": "{count} prescription of {codes} {window}",
    },
    "rx_ddd": {"da": "i alt mindst {ddd:g} DDD", "en": "totalling at least {ddd:g} DDD"},
    "lab": {"da": "{count} prøvesvar {codes} {window}", "en": "{count} result of {codes} {window}"},
    "lab_latest": {
        "da": "seneste værdi {op} {threshold:g}",
        "en": "latest value {op} {threshold:g}",
    },
    "enc": {"da": "{count} ydelse {codes} {window}", "en": "{count} service {codes} {window}"},
    "at_least": {"da": "mindst {n}", "en": "at least {n}"},
    "one": {"da": "mindst én", "en": "at least one"},
    "all": {"da": "alle disse", "en": "all of"},
    "any": {"da": "mindst én af disse", "en": "any of"},
    "not": {"da": "IKKE", "en": "NOT"},
    "score": {"da": "point i alt mindst {min}:", "en": "total points at least {min}:"},
    "points": {"da": "{points} point hvis", "en": "{points} points if"},
    "events": {
        "da": "antal recepter på {codes} {window}",
        "en": "number of prescriptions of {codes} {window}",
    },
}
_OPS = {m.Comparator.LT: "<", m.Comparator.LE: "≤", m.Comparator.GE: "≥", m.Comparator.GT: ">"}


def _codes(codelists: tuple[Codelist, ...]) -> str:
    parts = []
    for cl in codelists:
        codes = ", ".join(c.split(":")[-1] for c in cl.codes)
        excl = f" (ikke/not {', '.join(cl.exclude)})" if cl.exclude else ""
        parts.append(f"{cl.title} [{codes}]{excl}")
    return " / ".join(parts)


def _count(n: int, lang: Lang) -> str:
    return _W["one"][lang] if n == 1 else _W["at_least"][lang].format(n=n)


def describe_criterion(c: m.Criterion, lang: Lang, indent: int = 0) -> list[str]:
    pad = "  " * indent
    w = lambda key, **kw: _W[key][lang].format(**kw)  # noqa: E731
    if isinstance(c, m.Listed):
        return [pad + w("listed")]
    if isinstance(c, m.Age):
        if c.min is not None and c.max is not None:
            return [pad + w("age_range", min=c.min, max=c.max)]
        return [pad + (w("age_min", min=c.min) if c.min is not None else w("age_max", max=c.max))]
    if isinstance(c, m.Sex):
        return [pad + w(f"sex_{c.value}")]
    if isinstance(c, m.HasCondition):
        codes = _codes(c.codelists)
        if c.status is m.ConditionStatus.ACTIVE:
            return [pad + w("cond_active", codes=codes)]
        if c.status is m.ConditionStatus.EVER:
            return [pad + w("cond_ever", codes=codes)]
        assert c.started_within is not None  # exactly one of status and started_within
        return [pad + w("cond_started", codes=codes, window=c.started_within.describe(lang))]
    if isinstance(c, m.HasPrescription):
        text = w(
            "rx",
            count=_count(c.min_count, lang),
            codes=_codes(c.codelists),
            window=c.window.describe(lang),
        )
        if c.min_ddd is not None:
            text += ", " + w("rx_ddd", ddd=c.min_ddd)
        return [pad + text]
    if isinstance(c, m.HasLab):
        text = w(
            "lab",
            count=_count(c.min_count, lang),
            codes=_codes(c.codelists),
            window=c.window.describe(lang),
        )
        if c.latest is not None:
            text += ", " + w(
                "lab_latest", op=_OPS[c.latest.comparator], threshold=c.latest.threshold
            )
        return [pad + text]
    if isinstance(c, m.HasEncounter):
        return [
            pad
            + w(
                "enc",
                count=_count(c.min_count, lang),
                codes=_codes(c.codelists),
                window=c.window.describe(lang),
            )
        ]
    if isinstance(c, (m.AllOf, m.AnyOf)):
        lines = [pad + w("all" if isinstance(c, m.AllOf) else "any")]
        for part in c.parts:
            lines.extend(describe_criterion(part, lang, indent + 1))
        return lines
    if isinstance(c, m.Not):
        return [pad + w("not"), *describe_criterion(c.part, lang, indent + 1)]
    if isinstance(c, m.Score):
        lines = [pad + w("score", min=c.min)]
        for item in c.items:
            lines.append(pad + "  " + w("points", points=item.points))
            lines.extend(describe_criterion(item.when, lang, indent + 2))
        return lines
    raise TypeError(f"unknown criterion {c!r}")


def describe_events(e: m.EventCount, lang: Lang) -> str:
    return _W["events"][lang].format(codes=_codes(e.codelists), window=e.window.describe(lang))
