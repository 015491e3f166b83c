"""Render a definition in words, so a reviewer need not read TOML or code.

The text is generated from the same model objects the engines evaluate, so
the words cannot drift from what is computed.
"""

from __future__ import annotations

from typing import Literal

from common.formatting import number
from indicator_defs import model as m
from indicator_defs.codelists import Codelist
from indicator_defs.danish import codelist_title

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
    "rx_ddd": {"da": "i alt mindst {ddd} DDD", "en": "totalling at least {ddd} DDD"},
    "lab": {"da": "{count} prøvesvar {codes} {window}", "en": "{count} result of {codes} {window}"},
    "lab_latest": {
        "da": "seneste værdi {op} {threshold}",
        "en": "latest value {op} {threshold}",
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
    "covered": {
        "da": "dækket af {codes} mindst {min} af de seneste {days} dage",
        "en": "covered by {codes} on at least {min} of the last {days} days",
    },
    "covered_together": {
        "da": "dækket af både {codes} og {other} samtidig mindst {min} af de seneste {days} dage",
        "en": "covered by both {codes} and {other} on at least {min} of the last {days} days",
    },
    "covered_how": {
        "da": "(en recept dækker sin udleveringsvarighed fra recept-datoen, ellers 1 DDD om dagen)",
        "en": "(a prescription covers its days' supply from its date, otherwise one DDD a day)",
    },
    "died": {
        "da": "død inden for de seneste {days} dage, mens patienten var på praksisens liste",
        "en": "died in the last {days} days while on the practice list",
    },
    "at_death": {
        "da": "på dødsdagen (vinduer regnes bagud fra den):",
        "en": "as of the day of death (windows look back from it):",
    },
    "episodes": {
        "da": "antal episoder: hver dato med {source} {codes} i de {days} dage, der slutter "
        "{follow} dage før referencedatoen",
        "en": "number of episodes: each date with {source} {codes} in the {days} days ending "
        "{follow} days before the reference date",
    },
    "episodes_now": {
        "da": "antal episoder: hver dato med {source} {codes} {window}",
        "en": "number of episodes: each date with {source} {codes} {window}",
    },
    "episodes_new": {
        "da": "ny: ingen sådan kode i de {days} dage før, og på listen i dem",
        "en": "new: no such code in the {days} days before, while on the list",
    },
    "episodes_with": {"da": "og med", "en": "with"},
    "near": {"da": "{source} {codes} {when}", "en": "{source} {codes} {when}"},
    "same_day": {"da": "samme dag", "en": "on the same day"},
    "day_or_after": {
        "da": "samme dag eller op til {hi} dage efter",
        "en": "on the day or up to {hi} days after",
    },
    "around": {
        "da": "fra {lo} dage før til {hi} dage efter",
        "en": "from {lo} days before to {hi} days after",
    },
    "after": {"da": "{lo}-{hi} dage efter", "en": "{lo}-{hi} days after"},
    "before": {"da": "{hi}-{lo} dage før", "en": "{hi}-{lo} days before"},
    "source_condition": {"da": "diagnose", "en": "diagnosis"},
    "source_prescription": {"da": "recept på", "en": "prescription of"},
    "source_lab": {"da": "prøvesvar", "en": "result of"},
    "source_encounter": {"da": "ydelse", "en": "service"},
    "and": {"da": "og", "en": "and"},
    "except": {"da": "ikke", "en": "not"},
}
_OPS = {m.Comparator.LT: "<", m.Comparator.LE: "≤", m.Comparator.GE: "≥", m.Comparator.GT: ">"}


def _amount(value: float, lang: Lang) -> str:
    """A threshold as written in the definition, in the reader's notation: 2,5 (da), 2.5 (en)."""
    shown = f"{value:g}"
    decimals = len(shown.split(".")[1]) if "." in shown and "e" not in shown else 0
    return number(value, decimals, lang)


def _codes(codelists: tuple[Codelist, ...], lang: Lang) -> str:
    parts = []
    for cl in codelists:
        codes = ", ".join(c.split(":")[-1] for c in cl.codes)
        excl = f" ({_W['except'][lang]} {', '.join(cl.exclude)})" if cl.exclude else ""
        parts.append(f"{codelist_title(cl.name, cl.title, lang)} [{codes}]{excl}")
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
        codes = _codes(c.codelists, lang)
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
            codes=_codes(c.codelists, lang),
            window=c.window.describe(lang),
        )
        if c.min_ddd is not None:
            text += ", " + w("rx_ddd", ddd=_amount(c.min_ddd, lang))
        return [pad + text]
    if isinstance(c, m.HasLab):
        text = w(
            "lab",
            count=_count(c.min_count, lang),
            codes=_codes(c.codelists, lang),
            window=c.window.describe(lang),
        )
        if c.latest is not None:
            text += ", " + w(
                "lab_latest",
                op=_OPS[c.latest.comparator],
                threshold=_amount(c.latest.threshold, lang),
            )
        return [pad + text]
    if isinstance(c, m.HasEncounter):
        return [
            pad
            + w(
                "enc",
                count=_count(c.min_count, lang),
                codes=_codes(c.codelists, lang),
                window=c.window.describe(lang),
            )
        ]
    if isinstance(c, m.DaysCovered):
        first, *rest = c.supplies
        days, codes = c.window.days, _codes(first.codelists, lang)
        if rest:
            other = _codes(rest[0].codelists, lang)
            text = w("covered_together", codes=codes, other=other, min=c.min_days, days=days)
        else:
            text = w("covered", codes=codes, min=c.min_days, days=days)
        return [pad + text, pad + "  " + w("covered_how")]
    if isinstance(c, m.Died):
        return [pad + w("died", days=c.window.days)]
    if isinstance(c, m.AtDeath):
        return [pad + w("at_death"), *describe_criterion(c.part, lang, indent + 1)]
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
    """One sentence: what is counted per patient (prescriptions, or episodes)."""
    if isinstance(e, m.Episodes):
        return _describe_episodes(e, lang)
    return _W["events"][lang].format(
        codes=_codes(e.codelists, lang), window=e.window.describe(lang)
    )


def _describe_episodes(e: m.Episodes, lang: Lang) -> str:
    w = lambda key, **kw: _W[key][lang].format(**kw)  # noqa: E731
    a = e.anchor
    source = w(f"source_{a.table.value}")
    if a.follow_up_days:
        text = w(
            "episodes",
            source=source,
            codes=_codes(a.codelists, lang),
            days=a.window.days,
            follow=a.follow_up_days,
        )
    else:
        text = w(
            "episodes_now",
            source=source,
            codes=_codes(a.codelists, lang),
            window=a.window.describe(lang),
        )
    if a.new_after_days is not None:
        text += ", " + w("episodes_new", days=a.new_after_days)
    if e.require:
        nears = [
            w(
                "near",
                source=w(f"source_{r.table.value}"),
                codes=_codes(r.codelists, lang),
                when=_offsets(r.from_day, r.to_day, lang),
            )
            for r in e.require
        ]
        text += "; " + w("episodes_with") + " " + f" {w('and')} ".join(nears)
    return text


def _offsets(lo: int, hi: int, lang: Lang) -> str:
    """Days relative to the anchor, as a person says them (never '-3 days after')."""
    if lo == hi == 0:
        return _W["same_day"][lang]
    if lo == 0:
        return _W["day_or_after"][lang].format(hi=hi)
    if lo < 0 <= hi:
        return _W["around"][lang].format(lo=-lo, hi=hi)
    if lo > 0:
        return _W["after"][lang].format(lo=lo, hi=hi)
    return _W["before"][lang].format(lo=-lo, hi=-hi)
