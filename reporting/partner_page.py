"""The page a partner in the wider health system receives: its granted figures, nothing more.

One table: per granted measure (indicators, then the patient-experience
survey's measures), the rate, share or score and its 95 % interval in each unit
the partner was given (a cluster, or the region), "too uncertain to use"
where the interval says so, and "suppressed" where the release withheld a
figure (never 0). It states who the page is for, on what grant, and that
every figure is an aggregate with privacy noise. Danish or English.
"""

from __future__ import annotations

from collections.abc import Sequence

from common.formatting import day, epsilon, integer
from common.i18n import Lang, register, t
from indicator_defs import Catalogue
from indicator_defs.survey_loader import installed_surveys
from reporting import words
from reporting.national_page import Cell, Row, rate_cell
from reporting.page import render_page
from reporting.release_document import ReleaseDocument, SurveyMeasureFigure
from reporting.survey_section import interval_text, value_text

register(
    {
        "report.partner.title": {
            "da": "Kvalitetstal for {partner}, {date}",
            "en": "Quality figures for {partner}, {date}",
        },
        "report.partner.grant": {
            "da": "Det, manifestet giver denne partner: {units}; {n} indikatorer og "
            "spørgeskemamål. Intet tal for en enkelt praksis, og intet ud over det tildelte.",
            "en": "What the manifest grants this partner: {units}; {n} indicators and survey "
            "measures. No figure for a single practice, and nothing beyond the grant.",
        },
        "report.partner.noise": {
            "da": "Alle tal er summer over mange praksis med statistisk støj (differentielt "
            "privatliv), hentet over gensidig TLS fra regionens koordinator.",
            "en": "Every figure is a sum over many practices with statistical noise (differential "
            "privacy), fetched over mutual TLS from the region's coordinator.",
        },
        "report.partner.nodp": {
            "da": "UDEN differentielt privatliv: kun til kontrol.",
            "en": "WITHOUT differential privacy: for checking only.",
        },
        "report.partner.indicator": {"da": "Indikator", "en": "Indicator"},
        "report.partner.cluster": {"da": "klynge {unit}", "en": "cluster {unit}"},
        "report.partner.region": {"da": "region {unit}", "en": "region {unit}"},
        "report.partner.facts": {
            "da": "{practices} praksis bidrog; ε pr. udgivelse {eps}",
            "en": "{practices} practices contributed; ε per release {eps}",
        },
        "report.partner.legend": {
            "da": "Rate og 95 %-interval (tilfældighed og støj). Skjult er ikke 0.",
            "en": "Rate and 95% interval (chance and noise). Suppressed is not 0.",
        },
        "report.partner.nothing": {
            "da": "Intet er udgivet for partnerens enheder endnu.",
            "en": "Nothing is released for the partner's units yet.",
        },
    }
)


def unit_label(doc: ReleaseDocument, lang: Lang) -> str:
    """'klynge K01' or 'region Midtjylland', as the page and the demo's summary name a unit."""
    key = "report.partner.region" if doc.level == "region" else "report.partner.cluster"
    return t(key, lang, unit=doc.unit)


def render_partner_page(
    partner_name: str, docs: Sequence[ReleaseDocument], catalogue: Catalogue, lang: Lang
) -> str:
    """The partner's releases side by side: one column per unit, one row per granted measure."""
    ids = [i for i in catalogue.indicators if any(i in d.figures for d in docs)]
    rows = []
    for iid in ids:
        ind = catalogue.indicators[iid]
        cells = tuple(rate_cell(d.figures.get(iid), ind.scale, lang) for d in docs)
        rows.append(Row(iid, ind.title[lang], cells))
    rows.extend(_survey_rows(docs, lang))
    latest = max((d.reference_date for d in docs), default=None)
    units = [unit_label(d, lang) for d in docs]
    facts = [
        f"{unit_label(d, lang)}: "
        + t(
            "report.partner.facts",
            lang,
            practices=integer(d.contributors or 0, lang),
            eps="?" if d.epsilon_per_release is None else epsilon(d.epsilon_per_release, lang),
        )
        + f" ({words.mechanism(d.mechanism, lang)})"
        for d in docs
    ]
    return render_page(
        "partner.html",
        lang=lang,
        title=t(
            "report.partner.title",
            lang,
            partner=partner_name,
            date="–" if latest is None else day(latest, lang),
        ),
        grant=t(
            "report.partner.grant", lang, units=", ".join(units) or "–", n=integer(len(rows), lang)
        ),
        facts=facts,
        units=units,
        rows=rows,
        legend=t("report.partner.legend", lang),
        exact=any(d.epsilon_per_release == float("inf") for d in docs),
    )


def _survey_cell(figure: SurveyMeasureFigure | None, lang: Lang) -> Cell:
    """A share or score with its interval, "too uncertain to use" where the release says so."""
    if figure is None or figure.value is None:
        return Cell(None, "", "", "")
    note = t("words.uncertain", lang) if figure.uncertain else ""
    return Cell(value_text(figure, lang), interval_text(figure, lang), note, "")


def _survey_rows(docs: Sequence[ReleaseDocument], lang: Lang) -> list[Row]:
    """One row per survey measure any document carries, in the installed survey's order;
    a measure this installation does not define cannot be named and is left out."""
    rows = []
    for survey in installed_surveys().values():
        for measure_id, measure in survey.measures.items():
            if any(measure_id in d.surveys for d in docs):
                cells = tuple(_survey_cell(d.surveys.get(measure_id), lang) for d in docs)
                rows.append(Row(measure_id, measure.title[lang], cells))
    return rows
