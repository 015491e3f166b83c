"""How the practice report writes numbers and reasons, shared by its HTML sections."""

from __future__ import annotations

import html
import math

from common.i18n import Lang, register, t

register(
    {
        "preport.reason.small_count": {"da": "lille tal", "en": "small count"},
        "preport.reason.small_complement": {
            "da": "lille komplement",
            "en": "small complement",
        },
        "preport.reason.too_few_practices": {
            "da": "for få praksisser",
            "en": "too few practices",
        },
        "preport.reason.complementary": {
            "da": "komplementær skjulning",
            "en": "complementary suppression",
        },
        "preport.axis.per": {"da": "pr. {n}", "en": "per {n}"},
        "preport.reason.rate_denominator_too_small": {
            "da": "for lille nævner",
            "en": "denominator too small",
        },
    }
)


def esc(text: object) -> str:
    return html.escape(str(text))


def number(value: float, decimals: int, lang: Lang) -> str:
    text = f"{value:.{decimals}f}"
    return text.replace(".", ",") if lang == "da" else text


def fmt_rate(value: float | None, scale: int, lang: Lang, decimals: int = 1) -> str:
    """A proportion for people: percent, or per 1,000."""
    if value is None:
        return "–"
    if scale == 100:
        return number(value * 100, decimals, lang) + " %"
    return number(value * scale, decimals, lang) + f"/{scale:,}".replace(
        ",", "." if lang == "da" else ","
    )


def fmt_axis(value: float, scale: int, lang: Lang, decimals: int = 0) -> str:
    """A compact axis label: "40 %", or the bare number when the unit is per `scale`."""
    text = number(value * scale, decimals, lang)
    return text + "\u202f%" if scale == 100 else text


def axis_unit(scale: int, lang: Lang) -> str:
    """The caption a per-`scale` axis needs ("" for percent, whose labels carry "%")."""
    if scale == 100:
        return ""
    return t("preport.axis.per", lang, n=f"{scale:,}".replace(",", "." if lang == "da" else ","))


def svg_open(cls: str, width: int, height: int) -> str:
    """An inline chart that scales down with its card (viewBox) but never up."""
    return (
        f'<svg class="{cls}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
    )


def fmt_epsilon(value: float, lang: Lang) -> str:
    return "∞" if math.isinf(value) else number(value, 3, lang)


def reason(code: str, lang: Lang) -> str:
    """A suppression reason in words; an unknown code is shown as it is."""
    try:
        return t(f"preport.reason.{code}", lang)
    except KeyError:
        return code
