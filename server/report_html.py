"""Self-contained HTML benchmark reports of one period's releases: region and cluster.

The region report puts the region first (its rate with interval against the
target, the distribution of practice rates, a funnel of its clusters, the
trend) and ends with a compact table of all clusters. The cluster report
shows one cluster beside its region and the target, for the cluster meeting.

No scripts, fonts or images are fetched: charts are inline SVG, so the file
opens offline and prints on A4 with one indicator per page. Suppressed
figures are written as "suppressed", never drawn as zero. Danish or English.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from common.i18n import Lang, register, t
from indicator_defs import Catalogue
from indicator_defs.describe import format_rate
from indicator_defs.model import Indicator
from server.report_charts import (
    PALETTE,
    BarRow,
    TrendSeries,
    bar_axis_top,
    esc,
    format_interval,
    interval_bars,
    legend,
    period_label,
    trend_chart,
)
from server.report_data import (
    RegionGroup,
    cell_interval,
    cell_rate,
    distribution,
    indicator_cell,
    is_proportion,
    periods_of,
    region_groups,
    region_of,
    suppression_reason,
    unit_doc,
    upper_bound,
)
from server.report_distribution import distribution_chart
from server.report_funnel import (
    ClusterFigures,
    ClusterPoint,
    Funnel,
    Position,
    build_funnel,
    funnel_chart,
)

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
        "report.period_trend": {
            "da": "udvikling fra {first}",
            "en": "trend from {first}",
        },
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
        "report.suppressed": {"da": "skjult", "en": "suppressed"},
        "report.target": {"da": "mål", "en": "target"},
        "report.better": {"da": "{d} er bedre", "en": "{d} is better"},
        "report.higher": {"da": "højere", "en": "higher"},
        "report.lower": {"da": "lavere", "en": "lower"},
        "report.no_target": {"da": "intet mål", "en": "no target"},
        "report.unit_per": {"da": "pr. {scale}", "en": "per {scale}"},
        "report.fig.rates": {"da": "Rate med 95 %-interval", "en": "Rate with 95% interval"},
        "report.fig.distribution": {
            "da": "Fordeling af praksissernes rater",
            "en": "Distribution of practice rates",
        },
        "report.fig.funnel": {"da": "Klyngerne i tragtplot", "en": "Clusters in a funnel plot"},
        "report.fig.trend": {"da": "Udvikling pr. kvartal", "en": "Trend by quarter"},
        "report.bars.caption": {
            "da": "Søjlen er den udgivne rate. Den sorte streg er 95 %-intervallet: det dækker "
            "både tilfældig variation (hvilke patienter der tilfældigvis tælles med) og "
            "privatlivsstøjen. {target}",
            "en": "The bar is the released rate. The black line is the 95% interval: it covers "
            "both chance variation (which patients happen to be counted) and the privacy "
            "noise. {target}",
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
        "report.where.inside": {
            "da": "inden for 95 %-grænserne",
            "en": "within the 95% limits",
        },
        "report.where.warning": {
            "da": "mellem 95 %- og 99,8 %-grænserne ({d}): kan være tilfældigt",
            "en": "between the 95% and 99.8% limits ({d}): may be chance",
        },
        "report.where.outside": {
            "da": "uden for 99,8 %-grænserne ({d}): mere end tilfældighed og støj forklarer",
            "en": "outside the 99.8% limits ({d}): more than chance and noise would explain",
        },
        "report.compare": {"da": "Klyngerne side om side", "en": "Clusters side by side"},
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
    }
)

_CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;padding:0 1.5em;
color:#222;max-width:1100px;line-height:1.4}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.2em;margin:0 0 .2em}
h3{font-size:.95em;margin:0 0 .3em}
.facts{color:#444;margin:.3em 0}.facts span+span:before{content:" · ";color:#999}
.notice{border:1px solid #d9a300;background:#fff8e1;padding:.5em .8em;border-radius:6px}
.warn{border:2px solid #b3261e;background:#fdecea;padding:.5em .8em;border-radius:6px;
font-weight:600}
section.ind{border-top:2px solid #ccc;margin-top:1.6em;padding-top:.8em}
.sub{color:#555;font-size:.9em;margin-bottom:.6em}
.figs{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:1.2em 2em}
figure{margin:0;break-inside:avoid;page-break-inside:avoid}
svg.chart{display:block;width:100%;max-width:480px;height:auto;overflow:visible}
svg text{font-size:11px;font-family:inherit}
figcaption,.caption{color:#555;font-size:.8em;margin-top:.3em;max-width:480px}
.legend{font-size:.8em;color:#444}.legend>span{margin-right:1em;white-space:nowrap}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:.3em;vertical-align:-.05em}
.meta{color:#666;font-size:.85em}
table.compare{border-collapse:collapse;font-size:.85em;width:100%;margin-top:.5em}
.compare th,.compare td{border-bottom:1px solid #ddd;padding:.25em .45em;text-align:right;
vertical-align:top}
.compare th:first-child,.compare td:first-child{text-align:left}
.compare small{color:#666;white-space:nowrap}.supp{color:#888;font-style:italic}
.compare td.outside{background:#fdecea}.mark{color:#c62828;font-weight:700}
@page{size:A4;margin:14mm}
@media print{
body{margin:0;padding:0;max-width:none;font-size:10.5pt}
section.ind{border-top:none;margin-top:0}
section.ind:not(:first-of-type){break-before:page;page-break-before:always}
.figs{grid-template-columns:1fr 1fr;gap:.6em 1.2em}
svg.chart{max-width:100%}
figure,tr{break-inside:avoid;page-break-inside:avoid}
.compare-page{break-before:page;page-break-before:always}
.notice,.warn{border-width:1px}
}
"""

_REGION_COLOUR, _CLUSTER_COLOUR, _OWN_COLOUR = PALETTE[0], "#8fb3e3", PALETTE[1]


def render_region_report(
    results: dict[str, Any], catalogue: Catalogue, lang: Lang, region: str | None = None
) -> str:
    """The region report: each region of the period (or only `region`) with its clusters."""
    groups = [g for g in region_groups(results) if region is None or g.region == region]
    if not groups:
        title = t("report.empty.title", lang, date=results["reference_date"])
        return _page(title, f"<h1>{esc(title)}</h1>{_aborted(results, lang)}", lang)
    body = []
    titles = []
    for k, group in enumerate(groups):
        name = group.region or t("report.region.none", lang)
        title = t("report.region.title", lang, region=name, date=results["reference_date"])
        titles.append(title)
        body.append(f"<div class='region{' compare-page' if k else ''}'>")
        body.append(f"<h1>{esc(title)}</h1>")
        body.append(_region_header(results, group, lang))
        shown, hidden = _split_shown(results, catalogue, [group.region, *group.clusters])
        funnels = {ind.id: _funnel(results, group, ind) for ind in shown}
        body.extend(_region_section(results, group, ind, funnels[ind.id], lang) for ind in shown)
        body.append(_not_shown(hidden, lang))
        body.append(_comparison(results, group, shown, funnels, lang))
        body.append("</div>")
    body.append(_aborted(results, lang))
    return _page(" / ".join(titles), "".join(body), lang)


def render_cluster_report(
    results: dict[str, Any], catalogue: Catalogue, cluster_id: str, lang: Lang
) -> str:
    """One cluster beside its region and the target: for the cluster meeting.

    Other clusters are not named; the cluster's place in the region's funnel
    is given in words.
    """
    if cluster_id not in results["clusters"]:
        raise KeyError(cluster_id)
    group = region_of(results, cluster_id)
    assert group is not None  # every cluster lands in some group
    title = t("report.cluster.title", lang, cluster=cluster_id, date=results["reference_date"])
    body = [f"<h1>{esc(title)}</h1>", _cluster_header(results, group, cluster_id, lang)]
    shown, hidden = _split_shown(results, catalogue, [cluster_id, group.region])
    for ind in shown:
        body.append(_cluster_section(results, group, cluster_id, ind, lang))
    body.append(_not_shown(hidden, lang))
    aborted = [a for a in results.get("aborted_rounds", []) if a["cluster"] == cluster_id]
    body.append(_aborted({**results, "aborted_rounds": aborted, "dropouts": {}}, lang))
    return _page(title, "".join(body), lang)


def render_report(results: dict[str, Any], catalogue: Catalogue, lang: Lang) -> str:
    """The region report of every region in `results` (the name older callers use)."""
    return render_region_report(results, catalogue, lang)


# ---------------------------------------------------------------------------
# Page and header


def _page(title: str, body: str, lang: Lang) -> str:
    return (
        f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>"
    )


def _mechanisms(docs: Sequence[dict[str, Any] | None], lang: Lang) -> tuple[str, bool]:
    """'Mechanism: …; ε per release …' over the releases shown, and whether any is noise-free."""
    seen: dict[tuple[str, str], None] = {}
    exact = False
    for doc in docs:
        if doc is None:
            continue
        mechanism = str(doc.get("mechanism", "?"))
        eps = doc.get("epsilon_per_release", "?")
        eps_text = f"{eps:.2f}" if isinstance(eps, (int, float)) else str(eps)
        delta = doc.get("delta_per_release")
        if isinstance(delta, (int, float)) and delta > 0:
            eps_text += f" (δ {delta:g})"
        exact = exact or mechanism == "none"
        seen[mechanism, eps_text] = None
    text = "; ".join(t("report.mechanism", lang, m=m, eps=e) for m, e in seen)
    return text, exact


def _notice(exact: bool, lang: Lang) -> str:
    if exact:
        return f"<p class='warn'>{esc(t('report.nodp_notice', lang))}</p>"
    return f"<p class='notice'>{esc(t('report.noise_notice', lang))}</p>"


def _period(results: dict[str, Any], lang: Lang) -> str:
    periods = periods_of(results)
    text = t("report.period", lang, date=results["reference_date"])
    if len(periods) > 1:
        text += " (" + t("report.period_trend", lang, first=periods[0]["reference_date"]) + ")"
    return text


def _region_header(results: dict[str, Any], group: RegionGroup, lang: Lang) -> str:
    docs = [group.doc, *(results["clusters"][c] for c in group.clusters)]
    practices = (
        group.doc.get("contributors")
        if group.doc
        else sum(results["clusters"][c].get("contributors", 0) for c in group.clusters)
    )
    mechanism, exact = _mechanisms(docs, lang)
    facts = [
        _period(results, lang),
        t("report.counts", lang, clusters=len(group.clusters), practices=practices),
        mechanism,
    ]
    return _facts(facts) + _notice(exact or results.get("dp") is False, lang)


def _cluster_header(
    results: dict[str, Any], group: RegionGroup, cluster_id: str, lang: Lang
) -> str:
    doc = results["clusters"][cluster_id]
    mechanism, exact = _mechanisms([doc, group.doc], lang)
    region_practices = group.doc.get("contributors", "?") if group.doc else "–"
    facts = [
        _period(results, lang),
        f"{group.region or t('report.region.none', lang)}",
        t(
            "report.cluster_counts",
            lang,
            practices=doc.get("contributors", "?"),
            region_practices=region_practices,
        ),
        mechanism,
    ]
    return _facts(facts) + _notice(exact or results.get("dp") is False, lang)


def _facts(facts: Sequence[str]) -> str:
    return "<p class='facts'>" + "".join(f"<span>{esc(f)}</span>" for f in facts) + "</p>"


# ---------------------------------------------------------------------------
# Indicator sections


def _split_shown(
    results: dict[str, Any], catalogue: Catalogue, units: Sequence[str | None]
) -> tuple[list[Indicator], list[Indicator]]:
    """Indicators with any released rate or distribution in any period, and the rest."""
    shown: list[Indicator] = []
    hidden: list[Indicator] = []
    periods = periods_of(results)
    for ind in catalogue.indicators.values():
        released = any(
            cell_rate(indicator_cell(unit_doc(p, u), ind.id)) is not None
            or distribution(unit_doc(p, u), ind.id) is not None
            for p in periods
            for u in units
            if u is not None
        )
        (shown if released else hidden).append(ind)
    return shown, hidden


def _heading(ind: Indicator, lang: Lang) -> str:
    better = t("report.better", lang, d=t(f"report.{ind.direction.value}", lang))
    target = (
        f"{t('report.target', lang)} {format_rate(ind.target, ind.scale)}"
        if ind.target is not None
        else t("report.no_target", lang)
    )
    parts = [better, target]
    if ind.scale != 100:
        parts.append(t("report.unit_per", lang, scale=ind.scale))
    return (
        f"<h2 id='{_slug(ind.id)}'>{esc(ind.id)} {esc(ind.title[lang])}</h2>"
        f"<div class='sub'>{esc(' · '.join(parts))}</div>"
    )


def _figure(title: str, chart: str, caption: str, extra: str = "") -> str:
    return (
        f"<figure><h3>{esc(title)}</h3>{chart}{extra}"
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def _bar_row(label: str, doc: dict[str, Any] | None, ind: Indicator, colour: str) -> BarRow:
    cell = indicator_cell(doc, ind.id)
    return BarRow(
        label,
        cell_rate(cell),
        cell_interval(cell, ind),
        colour,
        suppression_reason(cell) if cell_rate(cell) is None else "",
    )


def _bars_figure(rows: list[BarRow], ind: Indicator, lang: Lang) -> str:
    chart = interval_bars(rows, ind.scale, ind.target, upper_bound(ind), lang)
    target = ""
    if ind.target is not None:
        top = bar_axis_top(rows, ind.target, upper_bound(ind))
        if top is not None:
            key = "report.bars.target" if ind.target <= top else "report.bars.target_off"
            target = t(key, lang, target=format_rate(ind.target, ind.scale))
    caption = t("report.bars.caption", lang, target=target).strip()
    if all(r.rate is None for r in rows):
        caption = ""
    if any(r.rate is None for r in rows):
        caption += " " + t("report.bars.suppressed", lang)
    return _figure(t("report.fig.rates", lang), chart, caption)


def _distribution_figure(doc: dict[str, Any] | None, ind: Indicator, lang: Lang) -> str:
    dist = distribution(doc, ind.id)
    if dist is None:
        return ""
    chart, caption = distribution_chart(dist, ind.scale, ind.target, lang)
    return _figure(t("report.fig.distribution", lang), chart, caption)


def _trend_figure(
    results: dict[str, Any], units: list[tuple[str, str, float]], ind: Indicator, lang: Lang
) -> str:
    """Trend of `units` (label, colour, line width); the first is drawn thick."""
    periods = periods_of(results)
    if len(periods) < 2:
        return _figure(t("report.fig.trend", lang), "", t("report.trend_single", lang))
    series = [
        TrendSeries(u, [cell_rate(indicator_cell(unit_doc(p, u), ind.id)) for p in periods], c, w)
        for u, c, w in units
    ]
    chart = trend_chart(
        [period_label(p["reference_date"]) for p in periods], series, ind.scale, ind.target, lang
    )
    key = legend([(u, c) for u, c, _ in units])
    return _figure(
        t("report.fig.trend", lang), chart, t("report.trend_caption", lang, unit=units[0][0]), key
    )


def _funnel(results: dict[str, Any], group: RegionGroup, ind: Indicator) -> Funnel:
    figures = []
    for c in group.clusters:
        cell = indicator_cell(results["clusters"][c], ind.id)
        figures.append(
            ClusterFigures(
                c,
                cell_rate(cell),
                None if cell is None else cell.get("denominator"),
                None if cell is None else cell.get("noise_sd"),
            )
        )
    centre = cell_rate(indicator_cell(group.doc, ind.id))
    return build_funnel(centre, figures, proportion=is_proportion(ind), upper=upper_bound(ind))


def _region_section(
    results: dict[str, Any], group: RegionGroup, ind: Indicator, funnel: Funnel, lang: Lang
) -> str:
    name = group.region or t("report.region.none", lang)
    rows = []
    if group.region is not None:
        rows.append(_bar_row(name, group.doc, ind, _REGION_COLOUR))
    rows += [_bar_row(c, results["clusters"][c], ind, _CLUSTER_COLOUR) for c in group.clusters]
    chart, caption = funnel_chart(funnel, ind.scale, _slug(f"{name}-{ind.id}"), lang)
    trend_units = [(name, _REGION_COLOUR, 2.6)] if group.region else []
    trend_units += [(c, PALETTE[(k + 1) % len(PALETTE)], 1.2) for k, c in enumerate(group.clusters)]
    figures = [
        _bars_figure(rows, ind, lang),
        _distribution_figure(group.doc, ind, lang),
        _figure(t("report.fig.funnel", lang), chart, caption),
        _trend_figure(results, trend_units, ind, lang),
    ]
    return _section(ind, figures, lang)


def _cluster_section(
    results: dict[str, Any], group: RegionGroup, cluster_id: str, ind: Indicator, lang: Lang
) -> str:
    doc = results["clusters"][cluster_id]
    rows = [_bar_row(cluster_id, doc, ind, _OWN_COLOUR)]
    units = [(cluster_id, _OWN_COLOUR, 2.6)]
    if group.region is not None:
        rows.append(_bar_row(group.region, group.doc, ind, _REGION_COLOUR))
        units.append((group.region, _REGION_COLOUR, 1.4))
    bars = _bars_figure(rows, ind, lang)
    place = _funnel_place(_funnel(results, group, ind), cluster_id, ind, lang)
    if place:
        bars = bars.replace("</figcaption>", f" {esc(place)}</figcaption>")
    dist = _distribution_figure(doc, ind, lang)
    figures = [bars, dist, _trend_figure(results, units, ind, lang)]
    return _section(ind, figures, lang)


def _funnel_place(funnel: Funnel, cluster_id: str, ind: Indicator, lang: Lang) -> str:
    point = next((p for p in funnel.points if p.unit == cluster_id), None)
    if point is None:
        return ""
    direction = t("report.funnel.high" if point.above else "report.funnel.low", lang)
    where = t(f"report.where.{point.position}", lang, d=direction)
    return t("report.cluster_funnel", lang, cluster=cluster_id, where=where)


def _section(ind: Indicator, figures: list[str], lang: Lang) -> str:
    body = "".join(f for f in figures if f)
    return f"<section class='ind'>{_heading(ind, lang)}<div class='figs'>{body}</div></section>"


# ---------------------------------------------------------------------------
# The compact comparison, what is not shown, and rounds without a release


def _comparison(
    results: dict[str, Any],
    group: RegionGroup,
    shown: list[Indicator],
    funnels: dict[str, Funnel],
    lang: Lang,
) -> str:
    """One row per indicator: target, region and each cluster with its interval."""
    if not shown:
        return ""
    docs = [(group.region, group.doc)] if group.region else []
    docs += [(c, results["clusters"][c]) for c in group.clusters]
    head = "".join(f"<th>{esc(u)}</th>" for u, _ in docs)
    rows = []
    for ind in shown:
        positions = {p.unit: p for p in funnels[ind.id].points}
        target = format_rate(ind.target, ind.scale) if ind.target is not None else "–"
        cells = "".join(_compare_cell(doc, ind, positions.get(u), lang) for u, doc in docs)
        rows.append(
            f"<tr><td><a href='#{_slug(ind.id)}'>{esc(ind.id)}</a> {esc(ind.title[lang])}</td>"
            f"<td>{esc(target)}</td>{cells}</tr>"
        )
    return (
        f"<section class='compare-page'><h2>{esc(t('report.compare', lang))}</h2>"
        f"<table class='compare'><thead><tr><th>{esc(t('report.compare.indicator', lang))}</th>"
        f"<th>{esc(t('report.compare.target', lang))}</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<p class='caption'>{esc(t('report.compare.legend', lang))}</p></section>"
    )


def _compare_cell(
    doc: dict[str, Any] | None, ind: Indicator, point: ClusterPoint | None, lang: Lang
) -> str:
    cell = indicator_cell(doc, ind.id)
    rate = cell_rate(cell)
    if rate is None:
        return f"<td class='supp'>{esc(t('report.suppressed', lang))}</td>"
    interval = format_interval(cell_interval(cell, ind), ind.scale)
    mark, cls = "", ""
    if point is not None and point.position is Position.OUTSIDE:
        mark, cls = f"<span class='mark'>{'▲' if point.above else '▼'}</span> ", " class='outside'"
    small = f"<br><small>{esc(interval)}</small>" if interval else ""
    return f"<td{cls}>{mark}{esc(format_rate(rate, ind.scale))}{small}</td>"


def _not_shown(hidden: list[Indicator], lang: Lang) -> str:
    if not hidden:
        return ""
    ids = ", ".join(i.id for i in hidden)
    return f"<p class='meta'>{esc(t('report.not_shown', lang, ids=ids))}</p>"


def _aborted(results: dict[str, Any], lang: Lang) -> str:
    out = []
    if results.get("aborted_rounds"):
        out.append(f"<h2>{esc(t('report.aborted', lang))}</h2><ul>")
        for r in results["aborted_rounds"]:
            out.append(f"<li>{esc(r['cluster'])}: {esc(r.get('reason') or '')}</li>")
        out.append("</ul>")
    if results.get("dropouts"):
        n = len(results["dropouts"])
        out.append(f"<p class='meta'>{esc(t('report.dropouts', lang, n=n))}</p>")
    return "".join(out)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text)
