"""Inline-SVG building blocks for the benchmark reports: scales, axes, interval bars, trends.

Every chart is a plain <svg> with a viewBox, so it scales down to an A4 page
without a script, font or image, and opens offline. A suppressed figure is
written as "suppressed", never drawn as a zero-length bar.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from common.i18n import Lang, register, t
from indicator_defs.describe import format_rate

register(
    {
        "report.suppressed": {"da": "skjult", "en": "suppressed"},
        "report.target": {"da": "mål", "en": "target"},
        "report.per_scale": {"da": "pr. {scale}", "en": "per {scale}"},
        "report.interval_chart": {
            "da": "Udgivne rater med 95 %-interval",
            "en": "Released rates with 95% intervals",
        },
        "report.trend_chart": {"da": "Udvikling over perioder", "en": "Trend over periods"},
        "report.beyond_axis": {
            "da": "intervallet fortsætter til {high}",
            "en": "the interval continues to {high}",
        },
    }
)

TARGET_COLOUR = "#c62828"
MUTED = "#888"
PALETTE = ("#1f5fae", "#e07b00", "#3c9a55", "#8e5cb8", "#8c564b", "#c2185b", "#5d6d7e")


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Linear:
    """Maps a value in [lo, hi] to a pixel in [start, end] (end < start flips the axis)."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo or 1.0
        return self.start + (self.end - self.start) * (value - self.lo) / span


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values at a 1-2-2.5-5 step from at or below `lo` to at or above `hi`.

    The first and last tick enclose the range, so an axis drawn from the first
    to the last tick holds every value and ends on a labelled number.
    """
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    first = math.floor(lo / step + 1e-9) * step
    last = math.ceil(hi / step - 1e-9) * step
    steps = round((last - first) / step)
    return [round(first + k * step, 12) for k in range(steps + 1)]


def tick_label(value: float, scale: int, step: float) -> str:
    """A rate tick as people read it: '40%' or '250' (per 1000, said once on the axis)."""
    shown = value * scale
    decimals = max(0, -math.floor(math.log10(step * scale))) if step > 0 else 0
    text = f"{shown:.{min(decimals, 2)}f}"
    return f"{text}%" if scale == 100 else text


def count_label(value: float) -> str:
    return f"{value:g}" if abs(value) < 1e5 else f"{value:.3g}"


def format_interval(interval: Sequence[float] | None, scale: int) -> str:
    """'80.1–89.9' in the indicator's unit ('%' or 'per 1000' is said beside it)."""
    if interval is None:
        return ""
    low, high = interval
    return f"{low * scale:.1f}–{high * scale:.1f}"


def svg_open(width: int, height: int, label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{esc(label)}">'
        f"<title>{esc(label)}</title>"
    )


def x_axis(
    scale: Linear, ticks: list[float], y: float, label: Callable[[float], str], grid_top: float
) -> str:
    """Tick labels under the plot and faint grid lines up to `grid_top`."""
    out = [f'<line x1="{scale.start:.1f}" x2="{scale.end:.1f}" y1="{y}" y2="{y}" stroke="#999"/>']
    for v in ticks:
        x = scale(v)
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{grid_top}" y2="{y}" stroke="#eee"/>'
            f'<text x="{x:.1f}" y="{y + 13}" text-anchor="middle" fill="#555">'
            f"{esc(label(v))}</text>"
        )
    return "".join(out)


def y_axis(
    scale: Linear, ticks: list[float], x: float, label: Callable[[float], str], grid_end: float
) -> str:
    """Tick labels left of the plot and faint grid lines across to `grid_end`."""
    out = [f'<line x1="{x}" x2="{x}" y1="{scale.start:.1f}" y2="{scale.end:.1f}" stroke="#999"/>']
    for v in ticks:
        y = scale(v)
        out.append(
            f'<line x1="{x}" x2="{grid_end}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eee"/>'
            f'<text x="{x - 4}" y="{y + 4:.1f}" text-anchor="end" fill="#555">'
            f"{esc(label(v))}</text>"
        )
    return "".join(out)


def target_line(
    x: float, top: float, bottom: float, lang: Lang, text: str, right_edge: float = 1e9
) -> str:
    """A dashed red vertical line labelled 'target 95.0%'; the label turns left near the edge."""
    anchor, label_x = ("end", x + 3) if x + 40 > right_edge else ("middle", x)
    return (
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" stroke="{TARGET_COLOUR}" '
        f'stroke-width="1.5" stroke-dasharray="5 3"/>'
        f'<text x="{label_x:.1f}" y="{top - 3}" text-anchor="{anchor}" fill="{TARGET_COLOUR}">'
        f"{esc(t('report.target', lang))} {esc(text)}</text>"
    )


def whisker(x0: float, x1: float, y: float, cap: float = 4, colour: str = "#222") -> str:
    """A horizontal interval with end caps."""
    return (
        f'<g class="whisker" stroke="{colour}" stroke-width="1.3">'
        f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{y:.1f}" y2="{y:.1f}"/>'
        f'<line x1="{x0:.1f}" x2="{x0:.1f}" y1="{y - cap:.1f}" y2="{y + cap:.1f}"/>'
        f'<line x1="{x1:.1f}" x2="{x1:.1f}" y1="{y - cap:.1f}" y2="{y + cap:.1f}"/></g>'
    )


def vertical_whisker(x: float, y0: float, y1: float, cap: float = 3) -> str:
    return (
        f'<g class="whisker" stroke="#222" stroke-width="1.1">'
        f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0:.1f}" y2="{y1:.1f}"/>'
        f'<line x1="{x - cap:.1f}" x2="{x + cap:.1f}" y1="{y0:.1f}" y2="{y0:.1f}"/>'
        f'<line x1="{x - cap:.1f}" x2="{x + cap:.1f}" y1="{y1:.1f}" y2="{y1:.1f}"/></g>'
    )


# ---------------------------------------------------------------------------
# Released rates with their intervals


@dataclass(frozen=True)
class BarRow:
    """One unit's released rate; rate None means suppressed (or not released)."""

    label: str
    rate: float | None
    interval: tuple[float, float] | None
    colour: str = PALETTE[0]
    reason: str = ""  # why it is suppressed, for the tooltip


BAR_WIDTH = 480


def bar_axis_top(rows: Sequence[BarRow], target: float | None, upper: float) -> float | None:
    """The rate at the right end of the bar axis (a round tick), or None when all are hidden.

    The axis holds every rate, interval and the target; a proportion's axis
    stops at 1, and an unbounded rate's intervals may stretch it to 2.5 times
    the largest rate or target, not further.
    """
    rates = [r.rate for r in rows if r.rate is not None]
    if not rates:
        return None
    reach = max([*rates, target or 0.0, 1e-9])
    highs = [r.interval[1] for r in rows if r.rate is not None and r.interval]
    top = min(max([reach, *highs]), upper, reach * 2.5 if upper > 1 else upper)
    return nice_ticks(0.0, top, 5)[-1]


def interval_bars(
    rows: Sequence[BarRow], scale: int, target: float | None, upper: float, lang: Lang
) -> str:
    """Horizontal bars of released rates with their 95% intervals and a dashed target line.

    The axis runs from 0 to the largest rate, interval end or target (at most
    `upper`, 1 for a proportion); an interval of an unbounded rate that runs
    far beyond the rates is cut with an arrow and its end given in the tooltip.
    When every row is suppressed there is no axis: nothing is drawn at 0.
    """
    left, plot_end, row, top = 96, 326, 24, 18
    top_value = bar_axis_top(rows, target, upper)
    height = top + row * len(rows) + (22 if top_value else 4)
    bottom = top + row * len(rows)
    out = [svg_open(BAR_WIDTH, height, t("report.interval_chart", lang))]
    x = Linear(0.0, top_value or 1.0, left, plot_end)
    if top_value is not None:
        ticks = nice_ticks(0.0, top_value, 5)
        step = ticks[1] - ticks[0] if len(ticks) > 1 else top_value
        out.append(x_axis(x, ticks, bottom + 2, lambda v: tick_label(v, scale, step), top - 2))
        if scale != 100:
            out.append(
                f'<text x="{left - 10}" y="{bottom + 15}" text-anchor="end" fill="#555">'
                f"{esc(t('report.per_scale', lang, scale=scale))}</text>"
            )
    for i, r in enumerate(rows):
        y = top + i * row
        mid = y + row / 2
        out.append(
            f'<text x="{left - 6}" y="{mid + 4:.1f}" text-anchor="end">{esc(r.label)}</text>'
        )
        if r.rate is None or top_value is None:
            out.append(
                f'<text class="suppressed" x="{left + 4}" y="{mid + 4:.1f}" fill="{MUTED}" '
                f'font-style="italic">{esc(t("report.suppressed", lang))}'
                f"<title>{esc(r.reason)}</title></text>"
            )
            continue
        w = max(x(min(r.rate, top_value)) - left, 0.5)
        out.append(
            f'<rect x="{left}" y="{y + 5}" width="{w:.1f}" height="{row - 10}" '
            f'fill="{r.colour}" fill-opacity="0.85"/>'
        )
        if r.interval is not None:
            low, high = r.interval
            x0, x1 = x(max(low, 0.0)), x(min(high, top_value))
            out.append(whisker(x0, x1, mid))
            if high > top_value:
                beyond = format_rate(high, scale)
                out.append(
                    f'<polygon points="{x1:.1f},{mid - 4:.1f} {x1 + 6:.1f},{mid:.1f} '
                    f'{x1:.1f},{mid + 4:.1f}" fill="#222"><title>'
                    f"{esc(t('report.beyond_axis', lang, high=beyond))}</title></polygon>"
                )
        interval_text = format_interval(r.interval, scale)
        out.append(
            f'<text x="{plot_end + 12}" y="{mid + 4:.1f}" font-weight="600">'
            f"{esc(format_rate(r.rate, scale))}"
            + (
                f'<tspan fill="#666" font-weight="400" font-size="10" dx="5">'
                f"({esc(interval_text)})</tspan>"
                if interval_text
                else ""
            )
            + "</text>"
        )
    if target is not None and top_value is not None and target <= top_value:
        out.append(target_line(x(target), top - 4, bottom, lang, format_rate(target, scale)))
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------------------
# Trend over periods


@dataclass(frozen=True)
class TrendSeries:
    label: str
    rates: list[float | None]  # one per period, None where suppressed
    colour: str
    width: float = 1.6


TREND_WIDTH, TREND_HEIGHT = 480, 170


def trend_chart(
    period_labels: Sequence[str],
    series: Sequence[TrendSeries],
    scale: int,
    target: float | None,
    lang: Lang,
) -> str:
    """Rates over periods, one line per unit; a suppressed period breaks the line."""
    values = [v for s in series for v in s.rates if v is not None]
    if not values:
        return f"<p class='meta'>{esc(t('report.suppressed', lang))}</p>"
    span = [*values, *([target] if target is not None else [])]
    lo, hi = min(span), max(span)
    pad = (hi - lo) * 0.12 or max(hi * 0.1, 0.02)
    ticks = nice_ticks(max(lo - pad, 0.0), hi + pad, 4)
    lo, hi = ticks[0], ticks[-1]
    left, right, top, bottom = 58, TREND_WIDTH - 20, 12, TREND_HEIGHT - 22
    n = len(period_labels)
    x = Linear(0, max(n - 1, 1), left + 16, right - 16)
    y = Linear(lo, hi, bottom, top)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else hi - lo
    out = [svg_open(TREND_WIDTH, TREND_HEIGHT, t("report.trend_chart", lang))]
    out.append(y_axis(y, ticks, left, lambda v: tick_label(v, scale, step), right))
    out.append(f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" stroke="#999"/>')
    for i, label in enumerate(period_labels):
        out.append(
            f'<text x="{x(i):.1f}" y="{bottom + 15}" text-anchor="middle" fill="#555">'
            f"{esc(label)}</text>"
        )
    if target is not None:
        out.append(
            f'<line x1="{left}" x2="{right}" y1="{y(target):.1f}" y2="{y(target):.1f}" '
            f'stroke="{TARGET_COLOUR}" stroke-width="1.2" stroke-dasharray="5 3">'
            f"<title>{esc(t('report.target', lang))}</title></line>"
        )
    for s in series:
        segment: list[str] = []
        for i, v in enumerate([*s.rates, None]):
            if v is not None:
                segment.append(f"{x(i):.1f},{y(v):.1f}")
                continue
            if len(segment) > 1:
                out.append(
                    f'<polyline points="{" ".join(segment)}" fill="none" stroke="{s.colour}" '
                    f'stroke-width="{s.width}"/>'
                )
            segment = []
        for i, v in enumerate(s.rates):
            if v is None:
                continue
            out.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="3" fill="{s.colour}">'
                f"<title>{esc(s.label)} {esc(period_labels[i])}: "
                f"{esc(format_rate(v, scale))}</title></circle>"
            )
    out.append("</svg>")
    return "".join(out)


def legend(items: Sequence[tuple[str, str]]) -> str:
    """Coloured squares with labels, as HTML under a chart."""
    return (
        "<div class='legend'>"
        + " ".join(
            f"<span><span class='swatch' style='background:{c}'></span>{esc(label)}</span>"
            for label, c in items
        )
        + "</div>"
    )


def period_label(reference_date: str) -> str:
    """'2026-09-30' → '2026-09': the quarter's last month is enough on an axis."""
    return reference_date[:7]


def as_interval(value: Any) -> tuple[float, float] | None:
    if not value or len(value) != 2 or value[0] is None or value[1] is None:
        return None
    return float(value[0]), float(value[1])
