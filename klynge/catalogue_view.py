"""The indicator catalogue as a reviewer reads it: `klynge indicators list` and `show`.

No Typer here: `indicators list` runs from `klynge.quick` without it, so the
listing costs only rich's table and the catalogue loader. Numbers go through
`common.formatting` (a target reads "95 %" in Danish, "95%" in English).
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from common.formatting import rate
from common.i18n import current_lang, register, t
from indicator_defs import load_catalogue
from indicator_defs.danish import area, source
from indicator_defs.describe import describe_criterion, describe_events
from indicator_defs.model import Episodes, Indicator, Unit

register(
    {
        "ind.col.id": {"da": "Id", "en": "Id"},
        "ind.col.title": {"da": "Titel", "en": "Title"},
        "ind.col.area": {"da": "Område", "en": "Area"},
        "ind.col.unit": {"da": "Enhed", "en": "Unit"},
        "ind.col.better": {"da": "Bedst", "en": "Better"},
        "ind.col.hash": {"da": "Indholds-hash", "en": "Content hash"},
        "ind.higher": {"da": "højere", "en": "higher"},
        "ind.lower": {"da": "lavere", "en": "lower"},
        "ind.unit.patients": {"da": "patienter", "en": "patients"},
        "ind.unit.events": {"da": "hændelser", "en": "events"},
        "ind.catalogue": {
            "da": "{n} indikatorer, katalog-hash {hash}",
            "en": "{n} indicators, catalogue hash {hash}",
        },
        "ind.unknown": {
            "da": "ukendt indikator '{id}'. Kendte: {known}",
            "en": "unknown indicator '{id}'. Known: {known}",
        },
        "ind.denominator": {"da": "Nævner", "en": "Denominator"},
        "ind.numerator": {"da": "Tæller", "en": "Numerator"},
        "ind.num.among": {"da": "blandt nævneren:", "en": "among the denominator:"},
        "ind.cap": {
            "da": "højst {cap} hændelser tæller pr. patient",
            "en": "at most {cap} events count per patient",
        },
        "ind.cap.episodes": {
            "da": "højst {cap} episode(r) tæller pr. patient (bidragsgrænsen, som privatlivslaget "
            "bygger på)",
            "en": "at most {cap} episode(s) count per patient (the contribution bound the "
            "privacy layer relies on)",
        },
        "ind.den.events": {
            "da": "hændelser hos disse patienter:",
            "en": "events of these patients:",
        },
        "ind.strata": {"da": "Strata", "en": "Strata"},
        "ind.target": {"da": "Mål", "en": "Target"},
        "ind.goal": {"da": "National målsætning", "en": "National goal"},
        "ind.source": {"da": "Kilde", "en": "Source"},
        "ind.version": {"da": "Version", "en": "Version"},
    }
)


def print_list() -> None:
    """Every indicator with its title and content hash, one table."""
    lang = current_lang()
    cat = load_catalogue()
    table = Table(title=t("ind.catalogue", n=len(cat.indicators), hash=cat.content_hash[:16]))
    for key in ("id", "title", "area", "unit", "better", "hash"):
        table.add_column(t(f"ind.col.{key}"))
    for ind in cat.indicators.values():
        table.add_row(
            ind.id,
            ind.title[lang],
            area(ind.area, lang),
            t(f"ind.unit.{ind.unit.value}"),
            t(f"ind.{ind.direction.value}"),
            ind.content_hash[:12],
        )
    Console().print(table)


def target_text(ind: Indicator) -> str | None:
    """The target on the indicator's own scale: "95 %", "12,5 %", "350 pr. 1.000"."""
    if ind.target is None:
        return None
    on_scale = ind.target * ind.scale
    decimals = 0 if abs(on_scale - round(on_scale)) < 1e-9 else 1
    return rate(ind.target, ind.scale, decimals)


def find(indicator_id: str) -> Indicator | None:
    """The indicator `indicator_id` names, in any case; None when the catalogue has none."""
    return load_catalogue().indicators.get(indicator_id.upper())


def known_ids() -> str:
    return ", ".join(load_catalogue().indicators)


def print_show(ind: Indicator) -> None:
    """One definition in words, all of it in the reader's language."""
    lang = current_lang()
    out = Console()
    out.print(f"[bold]{ind.id}: {ind.title[lang]}[/bold]")
    out.print(ind.description[lang], highlight=False)
    out.print()
    out.print(f"[bold]{t('ind.denominator')}[/bold]")
    for line in describe_criterion(ind.population, lang, 1):
        out.print(line, highlight=False)
    if ind.denominator_events is not None:
        out.print("  " + t("ind.den.events") + " " + describe_events(ind.denominator_events, lang))
    out.print(f"[bold]{t('ind.numerator')}[/bold]")
    if ind.unit is Unit.PATIENTS:
        assert ind.numerator is not None  # the loader requires it for patient indicators
        out.print("  " + t("ind.num.among"))
        for line in describe_criterion(ind.numerator, lang, 2):
            out.print(line, highlight=False)
    else:
        assert ind.numerator_events is not None  # and the events for event indicators
        out.print("  " + describe_events(ind.numerator_events, lang), highlight=False)
        episodes = isinstance(ind.numerator_events, Episodes)
        out.print("  " + t("ind.cap.episodes" if episodes else "ind.cap", cap=ind.cap_per_patient))
    out.print()
    out.print(f"{t('ind.strata')}: {', '.join(ind.strata)}")
    target = target_text(ind)
    if target is not None:
        out.print(f"{t('ind.target')}: {target} ({t('ind.' + ind.direction.value)})")
    if ind.national_goal:
        out.print(f"{t('ind.goal')}: {ind.national_goal[lang]}", highlight=False)
    out.print(f"{t('ind.source')}: {source(ind.source, lang)}", highlight=False)
    out.print(f"{t('ind.version')}: {ind.version}   {t('ind.col.hash')}: {ind.content_hash}")
