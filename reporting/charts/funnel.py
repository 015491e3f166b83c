"""Funnel plot of a region's clusters: which differ by more than chance and noise explain.

Each cluster's released rate is plotted against its denominator around the
regional rate, with 95% and 99.8% control limits (Spiegelhalter) that allow
for sampling variation and the privacy noise (`privacy.intervals`). One
representative noise SD, the median of the clusters', draws the limits and
judges the points, so what is drawn and what is flagged agree.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from markupsafe import Markup

from common.formatting import integer, number, rate
from common.i18n import Lang, register, t
from privacy.intervals import funnel_limits
from reporting.charts.axes import (
    LABEL,
    Linear,
    count_tick,
    nice_ticks,
    rate_ticker,
    step_of,
    unit_note,
    x_axis,
    y_axis,
)
from reporting.charts.svg import chart, element
from reporting.words import word

register(
    {
        "charts.funnel.label": {
            "da": "Tragtplot: klyngernes rater mod deres nævner",
            "en": "Funnel plot: cluster rates against their denominators",
        },
        "charts.funnel.x": {"da": "nævner (antal)", "en": "denominator (count)"},
        "charts.funnel.what": {
            "da": "Hvert punkt er en klynge: dens rate (op) mod dens nævner (ud ad). "
            "Den vandrette linje er regionens rate. De stiplede kurver er "
            "95 %-grænser og de fuldt optrukne 99,8 %-grænser; de tager højde for både "
            "tilfældig variation og privatlivsstøjen. "
            "Klynger uden for de yderste linjer afviger mere, end tilfældighed og støj kan "
            "forklare.",
            "en": "Each point is a cluster: its rate (up) against its denominator (across). "
            "The horizontal line is the regional rate. The dashed curves are 95% "
            "limits and the solid ones 99.8% limits; they allow for both chance variation and "
            "the privacy noise. Clusters "
            "outside the outer lines differ by more than chance and noise would explain.",
        },
        "charts.funnel.values": {
            "da": "Regionens rate er {centre}; støjens SD er ca. {sd} i hver klynges tæller.",
            "en": "The regional rate is {centre}; the noise SD is about {sd} in each "
            "cluster's numerator.",
        },
        "charts.funnel.outside": {
            "da": "Uden for de yderste linjer: {units}.",
            "en": "Outside the outer lines: {units}.",
        },
        "charts.funnel.inside": {
            "da": "Alle viste klynger ligger inden for de yderste linjer.",
            "en": "All clusters shown lie within the outer lines.",
        },
        "charts.funnel.suppressed": {
            "da": "Ikke vist, fordi tallene er skjult: {units}.",
            "en": "Not drawn because their figures are suppressed: {units}.",
        },
        "charts.funnel.no_centre": {
            "da": "Intet tragtplot: regionens rate er skjult eller ikke udgivet.",
            "en": "No funnel plot: the regional rate is suppressed or not released.",
        },
        "charts.funnel.no_points": {
            "da": "Intet tragtplot: ingen klynge har en udgivet rate og nævner.",
            "en": "No funnel plot: no cluster has a released rate and denominator.",
        },
    }
)


class Position(StrEnum):
    INSIDE = "inside"  # within the 95% limits
    WARNING = "warning"  # between the 95% and 99.8% limits
    OUTSIDE = "outside"  # beyond the 99.8% limits


@dataclass(frozen=True)
class ClusterPoint:
    unit: str
    rate: float
    denominator: float
    position: Position
    above: bool

    def direction(self, lang: Lang) -> str:
        """ "higher" or "lower" than the region, in words."""
        return word("higher" if self.above else "lower", lang)


@dataclass(frozen=True)
class Funnel:
    """A region's funnel for one indicator; centre None when the regional rate is hidden."""

    centre: float | None
    noise_sd: float
    proportion: bool
    upper: float
    points: list[ClusterPoint]
    suppressed: list[str]  # clusters whose rate or denominator is hidden

    def point(self, unit: str) -> ClusterPoint | None:
        return next((p for p in self.points if p.unit == unit), None)


@dataclass(frozen=True)
class ClusterFigures:
    unit: str
    rate: float | None
    denominator: float | None
    noise_sd: float | None


def build_funnel(
    centre: float | None,
    clusters: Sequence[ClusterFigures],
    *,
    proportion: bool,
    upper: float,
) -> Funnel:
    """Place each cluster against the limits around `centre` (the regional rate)."""
    drawn = [c for c in clusters if c.rate is not None and c.denominator]
    suppressed = [c.unit for c in clusters if c not in drawn]
    sds = [c.noise_sd for c in clusters if c.noise_sd is not None]
    noise_sd = statistics.median(sds) if sds else 0.0
    points = []
    if centre is not None:
        for c in drawn:
            assert c.rate is not None and c.denominator
            (limit,) = funnel_limits(
                centre, [c.denominator], noise_sd, proportion=proportion, upper=upper
            )
            if c.rate < limit.low998 or c.rate > limit.high998:
                position = Position.OUTSIDE
            elif c.rate < limit.low95 or c.rate > limit.high95:
                position = Position.WARNING
            else:
                position = Position.INSIDE
            points.append(ClusterPoint(c.unit, c.rate, c.denominator, position, c.rate > centre))
    return Funnel(centre, noise_sd, proportion, upper, points, suppressed)


WIDTH, HEIGHT = 480, 240
_COLOURS = {Position.INSIDE: "#1f5fae", Position.WARNING: "#e39a00", Position.OUTSIDE: "#c62828"}


def funnel_chart(funnel: Funnel, scale: int, uid: str, lang: Lang) -> tuple[Markup | None, str]:
    """(SVG, caption) of the funnel; without a centre or points, only the caption says why."""
    if funnel.centre is None:
        return None, _caption_without(funnel, "charts.funnel.no_centre", lang)
    if not funnel.points:
        return None, _caption_without(funnel, "charts.funnel.no_points", lang)
    centre = funnel.centre
    left, right, top, bottom = 58, WIDTH - 44, 20, HEIGHT - 36
    dens = [p.denominator for p in funnel.points]
    x_ticks = nice_ticks(0.0, max(dens) * 1.15, 5)
    x = Linear(0.0, x_ticks[-1], left, right)
    grid = _curve_denominators(min(dens), x_ticks[-1])
    limits = funnel_limits(
        centre, grid, funnel.noise_sd, proportion=funnel.proportion, upper=funnel.upper
    )
    # the y range holds every point, the centre and the funnel's narrow (right) end; its
    # wide end is cut by the plot, and an unbounded rate's range by 2.5x the largest value
    (narrow,) = funnel_limits(
        centre, [x_ticks[-1]], funnel.noise_sd, proportion=funnel.proportion, upper=funnel.upper
    )
    rates = [p.rate for p in funnel.points]
    cap = funnel.upper if math.isfinite(funnel.upper) else max([*rates, centre]) * 2.5
    lo = max(min([*rates, centre, narrow.low998]), 0.0)
    hi = min(max([*rates, centre, narrow.high998]), cap)
    pad = (hi - lo) * 0.05 or 0.05
    y_ticks = nice_ticks(max(lo - pad, 0.0), min(hi + pad, cap), 5)
    y = Linear(y_ticks[0], y_ticks[-1], bottom, top)
    clip = f"funnel-clip-{uid}"
    curves = []
    for limit, dash, width in (("95", "5 3", 1.1), ("998", None, 1.4)):
        for side in ("low", "high"):
            points = " ".join(
                f"{x(p.denominator):.1f},{y(getattr(p, side + limit)):.1f}" for p in limits
            )
            curves.append(
                element(
                    "polyline",
                    points=points,
                    stroke="#777",
                    stroke_width=width,
                    stroke_dasharray=dash,
                )
            )
    marks = []
    for p in funnel.points:
        colour = _COLOURS[p.position]
        outside = p.position is Position.OUTSIDE
        px, py = x(p.denominator), y(p.rate)
        tip = f"{p.unit}: {rate(p.rate, scale, lang=lang)} ({integer(p.denominator, lang)})"
        marks.append(
            element(
                "circle",
                element("title", tip),
                class_=f"point {p.position}",
                cx=px,
                cy=py,
                r=6 if outside else 4.5,
                fill=colour,
                stroke="#fff",
                stroke_width=1,
            )
        )
        marks.append(
            element(
                "text",
                p.unit,
                x=px + 8,
                y=py + 4,
                fill=colour,
                font_weight=700 if outside else None,
            )
        )
    svg = chart(
        "funnel",
        WIDTH,
        HEIGHT,
        t("charts.funnel.label", lang),
        element(
            "defs",
            element(
                "clipPath",
                element("rect", x=left, y=top, width=right - left, height=bottom - top),
                id=clip,
            ),
        ),
        y_axis(y, y_ticks, left, rate_ticker(scale, y_ticks, lang), right),
        x_axis(x, x_ticks, bottom, lambda v: count_tick(v, step_of(x_ticks), lang), top),
        element(
            "text",
            t("charts.funnel.x", lang),
            x=(left + right) / 2,
            y=HEIGHT - 4,
            text_anchor="middle",
            fill=LABEL,
        ),
        unit_note(scale, 4, 11, lang),
        element(
            "g",
            *curves,
            element(
                "line",
                x1=left,
                x2=right,
                y1=y(centre),
                y2=y(centre),
                stroke="#333",
                stroke_width=1.5,
            ),
            clip_path=f"url(#{clip})",
            fill="none",
        ),
        *marks,
    )
    return svg, funnel_caption(funnel, scale, lang)


def _curve_denominators(smallest: float, largest: float, samples: int = 48) -> list[float]:
    """Denominators to draw the limits at, denser where the funnel bends (small counts)."""
    start = max(smallest * 0.2, 1.0)
    if largest <= start:
        return [start]
    ratio = largest / start
    return [start * ratio ** (k / (samples - 1)) for k in range(samples)]


def funnel_how(lang: Lang) -> str:
    """How to read any funnel plot: the same words under every one, so a print says it once."""
    return t("charts.funnel.what", lang)


def funnel_caption(funnel: Funnel, scale: int, lang: Lang) -> str:
    """What this funnel shows: its centre, its noise and the clusters outside (see `funnel_how`)."""
    centre = rate(funnel.centre, scale, lang=lang)
    parts = [t("charts.funnel.values", lang, centre=centre, sd=number(funnel.noise_sd, 0, lang))]
    outside = [p for p in funnel.points if p.position is Position.OUTSIDE]
    if outside:
        units = ", ".join(f"{p.unit} ({p.direction(lang)})" for p in outside)
        parts.append(t("charts.funnel.outside", lang, units=units))
    else:
        parts.append(t("charts.funnel.inside", lang))
    if funnel.suppressed:
        parts.append(t("charts.funnel.suppressed", lang, units=", ".join(funnel.suppressed)))
    return " ".join(parts)


def _caption_without(funnel: Funnel, key: str, lang: Lang) -> str:
    parts = [t(key, lang)]
    if funnel.suppressed:
        parts.append(t("charts.funnel.suppressed", lang, units=", ".join(funnel.suppressed)))
    return " ".join(parts)
