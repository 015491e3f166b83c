"""The released distribution of practice rates, drawn as a histogram with its noise.

The coordinator only ever sees the sum of the practices' histograms plus
noise, so the chart shows how many practices (in a smoothed sense) fall in
each band of rates, never any one practice. Deciles are drawn when the
release gives them. The practice report adds its own exact rate as a line
and highlights the bin that holds it; that mark is computed and drawn
locally and never leaves the practice.
"""

from __future__ import annotations

from markupsafe import Markup

from common.formatting import interval, number, rate
from common.i18n import Lang, register, t
from privacy.intervals import noise_range
from reporting.charts.axes import (
    BIN,
    CLUSTER,
    LABEL,
    OWN,
    Linear,
    count_tick,
    nice_ticks,
    rate_ticker,
    step_of,
    target_line,
    unit_note,
    vertical_whisker,
    x_axis,
    y_axis,
)
from reporting.charts.svg import chart, element
from reporting.release_document import Distribution

register(
    {
        "charts.histogram.label": {
            "da": "Fordeling af praksissernes rater",
            "en": "Distribution of practice rates",
        },
        "charts.histogram.axis": {"da": "praksisser", "en": "practices"},
        "charts.histogram.median": {"da": "median", "en": "median"},
        "charts.histogram.own": {"da": "egen", "en": "own"},
    }
)

WIDTH, HEIGHT = 480, 196


def histogram(
    dist: Distribution,
    *,
    scale: int,
    target: float | None,
    lang: Lang,
    own_rate: float | None = None,
    own_bin: int | None = None,
) -> Markup:
    """Bars of practices per bin with 95 % noise whiskers, deciles, the target and, for the
    practice report, its own rate as a line and its own bin in a stronger colour."""
    bins = [max(b, 0.0) for b in dist.bins]
    edges = dist.edges
    half = noise_range(dist.bin_noise_sd)
    own_shown = own_rate is not None
    left, right = 46, WIDTH - 14
    top, bottom = (42 if own_shown else 24), HEIGHT - 32
    y_ticks = nice_ticks(0.0, max([*(b + half for b in bins), 1.0]), 4)
    y = Linear(0.0, y_ticks[-1], bottom, top)
    x = Linear(edges[0], edges[-1], left, right)
    every = 2 if len(edges) > 8 else 1
    x_ticks = [e for k, e in enumerate(edges) if k % every == 0]
    parts: list[Markup | None] = [
        y_axis(y, y_ticks, left, lambda v: count_tick(v, step_of(y_ticks), lang), right),
        x_axis(x, x_ticks, bottom, rate_ticker(scale, x_ticks, lang), bottom),
        element("text", t("charts.histogram.axis", lang), x=4, y=12, fill=LABEL),
        unit_note(scale, WIDTH, 12, lang, anchor="end"),
    ]
    for k, count in enumerate(bins):
        x0, x1 = x(edges[k]) + 1, x(edges[k + 1]) - 1
        band = interval((edges[k], edges[k + 1]), scale, 0, lang)
        parts.append(
            element(
                "rect",
                element("title", f"{band}: {number(count, 1, lang)}"),
                class_="bin",
                data_bin=k,
                x=x0,
                y=y(count),
                width=max(x1 - x0, 1.0),
                height=bottom - y(count),
                fill=CLUSTER if k == own_bin else BIN,
            )
        )
        if half > 0:
            parts.append(
                vertical_whisker((x0 + x1) / 2, y(max(count - half, 0.0)), y(count + half))
            )
    if dist.deciles:
        for k, value in enumerate(dist.deciles):
            median = k == 4
            parts.append(
                element(
                    "line",
                    x1=x(value),
                    x2=x(value),
                    y1=top,
                    y2=bottom,
                    stroke="#333" if median else "#999",
                    stroke_width=1.8 if median else 1,
                    stroke_dasharray="3 3",
                )
            )
        parts.append(
            element(
                "text",
                t("charts.histogram.median", lang),
                x=x(dist.deciles[4]) + 3,
                y=top + 9,
                fill="#333",
            )
        )
    if target is not None:
        label = rate(target, scale, lang=lang)
        parts.append(target_line(x(target), top, bottom, label, lang, right_edge=WIDTH))
    if own_rate is not None:
        xo = x(min(max(own_rate, 0.0), 1.0))
        text = f"{t('charts.histogram.own', lang)} {rate(own_rate, scale, lang=lang)}"
        anchor = "end" if xo > left + (right - left) * 0.75 else "start"
        parts.append(
            element(
                "line",
                element("title", text),
                class_="own",
                x1=xo,
                x2=xo,
                y1=top - 16,
                y2=bottom,
                stroke=OWN,
                stroke_width=2.5,
            )
        )
        parts.append(
            element(
                "text",
                text,
                x=xo + (-3 if anchor == "end" else 3),
                y=top - 19,
                text_anchor=anchor,
                fill=OWN,
                font_weight=600,
            )
        )
    return chart("histogram", WIDTH, HEIGHT, t("charts.histogram.label", lang), *parts)
