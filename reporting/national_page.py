"""The national report: the country's figures with the regions side by side.

One table per period: per indicator, the country's rate with its 95 %
interval, then each region's, marked ▲/▼ where the region differs from the
country by more than chance and the privacy noise explain, all comparisons of
the page counted (`reporting.versus_country`). The country's practice-rate
distribution (the regions' region-wide rounds summed) and its deciles follow.
Suppressed is not 0; a figure too uncertain to use says so in words.
Danish or English.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from markupsafe import Markup

from common.formatting import epsilon, integer, interval, rate
from common.i18n import Lang, register, t
from indicator_defs import Catalogue
from reporting import words
from reporting.charts.histogram import histogram
from reporting.page import render_page
from reporting.rates import is_proportion
from reporting.release_document import IndicatorFigure, ReleaseDocument
from reporting.versus_country import compare, critical_z

register(
    {
        "report.nation.title": {
            "da": "National rapport: {nation}, {date}",
            "en": "National report: {nation}, {date}",
        },
        "report.nation.facts": {
            "da": "{regions} regioner, {practices} praksisser",
            "en": "{regions} regions, {practices} practices",
        },
        "report.nation.source": {
            "da": "Summen af regionernes underskrevne udgivelser; hver er kontrolleret mod "
            "regionens offentlige log. Ingen klynge- eller praksistal er brugt.",
            "en": "The sum of the regions' signed releases, each checked against the region's "
            "public log. No cluster or practice figures were used.",
        },
        "report.nation.indicator": {"da": "Indikator", "en": "Indicator"},
        "report.nation.country": {"da": "Landet", "en": "Country"},
        "report.nation.legend": {
            "da": "Rate og 95 %-interval (tilfældighed og støj). ▲/▼: regionen ligger højere/"
            "lavere end landet, mere end tilfældighed og støj forklarer, når alle {n} "
            "sammenligninger på siden tælles med (Bonferroni). Skjult er ikke 0.",
            "en": "Rate and 95% interval (chance and noise). ▲/▼: the region is higher/lower "
            "than the country by more than chance and noise explain, counting all {n} "
            "comparisons on the page (Bonferroni). Suppressed is not 0.",
        },
        "report.nation.distribution": {
            "da": "Praksisrater i hele landet: {ind}",
            "en": "Practice rates across the country: {ind}",
        },
        "report.nation.deciles": {
            "da": "{practices} praksisser; median {median}, 1.–9. decil {low}–{high}",
            "en": "{practices} practices; median {median}, 1st–9th decile {low}–{high}",
        },
        "report.nation.no_deciles": {
            "da": "{practices} praksisser; deciler ikke angivet ({reason})",
            "en": "{practices} practices; deciles not given ({reason})",
        },
        "report.nation.mechanism": {
            "da": "Regionernes mekanisme: {m}; ε pr. udgivelse {eps} (summen koster intet ekstra)",
            "en": "The regions' mechanism: {m}; ε per release {eps} (the sum costs nothing more)",
        },
        "report.nation.noise": {
            "da": "Alle tal er tilført statistisk støj i regionerne (differentielt privatliv); "
            "landets tal er summer af dem og koster intet ekstra privatlivsbudget.",
            "en": "Every figure carries statistical noise added in the regions (differential "
            "privacy); the country's figures are sums of them and cost no further budget.",
        },
        "report.nation.nodp": {
            "da": "UDEN differentielt privatliv: kun til kontrol.",
            "en": "WITHOUT differential privacy: for checking only.",
        },
    }
)


@dataclass(frozen=True)
class Cell:
    rate: str | None
    interval: str
    note: str
    mark: str


@dataclass(frozen=True)
class Row:
    indicator_id: str
    title: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class DistributionFigure:
    title: str
    chart: Markup
    caption: str


def rate_cell(f: IndicatorFigure | None, scale: int, lang: Lang, mark: str = "") -> Cell:
    """A rate with its interval, "too uncertain to use" where it is; empty where suppressed."""
    if f is None or f.rate is None:
        reason = None if f is None else f.suppressed_reason
        note = words.reason(reason, lang) if reason == "region_withheld" else ""
        return Cell(None, "", note, "")
    note = t("words.uncertain", lang) if f.uncertain else ""
    return Cell(rate(f.rate, scale, lang=lang), interval(f.interval, scale, lang=lang), note, mark)


_MARKS = {"higher": "▲", "lower": "▼"}


def render_national_report(
    nation: ReleaseDocument,
    regions: Mapping[str, ReleaseDocument],
    catalogue: Catalogue,
    lang: Lang,
) -> str:
    """The country and its regions, side by side, for one period."""
    names = sorted(regions)
    ids = [i for i in catalogue.indicators if i in nation.figures]
    z = critical_z(len(ids) * len(names))
    rows = []
    for iid in ids:
        ind = catalogue.indicators[iid]
        country = nation.figures[iid]
        cells = [rate_cell(country, ind.scale, lang)]
        for name in names:
            figure = regions[name].figures.get(iid)
            verdict = compare(name, figure, country, is_proportion(ind), z).verdict
            cells.append(rate_cell(figure, ind.scale, lang, _MARKS.get(verdict, "")))
        rows.append(Row(iid, ind.title[lang], tuple(cells)))
    distributions = []
    for iid, dist in nation.distributions.items():
        if iid not in catalogue.indicators:
            continue
        ind = catalogue.indicators[iid]
        if dist.deciles is not None:
            caption = t(
                "report.nation.deciles",
                lang,
                practices=integer(dist.practices, lang),
                median=rate(dist.deciles[4], ind.scale, lang=lang),
                low=rate(dist.deciles[0], ind.scale, lang=lang),
                high=rate(dist.deciles[8], ind.scale, lang=lang),
            )
        else:
            reason = words.reason(dist.deciles_withheld or "", lang)
            caption = t(
                "report.nation.no_deciles",
                lang,
                practices=integer(dist.practices, lang),
                reason=reason,
            )
        distributions.append(
            DistributionFigure(
                t("report.nation.distribution", lang, ind=f"{iid} {ind.title[lang]}"),
                histogram(dist, scale=ind.scale, target=ind.target, lang=lang),
                caption,
            )
        )
    title = t(
        "report.nation.title", lang, nation=nation.unit, date=nation.reference_date.isoformat()
    )
    eps = nation.epsilon_per_release
    facts = (
        t(
            "report.nation.facts",
            lang,
            regions=integer(len(names), lang),
            practices=integer(nation.contributors or 0, lang),
        ),
        t(
            "report.nation.mechanism",
            lang,
            m=words.mechanism(nation.mechanism, lang),
            eps="?" if eps is None else epsilon(eps, lang),
        ),
    )
    return render_page(
        "national.html",
        lang=lang,
        title=title,
        facts=facts,
        units=[t("report.nation.country", lang), *names],
        rows=rows,
        distributions=distributions,
        legend=t("report.nation.legend", lang, n=integer(len(ids) * len(names), lang)),
        exact=eps is not None and eps == float("inf"),
    )
