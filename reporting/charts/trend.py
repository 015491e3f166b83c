"""Rates over periods: one line per unit, the target, and where given a unit's intervals.

A period whose figure is suppressed (or absent) leaves a gap: no dot, and
the line is broken there rather than drawn through or down to zero. The
practice report's own rate is one more series (drawn thick, in the own
colour); its cluster's series carries the released intervals as whiskers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from common.formatting import rate
from common.i18n import Lang, register, t
from reporting.charts.axes import (
    AXIS,
    LABEL,
    Linear,
    nice_ticks,
    rate_ticker,
    target_level,
    unit_note,
    vertical_whisker,
    y_axis,
)
from reporting.charts.svg import chart, element

register({"charts.trend.label": {"da": "Udvikling over perioder", "en": "Trend over periods"}})

WIDTH, HEIGHT = 480, 170


@dataclass(frozen=True)
class TrendSeries:
    """One unit's rate per period (None where suppressed or absent)."""

    label: str
    rates: Sequence[float | None]
    colour: str
    width: float = 1.6
    name: str | None = None  # a class for its dots ("own", "cluster"), for styling and tests
    dashed: bool = False
    intervals: Sequence[tuple[float, float] | None] | None = None  # drawn as whiskers
    offset: float = 0.0  # px to the side, so dots of one period do not hide each other


def _range(
    series: Sequence[TrendSeries], target: float | None, upper: float
) -> tuple[float, float]:
    """Every rate and the target fit; intervals fit unless they run far above the rates."""
    values = [v for s in series for v in s.rates if v is not None]
    if target is not None:
        values.append(target)
    if not values:  # nothing shown yet: an empty axis, with the gaps said beside it
        return 0.0, min(upper, 1.0)
    lo, hi = min(values), max(values)
    highs = [i[1] for s in series for i in s.intervals or () if i is not None]
    lows = [i[0] for s in series for i in s.intervals or () if i is not None]
    hi = max([hi, *(min(h, max(hi * 1.5, hi + 0.05)) for h in highs)])
    lo = min([lo, *lows])
    pad = (hi - lo) * 0.12 or max(hi * 0.1, 0.02)
    return max(lo - pad, 0.0), min(hi + pad, upper)


def _polylines(points: list[tuple[float, float] | None], s: TrendSeries) -> list[Markup]:
    """One polyline per run of shown values: a gap breaks the line, never bridges it."""
    out, run = [], []
    for p in [*points, None]:
        if p is not None:
            run.append(f"{p[0]:.1f},{p[1]:.1f}")
            continue
        if len(run) > 1:
            out.append(
                element(
                    "polyline",
                    points=" ".join(run),
                    fill="none",
                    stroke=s.colour,
                    stroke_width=s.width,
                    stroke_dasharray="5 3" if s.dashed else None,
                )
            )
        run = []
    return out


def trend_chart(
    period_labels: Sequence[str],
    series: Sequence[TrendSeries],
    *,
    scale: int,
    target: float | None,
    upper: float,
    lang: Lang,
    css_class: str = "trend-chart",
) -> Markup:
    """Rates over periods; with nothing shown (all suppressed), the axes alone."""
    ticks = nice_ticks(*_range(series, target, upper), 4)
    left, right, top, bottom = 58, WIDTH - 20, 22, HEIGHT - 22
    n = len(period_labels)
    x = Linear(0, max(n - 1, 1), left + 16, right - 16)
    y = Linear(ticks[0], ticks[-1], bottom, top)
    parts: list[Markup | None] = [
        y_axis(y, ticks, left, rate_ticker(scale, ticks, lang), right),
        element("line", x1=left, x2=right, y1=bottom, y2=bottom, stroke=AXIS),
        unit_note(scale, 4, 10, lang),
    ]
    every = max(1, -(-n * 52 // (right - left)))  # labels at least 52 px apart
    for i, label in enumerate(period_labels):
        if i % every == 0 or i == n - 1:
            parts.append(
                element("text", label, x=x(i), y=bottom + 15, text_anchor="middle", fill=LABEL)
            )
    if target is not None and ticks[0] <= target <= ticks[-1]:
        parts.append(target_level(y(target), left, right, lang))
    for s in series:  # intervals first, so the dots sit on top
        for i, interval in enumerate(s.intervals or ()):
            if interval is None or s.rates[i] is None:
                continue
            low, high = max(interval[0], ticks[0]), min(interval[1], ticks[-1])
            caps = (interval[0] >= ticks[0], interval[1] <= ticks[-1])
            xi = x(i) + s.offset
            parts.append(vertical_whisker(xi, y(low), y(high), 3, s.colour, 0.55, caps))
    for s in series:
        points = [None if v is None else (x(i) + s.offset, y(v)) for i, v in enumerate(s.rates)]
        parts += _polylines(points, s)
        for i, point in enumerate(points):
            if point is None:
                continue
            value = s.rates[i]
            assert value is not None
            tip = f"{s.label} {period_labels[i]}: {rate(value, scale, lang=lang)}"
            parts.append(
                element(
                    "circle",
                    element("title", tip),
                    class_=s.name,
                    cx=point[0],
                    cy=point[1],
                    r=3,
                    fill=s.colour,
                )
            )
    return chart(css_class, WIDTH, HEIGHT, t("charts.trend.label", lang), *parts)
