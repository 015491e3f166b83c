"""Released rates as horizontal bars with their 95 % intervals, against the target.

One row per unit: the region and its clusters, a cluster beside its region,
or a practice's own exact rate (a row without an interval) above its
cluster's and region's. A row without a rate says why in words instead
("suppressed", "no result"): nothing is ever drawn at zero for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from common.formatting import rate
from common.i18n import Lang, register, t
from reporting.charts.axes import (
    INK,
    LABEL,
    MUTED,
    REGION,
    Linear,
    nice_ticks,
    rate_ticker,
    target_line,
    unit_note,
    whisker,
    x_axis,
)
from reporting.charts.svg import chart, element, text_width
from reporting.numbers import bare_interval

register(
    {
        "charts.bars.label": {
            "da": "Udgivne rater med 95 %-interval",
            "en": "Released rates with 95% intervals",
        },
        "charts.bars.uncertain": {"da": "for usikker", "en": "too uncertain"},
        "charts.bars.beyond_axis": {
            "da": "intervallet fortsætter til {high}",
            "en": "the interval continues to {high}",
        },
    }
)

WIDTH = 480
_ROW, _TOP = 24, 18


@dataclass(frozen=True)
class BarRow:
    """One unit's rate; rate None draws `missing` (e.g. "suppressed") with `why` as tooltip."""

    label: str
    rate: float | None
    interval: tuple[float, float] | None = None
    colour: str = REGION
    missing: str = ""
    why: str = ""
    uncertain: str = ""  # words such as "too uncertain to use": the bar is drawn faint, hatched


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


def _value_text(row: BarRow, scale: int, lang: Lang) -> tuple[str, str]:
    """The rate, and its interval in brackets (in the rate's unit, said by the rate)."""
    if row.rate is None:
        return "", ""
    interval = bare_interval(row.interval, scale, lang)
    return rate(row.rate, scale, lang=lang), f"({interval})" if interval else ""


def _tail(interval_text: str, uncertain: str, lang: Lang) -> str:
    """What follows the rate: its interval, and two words when it is too uncertain to use.

    The chart leaves room for all of it, so the words never run outside the figure;
    the bar's tooltip says it in full.
    """
    return f"{interval_text} · {t('charts.bars.uncertain', lang)}" if uncertain else interval_text


def interval_bars(
    rows: Sequence[BarRow],
    *,
    scale: int,
    target: float | None,
    upper: float,
    lang: Lang,
    width: int = WIDTH,
    label: str | None = None,
) -> Markup:
    """Bars of rates with their 95 % intervals and a dashed target line.

    `label` names the chart for screen readers (default: released rates).

    The axis runs from 0 to the largest rate, interval end or target (at most
    `upper`, 1 for a proportion); an interval of an unbounded rate that runs
    far beyond the rates is cut with an arrow and its end given in the tooltip.
    When every row is missing there is no axis: nothing is drawn at 0.
    """
    values = [_value_text(r, scale, lang) for r in rows]
    tails = [_tail(i, r.uncertain, lang) for r, (_, i) in zip(rows, values, strict=True)]
    left = min(max(max(text_width(r.label) for r in rows) + 12, 60), 170)
    value_width = max(
        [
            text_width(v, 11) + (text_width(i, 10) + 5 if i else 0)
            for (v, _), i in zip(values, tails, strict=True)
        ]
        + [40]
    )
    plot_end = width - value_width - 16
    top_value = bar_axis_top(rows, target, upper)
    bottom = _TOP + _ROW * len(rows)
    height = bottom + (22 if top_value else 4)
    x = Linear(0.0, top_value or 1.0, left, plot_end)
    parts: list[Markup | None] = []
    if top_value is not None:
        ticks = nice_ticks(0.0, top_value, 5)
        parts.append(x_axis(x, ticks, bottom + 2, rate_ticker(scale, ticks, lang), _TOP - 2))
        parts.append(unit_note(scale, left - 10, bottom + 15, lang, anchor="end"))
    for i, (row, (value, _), shown) in enumerate(zip(rows, values, tails, strict=True)):
        y = _TOP + i * _ROW
        mid = y + _ROW / 2
        parts.append(element("text", row.label, x=left - 6, y=mid + 4, text_anchor="end"))
        if row.rate is None or top_value is None:
            parts.append(
                element(
                    "text",
                    row.missing,
                    element("title", row.why) if row.why else None,
                    class_="suppressed",
                    x=left + 4,
                    y=mid + 4,
                    fill=MUTED,
                    font_style="italic",
                )
            )
            continue
        w = max(x(min(row.rate, top_value)) - left, 0.5)
        parts.append(
            element(
                "rect",
                element("title", row.uncertain) if row.uncertain else None,
                class_="uncertain" if row.uncertain else None,
                x=left,
                y=y + 5,
                width=w,
                height=_ROW - 10,
                fill=row.colour,
                fill_opacity="0.3" if row.uncertain else "0.85",
                stroke=row.colour if row.uncertain else None,
                stroke_dasharray="3,2" if row.uncertain else None,
            )
        )
        if row.interval is not None:
            low, high = row.interval
            x0, x1 = x(max(low, 0.0)), x(min(high, top_value))
            parts.append(whisker(x0, x1, mid))
            if high > top_value:
                beyond = t("charts.bars.beyond_axis", lang, high=rate(high, scale, lang=lang))
                parts.append(
                    element(
                        "polygon",
                        element("title", beyond),
                        points=f"{x1:.1f},{mid - 4:.1f} {x1 + 6:.1f},{mid:.1f} "
                        f"{x1:.1f},{mid + 4:.1f}",
                        fill=INK,
                    )
                )
        tail = (
            element("tspan", shown, fill=LABEL, font_weight=400, font_size=10, dx=5)
            if shown
            else None
        )
        parts.append(element("text", value, tail, x=plot_end + 12, y=mid + 4, font_weight=600))
    if target is not None and top_value is not None and target <= top_value:
        target_text = rate(target, scale, lang=lang)
        parts.append(target_line(x(target), _TOP - 4, bottom, target_text, lang))
    return chart("bars", width, height, label or t("charts.bars.label", lang), *parts)
