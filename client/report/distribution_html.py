"""The practice's place among the practices: a histogram with its own rate, and its decile.

A decile is written only where the release gives deciles; otherwise the
chart is shown with the own rate marked and the reason no decile is given
(too few practices, or privacy noise too large for the histogram to carry
one). Inline SVG only: nothing is fetched when the file opens.
"""

from __future__ import annotations

from client.report.formatting import axis_unit, esc, fmt_axis, fmt_rate, number, svg_open
from client.report.placement import IndicatorPlacement, Placement
from common.i18n import Lang, register, t
from indicator_defs import model as m
from privacy.distribution import MIN_PRACTICES_FOR_DECILES

Z95 = 1.959963984540054

register(
    {
        "preport.place.head": {
            "da": "Placering blandt praksisserne",
            "en": "Place among the practices",
        },
        "preport.place.where.cluster": {"da": "klynge {unit}", "en": "cluster {unit}"},
        "preport.place.where.region": {"da": "region {unit}", "en": "region {unit}"},
        "preport.place.decile": {
            "da": "{share} af praksisserne i {where} har en lavere rate end jeres ({rate}): "
            "jeres praksis ligger i {decile}. decil (1 = laveste tiendedel, 10 = højeste).",
            "en": "{share} of the practices in {where} have a lower rate than yours ({rate}): "
            "your practice is in decile {decile} (1 = the lowest tenth, 10 = the highest).",
        },
        "preport.place.fallback": {
            "da": "Klyngens decil er ikke givet ({why}), så regionens fordeling er brugt.",
            "en": "The cluster's decile is not given ({why}), so the region's distribution "
            "is used.",
        },
        "preport.place.no_decile": {
            "da": "Intet decil er givet; diagrammet viser, hvor jeres rate ({rate}) ligger.",
            "en": "No decile is given; the chart shows where your rate ({rate}) lies.",
        },
        "preport.place.why": {"da": "{where}: {why}.", "en": "{where}: {why}."},
        "preport.withheld.too_few_practices": {
            "da": "kun {n} praksisser bidrog, og et decil kræver mindst {min}",
            "en": "only {n} practices contributed, and a decile needs at least {min}",
        },
        "preport.withheld.too_noisy": {
            "da": "privatlivsstøjen er for stor (hver søjle ±{sd} praksisser, "
            "standardafvigelse) til at dele {n} praksisser i tiendedele",
            "en": "the privacy noise is too large (each bar ±{sd} practices, standard "
            "deviation) to split {n} practices into tenths",
        },
        "preport.withheld.empty": {
            "da": "fordelingen er tom",
            "en": "the distribution is empty",
        },
        "preport.place.of_practices": {
            "da": "Fordelingen er af praksisser, ikke af patienter: en søjle er antallet af "
            "praksisser ({n} i alt) med en rate i det interval. En praksis med færre end "
            "{dmin} patienter i nævneren tæller som en brøkdel af en praksis.",
            "en": "The distribution is of practices, not patients: a bar is the number of "
            "practices ({n} in all) with a rate in that range. A practice with fewer than "
            "{dmin} patients in the denominator counts as a fraction of a practice.",
        },
        "preport.place.whiskers": {
            "da": "Stregerne på søjlerne viser 95 %-intervallet for støjen (±{half} praksisser).",
            "en": "The whiskers on the bars show the 95% interval of the noise (±{half} "
            "practices).",
        },
        "preport.place.included": {
            "da": "Jeres praksis er selv en af praksisserne i fordelingen (den deltog i runden).",
            "en": "Your practice is itself one of the practices counted (it took part in that "
            "round).",
        },
        "preport.place.partial": {
            "da": "Med {den} patienter i nævneren tæller jeres praksis her som {mass} praksis.",
            "en": "With {den} patients in the denominator, your practice counts as {mass} of "
            "a practice here.",
        },
        "preport.place.not_included": {
            "da": "Jeres praksis deltog ikke i den runde og er ikke talt med i fordelingen.",
            "en": "Your practice did not take part in that round and is not counted in the "
            "distribution.",
        },
        "preport.place.no_own_rate": {
            "da": "Ingen egne patienter i nævneren, så jeres praksis kan ikke placeres.",
            "en": "No own patients in the denominator, so your practice cannot be placed.",
        },
        "preport.place.own": {"da": "egen", "en": "own"},
        "preport.place.axis": {"da": "praksisser", "en": "practices"},
        "preport.place.target": {"da": "mål", "en": "target"},
        "preport.place.desc": {
            "da": "Antal praksisser pr. rateinterval med jeres egen rate som orange linje.",
            "en": "Number of practices per rate range, with your own rate as an orange line.",
        },
    }
)

_BAR, _OWN_BAR, _OWN, _TARGET = "#9dbfec", "#3b7dd8", "#e07b00", "#c33"


def where(place: Placement, lang: Lang) -> str:
    return t(f"preport.place.where.{place.level}", lang, unit=place.unit)


def withheld_reason(place: Placement, lang: Lang) -> str:
    """Why the release gives no deciles, in plain words with the figures behind it."""
    dist = place.distribution
    code = dist.deciles_withheld or "empty"
    return t(
        f"preport.withheld.{code}",
        lang,
        n=dist.practices,
        min=MIN_PRACTICES_FOR_DECILES,
        sd=number(dist.bin_noise_sd, 1, lang),
    )


def histogram(place: Placement, indicator: m.Indicator, lang: Lang) -> str:
    """Bars of practices per bin with 95% noise whiskers, the own rate and the target as lines."""
    dist = place.distribution
    width, height, left, right, top_pad, bottom = 330, 156, 34, 18, 30, 20
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    half = Z95 * dist.bin_noise_sd
    top = max([b + half for b in dist.bins] + [1.0])
    x = lambda r: left + plot_w * min(max(r, 0.0), 1.0)  # noqa: E731
    y = lambda v: top_pad + plot_h * (1 - min(max(v, 0.0), top) / top)  # noqa: E731
    desc = esc(t("preport.place.desc", lang))
    out = [svg_open("histogram", width, height)]
    out.append(f"<desc>{desc}</desc>")
    base = y(0)
    out.append(f'<line x1="{left}" x2="{width - right}" y1="{base}" y2="{base}" stroke="#888"/>')
    for v in (0, top):
        label = number(v, 0 if v == 0 or top >= 10 else 1, lang)
        out.append(f'<text x="{left - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{label}</text>')
    out.append(f'<text x="0" y="10" fill="#666">{esc(t("preport.place.axis", lang))}</text>')
    unit = axis_unit(indicator.scale, lang)  # of the rate axis, when not percent
    if unit:
        out.append(f'<text x="{width}" y="10" text-anchor="end" fill="#666">{esc(unit)}</text>')
    for i, count in enumerate(dist.bins):
        x0, x1 = x(dist.edges[i]), x(dist.edges[i + 1])
        fill = _OWN_BAR if i == place.own_bin else _BAR
        out.append(
            f'<rect class="bin" data-bin="{i}" x="{x0 + 1:.1f}" y="{y(count):.1f}" '
            f'width="{max(x1 - x0 - 2, 1):.1f}" height="{base - y(count):.1f}" fill="{fill}">'
            f"<title>{esc(fmt_axis(dist.edges[i], indicator.scale, lang))}–"
            f"{esc(fmt_axis(dist.edges[i + 1], indicator.scale, lang))}: "
            f"{number(count, 1, lang)}</title></rect>"
        )
        if half > 0:
            xm = (x0 + x1) / 2
            lo, hi = y(count - half), y(count + half)
            out.append(
                f'<line x1="{xm:.1f}" x2="{xm:.1f}" y1="{lo:.1f}" y2="{hi:.1f}" stroke="#555"/>'
                f'<line x1="{xm - 3:.1f}" x2="{xm + 3:.1f}" y1="{hi:.1f}" y2="{hi:.1f}" '
                f'stroke="#555"/>'
            )
    for k in range(0, len(dist.edges), max(1, (len(dist.edges) - 1) // 5)):
        edge = dist.edges[k]
        out.append(
            f'<text x="{x(edge):.1f}" y="{height - 5}" text-anchor="middle">'
            f"{esc(fmt_axis(edge, indicator.scale, lang))}</text>"
        )
    if indicator.target is not None:
        xt = x(indicator.target)
        out.append(
            f'<line class="target" x1="{xt:.1f}" x2="{xt:.1f}" y1="{top_pad}" y2="{base}" '
            f'stroke="{_TARGET}" stroke-dasharray="4 3"><title>'
            f"{esc(t('preport.place.target', lang))}</title></line>"
        )
    if place.own_rate is not None:
        xo = x(place.own_rate)
        own = esc(t("preport.place.own", lang))
        rate = esc(fmt_rate(place.own_rate, indicator.scale, lang))
        anchor = "end" if xo > left + plot_w * 0.75 else "start"
        dx = -3 if anchor == "end" else 3
        out.append(
            f'<line class="own" x1="{xo:.1f}" x2="{xo:.1f}" y1="{top_pad - 16}" y2="{base}" '
            f'stroke="{_OWN}" stroke-width="2.5"><title>{own} {rate}</title></line>'
            f'<text x="{xo + dx:.1f}" y="{top_pad - 6}" text-anchor="{anchor}" fill="{_OWN}">'
            f"{own} {rate}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def _share(value: float, lang: Lang) -> str:
    return number(value * 100, 0, lang) + " %"


def placement_texts(
    placement: IndicatorPlacement, indicator: m.Indicator, denominator: int, lang: Lang
) -> tuple[list[str], list[str]]:
    """(main sentences, notes) about the practice's place, decile only where deciles are given."""
    shown = placement.shown
    if shown is None:  # `place_indicator` never builds one without a level
        return [], []
    main: list[str] = []
    notes: list[str] = []
    used = placement.decile_from
    cluster = placement.cluster
    if shown.own_rate is None:
        main.append(t("preport.place.no_own_rate", lang))
    elif used is not None:
        if used.level == "region" and cluster is not None:
            main.append(t("preport.place.fallback", lang, why=withheld_reason(cluster, lang)))
        main.append(
            t(
                "preport.place.decile",
                lang,
                share=_share(used.share_below or 0.0, lang),
                where=where(used, lang),
                rate=fmt_rate(used.own_rate, indicator.scale, lang),
                decile=used.decile,
            )
        )
    else:
        rate = fmt_rate(shown.own_rate, indicator.scale, lang)
        main.append(t("preport.place.no_decile", lang, rate=rate))
        for place in (cluster, placement.region):
            if place is not None:
                at = where(place, lang)
                why = withheld_reason(place, lang)
                main.append(t("preport.place.why", lang, where=at[:1].upper() + at[1:], why=why))
    dist = shown.distribution
    notes.append(
        t(
            "preport.place.of_practices",
            lang,
            n=dist.practices,
            dmin=dist.full_weight_denominator,
        )
    )
    if dist.bin_noise_sd > 0:
        notes.append(
            t("preport.place.whiskers", lang, half=number(Z95 * dist.bin_noise_sd, 1, lang))
        )
    if shown.included:
        notes.append(t("preport.place.included", lang))
        if 0 < shown.own_mass < 1:
            notes.append(
                t(
                    "preport.place.partial",
                    lang,
                    den=denominator,
                    mass=number(shown.own_mass, 2, lang),
                )
            )
    else:
        notes.append(t("preport.place.not_included", lang))
    return main, notes


def placement_section(
    placement: IndicatorPlacement | None, indicator: m.Indicator, denominator: int, lang: Lang
) -> str:
    """The card's distribution block; empty when no release has a histogram for the indicator."""
    if placement is None or placement.shown is None:
        return ""
    shown = placement.shown
    main, notes = placement_texts(placement, indicator, denominator, lang)
    head = f"{t('preport.place.head', lang)} · {where(shown, lang)}"
    return (
        f"<div class='place'><h3>{esc(head)}</h3>{histogram(shown, indicator, lang)}"
        + "<p class='place-text'>"
        + "<br>".join(esc(s) for s in main)
        + "</p><p class='meta'>"
        + " ".join(esc(s) for s in notes)
        + "</p></div>"
    )
