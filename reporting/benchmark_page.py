"""The benchmark reports of one period's releases: region and cluster.

The region report puts the region first (its rate with interval against the
target, its age/sex strata and the distribution of practice rates, a funnel
of its clusters, the trend) and ends with a compact table of all clusters.
The cluster report shows one cluster beside its region and the target, for
the cluster meeting, with the region's strata and distribution. Strata and
distributions come from the period's region-wide round (a cluster round
releases totals only); the totals from the region's aggregate of its cluster
sums, which says whether it combined them with the region-wide round. Where
the region imported the country's release of the period (`PeriodResults.nation`),
the region report shows the country beside the region: a column of the
comparison table and a bar under the region's.

Both open with an overview table, one row per indicator. No scripts, fonts
or images are fetched: charts are inline SVG, so the file opens offline. On
A4 (templates/report.css) several indicators share a page: each figure's
caption keeps what is particular to it, and how to read a kind of figure,
the same under every one, is printed once in a box. Suppressed figures are
written as "suppressed", never drawn as zero. Danish or English.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from common.formatting import epsilon, integer, rate, scientific
from common.i18n import Lang, register, t
from indicator_defs import Catalogue
from indicator_defs.model import Indicator
from indicator_defs.survey_loader import installed_surveys
from privacy.distribution import MIN_PRACTICES_FOR_DECILES
from privacy.intervals import noise_range
from privacy.release import NO_NOISE
from reporting import words
from reporting.charts.axes import CLUSTER, NATION, OWN, REGION, SERIES, Key, period_label
from reporting.charts.bars import BarRow, bar_axis_top, interval_bars
from reporting.charts.funnel import (
    ClusterFigures,
    Funnel,
    Position,
    build_funnel,
    funnel_chart,
    funnel_how,
)
from reporting.charts.histogram import histogram
from reporting.charts.trend import TrendSeries, trend_chart
from reporting.numbers import bare_interval, practices
from reporting.page import render_page
from reporting.rates import is_proportion, sampling_interval, upper_bound
from reporting.release_document import Distribution, IndicatorFigure, PeriodResults, ReleaseDocument
from reporting.survey_section import (
    SurveyRow,
    interval_text,
    survey_rows,
    value_text,
    verdict,
)
from reporting.versus_country import Verdict, compare, critical_z

register(
    {
        "report.region.title": {
            "da": "Regional rapport: {region}, {date}",
            "en": "Regional report: {region}, {date}",
        },
        "report.region.none": {
            "da": "klynger uden regional udgivelse",
            "en": "clusters without a regional release",
        },
        "report.cluster.title": {
            "da": "Klyngerapport: {cluster}, {date}",
            "en": "Cluster report: {cluster}, {date}",
        },
        "report.empty.title": {
            "da": "Klynge: ingen udgivelser {date}",
            "en": "Klynge: no releases {date}",
        },
        "report.period": {
            "da": "Periode: referencedato {date}",
            "en": "Period: reference date {date}",
        },
        "report.period_trend": {"da": "udvikling fra {first}", "en": "trend from {first}"},
        "report.counts": {
            "da": "{clusters} klynger, {practices} praksisser",
            "en": "{clusters} clusters, {practices} practices",
        },
        "report.cluster_counts": {
            "da": "{practices} praksisser i klyngen, {region_practices} i regionen",
            "en": "{practices} practices in the cluster, {region_practices} in the region",
        },
        "report.mechanism": {
            "da": "Mekanisme: {m}; ε pr. udgivelse {eps}",
            "en": "Mechanism: {m}; ε per release {eps}",
        },
        "report.noise_notice": {
            "da": "Alle tal er tilført statistisk støj (differentielt privatliv), så ingen "
            "patient kan genkendes, og små tal er skjult. Ingen praksis' egne tal har forladt "
            "praksis, og ingen enkelt praksis er vist. Intervallerne dækker både tilfældig "
            "variation og støjen.",
            "en": "All figures carry statistical noise (differential privacy) so that no "
            "patient can be recognised, and small counts are hidden. No practice's own figures "
            "left the practice, and no single practice is shown. The intervals cover both "
            "chance variation and the noise.",
        },
        "report.nodp_notice": {
            "da": "UDEN differentielt privatliv: nøjagtige tal, kun til kontrol. Må ikke deles.",
            "en": "WITHOUT differential privacy: exact figures, for checking only. Do not share.",
        },
        "report.fig.rates": {"da": "Rate med 95 %-interval", "en": "Rate with 95% interval"},
        "report.fig.distribution": {
            "da": "Fordeling af praksissernes rater",
            "en": "Distribution of practice rates",
        },
        "report.fig.funnel": {"da": "Klyngerne i tragtplot", "en": "Clusters in a funnel plot"},
        "report.fig.strata": {
            "da": "Regionens rate efter køn og alder",
            "en": "The region's rate by sex and age",
        },
        "report.fig.region_distribution": {
            "da": "Fordeling af praksissernes rater i regionen",
            "en": "Distribution of practice rates in the region",
        },
        "report.strata.caption": {
            "da": "Fra den regionsdækkende runde ({n} praksisser). Søjlen er raten i gruppen, "
            "stregen dens 95 %-interval (tilfældig variation og støj).",
            "en": "From the region-wide round ({n} practices). The bar is the group's rate, the "
            "line its 95% interval (chance variation and noise).",
        },
        "report.stratum.F": {"da": "Kvinder {ages}", "en": "Women {ages}"},
        "report.stratum.M": {"da": "Mænd {ages}", "en": "Men {ages}"},
        "report.region_round.same_contributors": {
            "da": "Regionens totaler bygger på både klyngerunderne og den regionsdækkende runde "
            "({n} praksisser i begge).",
            "en": "The region's totals combine the cluster rounds and the region-wide round "
            "({n} practices in both).",
        },
        "report.region_round.contributors_differ": {
            "da": "Den regionsdækkende runde ({n} praksisser) havde andre deltagere end "
            "klyngerunderne ({m}); regionens totaler er fra klyngerunderne, strata og fordelinger "
            "fra den regionsdækkende runde.",
            "en": "The region-wide round ({n} practices) had other contributors than the cluster "
            "rounds ({m}); the region's totals are from the cluster rounds, strata and "
            "distributions from the region-wide round.",
        },
        "report.region_round.region_round_not_released": {
            "da": "Den regionsdækkende runde udgav intet; regionens totaler er fra klyngerunderne.",
            "en": "The region-wide round released nothing; the region's totals are from the "
            "cluster rounds.",
        },
        "report.region_round.exact": {
            "da": "Strata og fordelinger er fra den regionsdækkende runde ({n} praksisser).",
            "en": "Strata and distributions are from the region-wide round ({n} practices).",
        },
        "report.fig.trend": {"da": "Udvikling pr. kvartal", "en": "Trend by quarter"},
        "report.bars.caption": {
            "da": "Søjlen er den udgivne rate. Den sorte streg er 95 %-intervallet: det dækker "
            "både tilfældig variation (hvilke patienter der tilfældigvis tælles med) og "
            "privatlivsstøjen.",
            "en": "The bar is the released rate. The black line is the 95% interval: it covers "
            "both chance variation (which patients happen to be counted) and the privacy "
            "noise.",
        },
        "report.bars.target": {
            "da": "Den røde stiplede linje er målet ({target}).",
            "en": "The red dashed line is the target ({target}).",
        },
        "report.bars.target_off": {
            "da": "Målet ({target}) ligger uden for aksen.",
            "en": "The target ({target}) lies beyond the axis.",
        },
        "report.bars.suppressed": {
            "da": "Skjult betyder, at tallet er for lille til at blive vist; det er ikke 0.",
            "en": "Suppressed means the figure is too small to be shown; it is not 0.",
        },
        "report.bars.uncertain": {
            "da": (
                "En bleg, stiplet søjle er for usikker til at bruge: dens 95 %-interval er "
                "bredere, end manifestet tillader for en brugbar sammenligning."
            ),
            "en": (
                "A faint, dashed bar is too uncertain to use: its 95 % interval is wider than "
                "the manifest allows for a useful comparison."
            ),
        },
        "report.trend_caption": {
            "da": "Den tykke linje er {unit}; et hul betyder, at tallet var skjult.",
            "en": "The thick line is {unit}; a gap means the figure was suppressed.",
        },
        "report.trend_single": {
            "da": "Udviklingen vises, når der er mindst to perioder.",
            "en": "The trend appears once there are at least two periods.",
        },
        "report.cluster_funnel": {
            "da": "I regionens tragtplot ligger {cluster} {where}.",
            "en": "In the region's funnel plot, {cluster} lies {where}.",
        },
        "report.where.inside": {"da": "inden for 95 %-grænserne", "en": "within the 95% limits"},
        "report.where.warning": {
            "da": "mellem 95 %- og 99,8 %-grænserne ({d}): kan være tilfældigt",
            "en": "between the 95% and 99.8% limits ({d}): may be chance",
        },
        "report.where.outside": {
            "da": "uden for 99,8 %-grænserne ({d}): mere end tilfældighed og støj forklarer",
            "en": "outside the 99.8% limits ({d}): more than chance and noise would explain",
        },
        "report.compare": {"da": "Klyngerne side om side", "en": "Clusters side by side"},
        "report.overview": {"da": "Oversigt", "en": "Overview"},
        "report.overview.cluster": {"da": "Klynge", "en": "Cluster"},
        "report.overview.interval": {"da": "95 %-interval", "en": "95% interval"},
        "report.overview.region": {"da": "Region", "en": "Region"},
        "report.country": {"da": "Landet", "en": "Country"},
        "report.compare.country": {
            "da": "Landet er summen af regionernes udgivne tal (det nationale niveau); det "
            "koster intet ekstra privatlivsbudget. ▲/▼ ved regionen: højere/lavere end resten "
            "af landet, mere end tilfældighed og støj forklarer, når alle {n} sammenligninger "
            "med landet på siden tælles med.",
            "en": "The country is the sum of the regions' released figures (the national "
            "tier); it costs no further privacy budget. ▲/▼ at the region: higher/lower than "
            "the rest of the country by more than chance and noise explain, counting all {n} "
            "comparisons with the country on the page.",
        },
        "report.overview.verdict": {"da": "I forhold til regionen", "en": "Against the region"},
        "report.overview.legend": {
            "da": "Klyngens udgivne rate med 95 %-interval ved siden af regionens. Vurderingen "
            "følger regionens tragtplot: kun uden for de yderste grænser er forskellen "
            "større, end tilfældighed og støj kan forklare.",
            "en": "The cluster's released rate with its 95% interval beside the region's. "
            "The verdict follows the region's funnel plot: only outside the outer limits is "
            "the difference larger than chance and noise explain.",
        },
        "report.verdict.inside": {
            "da": "ingen sikker forskel fra regionen",
            "en": "no clear difference from the region",
        },
        "report.verdict.warning": {
            "da": "{d} end regionen, men kan være tilfældigt",
            "en": "{d} than the region, but may be chance",
        },
        "report.verdict.outside": {
            "da": "{d} end regionen",
            "en": "{d} than the region",
        },
        "report.verdict.better": {"da": " — bedre", "en": " — better"},
        "report.verdict.worse": {"da": " — dårligere", "en": " — worse"},
        "report.verdict.none": {
            "da": "kan ikke vurderes: {why}",
            "en": "cannot be judged: {why}",
        },
        "report.howto": {"da": "Sådan læses figurerne", "en": "How to read the figures"},
        "report.print_note": {
            "da": "Udskriften viser hver figurs egne tal; forklaringen, der er ens for alle "
            "figurer af en slags, står her én gang. Alder og køn og fordelingen af "
            "praksissernes andele står i rapportens HTML-fil.",
            "en": "The print shows each figure's own figures; the explanation that is the "
            "same for every figure of a kind is given here once. The age/sex strata and the "
            "distributions of practice rates are in the report's HTML file.",
        },
        "report.compare.indicator": {"da": "Indikator", "en": "Indicator"},
        "report.compare.target": {"da": "Mål", "en": "Target"},
        "report.compare.legend": {
            "da": "Rate og 95 %-interval. ▲/▼: uden for tragtplottets yderste grænser "
            "(højere/lavere end regionen, mere end tilfældighed og støj forklarer). "
            "Skjult er ikke 0.",
            "en": "Rate and 95% interval. ▲/▼: outside the funnel plot's outer limits "
            "(higher/lower than the region by more than chance and noise explain). "
            "Suppressed is not 0.",
        },
        "report.not_shown": {
            "da": "Ingen udgivne tal i perioden (skjult overalt): {ids}",
            "en": "No released figures in the period (suppressed everywhere): {ids}",
        },
        "report.aborted": {"da": "Runder uden udgivelse", "en": "Rounds without a release"},
        "report.dropouts": {
            "da": "Praksisser faldt fra undervejs: {n}",
            "en": "Practices dropped out mid-round: {n}",
        },
        "report.dist.with_noise": {"da": ", med støj", "en": ", with noise"},
        "report.dist.what": {
            "da": "Søjlerne viser, hvor mange af de {n} praksisser der har en rate i hvert "
            "interval. Ingen enkelt praksis' tal er vist: kun summen over praksisserne er "
            "udgivet{noise}. En praksis med færre end {d} i nævneren tæller kun delvist "
            "(som sin nævner delt med {d}), og en praksis tæller halvt i hver af to nabosøjler, "
            "når dens rate ligger mellem dem.",
            "en": "The bars show how many of the {n} practices have a rate in each band. "
            "No single practice's value is shown: only the sum over the practices was "
            "released{noise}. A practice with fewer than {d} in its denominator counts only partly "
            "(as its denominator divided by {d}), and a practice whose rate lies between two "
            "bands is shared between them.",
        },
        "report.dist.noise": {
            "da": "Stregerne viser støjens 95 %-område (±{sd} praksisser pr. søjle).",
            "en": "The whiskers show the 95% range of the noise (±{sd} practices per bar).",
        },
        "report.dist.deciles": {
            "da": "De grå stiplede linjer er deciler (hver tiende del af praksisserne); "
            "den mørke er medianen ({median}).",
            "en": "The grey dashed lines are deciles (each tenth of the practices); "
            "the dark one is the median ({median}).",
        },
        "report.dist.too_few_practices": {
            "da": "Deciler vises ikke: kun {n} praksisser bidrog, og deciler kræver mindst {min}.",
            "en": "Deciles are not shown: only {n} practices contributed, and deciles need "
            "at least {min}.",
        },
        "report.dist.too_noisy": {
            "da": "Deciler vises ikke: privatlivsstøjen, typisk ca. {sd} praksisser pr. søjle, "
            "er for stor til at placere dem sikkert.",
            "en": "Deciles are not shown: the privacy noise, typically about {sd} practices "
            "per bar, is too large to place them reliably.",
        },
        "report.dist.empty": {
            "da": "Deciler vises ikke: fordelingen er tom efter støjen.",
            "en": "Deciles are not shown: the distribution is empty after the noise.",
        },
    }
)


# ---------------------------------------------------------------------------
# What the template draws


@dataclass(frozen=True)
class Figure:
    """A chart with its caption; `how` (how to read this kind of chart) is printed once."""

    title: str
    chart: Markup | None
    caption: str
    legend: tuple[Key, ...] = ()
    how: tuple[str, ...] = ()
    # Left out of the A4 print (said in its box): the region-wide round's strata and
    # distributions, which would double the pages; the HTML file keeps them.
    in_print: bool = True


@dataclass(frozen=True)
class Section:
    """One indicator: its heading and figures."""

    anchor: str
    indicator: Indicator
    sub: str
    figures: tuple[Figure, ...]


@dataclass(frozen=True)
class CompareCell:
    rate: str | None  # None: suppressed
    interval: str = ""
    mark: str = ""  # ▲ or ▼ beyond the funnel's outer limits


@dataclass(frozen=True)
class CompareRow:
    anchor: str
    indicator: Indicator
    target: str
    cells: tuple[CompareCell, ...]


@dataclass(frozen=True)
class OverviewRow:
    """One indicator of the cluster report's opening table, its verdict in words."""

    anchor: str
    indicator: Indicator
    rate: str
    interval: str
    region: str
    target: str
    verdict: str
    verdict_class: str  # "better", "worse" or ""
    country: str = ""  # the country's rate, where the national release was imported


@dataclass(frozen=True)
class SurveyCompareRow:
    """One survey measure across the region's units (region page)."""

    measure_id: str
    title: str
    cells: tuple[CompareCell, ...]


@dataclass(frozen=True)
class SurveyTable:
    """The patient-experience section: a cluster's rows with verdicts, or the region's grid."""

    legend: str
    rows: tuple[SurveyRow, ...] = ()
    units: tuple[str, ...] = ()
    grid: tuple[SurveyCompareRow, ...] = ()


@dataclass(frozen=True)
class Block:
    """One region (or one cluster) of the page."""

    title: str
    facts: tuple[str, ...]
    exact: bool
    sections: tuple[Section, ...]
    hidden: str  # the indicators with no figure at all, in one sentence ("" if none)
    units: tuple[str, ...] = ()  # the comparison table's columns
    comparison: tuple[CompareRow, ...] = ()
    overview: tuple[OverviewRow, ...] = ()
    country: bool = False  # the comparison has the country's column
    country_comparisons: int = 0  # region-against-country verdicts the page reads at once
    survey: SurveyTable | None = None  # the patient-experience section, if a survey was released

    @property
    def howto(self) -> tuple[str, ...]:
        """How to read each kind of figure in the block, each text once, in order."""
        texts = (h for s in self.sections for f in s.figures for h in f.how)
        return tuple(dict.fromkeys(texts))


# ---------------------------------------------------------------------------
# The region/cluster structure of a period


@dataclass(frozen=True)
class RegionGroup:
    """A region's release and the clusters whose rounds it sums (None: no regional release),
    and the release of its region-wide round (None: none ran, or it released nothing)."""

    region: str | None
    release: ReleaseDocument | None
    clusters: list[str]
    round_release: ReleaseDocument | None = None


def region_groups(results: PeriodResults) -> list[RegionGroup]:
    """Regions in name order with their clusters; clusters without a regional release last."""
    groups = []
    placed: set[str] = set()
    for region in sorted({*results.regions, *results.region_rounds}):
        doc = results.regions.get(region)
        members = sorted(
            c for c, d in results.clusters.items() if doc is not None and doc.shares_round_with(d)
        )
        placed.update(members)
        groups.append(RegionGroup(region, doc, members, results.region_round(region)))
    rest = sorted(c for c in results.clusters if c not in placed)
    if rest:
        groups.append(RegionGroup(None, None, rest))
    return groups


def _figure(doc: ReleaseDocument | None, indicator_id: str) -> IndicatorFigure | None:
    return None if doc is None else doc.figures.get(indicator_id)


def _rate(doc: ReleaseDocument | None, indicator_id: str) -> float | None:
    return None if doc is None else doc.rate(indicator_id)


def _distribution(doc: ReleaseDocument | None, indicator_id: str) -> Distribution | None:
    return None if doc is None else doc.distributions.get(indicator_id)


# ---------------------------------------------------------------------------
# The two pages


def render_region_report(
    results: PeriodResults, catalogue: Catalogue, lang: Lang, region: str | None = None
) -> str:
    """The region report: each region of the period (or only `region`) with its clusters."""
    ref = results.reference_date.isoformat()
    groups = [g for g in region_groups(results) if region is None or g.region == region]
    blocks = []
    for group in groups:
        name = group.region or t("report.region.none", lang)
        shown, hidden = _split_shown(results, catalogue, [group.region, *group.clusters])
        funnels = {ind.id: _funnel(results, group, ind) for ind in shown}
        versus = _versus_country(results, group, shown)
        blocks.append(
            Block(
                title=t("report.region.title", lang, region=name, date=ref),
                facts=_region_facts(results, group, lang),
                exact=_exact(results, [group.release, *_cluster_docs(results, group)]),
                sections=tuple(
                    _region_section(results, group, ind, funnels[ind.id], lang) for ind in shown
                ),
                hidden=_hidden(hidden, lang),
                units=tuple(u for u, _ in _unit_docs(results, group, lang)),
                country=group.region is not None and results.nation is not None,
                country_comparisons=len(versus),
                comparison=tuple(
                    _compare_row(results, group, ind, funnels[ind.id], lang, versus.get(ind.id))
                    for ind in shown
                ),
                survey=_region_survey(results, group, lang),
            )
        )
    title = " / ".join(b.title for b in blocks) or t("report.empty.title", lang, date=ref)
    return render_page(
        "benchmark.html",
        lang=lang,
        title=title,
        blocks=blocks,
        region_page=True,
        aborted=results.aborted_rounds,
        dropouts=_dropouts(results, lang),
    )


def render_cluster_report(
    results: PeriodResults, catalogue: Catalogue, cluster_id: str, lang: Lang
) -> str:
    """One cluster beside its region and the target: for the cluster meeting.

    Other clusters are not named; the cluster's place in the region's funnel
    is given in words.
    """
    if cluster_id not in results.clusters:
        raise KeyError(cluster_id)
    group = next(g for g in region_groups(results) if cluster_id in g.clusters)
    doc = results.clusters[cluster_id]
    shown, hidden = _split_shown(results, catalogue, [cluster_id, group.region])
    title = t(
        "report.cluster.title", lang, cluster=cluster_id, date=results.reference_date.isoformat()
    )
    funnels = {ind.id: _funnel(results, group, ind) for ind in shown}
    block = Block(
        title=title,
        facts=_cluster_facts(results, group, cluster_id, lang),
        exact=_exact(results, [doc, group.release]),
        sections=tuple(
            _cluster_section(results, group, cluster_id, ind, funnels[ind.id], lang)
            for ind in shown
        ),
        hidden=_hidden(hidden, lang),
        overview=tuple(
            _overview_row(results, group, cluster_id, ind, funnels[ind.id], lang) for ind in shown
        ),
        country=group.region is not None and results.nation is not None,
        survey=_cluster_survey(doc, group.release, lang),
    )
    aborted = tuple(a for a in results.aborted_rounds if a.cluster == cluster_id)
    return render_page(
        "benchmark.html",
        lang=lang,
        title=title,
        blocks=[block],
        region_page=False,
        aborted=aborted,
        dropouts="",
    )


# ---------------------------------------------------------------------------
# Headers


def _mechanisms(docs: Sequence[ReleaseDocument | None], lang: Lang) -> str:
    """'Mechanism: …; ε per release …' over the releases shown, each once."""
    seen: dict[tuple[str, str], None] = {}
    for doc in docs:
        if doc is None:
            continue
        eps = "?" if doc.epsilon_per_release is None else epsilon(doc.epsilon_per_release, lang)
        delta = doc.delta_per_release
        if delta is not None and delta > 0:
            eps += f" (δ {scientific(delta, lang)})"
        seen[words.mechanism(doc.mechanism, lang), eps] = None
    return "; ".join(t("report.mechanism", lang, m=m, eps=e) for m, e in seen)


def _exact(results: PeriodResults, docs: Sequence[ReleaseDocument | None]) -> bool:
    """Whether any release shown is noise-free: then the page says so loudly."""
    return results.dp is False or any(d is not None and d.mechanism == NO_NOISE for d in docs)


def _period(results: PeriodResults, lang: Lang) -> str:
    periods = results.periods()
    text = t("report.period", lang, date=results.reference_date.isoformat())
    if len(periods) > 1:
        first = periods[0].reference_date.isoformat()
        text += " (" + t("report.period_trend", lang, first=first) + ")"
    return text


def _count(value: int | None, lang: Lang) -> str:
    return "?" if value is None else integer(value, lang)


def _cluster_docs(results: PeriodResults, group: RegionGroup) -> list[ReleaseDocument]:
    return [results.clusters[c] for c in group.clusters]


def _region_facts(results: PeriodResults, group: RegionGroup, lang: Lang) -> tuple[str, ...]:
    clusters = _cluster_docs(results, group)
    if group.release is not None:
        contributors = group.release.contributors
    else:
        contributors = sum(d.contributors or 0 for d in clusters)
    counts = t(
        "report.counts",
        lang,
        clusters=integer(len(group.clusters), lang),
        practices=_count(contributors, lang),
    )
    facts = [_period(results, lang), counts]
    facts += _region_round_fact(group, lang)
    facts.append(_mechanisms([group.release, *clusters, group.round_release], lang))
    return tuple(facts)


def _region_round_fact(group: RegionGroup, lang: Lang) -> list[str]:
    """How the region's totals used the region-wide round, in one sentence (none if none ran)."""
    note = None if group.release is None else group.release.region_round
    if note is None:
        return []
    n = _count(group.round_release.contributors if group.round_release else None, lang)
    m = _count(group.release.contributors if group.release else None, lang)
    return [t(f"report.region_round.{note.totals}", lang, n=n, m=m)]


def _cluster_facts(
    results: PeriodResults, group: RegionGroup, cluster_id: str, lang: Lang
) -> tuple[str, ...]:
    doc = results.clusters[cluster_id]
    region_practices = _count(group.release.contributors, lang) if group.release else "–"
    counts = t(
        "report.cluster_counts",
        lang,
        practices=_count(doc.contributors, lang),
        region_practices=region_practices,
    )
    return (
        _period(results, lang),
        group.region or t("report.region.none", lang),
        counts,
        *_region_round_fact(group, lang),
        _mechanisms([doc, group.release, group.round_release], lang),
    )


def _dropouts(results: PeriodResults, lang: Lang) -> str:
    if not results.dropouts:
        return ""
    return t("report.dropouts", lang, n=integer(len(results.dropouts), lang))


# ---------------------------------------------------------------------------
# Indicator sections


def _split_shown(
    results: PeriodResults, catalogue: Catalogue, units: Sequence[str | None]
) -> tuple[list[Indicator], list[Indicator]]:
    """Indicators with any released rate or distribution in any period, and the rest."""
    shown: list[Indicator] = []
    hidden: list[Indicator] = []
    periods = results.periods()
    for ind in catalogue.indicators.values():
        released = any(
            _rate(doc, ind.id) is not None or _distribution(doc, ind.id) is not None
            for p in periods
            for u in units
            if u is not None
            for doc in (p.release(u), p.region_round(u))
        )
        (shown if released else hidden).append(ind)
    return shown, hidden


def _hidden(hidden: list[Indicator], lang: Lang) -> str:
    return t("report.not_shown", lang, ids=", ".join(i.id for i in hidden)) if hidden else ""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text)


def _bar_row(
    label: str, doc: ReleaseDocument | None, ind: Indicator, colour: str, lang: Lang
) -> BarRow:
    figure = _figure(doc, ind.id)
    why = (
        words.reason("missing", lang) if figure is None else words.reasons(figure.suppressed, lang)
    )
    return BarRow(
        label,
        None if figure is None else figure.rate,
        sampling_interval(figure, ind),
        colour,
        missing=words.word("suppressed", lang),
        why=why,
        uncertain=words.word("uncertain", lang) if figure is not None and figure.uncertain else "",
    )


def _bars_figure(rows: list[BarRow], ind: Indicator, lang: Lang) -> Figure:
    chart = interval_bars(
        rows, scale=ind.scale, target=ind.target, upper=upper_bound(ind), lang=lang
    )
    target = ""
    if ind.target is not None:
        top = bar_axis_top(rows, ind.target, upper_bound(ind))
        if top is not None:
            key = "report.bars.target" if ind.target <= top else "report.bars.target_off"
            target = t(key, lang, target=rate(ind.target, ind.scale, lang=lang))
    drawn = any(r.rate is not None for r in rows)
    how = [t("report.bars.caption", lang)] if drawn else []
    if not all(r.rate is not None for r in rows):
        how.append(t("report.bars.suppressed", lang))
    if any(r.uncertain for r in rows):
        how.append(t("report.bars.uncertain", lang))
    caption = target if drawn else ""
    return Figure(t("report.fig.rates", lang), chart, caption, how=tuple(how))


def _distribution_figure(
    doc: ReleaseDocument | None, ind: Indicator, lang: Lang, title: str = "report.fig.distribution"
) -> Figure | None:
    dist = _distribution(doc, ind.id)
    if dist is None:
        return None
    chart = histogram(dist, scale=ind.scale, target=ind.target, lang=lang)
    return Figure(t(title, lang), chart, _distribution_caption(dist, ind, lang), in_print=False)


def stratum_label(stratum: str, lang: Lang) -> str:
    """ "F:65-79" in words ("Kvinder 65-79"); a label of another form as it is."""
    sex, _, ages = stratum.partition(":")
    if sex not in ("F", "M") or not ages:
        return stratum
    return t(f"report.stratum.{sex}", lang, ages=ages)


def _strata_figure(doc: ReleaseDocument | None, ind: Indicator, lang: Lang) -> Figure | None:
    """The region-wide round's rate in each age/sex stratum, with intervals."""
    figure = _figure(doc, ind.id)
    if doc is None or figure is None or not figure.strata:
        return None
    rows = []
    for s in figure.strata:
        why = "" if s.rate is not None else words.reasons(s.suppressed, lang)
        rows.append(
            BarRow(
                stratum_label(s.stratum, lang),
                s.rate,
                sampling_interval(s, ind),
                REGION,
                missing=words.word("suppressed", lang),
                why=why,
            )
        )
    chart = interval_bars(
        rows, scale=ind.scale, target=ind.target, upper=upper_bound(ind), lang=lang
    )
    caption = t("report.strata.caption", lang, n=_count(doc.contributors, lang))
    if any(r.rate is None for r in rows):
        caption = f"{caption} {t('report.bars.suppressed', lang)}"
    return Figure(t("report.fig.strata", lang), chart, caption, in_print=False)


def _distribution_caption(dist: Distribution, ind: Indicator, lang: Lang) -> str:
    """What the bars are, how rough they are and whether (or why not) deciles are drawn."""
    sd = dist.bin_noise_sd
    noise = t("report.dist.with_noise", lang) if sd > 0 else ""
    n = integer(dist.practices, lang)
    d_min = integer(dist.full_weight_denominator, lang)
    parts = [t("report.dist.what", lang, n=n, d=d_min, noise=noise)]
    if sd > 0:
        parts.append(t("report.dist.noise", lang, sd=practices(noise_range(sd), lang)))
    if dist.deciles:
        median = rate(dist.deciles[4], ind.scale, lang=lang)
        parts.append(t("report.dist.deciles", lang, median=median))
    else:
        reason = dist.deciles_withheld or "empty"
        min_n = integer(MIN_PRACTICES_FOR_DECILES, lang)
        parts.append(t(f"report.dist.{reason}", lang, n=n, sd=practices(sd, lang), min=min_n))
    return " ".join(parts)


@dataclass(frozen=True)
class _Line:
    """One line of a trend chart: whose figures, drawn how."""

    label: str
    colour: str
    width: float
    of: Callable[[PeriodResults], ReleaseDocument | None]


def _unit_line(unit: str, colour: str, width: float) -> _Line:
    return _Line(unit, colour, width, lambda p: p.release(unit))


def _country_line(results: PeriodResults, lang: Lang) -> list[_Line]:
    """The country's line, where any period of the trend imported the national release."""
    if not any(p.nation is not None for p in results.periods()):
        return []
    return [_Line(t("report.country", lang), NATION, 1.4, lambda p: p.nation)]


def _trend_figure(
    results: PeriodResults,
    units: list[_Line],
    ind: Indicator,
    lang: Lang,
) -> Figure:
    """Trend of `units`; the first is drawn thick."""
    periods = results.periods()
    if len(periods) < 2:
        return Figure(t("report.fig.trend", lang), None, "", how=(t("report.trend_single", lang),))
    series = [
        TrendSeries(u.label, [_rate(u.of(p), ind.id) for p in periods], u.colour, u.width)
        for u in units
    ]
    labels = [period_label(p.reference_date.isoformat()) for p in periods]
    chart = trend_chart(
        labels, series, scale=ind.scale, target=ind.target, upper=upper_bound(ind), lang=lang
    )
    return Figure(
        t("report.fig.trend", lang),
        chart,
        t("report.trend_caption", lang, unit=units[0].label),
        tuple(Key(u.label, u.colour) for u in units),
    )


def _funnel(results: PeriodResults, group: RegionGroup, ind: Indicator) -> Funnel:
    figures = []
    for c in group.clusters:
        figure = _figure(results.clusters[c], ind.id)
        figures.append(
            ClusterFigures(
                c,
                None if figure is None else figure.rate,
                None if figure is None else figure.denominator,
                None if figure is None else figure.noise_sd,
            )
        )
    centre = _rate(group.release, ind.id)
    return build_funnel(centre, figures, proportion=is_proportion(ind), upper=upper_bound(ind))


def _section(ind: Indicator, figures: Sequence[Figure | None], lang: Lang) -> Section:
    return Section(
        anchor=_slug(ind.id),
        indicator=ind,
        sub=" · ".join(words.indicator_facts(ind, lang)),
        figures=tuple(f for f in figures if f is not None),
    )


def _region_section(
    results: PeriodResults, group: RegionGroup, ind: Indicator, funnel: Funnel, lang: Lang
) -> Section:
    name = group.region or t("report.region.none", lang)
    rows = [_bar_row(name, group.release, ind, REGION, lang)] if group.region else []
    if group.region and results.nation is not None:
        rows.append(_bar_row(t("report.country", lang), results.nation, ind, NATION, lang))
    rows += [_bar_row(c, results.clusters[c], ind, CLUSTER, lang) for c in group.clusters]
    chart, caption = funnel_chart(funnel, ind.scale, _slug(f"{name}-{ind.id}"), lang)
    trend = [_unit_line(name, REGION, 2.6)] if group.region else []
    trend += _country_line(results, lang) if group.region else []
    trend += [_unit_line(c, SERIES[k % len(SERIES)], 1.2) for k, c in enumerate(group.clusters)]
    return _section(
        ind,
        [
            _bars_figure(rows, ind, lang),
            _strata_figure(group.round_release, ind, lang),
            _distribution_figure(group.round_release or group.release, ind, lang),
            Figure(
                t("report.fig.funnel", lang),
                chart,
                caption,
                how=(funnel_how(lang),) if chart is not None else (),
            ),
            _trend_figure(results, trend, ind, lang),
        ],
        lang,
    )


def _cluster_section(
    results: PeriodResults,
    group: RegionGroup,
    cluster_id: str,
    ind: Indicator,
    funnel: Funnel,
    lang: Lang,
) -> Section:
    doc = results.clusters[cluster_id]
    rows = [_bar_row(cluster_id, doc, ind, OWN, lang)]
    trend = [_unit_line(cluster_id, OWN, 2.6)]
    if group.region is not None:
        rows.append(_bar_row(group.region, group.release, ind, REGION, lang))
        trend.append(_unit_line(group.region, REGION, 1.4))
        if results.nation is not None:
            rows.append(_bar_row(t("report.country", lang), results.nation, ind, NATION, lang))
        trend += _country_line(results, lang)
    bars = _bars_figure(rows, ind, lang)
    place = _funnel_place(funnel, cluster_id, lang)
    if place:
        bars = Figure(bars.title, bars.chart, f"{bars.caption} {place}".strip(), how=bars.how)
    # A cluster round releases no strata or histogram: the region's, from its region-wide round.
    region_wide = group.round_release
    return _section(
        ind,
        [
            bars,
            _strata_figure(region_wide, ind, lang),
            _distribution_figure(doc, ind, lang)
            or _distribution_figure(region_wide, ind, lang, "report.fig.region_distribution"),
            _trend_figure(results, trend, ind, lang),
        ],
        lang,
    )


def _funnel_place(funnel: Funnel, cluster_id: str, lang: Lang) -> str:
    point = funnel.point(cluster_id)
    if point is None:
        return ""
    where = t(f"report.where.{point.position}", lang, d=point.direction(lang))
    return t("report.cluster_funnel", lang, cluster=cluster_id, where=where)


# ---------------------------------------------------------------------------
# The cluster's overview


def _overview_row(
    results: PeriodResults,
    group: RegionGroup,
    cluster_id: str,
    ind: Indicator,
    funnel: Funnel,
    lang: Lang,
) -> OverviewRow:
    """Rate, interval, region, target and a verdict in words against the region's funnel."""
    figure = _figure(results.clusters[cluster_id], ind.id)
    region = _figure(group.release, ind.id)
    target = "–" if ind.target is None else rate(ind.target, ind.scale, lang=lang)
    region_text = _rate_text(region, ind, lang)
    country_text = _rate_text(_figure(results.nation, ind.id), ind, lang)
    if figure is None or figure.rate is None:
        why = (
            words.reason("missing", lang)
            if figure is None
            else words.reasons(figure.suppressed, lang)
        )
        return OverviewRow(
            _slug(ind.id), ind, words.word("suppressed", lang), "", region_text, target,
            t("report.verdict.none", lang, why=why), "", country_text,
        )  # fmt: skip
    rate_text = rate(figure.rate, ind.scale, lang=lang)
    interval = bare_interval(sampling_interval(figure, ind), ind.scale, lang)
    point = funnel.point(cluster_id)
    verdict_class = ""
    if figure.uncertain:
        verdict = words.word("uncertain", lang)
    elif point is None:
        verdict = t("report.verdict.none", lang, why=words.reason("missing", lang))
    elif point.position is Position.INSIDE:
        verdict = t("report.verdict.inside", lang)
    else:
        verdict = t(f"report.verdict.{point.position}", lang, d=point.direction(lang))
        if point.position is Position.OUTSIDE:
            better = point.above == (ind.direction.value == "higher")
            verdict_class = "better" if better else "worse"
            verdict += t(f"report.verdict.{verdict_class}", lang)
    return OverviewRow(
        _slug(ind.id), ind, rate_text, interval, region_text, target, verdict, verdict_class,
        country_text,
    )  # fmt: skip


def _rate_text(figure: IndicatorFigure | None, ind: Indicator, lang: Lang) -> str:
    """A released rate in words and numbers; 'suppressed' where there is none, never 0."""
    if figure is None or figure.rate is None:
        return words.word("suppressed", lang)
    return rate(figure.rate, ind.scale, lang=lang)


# ---------------------------------------------------------------------------
# The compact comparison


def _unit_docs(
    results: PeriodResults, group: RegionGroup, lang: Lang
) -> list[tuple[str, ReleaseDocument | None]]:
    """The comparison's columns: the region, the country (if imported), then the clusters."""
    docs: list[tuple[str, ReleaseDocument | None]] = (
        [(group.region, group.release)] if group.region else []
    )
    if group.region and results.nation is not None:
        docs.append((t("report.country", lang), results.nation))
    return docs + [(c, results.clusters[c]) for c in group.clusters]


def _versus_country(
    results: PeriodResults, group: RegionGroup, shown: Sequence[Indicator]
) -> dict[str, Verdict]:
    """The region against the rest of the country per indicator with both figures, all of
    the block's comparisons counted (Bonferroni), as the national report judges regions."""
    if group.region is None or results.nation is None:
        return {}
    nation = results.nation
    pairs = [(ind, _figure(group.release, ind.id), _figure(nation, ind.id)) for ind in shown]
    usable = [(ind, f, c) for ind, f, c in pairs if f is not None and c is not None]
    z = critical_z(len(usable))
    return {
        ind.id: compare(group.region, f, c, is_proportion(ind), z).verdict for ind, f, c in usable
    }


def _compare_row(
    results: PeriodResults,
    group: RegionGroup,
    ind: Indicator,
    funnel: Funnel,
    lang: Lang,
    versus: Verdict | None = None,
) -> CompareRow:
    """One row per indicator: target, region and each cluster with its interval. The region's
    mark is its verdict against the rest of the country (`versus`), a cluster's its place in
    the region's funnel."""
    target = "–" if ind.target is None else rate(ind.target, ind.scale, lang=lang)
    cells = []
    for unit, doc in _unit_docs(results, group, lang):
        figure = _figure(doc, ind.id)
        if figure is None or figure.rate is None:
            cells.append(CompareCell(None))
            continue
        # the funnel places clusters (and the region); the country is not one of its points
        point = None if doc is results.nation else funnel.point(unit)
        mark = ""
        if unit == group.region and versus is not None:
            mark = {"higher": "▲", "lower": "▼"}.get(versus, "")
        elif point is not None and point.position is Position.OUTSIDE:
            mark = "▲" if point.above else "▼"
        interval = bare_interval(sampling_interval(figure, ind), ind.scale, lang)
        cells.append(CompareCell(rate(figure.rate, ind.scale, lang=lang), interval, mark))
    return CompareRow(_slug(ind.id), ind, target, tuple(cells))


# ---------------------------------------------------------------------------
# Patient experience


def _survey_legend(doc: ReleaseDocument, lang: Lang) -> str:
    ids = sorted({f.survey_id for f in doc.surveys.values()})
    return t("report.survey.legend", lang, survey=", ".join(ids))


def _cluster_survey(
    doc: ReleaseDocument, region: ReleaseDocument | None, lang: Lang
) -> SurveyTable | None:
    """The cluster's measures, each with its verdict against the region."""
    rows = survey_rows(doc, region, installed_surveys(), lang)
    return SurveyTable(_survey_legend(doc, lang), rows=rows) if rows else None


def _region_survey(results: PeriodResults, group: RegionGroup, lang: Lang) -> SurveyTable | None:
    """The region and its clusters side by side; ▲/▼ where a cluster differs beyond the page's
    outer limits."""
    units = [(u, d) for u, d in _unit_docs(results, group, lang) if d is not None and d.surveys]
    if not units:
        return None
    definitions = installed_surveys()
    first = units[0][1]
    grid = []
    for measure_id, figure in first.surveys.items():
        survey = definitions.get(figure.survey_id)
        measure = None if survey is None else survey.measures.get(measure_id)
        if measure is None:
            continue
        cells = []
        region_figure = None if group.release is None else group.release.surveys.get(measure_id)
        for _unit, doc in units:
            own = doc.surveys.get(measure_id)
            if own is None or own.value is None:
                cells.append(CompareCell(None))
                continue
            mark = ""
            if doc is not group.release and doc is not results.nation:
                _, kind = verdict(own, region_figure, measure, lang)
                above = region_figure is not None and own.value > (region_figure.value or 0)
                mark = ("▲" if above else "▼") if kind else ""
            text = value_text(own, lang)
            if own.uncertain:
                text = f"{text} ({words.word('uncertain', lang)})"
            cells.append(CompareCell(text, interval_text(own, lang), mark))
        grid.append(SurveyCompareRow(measure_id, measure.title[lang], tuple(cells)))
    return SurveyTable(
        _survey_legend(first, lang), units=tuple(u for u, _ in units), grid=tuple(grid)
    )


def render_report(results: PeriodResults, catalogue: Catalogue, lang: Lang) -> str:
    """The region report of every region in `results` (the name older callers use)."""
    return render_region_report(results, catalogue, lang)
