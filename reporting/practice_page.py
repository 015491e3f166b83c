"""The practice's own report as one self-contained HTML file: printable, never uploaded.

It draws what the agent gathered locally (`reporting.practice_model`) with
the same charts, page shell and words as the region and cluster reports:
the practice's own exact rate is an extra row, line or mark on them. The
country (the national release the region imported) is a column of the
overview, "—" until one is downloaded, and a bar on each card once it is.
Suppressed figures read "suppressed", never zero; each indicator's card
also places the practice among the practices and shows its trend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup

from common.formatting import (
    epsilon,
    integer,
    interval,
    number,
    percent,
    rate,
    scientific,
    timestamp,
)
from common.i18n import Lang, register, t
from indicator_defs import model as m
from privacy.distribution import MIN_PRACTICES_FOR_DECILES
from privacy.intervals import noise_range
from reporting import words
from reporting.charts.axes import CLUSTER, NATION, OWN, REGION, TARGET, Key, period_label
from reporting.charts.bars import BarRow, interval_bars
from reporting.charts.histogram import histogram
from reporting.charts.trend import TrendSeries, trend_chart
from reporting.page import render_page
from reporting.practice_model import (
    IndicatorPlacement,
    IndicatorReport,
    IndicatorTrend,
    Placement,
    PracticeReport,
)
from reporting.practice_survey import position_class, position_text, survey_view
from reporting.rates import upper_bound
from reporting.release_document import IndicatorFigure, ReleaseDocument
from reporting.versus_country import limit_level, page_limit

register(
    {
        "preport.title": {
            "da": "Praksis {practice} — egne kvalitetsindikatorer {date}",
            "en": "Practice {practice} — own quality indicators {date}",
        },
        "preport.banner": {
            "da": "Lokal rapport. Beregnet på praksisens egen computer ud fra praksisens egne "
            "data; den er aldrig sendt nogen steder hen. Den indeholder praksisens egne "
            "pseudonyme patient-id'er: opbevar den som andre journaloplysninger.",
            "en": "Local report. Computed on the practice's own computer from the practice's own "
            "data; it was never uploaded anywhere. It holds the practice's own pseudonymous "
            "patient ids: keep it like other clinical records.",
        },
        "preport.meta": {
            "da": "Klynge {cluster} · referencedato {date} · dannet {at}",
            "en": "Cluster {cluster} · reference date {date} · generated {at}",
        },
        "preport.sources": {
            "da": "{level} {unit}: udgivelse {release} ({n} praksisser; {mechanism}, ε {eps}).",
            "en": "{level} {unit}: release {release} ({n} practices; {mechanism}, ε {eps}).",
        },
        "preport.no_releases": {
            "da": "Der er endnu ikke hentet resultater for klyngen eller regionen for {date}. "
            "Rapporten viser kun praksisens egne tal.",
            "en": "No cluster or regional results have been downloaded for {date} yet. "
            "The report shows the practice's own figures only.",
        },
        "preport.no_region": {
            "da": "Der er ikke hentet et regionalt resultat for {date}.",
            "en": "No regional result has been downloaded for {date}.",
        },
        "preport.other_dates": {
            "da": "Hentede resultater for andre referencedatoer ({dates}) sammenlignes ikke "
            "her; vælg en af dem med --as-of.",
            "en": "Downloaded results for other reference dates ({dates}) are not compared "
            "here; choose one with --as-of.",
        },
        "preport.intro": {
            "da": "Egne tal er beregnet præcist i praksis. Klyngens og regionens tal er tilført "
            "støj (differentielt privatliv), og små tal er skjult. Stregerne viser "
            "95 %-intervallet for klyngens og regionens rate; det rummer både den tilfældige "
            "variation mellem patienterne og støjen. Over eller under klyngen siges kun, når "
            "egen rate ligger uden for klyngens interval. Den stiplede røde linje er målet.",
            "en": "Own figures are computed exactly in the practice. Cluster and regional "
            "figures carry noise (differential privacy), and small counts are hidden. Whiskers "
            "show the 95% interval of the cluster's and the region's rate; it covers both the "
            "chance variation between patients and the noise. Above or below the cluster is "
            "said only when the own rate lies outside the cluster's interval. The dashed red "
            "line is the target.",
        },
        "preport.intro.noise_only": {
            "da": "Nogle hentede resultater er fra før intervallerne blev udgivet; for dem "
            'viser stregerne kun støjens 95 %-interval (markeret "kun støj"), som er smallere.',
            "en": "Some downloaded results predate released intervals; for them the whiskers "
            'show only the noise\'s 95% interval (marked "noise only"), which is narrower.',
        },
        "preport.intro.more": {
            "da": "Hvert kort viser også praksisens placering blandt praksisserne og "
            "udviklingen over de perioder, der er hentet resultater for. Egne rater for "
            "tidligere perioder er genberegnet lokalt på periodens referencedato.",
            "en": "Each card also shows the practice's place among the practices and the trend "
            "over the periods results have been downloaded for. Own rates for earlier periods "
            "are recomputed locally at each period's reference date.",
        },
        "preport.summary": {"da": "Oversigt", "en": "Overview"},
        "preport.print_note": {
            "da": "Udskriften gentager ikke oversigtens tal på kortene og udelader "
            "patientlisterne, fordelingsfigurerne (pladsen står i ord) og tomme "
            "udviklingsfelter; de står i rapportens HTML-fil.",
            "en": "The print does not repeat the overview's figures on the cards and leaves "
            "out the patient lists, the distribution charts (the place is given in words) and "
            "empty trend boxes; they are in the report's HTML file.",
        },
        "preport.col.indicator": {"da": "Indikator", "en": "Indicator"},
        "preport.col.own": {"da": "Egen praksis", "en": "Own practice"},
        "preport.col.cluster": {"da": "Klynge", "en": "Cluster"},
        "preport.col.region": {"da": "Region", "en": "Region"},
        "preport.col.nation": {"da": "Landet", "en": "Country"},
        "preport.col.target": {"da": "Mål", "en": "Target"},
        "preport.col.position": {"da": "I forhold til klyngen", "en": "Against the cluster"},
        "preport.col.decile": {"da": "Decil", "en": "Decile"},
        "preport.indicators": {"da": "Indikatorer", "en": "Indicators"},
        "preport.label.own": {"da": "Egen ({practice})", "en": "Own ({practice})"},
        "preport.label.cluster": {"da": "Klynge {unit}", "en": "Cluster {unit}"},
        "preport.label.region": {"da": "Region {unit}", "en": "Region {unit}"},
        "preport.label.nation": {"da": "Landet", "en": "Country"},
        "preport.level.cluster": {"da": "Klynge", "en": "Cluster"},
        "preport.level.region": {"da": "Region", "en": "Region"},
        "preport.level.nation": {"da": "Landet", "en": "Country"},
        "preport.suppressed_why": {"da": "skjult ({why})", "en": "suppressed ({why})"},
        "preport.no_release": {"da": "intet resultat", "en": "no result"},
        "preport.no_patients": {"da": "ingen patienter", "en": "no patients"},
        "preport.interval": {"da": "95 %-interval {interval}", "en": "95% interval {interval}"},
        "preport.interval_noise": {
            "da": "95 %-interval {interval}, kun støj",
            "en": "95% interval {interval}, noise only",
        },
        "preport.interval.short": {"da": "{interval}", "en": "{interval}"},
        "preport.interval_noise.short": {
            "da": "{interval}, kun støj",
            "en": "{interval}, noise only",
        },
        "preport.summary.cells": {
            "da": "Klynge, region og landet: rate (95 %-interval); usikker: for usikker til at "
            "bruge.",
            "en": "Cluster, region and country: rate (95% interval); uncertain: too uncertain "
            "to use.",
        },
        "preport.uncertain.short": {"da": "usikker", "en": "uncertain"},
        "preport.decile_at": {"da": "{decile}. ({where})", "en": "{decile} ({where})"},
        "preport.own_line": {
            "da": "Egen praksis: {num} af {den} = {rate}.",
            "en": "Own practice: {num} of {den} = {rate}.",
        },
        "preport.own_events": {
            "da": "Egen praksis: {num} hændelser / {den} = {rate} (højst {cap} pr. patient).",
            "en": "Own practice: {num} events / {den} = {rate} (at most {cap} per patient).",
        },
        "preport.pos.above": {"da": "Over {what}", "en": "Above {what}"},
        "preport.pos.below": {"da": "Under {what}", "en": "Below {what}"},
        "preport.pos.within_noise": {
            "da": "Ingen sikker forskel fra {what}",
            "en": "No certain difference from {what}",
        },
        "preport.what.rest_of_cluster": {
            "da": "resten af klyngen",
            "en": "the rest of the cluster",
        },
        "preport.what.cluster": {"da": "klyngen", "en": "the cluster"},
        "preport.pos.rule": {
            "da": (
                "Over eller under siges kun, når forskellen er større, end tilfældighed og "
                "støj kan forklare ved {level}-grænserne (som i et tragtdiagram), fordi siden "
                "laver {n} sammenligninger (indikatorer og spørgeskemamål). Praksis "
                "sammenlignes med resten af klyngen: klyngens tal minus praksis' egne tal og "
                "egen støjandel, som kun praksis kender."
            ),
            "en": (
                "Above or below is said only when the difference exceeds what chance and noise "
                "explain at the {level} limits (as in a funnel plot), because the page makes "
                "{n} comparisons (indicators and survey measures). The practice is compared "
                "with the rest of its cluster: the cluster's figures minus the practice's own "
                "figures and own noise share, which only the practice knows."
            ),
        },
        "preport.uncertain": {
            "da": "for usikker til at bruge",
            "en": "too uncertain to use",
        },
        "preport.pos.no_own_rate": {
            "da": "Ingen egne patienter i nævneren",
            "en": "No own patients in the denominator",
        },
        "preport.pos.suppressed": {
            "da": "Klyngens rate er skjult",
            "en": "The cluster's rate is suppressed",
        },
        "preport.pos.no_release": {
            "da": "Intet klyngeresultat at sammenligne med",
            "en": "No cluster result to compare with",
        },
        "preport.pos.cluster_uncertain": {
            "da": "Klyngens tal er for usikkert til en vurdering",
            "en": "The cluster's figure is too uncertain to judge against",
        },
        "preport.pos.better": {"da": " — bedre", "en": " — better"},
        "preport.pos.worse": {"da": " — dårligere", "en": " — worse"},
        "preport.patients.head": {
            "da": "Patienter (lokale pseudonyme id'er til opfølgning i EPJ)",
            "en": "Patients (local pseudonymous ids for follow-up in the EPJ)",
        },
        "preport.patients.numerator": {
            "da": "I tælleren: {n} patienter",
            "en": "In the numerator: {n} patients",
        },
        "preport.patients.gap": {
            "da": "I nævneren, ikke i tælleren: {n} patienter",
            "en": "In the denominator, not in the numerator: {n} patients",
        },
        "preport.patients.events": {
            "da": "Patienter med hændelser (id: tæller/nævner, efter loft): {n}",
            "en": "Patients with events (id: numerator/denominator, after the cap): {n}",
        },
        "preport.patients.none": {"da": "ingen", "en": "none"},
        "preport.patients.follow_higher": {
            "da": "Høj er bedre: patienter i nævneren uden for tælleren er dem at se på.",
            "en": "Higher is better: patients in the denominator but not the numerator are "
            "the ones to look at.",
        },
        "preport.patients.follow_lower": {
            "da": "Lav er bedre: patienter i tælleren er dem at se på.",
            "en": "Lower is better: patients in the numerator are the ones to look at.",
        },
        "preport.receipts": {
            "da": "Kvitteringer: hvad har forladt praksis",
            "en": "Receipts: what left the practice",
        },
        "preport.receipts.intro": {
            "da": "Hver runde er trukket fra praksisens privatlivsbudget, før noget blev sendt. "
            "Der blev kun sendt en maskeret, støjtilført vektor af optællinger; ingen "
            "patient-id'er og ingen egne rater.",
            "en": "Every round was charged to the practice's privacy budget before anything was "
            "sent. Only a masked, noised vector of counts was sent; no patient ids and no own "
            "rates.",
        },
        "preport.receipts.none": {
            "da": "Ingen runder endnu: intet har forladt praksis.",
            "en": "No rounds yet: nothing has left the practice.",
        },
        "preport.col.date": {"da": "Referencedato", "en": "Reference date"},
        "preport.col.charged": {"da": "Trukket", "en": "Charged"},
        "preport.col.round": {"da": "Runde", "en": "Round"},
        "preport.col.recipient": {"da": "Modtager", "en": "Recipient"},
        "preport.col.manifest": {"da": "Manifest", "en": "Manifest"},
        "preport.col.bytes": {"da": "Sendt", "en": "Sent"},
        "preport.col.eps": {"da": "ε", "en": "ε"},
        "preport.col.delta": {"da": "δ", "en": "δ"},
        "preport.col.sent": {"da": "Afsendt", "en": "Delivered"},
        "preport.bytes": {
            "da": "{size} byte, {n} værdier, SHA-256 {sha}…",
            "en": "{size} bytes, {n} values, SHA-256 {sha}…",
        },
        "preport.yes": {"da": "ja", "en": "yes"},
        "preport.no": {"da": "nej (trukket, ikke sendt)", "en": "no (charged, not sent)"},
        "preport.budget": {"da": "Privatlivsbudget", "en": "Privacy budget"},
        "preport.budget.row": {
            "da": "{year}: brugt ε = {spent} af {budget}, tilbage ε = {left} (δ = {delta}; "
            "{releases} runder, {sent} sendt).",
            "en": "{year}: spent ε = {spent} of {budget}, left ε = {left} (δ = {delta}; "
            "{releases} rounds, {sent} sent).",
        },
        "preport.no_dp": {
            "da": "uden differentielt privatliv (kun verifikation)",
            "en": "without differential privacy (verification only)",
        },
        "preport.trend.head": {"da": "Udvikling", "en": "Trend"},
        "preport.trend.own": {"da": "egen", "en": "own"},
        "preport.trend.cluster": {
            "da": "klynge (streg: 95 %-interval)",
            "en": "cluster (whisker: 95% interval)",
        },
        "preport.trend.region": {"da": "region", "en": "region"},
        "preport.trend.gaps": {
            "da": "Ingen prik (skjult eller intet tal, ikke nul): {items}.",
            "en": "No dot (suppressed or no figure, not zero): {items}.",
        },
        "preport.trend.gap.cluster": {
            "da": "klynge {date} ({why})",
            "en": "cluster {date} ({why})",
        },
        "preport.trend.gap.region": {"da": "region {date} ({why})", "en": "region {date} ({why})"},
        "preport.trend.gap.own": {
            "da": "egen {date} (ingen patienter)",
            "en": "own {date} (no patients)",
        },
        "preport.trend.one": {
            "da": "Kun én periode ({date}) er hentet; udviklingen tegnes, når der er flere.",
            "en": "Only one period ({date}) has been downloaded; the trend is drawn once there "
            "are more.",
        },
        "preport.place.head": {
            "da": "Placering blandt praksisserne",
            "en": "Place among the practices",
        },
        "preport.place.where.cluster": {"da": "klynge {unit}", "en": "cluster {unit}"},
        "preport.place.where.region": {"da": "region {unit}", "en": "region {unit}"},
        "preport.place.decile": {
            "da": "{share} af praksisserne i {where} har en lavere rate end jeres ({rate}): "
            "jeres praksis ligger i {decile}. decil (1 = laveste tiendedel, 10 = højeste).",
            "en": "{share} of the practices in {where} have a lower rate than yours ({rate}): "
            "your practice is in decile {decile} (1 = the lowest tenth, 10 = the highest).",
        },
        "preport.place.quintile.region": {
            "da": "Jeres praksis ligger i regionens {which} femtedel.",
            "en": "Your practice is in the region's {which} quintile.",
        },
        "preport.place.quintile.cluster": {
            "da": "Jeres praksis ligger i klyngens {which} femtedel.",
            "en": "Your practice is in the cluster's {which} quintile.",
        },
        "preport.quintile.1": {"da": "nederste", "en": "lowest"},
        "preport.quintile.2": {"da": "næstnederste", "en": "second-lowest"},
        "preport.quintile.3": {"da": "midterste", "en": "middle"},
        "preport.quintile.4": {"da": "næstøverste", "en": "second-highest"},
        "preport.quintile.5": {"da": "øverste", "en": "highest"},
        "preport.place.fallback": {
            "da": "Klyngens decil er ikke givet ({why}), så regionens fordeling er brugt.",
            "en": "The cluster's decile is not given ({why}), so the region's distribution "
            "is used.",
        },
        "preport.place.no_decile": {
            "da": "Intet decil er givet; diagrammet viser, hvor jeres rate ({rate}) ligger.",
            "en": "No decile is given; the chart shows where your rate ({rate}) lies.",
        },
        "preport.place.why": {"da": "{where}: {why}.", "en": "{where}: {why}."},
        "preport.withheld.too_few_practices": {
            "da": "kun {n} praksisser bidrog, og et decil kræver mindst {min}",
            "en": "only {n} practices contributed, and a decile needs at least {min}",
        },
        "preport.withheld.too_noisy": {
            "da": "privatlivsstøjen er for stor (hver søjle ±{sd} praksisser, "
            "standardafvigelse) til at dele {n} praksisser i tiendedele",
            "en": "the privacy noise is too large (each bar ±{sd} practices, standard "
            "deviation) to split {n} practices into tenths",
        },
        "preport.withheld.empty": {"da": "fordelingen er tom", "en": "the distribution is empty"},
        "preport.place.of_practices": {
            "da": "Fordelingen er af praksisser, ikke af patienter: en søjle er antallet af "
            "praksisser ({n} i alt) med en rate i det interval. En praksis med færre end "
            "{dmin} patienter i nævneren tæller som en brøkdel af en praksis.",
            "en": "The distribution is of practices, not patients: a bar is the number of "
            "practices ({n} in all) with a rate in that range. A practice with fewer than "
            "{dmin} patients in the denominator counts as a fraction of a practice.",
        },
        "preport.place.whiskers": {
            "da": "Stregerne på søjlerne viser 95 %-intervallet for støjen (±{half} praksisser).",
            "en": "The whiskers on the bars show the 95% interval of the noise (±{half} "
            "practices).",
        },
        "preport.place.own_line": {
            "da": "Den orange linje er jeres egen rate, og dens søjle er mørkere.",
            "en": "The orange line is your own rate, and its bar is darker.",
        },
        "preport.place.included": {
            "da": "Jeres praksis er selv en af praksisserne i fordelingen (den deltog i runden).",
            "en": "Your practice is itself one of the practices counted (it took part in that "
            "round).",
        },
        "preport.place.partial": {
            "da": "Med {den} patienter i nævneren tæller jeres praksis her som {mass} praksis.",
            "en": "With {den} patients in the denominator, your practice counts as {mass} of "
            "a practice here.",
        },
        "preport.place.not_included": {
            "da": "Jeres praksis deltog ikke i den runde og er ikke talt med i fordelingen.",
            "en": "Your practice did not take part in that round and is not counted in the "
            "distribution.",
        },
        "preport.place.no_own_rate": {
            "da": "Ingen egne patienter i nævneren, så jeres praksis kan ikke placeres.",
            "en": "No own patients in the denominator, so your practice cannot be placed.",
        },
    }
)

NO_NATION = "—"  # the country's column before a national release is downloaded
# The ledger composes ε to three decimals; a release's ε is written as elsewhere (1,00).
_LEDGER_DECIMALS = 3


# ---------------------------------------------------------------------------
# What the template draws


@dataclass(frozen=True)
class PlaceView:
    head: str
    chart: Markup
    main: tuple[str, ...]
    notes: str


@dataclass(frozen=True)
class TrendView:
    head: str
    chart: Markup | None
    keys: tuple[Key, ...]
    note: str  # gaps, or why there is no chart


@dataclass(frozen=True)
class Card:
    item: IndicatorReport
    facts: str
    chart: Markup
    own: str
    cluster: str
    region: str
    nation: str | None  # None: no national release downloaded, so no line
    position: str
    position_class: str
    place: PlaceView | None
    trend: TrendView | None


@dataclass(frozen=True)
class SummaryRow:
    item: IndicatorReport
    own: str
    counts: str  # (numerator/denominator), exact
    cluster: str
    region: str
    nation: str  # "—" until the country's figures are downloaded
    target: str
    position: str
    position_class: str
    decile: str


@dataclass(frozen=True)
class ReceiptView:
    date: str
    charged_at: str
    round_id: str
    recipient: str
    manifest_id: str
    manifest_hash: str
    sent_bytes: str
    epsilon: str
    delta: str
    sent: str


# ---------------------------------------------------------------------------
# Texts


def _count(value: int, lang: Lang) -> str:
    return integer(value, lang)


def _why(fig: IndicatorFigure, lang: Lang) -> str:
    """Why a figure is hidden, in words."""
    return words.reason(fig.suppressed_reason or "missing", lang)


def _published_text(
    fig: IndicatorFigure | None, scale: int, lang: Lang, *, short: bool = False
) -> str:
    """Rate and 95 % interval in words; `short` (the overview's cells, whose caption says what
    the bracket is) leaves the words "95 % interval" out and puts the bracket on its own line,
    so three levels fit an A4 row."""
    if fig is None:
        return t("preport.no_release", lang)
    if fig.rate is None:
        return t("preport.suppressed_why", lang, why=_why(fig, lang))
    text = rate(fig.rate, scale, lang=lang)
    if fig.uncertain:
        text += f" ({t('preport.uncertain.short' if short else 'preport.uncertain', lang)})"
    bounds = fig.interval
    if bounds:
        key = "preport.interval" if fig.interval_source == "released" else "preport.interval_noise"
        if short:
            key += ".short"
        shown = interval((max(bounds[0], 0.0), bounds[1]), scale, lang=lang)
        # the overview's cells break before the bracket (white-space: pre-line)
        text += ("\n(" if short else " (") + t(key, lang, interval=shown) + ")"
    return text


def _nation_text(
    item: IndicatorReport, report: PracticeReport, lang: Lang, *, short: bool = False
) -> str:
    """The country's rate and interval; "—" when no national release (or figure) is at hand."""
    if report.nation_release is None or item.nation is None:
        return NO_NATION
    return _published_text(item.nation, item.indicator.scale, lang, short=short)


def _position_text(item: IndicatorReport, lang: Lang) -> str:
    return position_text(item.position, item.compared_with, item.better, lang)


def _position_class(item: IndicatorReport) -> str:
    return position_class(item.better)


def _own_text(item: IndicatorReport, lang: Lang) -> str:
    ind = item.indicator
    values = {
        "num": _count(item.numerator, lang),
        "den": _count(item.denominator, lang),
        "rate": rate(item.rate, ind.scale, lang=lang),
    }
    if ind.unit is m.Unit.EVENTS:
        cap = _count(ind.cap_per_patient or 0, lang)
        return t("preport.own_events", lang, cap=cap, **values)
    return t("preport.own_line", lang, **values)


def _release_label(
    level: str, release: ReleaseDocument | None, report: PracticeReport, lang: Lang
) -> str:
    unit = release.unit if release else (report.cluster_id if level == "cluster" else "")
    return t(f"preport.label.{level}", lang, unit=unit)


def _comparisons(
    item: IndicatorReport, report: PracticeReport
) -> list[tuple[str, IndicatorFigure | None, ReleaseDocument | None, str]]:
    """(level, figure, release, colour) drawn beside the own rate; the country once fetched."""
    rows = [
        ("cluster", item.cluster, report.cluster_release, CLUSTER),
        ("region", item.region, report.region_release, REGION),
    ]
    if report.nation_release is not None:
        rows.append(("nation", item.nation, report.nation_release, NATION))
    return rows


def _bars(item: IndicatorReport, report: PracticeReport, lang: Lang) -> Markup:
    """Own (exact, no interval) above the cluster, region and country (with intervals)."""
    ind = item.indicator
    rows = [
        BarRow(
            t("preport.label.own", lang, practice=report.practice_id),
            item.rate,
            None,
            OWN,
            missing=t("preport.no_patients", lang),
        )
    ]
    for level, fig, release, colour in _comparisons(item, report):
        label = _release_label(level, release, report, lang)
        if fig is None:
            rows.append(BarRow(label, None, None, colour, missing=t("preport.no_release", lang)))
            continue
        why = _why(fig, lang) if fig.rate is None else ""
        missing = words.word("suppressed", lang)
        uncertain = t("preport.uncertain", lang) if fig.uncertain else ""
        rows.append(
            BarRow(
                label, fig.rate, fig.interval, colour, missing=missing, why=why, uncertain=uncertain
            )
        )
    return interval_bars(
        rows, scale=ind.scale, target=ind.target, upper=upper_bound(ind), lang=lang
    )


# ---------------------------------------------------------------------------
# The place among the practices


def _where(place: Placement, lang: Lang) -> str:
    return t(f"preport.place.where.{place.level}", lang, unit=place.unit)


def _withheld(place: Placement, lang: Lang) -> str:
    """Why the release gives no deciles, in plain words with the figures behind it."""
    dist = place.distribution
    return t(
        f"preport.withheld.{dist.deciles_withheld or 'empty'}",
        lang,
        n=_count(dist.practices, lang),
        min=_count(MIN_PRACTICES_FOR_DECILES, lang),
        sd=number(dist.bin_noise_sd, 1, lang),
    )


def _quintile_text(place: Placement, lang: Lang) -> str:
    """The place in words: which fifth of the practices, from the decile (1-2 lowest, …)."""
    assert place.decile is not None
    which = t(f"preport.quintile.{(place.decile + 1) // 2}", lang)
    return t(f"preport.place.quintile.{place.level}", lang, which=which)


def _place_texts(
    placement: IndicatorPlacement, indicator: m.Indicator, denominator: int, lang: Lang
) -> tuple[list[str], list[str]]:
    """(main sentences, notes) about the practice's place, decile only where deciles are given."""
    shown = placement.shown
    assert shown is not None  # `place_indicator` never builds one without a level
    main: list[str] = []
    used, cluster = placement.decile_from, placement.cluster
    if shown.own_rate is None:
        main.append(t("preport.place.no_own_rate", lang))
    elif used is not None:
        if used.level == "region" and cluster is not None:
            main.append(t("preport.place.fallback", lang, why=_withheld(cluster, lang)))
        main.append(_quintile_text(used, lang))
        main.append(
            t(
                "preport.place.decile",
                lang,
                share=percent(used.share_below or 0.0, 0, lang),
                where=_where(used, lang),
                rate=rate(used.own_rate, indicator.scale, lang=lang),
                decile=used.decile,
            )
        )
    else:
        own = rate(shown.own_rate, indicator.scale, lang=lang)
        main.append(t("preport.place.no_decile", lang, rate=own))
        for place in (cluster, placement.region):
            if place is not None:
                at = _where(place, lang)
                why = _withheld(place, lang)
                main.append(t("preport.place.why", lang, where=at[:1].upper() + at[1:], why=why))
    dist = shown.distribution
    notes = [
        t(
            "preport.place.of_practices",
            lang,
            n=_count(dist.practices, lang),
            dmin=_count(dist.full_weight_denominator, lang),
        )
    ]
    if dist.bin_noise_sd > 0:
        half = number(noise_range(dist.bin_noise_sd), 1, lang)
        notes.append(t("preport.place.whiskers", lang, half=half))
    if shown.own_rate is not None:
        notes.append(t("preport.place.own_line", lang))
    if shown.included:
        notes.append(t("preport.place.included", lang))
        if 0 < shown.own_mass < 1:
            mass = number(shown.own_mass, 2, lang)
            notes.append(t("preport.place.partial", lang, den=_count(denominator, lang), mass=mass))
    else:
        notes.append(t("preport.place.not_included", lang))
    return main, notes


def _place(item: IndicatorReport, lang: Lang) -> PlaceView | None:
    """The card's distribution block; None when no release has a histogram for it."""
    placement = item.placement
    if placement is None or placement.shown is None:
        return None
    shown, ind = placement.shown, item.indicator
    main, notes = _place_texts(placement, ind, item.denominator, lang)
    chart = histogram(
        shown.distribution,
        scale=ind.scale,
        target=ind.target,
        lang=lang,
        own_rate=shown.own_rate,
        own_bin=shown.own_bin,
    )
    head = f"{t('preport.place.head', lang)} · {_where(shown, lang)}"
    return PlaceView(head, chart, tuple(main), " ".join(notes))


# ---------------------------------------------------------------------------
# The trend


def _gaps(trend: IndicatorTrend, lang: Lang) -> list[str]:
    items = []
    for p in trend.points:
        date = p.reference_date.isoformat()
        if p.rate is None:
            items.append(t("preport.trend.gap.own", lang, date=date))
        for level, fig in (("cluster", p.cluster), ("region", p.region)):
            if fig is None:
                why = t("preport.no_release", lang)
            elif fig.rate is None:
                why = _why(fig, lang)
            else:
                continue
            items.append(t(f"preport.trend.gap.{level}", lang, date=date, why=why))
    return items


def _trend(item: IndicatorReport, lang: Lang) -> TrendView | None:
    """The card's trend block: the chart, its legend and the periods without a dot."""
    trend, ind = item.trend, item.indicator
    if trend is None or not trend.points:  # no cluster results: the page's notice says so
        return None
    head = t("preport.trend.head", lang)
    points = trend.points
    if len(points) == 1:
        date = points[0].reference_date.isoformat()
        return TrendView(head, None, (), t("preport.trend.one", lang, date=date))
    series = [
        TrendSeries(
            t("preport.trend.region", lang),
            [None if p.region is None else p.region.rate for p in points],
            REGION,
            name="region",
            dashed=True,
            offset=4,
        ),
        TrendSeries(
            t("preport.trend.cluster", lang),
            [None if p.cluster is None else p.cluster.rate for p in points],
            CLUSTER,
            name="cluster",
            intervals=[None if p.cluster is None else p.cluster.interval for p in points],
            offset=-4,
        ),
        TrendSeries(t("preport.trend.own", lang), [p.rate for p in points], OWN, 2.6, "own"),
    ]
    chart = trend_chart(
        [period_label(p.reference_date.isoformat()) for p in points],
        series,
        scale=ind.scale,
        target=ind.target,
        upper=upper_bound(ind),
        lang=lang,
    )
    keys = [Key(s.label, s.colour) for s in reversed(series)]
    if ind.target is not None:
        keys.append(Key(words.word("target", lang), TARGET, dashed=True))
    gaps = _gaps(trend, lang)
    note = t("preport.trend.gaps", lang, items="; ".join(gaps)) if gaps else ""
    return TrendView(head, chart, tuple(keys), note)


# ---------------------------------------------------------------------------
# The page


def _card(item: IndicatorReport, report: PracticeReport, lang: Lang) -> Card:
    ind = item.indicator
    return Card(
        item=item,
        facts=" · ".join(words.indicator_facts(ind, lang)),
        chart=_bars(item, report, lang),
        own=_own_text(item, lang),
        cluster=_published_text(item.cluster, ind.scale, lang),
        region=_published_text(item.region, ind.scale, lang),
        nation=None if report.nation_release is None else _nation_text(item, report, lang),
        position=_position_text(item, lang),
        position_class=_position_class(item),
        place=_place(item, lang),
        trend=_trend(item, lang),
    )


def _decile_text(item: IndicatorReport, lang: Lang) -> str:
    used = item.placement.decile_from if item.placement else None
    if used is None or used.decile is None:
        return "–"
    where = t(f"preport.level.{used.level}", lang).lower()
    return t("preport.decile_at", lang, decile=used.decile, where=where)


def _summary_row(item: IndicatorReport, report: PracticeReport, lang: Lang) -> SummaryRow:
    ind = item.indicator
    return SummaryRow(
        item=item,
        own=rate(item.rate, ind.scale, lang=lang),
        counts=f"({_count(item.numerator, lang)}/{_count(item.denominator, lang)})",
        cluster=_published_text(item.cluster, ind.scale, lang, short=True),
        region=_published_text(item.region, ind.scale, lang, short=True),
        nation=_nation_text(item, report, lang, short=True),
        target="–" if ind.target is None else rate(ind.target, ind.scale, lang=lang),
        position=_position_text(item, lang),
        position_class=_position_class(item),
        decile=_decile_text(item, lang),
    )


def _sources(report: PracticeReport, lang: Lang) -> tuple[str | None, list[str]]:
    """(a notice when nothing was downloaded, lines naming the releases compared with)."""
    date = report.as_of.isoformat()
    notice, lines = None, []
    if report.cluster_release is None and report.region_release is None:
        notice = t("preport.no_releases", lang, date=date)
    else:
        for release in (report.cluster_release, report.region_release, report.nation_release):
            if release is None:
                continue
            eps = release.epsilon_per_release
            lines.append(
                t(
                    "preport.sources",
                    lang,
                    level=t(f"preport.level.{release.level}", lang),
                    unit=release.unit,
                    release=release.release_id,
                    n="?" if release.contributors is None else _count(release.contributors, lang),
                    mechanism=words.mechanism(release.mechanism, lang),
                    eps="?" if eps is None else epsilon(eps, lang),
                )
            )
        if report.region_release is None:
            lines.append(t("preport.no_region", lang, date=date))
    if report.other_release_dates:
        dates = ", ".join(d.isoformat() for d in report.other_release_dates)
        lines.append(t("preport.other_dates", lang, dates=dates))
    return notice, lines


def _moment(text: str, lang: Lang) -> str:
    """A stored ISO time (UTC) in the one format people read, Danish local time; as is if odd.

    The agent writes "2026-12-01 13:05 UTC", the demo and the ledger ISO 8601.
    """
    try:
        moment = datetime.fromisoformat(text.removesuffix(" UTC"))
    except ValueError:
        return text
    return timestamp(moment, lang)


def _ledger_epsilon(value: float, lang: Lang) -> str:
    return epsilon(value, lang, _LEDGER_DECIMALS)


def _receipts(report: PracticeReport, lang: Lang) -> list[ReceiptView]:
    rows = []
    for r in report.receipts:
        eps = _ledger_epsilon(r.epsilon, lang)
        if math.isinf(r.epsilon):
            eps += " " + t("preport.no_dp", lang)
        size = t(
            "preport.bytes",
            lang,
            size=_count(r.payload_bytes, lang),
            n=_count(r.coordinates, lang),
            sha=r.payload_sha256[:16],
        )
        rows.append(
            ReceiptView(
                date=r.reference_date.isoformat(),
                charged_at=_moment(r.charged_at, lang),
                round_id=r.round_id,
                recipient=r.recipient,
                manifest_id=r.manifest_id,
                manifest_hash=r.manifest_hash[:12],
                sent_bytes=size,
                epsilon=eps,
                delta=scientific(r.delta, lang),
                sent=t("preport.yes" if r.sent else "preport.no", lang),
            )
        )
    return rows


def _budget(report: PracticeReport, lang: Lang) -> list[str]:
    return [
        t(
            "preport.budget.row",
            lang,
            year=b.year,
            spent=_ledger_epsilon(b.spent, lang),
            budget=_ledger_epsilon(b.budget, lang),
            left=_ledger_epsilon(b.left, lang),
            delta=scientific(b.delta, lang),
            releases=_count(b.releases, lang),
            sent=_count(b.sent, lang),
        )
        for b in report.budget
    ]


def _noise_only(report: PracticeReport) -> bool:
    """Whether any shown figure comes from a release without released intervals."""
    figures = [
        f for i in report.indicators for f in (i.cluster, i.region, i.nation) if f is not None
    ]
    figures += [
        f
        for i in report.indicators
        if i.trend
        for p in i.trend.points
        for f in (p.cluster, p.region)
        if f is not None
    ]
    return any(f.interval_source == "noise" for f in figures)


def render_practice_report(report: PracticeReport, lang: Lang) -> str:
    title = t("preport.title", lang, practice=report.practice_id, date=report.as_of.isoformat())
    notice, sources = _sources(report, lang)
    more = any(i.placement or (i.trend and i.trend.points) for i in report.indicators)
    comparisons = report.comparisons or len(report.indicators)
    return render_page(
        "practice.html",
        lang=lang,
        title=title,
        meta=t(
            "preport.meta",
            lang,
            cluster=report.cluster_id,
            date=report.as_of.isoformat(),
            at=_moment(report.generated_at, lang),
        ),
        notice=notice,
        sources=sources,
        noise_only=_noise_only(report),
        more=more,
        summary=[_summary_row(i, report, lang) for i in report.indicators],
        rule=t(
            "preport.pos.rule",
            lang,
            n=integer(comparisons, lang),
            level=percent(limit_level(page_limit(comparisons)), 1, lang),
        ),
        cards=[_card(i, report, lang) for i in report.indicators],
        receipts=_receipts(report, lang),
        budget=_budget(report, lang),
        surveys=[survey_view(s, lang) for s in report.surveys],
    )
