"""The trend of one indicator: own rate, cluster rate with its interval, region rate, target.

A period whose figure is suppressed (or absent) leaves a gap: no dot, and the
line is broken there rather than drawn through or down to zero. Inline SVG
only: nothing is fetched when the file opens.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

from client.report.formatting import axis_unit, esc, fmt_axis, fmt_rate, reason, svg_open
from client.report.published import PublishedFigure
from client.report.trend import IndicatorTrend
from common.i18n import Lang, register, t
from indicator_defs import model as m

register(
    {
        "preport.trend.head": {"da": "Udvikling", "en": "Trend"},
        "preport.trend.desc": {
            "da": "Egen rate, klyngens rate med 95 %-interval og regionens rate pr. periode.",
            "en": "Own rate, the cluster's rate with its 95% interval and the region's rate "
            "per period.",
        },
        "preport.trend.own": {"da": "egen", "en": "own"},
        "preport.trend.cluster": {
            "da": "klynge (streg: 95 %-interval)",
            "en": "cluster (whisker: 95% interval)",
        },
        "preport.trend.region": {"da": "region", "en": "region"},
        "preport.trend.target": {"da": "mål", "en": "target"},
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
        "preport.trend.no_result": {"da": "intet resultat", "en": "no result"},
        "preport.trend.one": {
            "da": "Kun én periode ({date}) er hentet; udviklingen tegnes, når der er flere.",
            "en": "Only one period ({date}) has been downloaded; the trend is drawn once there "
            "are more.",
        },
        "preport.trend.local": {
            "da": "Egne rater er genberegnet lokalt på hver periodes referencedato.",
            "en": "Own rates are recomputed locally at each period's reference date.",
        },
    }
)

_OWN, _CLUSTER, _REGION, _TARGET = "#e07b00", "#3b7dd8", "#4aa564", "#c33"


def _rate(fig: PublishedFigure | None) -> float | None:
    return None if fig is None else fig.rate


def _top(trend: IndicatorTrend, indicator: m.Indicator) -> float:
    """The y-axis top: every rate and the target fit; intervals fit unless far above them."""
    values = [p.rate for p in trend.points]
    values += [_rate(p.cluster) for p in trend.points] + [_rate(p.region) for p in trend.points]
    known = [v for v in values if v is not None]
    if indicator.target is not None:
        known.append(indicator.target)
    vmax = max(known, default=0.0)
    highs = [p.cluster.interval[1] for p in trend.points if p.cluster and p.cluster.interval]
    top = max([vmax, *highs])
    top = min(top, max(vmax * 1.5, vmax + 0.05))
    top = max(top * 1.05, 1e-3)
    return min(top, 1.0) if indicator.unit is m.Unit.PATIENTS else top


def _polylines(
    values: list[float | None], x: Callable[[int], float], y: Callable[[float], float], style: str
) -> list[str]:
    """One polyline per run of shown values: a gap breaks the line, never bridges it."""
    out, segment = [], []
    for i, v in enumerate([*values, None]):
        if v is not None:
            segment.append(f"{x(i):.1f},{y(v):.1f}")
            continue
        if len(segment) > 1:
            out.append(f'<polyline points="{" ".join(segment)}" fill="none" {style}/>')
        segment = []
    return out


def _shifted(x: Callable[[int], float], dx: float, i: int) -> float:
    return x(i) + dx


def trend_chart(trend: IndicatorTrend, indicator: m.Indicator, lang: Lang) -> str:
    points = trend.points
    n = len(points)
    width, height, left, right, top_pad, bottom = 330, 150, 44, 22, 18, 20
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = _top(trend, indicator)
    x = lambda i: left + 12 + (plot_w - 24) * (i / max(n - 1, 1))  # noqa: E731
    y = lambda v: top_pad + plot_h * (1 - min(max(v, 0.0), top) / top)  # noqa: E731
    out = [svg_open("trend-chart", width, height)]
    out.append(f"<desc>{esc(t('preport.trend.desc', lang))}</desc>")
    for v in (0.0, top / 2, top):
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
            f'stroke="{"#888" if v == 0 else "#eee"}"/>'
            f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end">'
            f"{esc(fmt_axis(v, indicator.scale, lang, decimals=0 if top > 0.1 else 1))}</text>"
        )
    unit = axis_unit(indicator.scale, lang)
    if unit:
        out.append(f'<text x="0" y="10" fill="#666">{esc(unit)}</text>')
    step = max(1, math.ceil(n * 52 / plot_w))
    for i, p in enumerate(points):
        if i % step == 0 or i == n - 1:
            out.append(
                f'<text x="{x(i):.1f}" y="{height - 5}" text-anchor="middle">'
                f"{p.reference_date.isoformat()[:7]}</text>"
            )
    if indicator.target is not None and indicator.target <= top:
        yt = y(indicator.target)
        out.append(
            f'<line class="target" x1="{left}" x2="{width - right}" y1="{yt:.1f}" '
            f'y2="{yt:.1f}" stroke="{_TARGET}" stroke-dasharray="4 3"/>'
        )
    for i, p in enumerate(points):  # the cluster's 95% interval as whiskers
        interval = p.cluster.interval if p.cluster else None
        if interval is None:
            continue
        lo, hi = y(interval[0]), y(interval[1])
        xi = x(i) - 4
        out.append(
            f'<line x1="{xi:.1f}" x2="{xi:.1f}" y1="{lo:.1f}" y2="{hi:.1f}" stroke="{_CLUSTER}" '
            f'stroke-opacity=".55" stroke-width="2"/>'
        )
        for end, yv in ((interval[0], lo), (interval[1], hi)):
            if 0.0 < end < top:  # a clipped end has no cap: it goes on
                out.append(
                    f'<line x1="{xi - 3:.1f}" x2="{xi + 3:.1f}" y1="{yv:.1f}" y2="{yv:.1f}" '
                    f'stroke="{_CLUSTER}" stroke-opacity=".55"/>'
                )
    series = (
        ("region", [_rate(p.region) for p in points], _REGION, 'stroke-dasharray="5 3"', 4),
        ("cluster", [_rate(p.cluster) for p in points], _CLUSTER, "", -4),
        ("own", [p.rate for p in points], _OWN, 'stroke-width="2"', 0),
    )
    for name, values, colour, extra, dx in series:
        out += _polylines(values, partial(_shifted, x, dx), y, f'stroke="{colour}" {extra}')
        for i, rate in enumerate(values):
            if rate is None:
                continue
            tip = f"{points[i].reference_date.isoformat()}: {fmt_rate(rate, indicator.scale, lang)}"
            out.append(
                f'<circle class="{name}" cx="{x(i) + dx:.1f}" cy="{y(rate):.1f}" r="3" '
                f'fill="{colour}"><title>{esc(tip)}</title></circle>'
            )
    out.append("</svg>")
    return "".join(out)


def _gaps(trend: IndicatorTrend, lang: Lang) -> list[str]:
    items = []
    for p in trend.points:
        date = p.reference_date.isoformat()
        if p.rate is None:
            items.append(t("preport.trend.gap.own", lang, date=date))
        for level, fig in (("cluster", p.cluster), ("region", p.region)):
            if fig is None:
                why = t("preport.trend.no_result", lang)
            elif fig.rate is None:
                why = reason(fig.suppressed_reason or "", lang)
            else:
                continue
            items.append(t(f"preport.trend.gap.{level}", lang, date=date, why=why))
    return items


def _legend(indicator: m.Indicator, lang: Lang) -> str:
    keys = [("own", _OWN, "●"), ("cluster", _CLUSTER, "●"), ("region", _REGION, "●")]
    if indicator.target is not None:
        keys.append(("target", _TARGET, "┄"))
    return " ".join(
        f"<span class='key'><span style='color:{colour}'>{mark}</span> "
        f"{esc(t(f'preport.trend.{k}', lang))}</span>"
        for k, colour, mark in keys
    )


def trend_section(trend: IndicatorTrend | None, indicator: m.Indicator, lang: Lang) -> str:
    """The card's trend block: the chart, its legend and the periods without a dot."""
    if trend is None or not trend.points:  # no cluster results: the page's notice says so
        return ""
    head = f"<h3>{esc(t('preport.trend.head', lang))}</h3>"
    if len(trend.points) == 1:
        date = trend.points[0].reference_date.isoformat()
        return (
            f"<div class='trend'>{head}"
            f"<p class='meta'>{esc(t('preport.trend.one', lang, date=date))}</p></div>"
        )
    gaps = _gaps(trend, lang)
    note = f"<p class='meta'>{esc(t('preport.trend.gaps', lang, items='; '.join(gaps)))}</p>"
    return (
        f"<div class='trend'>{head}{trend_chart(trend, indicator, lang)}"
        f"<div class='meta'>{_legend(indicator, lang)}</div>{note if gaps else ''}</div>"
    )
