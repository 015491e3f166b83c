"""A self-contained HTML report of one period's releases: charts first, tables second.

No scripts, fonts or images are fetched: charts are inline SVG, so the file
opens offline and prints for the cluster meeting. Suppressed figures are
drawn as "suppressed", never as zero. Danish or English.
"""

from __future__ import annotations

import html
from typing import Any

from indicator_defs import Catalogue
from indicator_defs.describe import format_rate
from klynge.i18n import Lang, register, t
from server.documents import indicator_rate

register(
    {
        "report.title": {
            "da": "Klynge — kvalitetsindikatorer {date}",
            "en": "Klynge — quality indicators {date}",
        },
        "report.intro": {
            "da": "Tal for klynger og region fra sikker aggregering. "
            "Ingen praksis' egne tal har forladt praksis; "
            "tallene er tilført støj (differentielt privatliv) og små tal er skjult. "
            "Stregerne viser 95 %-interval for støjen.",
            "en": "Cluster and regional figures from secure aggregation. "
            "No practice's own figures left the practice; "
            "the figures carry noise (differential privacy) and small counts are hidden. "
            "Whiskers show the 95% interval of the noise.",
        },
        "report.suppressed": {"da": "skjult", "en": "suppressed"},
        "report.trend": {"da": "Udvikling pr. kvartal", "en": "Trend by quarter"},
        "report.target": {"da": "mål", "en": "target"},
        "report.contributors": {"da": "{n} praksisser", "en": "{n} practices"},
        "report.noise": {"da": "støj-SD {sd}", "en": "noise SD {sd}"},
        "report.aborted": {"da": "Runder uden udgivelse", "en": "Rounds without a release"},
        "report.mechanism": {
            "da": "Mekanisme: {m}; ε pr. udgivelse {eps}",
            "en": "Mechanism: {m}; ε per release {eps}",
        },
        "report.better": {"da": "{d} er bedre", "en": "{d} is better"},
        "report.higher": {"da": "højere", "en": "higher"},
        "report.lower": {"da": "lavere", "en": "lower"},
    }
)

_CSS = """
body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;color:#222;
max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.1em;margin:1.4em 0 .2em}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:1em}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em .8em;break-inside:avoid}
.meta{color:#666;font-size:.85em}svg text{font-size:11px}
@media print{body{margin:0}.card{border-color:#999}}
"""


def _chart(
    bars: list[tuple[str, dict[str, Any] | None]], scale: int, target: float | None, lang: Lang
) -> str:
    """Horizontal bars with noise whiskers; a dashed line for the target."""
    width, row, left = 320, 22, 110
    values = [b["rate"] for _, b in bars if b and b.get("rate") is not None]
    top = max([*values, target or 0, 1e-9]) * 1.15
    plot = width - left - 45
    out = [f'<svg width="{width}" height="{row * len(bars) + 8}" role="img">']
    for i, (label, b) in enumerate(bars):
        y = 4 + i * row
        out.append(f'<text x="0" y="{y + 14}">{html.escape(label)}</text>')
        if not b or b.get("rate") is None:
            out.append(
                f'<text x="{left}" y="{y + 14}" fill="#999">{t("report.suppressed", lang)}</text>'
            )
            continue
        rate = b["rate"]
        w = plot * rate / top
        out.append(
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="#3b7dd8"/>'
        )
        den, sd = b.get("denominator"), b.get("noise_sd") or 0
        if den:
            half = 1.96 * sd / den  # the numerator's noise, as a rate
            x0 = left + plot * max(rate - half, 0) / top
            x1 = left + plot * min(rate + half, top) / top
            ym = y + row / 2 - 1
            out.append(f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{ym}" y2="{ym}" stroke="#222"/>')
        out.append(f'<text x="{left + w + 4:.1f}" y="{y + 14}">{format_rate(rate, scale)}</text>')
    if target is not None:
        x = left + plot * target / top
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{row * len(bars) + 8}" '
            f'stroke="#c33" stroke-dasharray="4 3"><title>{t("report.target", lang)}</title></line>'
        )
    out.append("</svg>")
    return "".join(out)


_PALETTE = ("#3b7dd8", "#e07b39", "#4aa564", "#9467bd", "#8c564b", "#d62728")


def _trend(periods: list[dict[str, Any]], indicator_id: str, scale: int, lang: Lang) -> str:
    """Rates over periods, one line per cluster and region; gaps where suppressed."""
    units = sorted({u for p in periods for u in (*p["clusters"], *p["regions"])})
    series = {
        u: [
            indicator_rate(p["clusters"].get(u) or p["regions"].get(u), indicator_id)
            for p in periods
        ]
        for u in units
    }
    values = [v for vs in series.values() for v in vs if v is not None]
    if not values:
        return f"<p class='meta'>{t('report.suppressed', lang)}</p>"
    lo, hi = min(values), max(values)
    pad = (hi - lo) * 0.1 or 0.05
    lo, hi = max(lo - pad, 0.0), hi + pad
    width, height, left, bottom = 320, 120, 40, 18
    x = lambda i: left + 20 + (width - left - 45) * (i / max(len(periods) - 1, 1))  # noqa: E731
    y = lambda v: 6 + (height - bottom - 6) * (1 - (v - lo) / (hi - lo))  # noqa: E731
    out = [f'<svg width="{width}" height="{height}" role="img">']
    for v in (lo, hi):
        out.append(f'<text x="0" y="{y(v) + 4:.1f}">{format_rate(v, scale)}</text>')
    for i, p in enumerate(periods):
        out.append(
            f'<text x="{x(i):.1f}" y="{height - 3}" text-anchor="middle">'
            f"{p['reference_date'][:7]}</text>"
        )
    for k, (unit, vs) in enumerate(series.items()):
        colour = _PALETTE[k % len(_PALETTE)]
        points = [(x(i), y(v)) for i, v in enumerate(vs) if v is not None]
        segment: list[str] = []  # a suppressed period breaks the line, never bridges it
        for i, v in enumerate([*vs, None]):
            if v is not None:
                segment.append(f"{x(i):.1f},{y(v):.1f}")
                continue
            if len(segment) > 1:
                out.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke="{colour}"/>'
                )
            segment = []
        for px, py in points:
            out.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{colour}">'
                f"<title>{html.escape(unit)}</title></circle>"
            )
    out.append("</svg>")
    legend = " ".join(
        f"<span style='color:{_PALETTE[k % len(_PALETTE)]}'>■</span> {html.escape(u)}"
        for k, u in enumerate(series)
    )
    return "".join(out) + f"<div class='meta'>{legend}</div>"


def render_report(results: dict[str, Any], catalogue: Catalogue, lang: Lang) -> str:
    clusters = results["clusters"]
    regions = results["regions"]
    units = [(cid, doc) for cid, doc in sorted(clusters.items())] + [
        (rid, doc) for rid, doc in sorted(regions.items())
    ]
    by_unit = {u: {i["id"]: i for i in doc["indicators"]} for u, doc in units}
    parts = [
        "<!doctype html><html lang='",
        lang,
        "'><head><meta charset='utf-8'>",
        f"<title>{html.escape(t('report.title', lang, date=results['reference_date']))}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(t('report.title', lang, date=results['reference_date']))}</h1>",
        f"<p>{html.escape(t('report.intro', lang))}</p>",
    ]
    meta = []
    for unit, doc in units:
        meta.append(
            f"{html.escape(unit)}: {t('report.contributors', lang, n=doc.get('contributors', '?'))}"
        )
    if units:
        first = units[0][1]
        eps = first.get("epsilon_per_release", "?")
        eps_text = f"{eps:.2f}" if isinstance(eps, (int, float)) else str(eps)
        meta.append(t("report.mechanism", lang, m=first.get("mechanism", "?"), eps=eps_text))
    parts.append(f"<p class='meta'>{html.escape(' · '.join(meta))}</p><div class='grid'>")
    periods = [*results.get("history", []), results]

    def trend_html(ind: Any) -> str:
        if len(periods) < 2:
            return ""
        return f"<div class='meta'>{t('report.trend', lang)}</div>" + _trend(
            periods, ind.id, ind.scale, lang
        )

    for ind in catalogue.indicators.values():
        bars = [(unit, by_unit[unit].get(ind.id)) for unit, _ in units]
        better = t("report.better", lang, d=t(f"report.{ind.direction.value}", lang))
        parts.append(
            f"<div class='card'><h2>{html.escape(ind.id)} {html.escape(ind.title[lang])}</h2>"
            f"<div class='meta'>{html.escape(better)}</div>"
            f"{_chart(bars, ind.scale, ind.target, lang)}"
            f"{trend_html(ind)}</div>"
        )
    parts.append("</div>")
    if results.get("aborted_rounds"):
        parts.append(f"<h2>{t('report.aborted', lang)}</h2><ul>")
        for r in results["aborted_rounds"]:
            parts.append(f"<li>{html.escape(r['cluster'])}: {html.escape(r['reason'] or '')}</li>")
        parts.append("</ul>")
    parts.append("</body></html>")
    return "".join(parts)
