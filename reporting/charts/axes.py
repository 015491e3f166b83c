"""What every chart shares: scales, round ticks, axes, the target line, whiskers, a legend.

Tick labels go through `common.formatting`, so an axis reads "40 %" and
"1.000" in Danish and "40%" and "1,000" in English, like the text around it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from common.formatting import number, per
from common.i18n import Lang
from reporting.charts.svg import element
from reporting.words import word

# One palette for every report: the report's own subject (a practice, or the cluster of a
# cluster report) is orange, a cluster mid blue, the region dark blue, the country slate.
OWN = "#e07b00"
CLUSTER = "#3b7dd8"
REGION = "#1f5fae"
NATION = "#4a5a6a"
BIN = "#9dbfec"
TARGET = "#c62828"
MUTED = "#888"
INK = "#222"
GRID = "#eee"
AXIS = "#999"
LABEL = "#555"
SERIES = ("#e07b00", "#3c9a55", "#8e5cb8", "#8c564b", "#c2185b", "#5d6d7e", "#3b7dd8")


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


def step_of(ticks: Sequence[float]) -> float:
    return ticks[1] - ticks[0] if len(ticks) > 1 else 1.0


def _decimals(step: float) -> int:
    return min(max(0, -math.floor(math.log10(step) + 1e-9)), 2) if step > 0 else 0


def rate_tick(value: float, scale: int, step: float, lang: Lang) -> str:
    """A rate on its axis: "40 %" (da) or "40%" (en); per 1,000 the bare number, the unit
    said once beside the axis. Zero is "0": never "0,0 %", which reads like a figure."""
    shown = value * scale
    text = "0" if shown == 0 else number(shown, _decimals(step * scale), lang)
    if scale != 100:
        return text
    return f"{text}\u00a0%" if lang == "da" else f"{text}%"


def count_tick(value: float, step: float, lang: Lang) -> str:
    """A count on its axis (practices, a denominator): 1.500 (da), 1,500 (en)."""
    return "0" if value == 0 else number(value, _decimals(step), lang)


def rate_ticker(scale: int, ticks: Sequence[float], lang: Lang) -> Callable[[float], str]:
    step = step_of(ticks)
    return lambda v: rate_tick(v, scale, step, lang)


def unit_note(scale: int, x: float, y: float, lang: Lang, anchor: str = "start") -> Markup | None:
    """ "pr. 1.000" beside an axis whose ticks are bare numbers; None for percent."""
    if scale == 100:
        return None
    return element("text", per(scale, lang), x=x, y=y, text_anchor=anchor, fill=LABEL)


def x_axis(
    scale: Linear, ticks: Sequence[float], y: float, label: Callable[[float], str], grid_top: float
) -> Markup:
    """Tick labels under the plot and faint grid lines up to `grid_top`."""
    parts = [element("line", x1=scale.start, x2=scale.end, y1=y, y2=y, stroke=AXIS)]
    for v in ticks:
        x = scale(v)
        parts.append(element("line", x1=x, x2=x, y1=grid_top, y2=y, stroke=GRID))
        parts.append(element("text", label(v), x=x, y=y + 13, text_anchor="middle", fill=LABEL))
    return Markup("").join(parts)


def y_axis(
    scale: Linear, ticks: Sequence[float], x: float, label: Callable[[float], str], grid_end: float
) -> Markup:
    """Tick labels left of the plot and faint grid lines across to `grid_end`."""
    parts = [element("line", x1=x, x2=x, y1=scale.start, y2=scale.end, stroke=AXIS)]
    for v in ticks:
        y = scale(v)
        parts.append(element("line", x1=x, x2=grid_end, y1=y, y2=y, stroke=GRID))
        parts.append(element("text", label(v), x=x - 4, y=y + 4, text_anchor="end", fill=LABEL))
    return Markup("").join(parts)


def _target(x1: float, x2: float, y1: float, y2: float, lang: Lang) -> Markup:
    """The target as a dashed red line, however it runs."""
    return element(
        "line",
        element("title", word("target", lang)),
        class_="target",
        x1=x1,
        x2=x2,
        y1=y1,
        y2=y2,
        stroke=TARGET,
        stroke_width=1.4,
        stroke_dasharray="5 3",
    )


def target_line(
    x: float, top: float, bottom: float, text: str, lang: Lang, right_edge: float = math.inf
) -> Markup:
    """A vertical target line labelled "mål 95,0 %"; the label turns left near the edge."""
    anchor, label_x = ("end", x + 3) if x + 40 > right_edge else ("middle", x)
    label = f"{word('target', lang)} {text}"
    return _target(x, x, top, bottom, lang) + element(
        "text", label, x=label_x, y=top - 3, text_anchor=anchor, fill=TARGET
    )


def target_level(y: float, left: float, right: float, lang: Lang) -> Markup:
    """A horizontal target line (on a chart over time, where the legend names it)."""
    return _target(left, right, y, y, lang)


def whisker(
    x0: float, x1: float, y: float, cap: float = 4, colour: str = INK, opacity: float = 1.0
) -> Markup:
    """A horizontal interval with end caps."""
    return element(
        "g",
        element("line", x1=x0, x2=x1, y1=y, y2=y),
        element("line", x1=x0, x2=x0, y1=y - cap, y2=y + cap),
        element("line", x1=x1, x2=x1, y1=y - cap, y2=y + cap),
        class_="whisker",
        stroke=colour,
        stroke_width=1.3,
        stroke_opacity=None if opacity == 1.0 else opacity,
    )


def vertical_whisker(
    x: float,
    y0: float,
    y1: float,
    cap: float = 3,
    colour: str = INK,
    opacity: float = 1.0,
    caps: tuple[bool, bool] = (True, True),
) -> Markup:
    """A vertical interval; an end that runs off the axis has no cap (it goes on)."""
    return element(
        "g",
        element("line", x1=x, x2=x, y1=y0, y2=y1),
        element("line", x1=x - cap, x2=x + cap, y1=y0, y2=y0) if caps[0] else None,
        element("line", x1=x - cap, x2=x + cap, y1=y1, y2=y1) if caps[1] else None,
        class_="whisker",
        stroke=colour,
        stroke_width=1.1,
        stroke_opacity=None if opacity == 1.0 else opacity,
    )


@dataclass(frozen=True)
class Key:
    """One legend entry under a chart (the page template draws it): a coloured mark and what
    it stands for."""

    label: str
    colour: str
    dashed: bool = False


def period_label(reference_date: str) -> str:
    """'2026-09-30' → '2026-09': the quarter's last month is enough on an axis."""
    return reference_date[:7]
