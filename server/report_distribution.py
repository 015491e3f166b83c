"""The released distribution of practice rates, drawn as a histogram with its noise.

The coordinator only ever sees the sum of the practices' histograms plus
noise, so the chart shows how many practices (in a smoothed sense) fall in
each band of rates, never any one practice. Deciles are drawn when the
release gives them; otherwise the caption says, in plain words, why not.
"""

from __future__ import annotations

from typing import Any

from common.i18n import Lang, register, t
from indicator_defs.describe import format_rate
from server.report_charts import (
    Linear,
    count_label,
    esc,
    nice_ticks,
    svg_open,
    target_line,
    tick_label,
    vertical_whisker,
    x_axis,
    y_axis,
)

register(
    {
        "report.dist.chart": {
            "da": "Fordeling af praksissernes rater",
            "en": "Distribution of practice rates",
        },
        "report.dist.axis": {"da": "praksisser", "en": "practices"},
        "report.dist.with_noise": {"da": ", med støj", "en": ", with noise"},
        "report.dist.median": {"da": "median", "en": "median"},
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
            "da": "Deciler vises ikke: kun {n} praksisser bidrog, og deciler kræver mindst 10.",
            "en": "Deciles are not shown: only {n} practices contributed, and deciles need "
            "at least 10.",
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

WIDTH, HEIGHT = 480, 196


def distribution_chart(
    dist: dict[str, Any], scale: int, target: float | None, lang: Lang
) -> tuple[str, str]:
    """(SVG histogram, plain-language caption) of one released distribution."""
    bins = [max(float(b), 0.0) for b in dist["bins"]]
    edges = [float(e) for e in dist["edges"]]
    sd = float(dist.get("bin_noise_sd") or 0.0)
    half = 1.96 * sd
    left, right, top, bottom = 46, WIDTH - 14, 24, HEIGHT - 32
    ticks = nice_ticks(0.0, max([*(b + half for b in bins), 1.0]), 4)
    y = Linear(0.0, ticks[-1], bottom, top)
    x = Linear(edges[0], edges[-1], left, right)
    out = [svg_open(WIDTH, HEIGHT, t("report.dist.chart", lang))]
    out.append(y_axis(y, ticks, left, count_label, right))
    step = edges[1] - edges[0] if len(edges) > 1 else 1.0
    label_every = 2 if len(edges) > 8 else 1
    shown_edges = [e for k, e in enumerate(edges) if k % label_every == 0]
    out.append(x_axis(x, shown_edges, bottom, lambda v: tick_label(v, scale, step), bottom))
    axis_label = esc(t("report.dist.axis", lang))
    out.append(f'<text x="{left - 40}" y="{top - 10}" fill="#555">{axis_label}</text>')
    for k, count in enumerate(bins):
        x0, x1 = x(edges[k]) + 1, x(edges[k + 1]) - 1
        out.append(
            f'<rect x="{x0:.1f}" y="{y(count):.1f}" width="{x1 - x0:.1f}" '
            f'height="{bottom - y(count):.1f}" fill="#7ea6d8"><title>'
            f"{esc(format_rate(edges[k], scale))}–{esc(format_rate(edges[k + 1], scale))}: "
            f"{count:.1f}</title></rect>"
        )
        if half > 0:
            out.append(vertical_whisker((x0 + x1) / 2, y(max(count - half, 0.0)), y(count + half)))
    deciles = dist.get("deciles")
    if deciles:
        for k, value in enumerate(deciles):
            median = k == 4
            colour, width = ("#333", 1.8) if median else ("#999", 1)
            out.append(
                f'<line x1="{x(value):.1f}" x2="{x(value):.1f}" y1="{top}" y2="{bottom}" '
                f'stroke="{colour}" stroke-width="{width}" stroke-dasharray="3 3"/>'
            )
        out.append(
            f'<text x="{x(deciles[4]) + 3:.1f}" y="{top + 9}" fill="#333">'
            f"{esc(t('report.dist.median', lang))}</text>"
        )
    if target is not None:
        label = format_rate(target, scale)
        out.append(target_line(x(target), top, bottom, lang, label, right_edge=WIDTH))
    out.append("</svg>")
    return "".join(out), distribution_caption(dist, scale, lang)


def distribution_caption(dist: dict[str, Any], scale: int, lang: Lang) -> str:
    """What the bars are, how rough they are and whether (or why not) deciles are drawn."""
    n = dist.get("practices", "?")
    sd = float(dist.get("bin_noise_sd") or 0.0)
    noise = t("report.dist.with_noise", lang) if sd > 0 else ""
    d_min = dist.get("full_weight_denominator", "?")
    parts = [t("report.dist.what", lang, n=n, d=d_min, noise=noise)]
    if sd > 0:
        parts.append(t("report.dist.noise", lang, sd=_practices(1.96 * sd)))
    if dist.get("deciles"):
        parts.append(t("report.dist.deciles", lang, median=format_rate(dist["deciles"][4], scale)))
    else:
        reason = dist.get("deciles_withheld") or "empty"
        if reason not in ("too_few_practices", "too_noisy", "empty"):
            reason = "empty"
        parts.append(t(f"report.dist.{reason}", lang, n=n, sd=_practices(sd)))
    return " ".join(parts)


def _practices(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"
