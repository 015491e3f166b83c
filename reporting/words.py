"""Codes in words, and the few phrases every report shares.

A release names its mechanism and its suppression reasons by code
(`distributed_skellam`, `small_count`); a reader is shown words, in Danish by
default. An unknown (newer) code is shown as it is rather than hidden, and a
test keeps every code Klynge writes in this table.
"""

from __future__ import annotations

from collections.abc import Mapping

from common.formatting import per, rate
from common.i18n import Lang, register, t
from indicator_defs.model import Indicator

register(
    {
        "words.mechanism.distributed_skellam": {
            "da": "fordelt Skellam-støj",
            "en": "distributed Skellam noise",
        },
        "words.mechanism.local_discrete_laplace": {
            "da": "lokal diskret Laplace-støj",
            "en": "local discrete Laplace noise",
        },
        "words.mechanism.local_discrete_gaussian": {
            "da": "lokal diskret Gauss-støj",
            "en": "local discrete Gaussian noise",
        },
        "words.mechanism.none": {
            "da": "ingen støj (uden differentielt privatliv)",
            "en": "no noise (without differential privacy)",
        },
        "words.mechanism.unknown": {"da": "ukendt mekanisme", "en": "unknown mechanism"},
        "words.reason.small_count": {"da": "lille tal", "en": "small count"},
        "words.reason.small_complement": {"da": "lille komplement", "en": "small complement"},
        "words.reason.too_few_practices": {"da": "for få praksisser", "en": "too few practices"},
        "words.reason.complementary": {
            "da": "komplementær skjulning",
            "en": "complementary suppression",
        },
        "words.reason.rate_denominator_too_small": {
            "da": "for lille nævner",
            "en": "denominator too small",
        },
        "words.reason.numerator_suppressed": {
            "da": "tælleren er skjult",
            "en": "the numerator is suppressed",
        },
        "words.reason.denominator_suppressed": {
            "da": "nævneren er skjult",
            "en": "the denominator is suppressed",
        },
        "words.reason.missing": {"da": "intet tal udgivet", "en": "no figure released"},
        # the national step's: a region's figure was hidden, or no region had a denominator
        "words.reason.region_withheld": {
            "da": "mangler fra en region",
            "en": "missing from a region",
        },
        "words.reason.empty": {"da": "ingen i nævneren", "en": "no one in the denominator"},
        "words.field.numerator": {"da": "tæller", "en": "numerator"},
        "words.field.denominator": {"da": "nævner", "en": "denominator"},
        "words.field.rate": {"da": "rate", "en": "rate"},
        "words.suppressed": {"da": "skjult", "en": "suppressed"},
        "words.uncertain": {"da": "for usikker til at bruge", "en": "too uncertain to use"},
        "words.target": {"da": "mål", "en": "target"},
        "words.target_is": {"da": "mål {v}", "en": "target {v}"},
        "words.no_target": {"da": "intet mål", "en": "no target"},
        "words.better": {"da": "{d} er bedre", "en": "{d} is better"},
        "words.higher": {"da": "højere", "en": "higher"},
        "words.lower": {"da": "lavere", "en": "lower"},
    }
)


def mechanism(code: str | None, lang: Lang) -> str:
    """A release's noise mechanism in words."""
    if code is None:
        return t("words.mechanism.unknown", lang)
    try:
        return t(f"words.mechanism.{code}", lang)
    except KeyError:
        return code


def reason(code: str, lang: Lang) -> str:
    """A suppression reason in words."""
    try:
        return t(f"words.reason.{code}", lang)
    except KeyError:
        return code


def reasons(suppressed: Mapping[str, str], lang: Lang) -> str:
    """Every suppressed field with its reason: "tæller: lille tal, rate: tælleren er skjult"."""
    parts = []
    for name, code in sorted(suppressed.items()):
        try:
            where = t(f"words.field.{name}", lang)
        except KeyError:
            where = name
        parts.append(f"{where}: {reason(code, lang)}")
    return ", ".join(parts) or reason("missing", lang)


def target(indicator: Indicator, lang: Lang) -> str:
    """ "mål 95,0 %", or "intet mål"."""
    if indicator.target is None:
        return t("words.no_target", lang)
    return t("words.target_is", lang, v=rate(indicator.target, indicator.scale, lang=lang))


def indicator_facts(indicator: Indicator, lang: Lang) -> list[str]:
    """What a reader needs beside every indicator: direction, target and unit."""
    direction = t(f"words.{indicator.direction.value}", lang)
    facts = [t("words.better", lang, d=direction), target(indicator, lang)]
    if indicator.scale != 100:
        facts.append(per(indicator.scale, lang))
    return facts


def word(name: str, lang: Lang) -> str:
    """One of the shared words above: "suppressed", "target", "higher", "lower"."""
    return t(f"words.{name}", lang)
