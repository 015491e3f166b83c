"""The practice report as one self-contained HTML file: inline SVG, no scripts, printable.

It follows the look of the cluster/region report (`server.report_html`) but is
its own module: the practice agent does not depend on server code. Nothing is
fetched when the file opens. Suppressed figures read "suppressed", never zero;
each indicator's card also places the practice among the practices
(`distribution_html`) and shows its trend over periods (`trend_html`).
"""

from __future__ import annotations

import math

from client.report.distribution_html import placement_section
from client.report.formatting import esc as _e
from client.report.formatting import fmt_epsilon, fmt_rate
from client.report.formatting import reason as _reason
from client.report.practice_report import IndicatorReport, PracticeReport
from client.report.published import PublishedFigure
from client.report.trend_html import trend_section
from common.i18n import Lang, register, t

__all__ = ["chart", "fmt_epsilon", "fmt_rate", "patient_lists", "render_practice_report"]

register(
    {
        "preport.title": {
            "da": "Praksis {practice} — egne kvalitetsindikatorer {date}",
            "en": "Practice {practice} — own quality indicators {date}",
        },
        "preport.banner": {
            "da": "Lokal rapport. Beregnet på praksisens egen computer ud fra praksisens egne "
            "data; den er aldrig sendt nogen steder hen. Den indeholder praksisens egne "
            "pseudonyme patient-id'er: opbevar den som andre journaloplysninger.",
            "en": "Local report. Computed on the practice's own computer from the practice's own "
            "data; it was never uploaded anywhere. It holds the practice's own pseudonymous "
            "patient ids: keep it like other clinical records.",
        },
        "preport.meta": {
            "da": "Klynge {cluster} · referencedato {date} · dannet {at}",
            "en": "Cluster {cluster} · reference date {date} · generated {at}",
        },
        "preport.sources": {
            "da": "{level} {unit}: udgivelse {release} ({n} praksisser; {mechanism}, ε {eps}).",
            "en": "{level} {unit}: release {release} ({n} practices; {mechanism}, ε {eps}).",
        },
        "preport.no_releases": {
            "da": "Der er endnu ikke hentet resultater for klyngen eller regionen for {date}. "
            "Rapporten viser kun praksisens egne tal.",
            "en": "No cluster or regional results have been downloaded for {date} yet. "
            "The report shows the practice's own figures only.",
        },
        "preport.no_region": {
            "da": "Der er ikke hentet et regionalt resultat for {date}.",
            "en": "No regional result has been downloaded for {date}.",
        },
        "preport.other_dates": {
            "da": "Hentede resultater for andre referencedatoer ({dates}) sammenlignes ikke "
            "her; vælg en af dem med --as-of.",
            "en": "Downloaded results for other reference dates ({dates}) are not compared "
            "here; choose one with --as-of.",
        },
        "preport.intro": {
            "da": "Egne tal er beregnet præcist i praksis. Klyngens og regionens tal er tilført "
            "støj (differentielt privatliv), og små tal er skjult. Stregerne viser "
            "95 %-intervallet for klyngens og regionens rate; det rummer både den tilfældige "
            "variation mellem patienterne og støjen. Over eller under klyngen siges kun, når "
            "egen rate ligger uden for klyngens interval. Den stiplede røde linje er målet.",
            "en": "Own figures are computed exactly in the practice. Cluster and regional "
            "figures carry noise (differential privacy), and small counts are hidden. Whiskers "
            "show the 95% interval of the cluster's and the region's rate; it covers both the "
            "chance variation between patients and the noise. Above or below the cluster is "
            "said only when the own rate lies outside the cluster's interval. The dashed red "
            "line is the target.",
        },
        "preport.intro.noise_only": {
            "da": "Nogle hentede resultater er fra før intervallerne blev udgivet; for dem "
            'viser stregerne kun støjens 95 %-interval (markeret "kun støj"), som er smallere.',
            "en": "Some downloaded results predate released intervals; for them the whiskers "
            'show only the noise\'s 95% interval (marked "noise only"), which is narrower.',
        },
        "preport.intro.more": {
            "da": "Hvert kort viser også praksisens placering blandt praksisserne og "
            "udviklingen over de perioder, der er hentet resultater for. Egne rater for "
            "tidligere perioder er genberegnet lokalt på periodens referencedato.",
            "en": "Each card also shows the practice's place among the practices and the trend "
            "over the periods results have been downloaded for. Own rates for earlier periods "
            "are recomputed locally at each period's reference date.",
        },
        "preport.summary": {"da": "Oversigt", "en": "Overview"},
        "preport.col.indicator": {"da": "Indikator", "en": "Indicator"},
        "preport.col.own": {"da": "Egen praksis", "en": "Own practice"},
        "preport.col.cluster": {"da": "Klynge", "en": "Cluster"},
        "preport.col.region": {"da": "Region", "en": "Region"},
        "preport.col.target": {"da": "Mål", "en": "Target"},
        "preport.col.position": {"da": "I forhold til klyngen", "en": "Against the cluster"},
        "preport.indicators": {"da": "Indikatorer", "en": "Indicators"},
        "preport.label.own": {"da": "Egen ({practice})", "en": "Own ({practice})"},
        "preport.label.cluster": {"da": "Klynge {unit}", "en": "Cluster {unit}"},
        "preport.label.region": {"da": "Region {unit}", "en": "Region {unit}"},
        "preport.level.cluster": {"da": "Klynge", "en": "Cluster"},
        "preport.level.region": {"da": "Region", "en": "Region"},
        "preport.better": {"da": "{d} er bedre", "en": "{d} is better"},
        "preport.higher": {"da": "højere", "en": "higher"},
        "preport.lower": {"da": "lavere", "en": "lower"},
        "preport.target": {"da": "mål {v}", "en": "target {v}"},
        "preport.no_target": {"da": "intet mål", "en": "no target"},
        "preport.suppressed": {"da": "skjult", "en": "suppressed"},
        "preport.suppressed_why": {"da": "skjult ({why})", "en": "suppressed ({why})"},
        "preport.no_release": {"da": "intet resultat", "en": "no result"},
        "preport.no_patients": {"da": "ingen patienter", "en": "no patients"},
        "preport.interval": {"da": "95 %-interval {lo}–{hi}", "en": "95% interval {lo}–{hi}"},
        "preport.interval_noise": {
            "da": "95 %-interval {lo}–{hi}, kun støj",
            "en": "95% interval {lo}–{hi}, noise only",
        },
        "preport.col.decile": {"da": "Decil", "en": "Decile"},
        "preport.decile_at": {"da": "{decile}. ({where})", "en": "{decile} ({where})"},
        "preport.own_line": {
            "da": "Egen praksis: {num} af {den} = {rate}.",
            "en": "Own practice: {num} of {den} = {rate}.",
        },
        "preport.own_events": {
            "da": "Egen praksis: {num} hændelser / {den} = {rate} (højst {cap} pr. patient).",
            "en": "Own practice: {num} events / {den} = {rate} (at most {cap} per patient).",
        },
        "preport.pos.above": {
            "da": "Over klyngen (uden for klyngens 95 %-interval)",
            "en": "Above the cluster (outside the cluster's 95% interval)",
        },
        "preport.pos.below": {
            "da": "Under klyngen (uden for klyngens 95 %-interval)",
            "en": "Below the cluster (outside the cluster's 95% interval)",
        },
        "preport.pos.within_noise": {
            "da": "Inden for klyngens 95 %-interval: ingen sikker forskel",
            "en": "Within the cluster's 95% interval: no clear difference",
        },
        "preport.pos.no_own_rate": {
            "da": "Ingen egne patienter i nævneren",
            "en": "No own patients in the denominator",
        },
        "preport.pos.suppressed": {
            "da": "Klyngens rate er skjult",
            "en": "The cluster's rate is suppressed",
        },
        "preport.pos.no_release": {
            "da": "Intet klyngeresultat at sammenligne med",
            "en": "No cluster result to compare with",
        },
        "preport.pos.better": {"da": " — bedre", "en": " — better"},
        "preport.pos.worse": {"da": " — dårligere", "en": " — worse"},
        "preport.patients.head": {
            "da": "Patienter (lokale pseudonyme id'er til opfølgning i EPJ)",
            "en": "Patients (local pseudonymous ids for follow-up in the EPJ)",
        },
        "preport.patients.numerator": {
            "da": "I tælleren: {n} patienter",
            "en": "In the numerator: {n} patients",
        },
        "preport.patients.gap": {
            "da": "I nævneren, ikke i tælleren: {n} patienter",
            "en": "In the denominator, not in the numerator: {n} patients",
        },
        "preport.patients.events": {
            "da": "Patienter med hændelser (id: tæller/nævner, efter loft): {n}",
            "en": "Patients with events (id: numerator/denominator, after the cap): {n}",
        },
        "preport.patients.none": {"da": "ingen", "en": "none"},
        "preport.patients.follow_higher": {
            "da": "Høj er bedre: patienter i nævneren uden for tælleren er dem at se på.",
            "en": "Higher is better: patients in the denominator but not the numerator are "
            "the ones to look at.",
        },
        "preport.patients.follow_lower": {
            "da": "Lav er bedre: patienter i tælleren er dem at se på.",
            "en": "Lower is better: patients in the numerator are the ones to look at.",
        },
        "preport.receipts": {
            "da": "Kvitteringer: hvad har forladt praksis",
            "en": "Receipts: what left the practice",
        },
        "preport.receipts.intro": {
            "da": "Hver runde er trukket fra praksisens privatlivsbudget, før noget blev sendt. "
            "Der blev kun sendt en maskeret, støjtilført vektor af optællinger; ingen "
            "patient-id'er og ingen egne rater.",
            "en": "Every round was charged to the practice's privacy budget before anything was "
            "sent. Only a masked, noised vector of counts was sent; no patient ids and no own "
            "rates.",
        },
        "preport.receipts.none": {
            "da": "Ingen runder endnu: intet har forladt praksis.",
            "en": "No rounds yet: nothing has left the practice.",
        },
        "preport.col.date": {"da": "Referencedato", "en": "Reference date"},
        "preport.col.charged": {"da": "Trukket", "en": "Charged"},
        "preport.col.round": {"da": "Runde", "en": "Round"},
        "preport.col.recipient": {"da": "Modtager", "en": "Recipient"},
        "preport.col.manifest": {"da": "Manifest", "en": "Manifest"},
        "preport.col.bytes": {"da": "Sendt", "en": "Sent"},
        "preport.col.eps": {"da": "ε", "en": "ε"},
        "preport.col.delta": {"da": "δ", "en": "δ"},
        "preport.col.sent": {"da": "Afsendt", "en": "Delivered"},
        "preport.bytes": {
            "da": "{size} byte, {n} værdier, SHA-256 {sha}…",
            "en": "{size} bytes, {n} values, SHA-256 {sha}…",
        },
        "preport.yes": {"da": "ja", "en": "yes"},
        "preport.no": {"da": "nej (trukket, ikke sendt)", "en": "no (charged, not sent)"},
        "preport.budget": {"da": "Privatlivsbudget", "en": "Privacy budget"},
        "preport.budget.row": {
            "da": "{year}: brugt ε = {spent} af {budget}, tilbage ε = {left} (δ = {delta}; "
            "{releases} runder, {sent} sendt).",
            "en": "{year}: spent ε = {spent} of {budget}, left ε = {left} (δ = {delta}; "
            "{releases} rounds, {sent} sent).",
        },
        "preport.no_dp": {
            "da": "uden differentielt privatliv (kun verifikation)",
            "en": "without differential privacy (verification only)",
        },
    }
)

_CSS = """
body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;color:#222;
max-width:1100px}
h1{font-size:1.5em}h2{font-size:1.2em;margin:1.6em 0 .4em}h3{font-size:1.05em;margin:.2em 0}
.banner{border:2px solid #2a7a3b;background:#eef8f0;padding:.6em .8em;border-radius:6px}
.notice{border:1px solid #d9a300;background:#fff8e1;padding:.5em .8em;border-radius:6px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(330px,1fr));gap:1em}
.card{border:1px solid #ddd;border-radius:6px;padding:.6em .8em;break-inside:avoid}
.meta{color:#666;font-size:.85em}
.place,.trend{border-top:1px solid #eee;margin-top:.5em;padding-top:.3em}
.place-text{font-size:.92em}.card h2{margin:.2em 0 .3em}
.key{white-space:nowrap;margin-right:.6em}.nowrap{white-space:nowrap}
svg.histogram,svg.trend-chart{max-width:100%;height:auto}
.better{color:#2a7a3b}.worse{color:#b3261e}
table{border-collapse:collapse;font-size:.9em}td,th{border-bottom:1px solid #ddd;
padding:.25em .5em;text-align:left;vertical-align:top}
code,.ids{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85em}
.ids{word-break:break-all}svg text{font-size:11px}
@media print{body{margin:0}.card{border-color:#999}details>*{display:block}}
"""

_OWN, _PUBLISHED, _MUTED = "#e07b00", "#3b7dd8", "#999"


def _published_text(fig: PublishedFigure | None, scale: int, lang: Lang) -> str:
    if fig is None:
        return t("preport.no_release", lang)
    if fig.rate is None:
        return t("preport.suppressed_why", lang, why=_reason(fig.suppressed_reason or "", lang))
    text = fmt_rate(fig.rate, scale, lang)
    interval = fig.interval
    if interval:
        lo, hi = interval
        key = "preport.interval" if fig.interval_source == "released" else "preport.interval_noise"
        lo_text, hi_text = fmt_rate(max(lo, 0.0), scale, lang), fmt_rate(hi, scale, lang)
        text += " (" + t(key, lang, lo=lo_text, hi=hi_text) + ")"
    return text


def _position_text(item: IndicatorReport, lang: Lang) -> str:
    text = t(f"preport.pos.{item.position.value}", lang)
    if item.better is True:
        text += t("preport.pos.better", lang)
    elif item.better is False:
        text += t("preport.pos.worse", lang)
    return text


def _position_class(item: IndicatorReport) -> str:
    return {True: "better", False: "worse"}.get(item.better, "")  # type: ignore[arg-type]


def chart(item: IndicatorReport, report: PracticeReport, lang: Lang) -> str:
    """Own (orange, exact) against cluster and region (blue, with noise whiskers) and target."""
    ind = item.indicator
    rows: list[tuple[str, float | None, tuple[float, float] | None, str, str]] = [
        (
            t("preport.label.own", lang, practice=report.practice_id),
            item.rate,
            None,
            _OWN,
            t("preport.no_patients", lang),
        )
    ]
    for level, fig, release in (
        ("cluster", item.cluster, report.cluster_release),
        ("region", item.region, report.region_release),
    ):
        unit = release.unit if release else (report.cluster_id if level == "cluster" else "")
        label = t(f"preport.label.{level}", lang, unit=unit)
        if fig is None:
            rows.append((label, None, None, _PUBLISHED, t("preport.no_release", lang)))
        else:
            rows.append((label, fig.rate, fig.interval, _PUBLISHED, t("preport.suppressed", lang)))
    width, row, left = 340, 22, 130
    plot = width - left - 55
    highs = [v for _, v, _, _, _ in rows if v is not None]
    highs += [iv[1] for _, _, iv, _, _ in rows if iv is not None]
    top = max([*highs, ind.target or 0.0, 1e-9]) * 1.1
    height = row * len(rows) + 8
    desc = _e(t("preport.intro", lang))
    out = [f'<svg width="{width}" height="{height}" role="img"><desc>{desc}</desc>']
    for i, (label, value, interval, colour, missing) in enumerate(rows):
        y = 4 + i * row
        out.append(f'<text x="0" y="{y + 14}">{_e(label)}</text>')
        if value is None:
            out.append(f'<text x="{left}" y="{y + 14}" fill="{_MUTED}">{_e(missing)}</text>')
            continue
        w = plot * max(value, 0.0) / top
        out.append(
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row - 8}" fill="{colour}"/>'
        )
        if interval is not None:
            x0 = left + plot * max(interval[0], 0.0) / top
            x1 = left + plot * min(interval[1], top) / top
            ym = y + row / 2 - 1
            out.append(f'<line x1="{x0:.1f}" x2="{x1:.1f}" y1="{ym}" y2="{ym}" stroke="#222"/>')
            for x in (x0, x1):
                out.append(
                    f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{ym - 4}" y2="{ym + 4}" stroke="#222"/>'
                )
        text_x = left + max(w, plot * (interval[1] if interval else 0) / top) + 4
        out.append(
            f'<text x="{min(text_x, width - 50):.1f}" y="{y + 14}">'
            f"{_e(fmt_rate(value, ind.scale, lang))}</text>"
        )
    if ind.target is not None:
        x = left + plot * ind.target / top
        out.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="0" y2="{height}" stroke="#c33" '
            f'stroke-dasharray="4 3"><title>{_e(t("preport.col.target", lang))}</title></line>'
        )
    out.append("</svg>")
    return "".join(out)


def _own_text(item: IndicatorReport, lang: Lang) -> str:
    ind = item.indicator
    rate = fmt_rate(item.rate, ind.scale, lang)
    if ind.unit.value == "events":
        return t(
            "preport.own_events",
            lang,
            num=item.numerator,
            den=item.denominator,
            rate=rate,
            cap=ind.cap_per_patient,
        )
    return t("preport.own_line", lang, num=item.numerator, den=item.denominator, rate=rate)


def _target_text(item: IndicatorReport, lang: Lang) -> str:
    ind = item.indicator
    if ind.target is None:
        return t("preport.no_target", lang)
    return t("preport.target", lang, v=fmt_rate(ind.target, ind.scale, lang))


def _ids(rows: list[str], lang: Lang) -> str:
    if not rows:
        return f"<p class='meta'>{_e(t('preport.patients.none', lang))}</p>"
    return f"<p class='ids'>{_e(' '.join(rows))}</p>"


def patient_lists(item: IndicatorReport, lang: Lang) -> str:
    """Collapsed by default: ids are for the practice's own follow-up, not for the meeting."""
    ind, pts = item.indicator, item.patients
    follow = "higher" if ind.direction.value == "higher" else "lower"
    parts = [
        f"<details><summary>{_e(t('preport.patients.head', lang))} "
        f"({pts.denominator if ind.unit.value == 'patients' else len(pts.contributions)})"
        f"</summary><p class='meta'>{_e(t(f'preport.patients.follow_{follow}', lang))}</p>"
    ]
    if ind.unit.value == "events":
        rows = [f"{c.patient_id}:{c.numerator}/{c.denominator}" for c in pts.contributions]
        parts.append(f"<h3>{_e(t('preport.patients.events', lang, n=len(rows)))}</h3>")
        parts.append(_ids(rows, lang))
    else:
        num = [c.patient_id for c in pts.in_numerator]
        gap = [c.patient_id for c in pts.not_in_numerator]
        parts.append(f"<h3>{_e(t('preport.patients.numerator', lang, n=len(num)))}</h3>")
        parts.append(_ids(num, lang))
        parts.append(f"<h3>{_e(t('preport.patients.gap', lang, n=len(gap)))}</h3>")
        parts.append(_ids(gap, lang))
    parts.append("</details>")
    return "".join(parts)


def _card(item: IndicatorReport, report: PracticeReport, lang: Lang) -> str:
    ind = item.indicator
    better = t("preport.better", lang, d=t(f"preport.{ind.direction.value}", lang))
    return (
        f"<div class='card' id='{_e(ind.id)}'><h2>{_e(ind.id)} {_e(ind.title[lang])}</h2>"
        f"<div class='meta'>{_e(better)} · {_e(_target_text(item, lang))}</div>"
        f"{chart(item, report, lang)}"
        f"<p>{_e(_own_text(item, lang))}<br>"
        f"{_e(t('preport.col.cluster', lang))}: "
        f"{_e(_published_text(item.cluster, ind.scale, lang))}"
        f"<br>{_e(t('preport.col.region', lang))}: "
        f"{_e(_published_text(item.region, ind.scale, lang))}</p>"
        f"<p class='{_position_class(item)}'>{_e(_position_text(item, lang))}</p>"
        f"{placement_section(item.placement, ind, item.denominator, lang)}"
        f"{trend_section(item.trend, ind, lang)}"
        f"{patient_lists(item, lang)}</div>"
    )


def _decile_text(item: IndicatorReport, lang: Lang) -> str:
    used = item.placement.decile_from if item.placement else None
    if used is None or used.decile is None:
        return "–"
    where = t(f"preport.level.{used.level}", lang).lower()
    return t("preport.decile_at", lang, decile=used.decile, where=where)


def _summary(report: PracticeReport, lang: Lang) -> str:
    cols = ("indicator", "own", "cluster", "region", "target", "position", "decile")
    head = "".join(f"<th>{_e(t(f'preport.col.{c}', lang))}</th>" for c in cols)
    rows = []
    for item in report.indicators:
        ind = item.indicator
        target = fmt_rate(ind.target, ind.scale, lang) if ind.target is not None else "–"
        rows.append(
            f"<tr><td><a href='#{_e(ind.id)}'>{_e(ind.id)}</a> {_e(ind.title[lang])}</td>"
            f"<td>{_e(fmt_rate(item.rate, ind.scale, lang))} "
            f"<span class='meta'>({item.numerator}/{item.denominator})</span></td>"
            f"<td>{_e(_published_text(item.cluster, ind.scale, lang))}</td>"
            f"<td>{_e(_published_text(item.region, ind.scale, lang))}</td>"
            f"<td class='nowrap'>{_e(target)}</td>"
            f"<td class='{_position_class(item)}'>{_e(_position_text(item, lang))}</td>"
            f"<td class='nowrap'>{_e(_decile_text(item, lang))}</td></tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _sources(report: PracticeReport, lang: Lang) -> str:
    date = report.as_of.isoformat()
    lines = []
    if report.cluster_release is None and report.region_release is None:
        lines.append(f"<p class='notice'>{_e(t('preport.no_releases', lang, date=date))}</p>")
    else:
        for release in (report.cluster_release, report.region_release):
            if release is None:
                continue
            eps = release.epsilon_per_release
            lines.append(
                "<p class='meta'>"
                + _e(
                    t(
                        "preport.sources",
                        lang,
                        level=t(f"preport.level.{release.level}", lang),
                        unit=release.unit,
                        release=release.release_id,
                        n=release.contributors if release.contributors is not None else "?",
                        mechanism=release.mechanism or "?",
                        eps=fmt_epsilon(eps, lang) if eps is not None else "?",
                    )
                )
                + "</p>"
            )
        if report.region_release is None:
            lines.append(f"<p class='meta'>{_e(t('preport.no_region', lang, date=date))}</p>")
    if report.other_release_dates:
        dates = ", ".join(d.isoformat() for d in report.other_release_dates)
        lines.append(f"<p class='meta'>{_e(t('preport.other_dates', lang, dates=dates))}</p>")
    return "".join(lines)


def _receipts(report: PracticeReport, lang: Lang) -> str:
    parts = [f"<h2>{_e(t('preport.receipts', lang))}</h2>"]
    if not report.receipts:
        parts.append(f"<p>{_e(t('preport.receipts.none', lang))}</p>")
    else:
        parts.append(f"<p>{_e(t('preport.receipts.intro', lang))}</p>")
        cols = (
            "date",
            "charged",
            "round",
            "recipient",
            "manifest",
            "bytes",
            "eps",
            "delta",
            "sent",
        )
        head = "".join(f"<th>{_e(t(f'preport.col.{c}', lang))}</th>" for c in cols)
        rows = []
        for r in report.receipts:
            eps = fmt_epsilon(r.epsilon, lang)
            if math.isinf(r.epsilon):
                eps += " " + t("preport.no_dp", lang)
            sent = t("preport.yes" if r.sent else "preport.no", lang)
            size = t(
                "preport.bytes",
                lang,
                size=r.payload_bytes,
                n=r.coordinates,
                sha=r.payload_sha256[:16],
            )
            rows.append(
                f"<tr><td>{_e(r.reference_date.isoformat())}</td><td>{_e(r.charged_at[:19])}</td>"
                f"<td><code>{_e(r.round_id)}</code></td><td>{_e(r.recipient)}</td>"
                f"<td>{_e(r.manifest_id)} <code>{_e(r.manifest_hash[:12])}…</code></td>"
                f"<td>{_e(size)}</td><td>{_e(eps)}</td><td>{_e(f'{r.delta:g}')}</td>"
                f"<td>{_e(sent)}</td></tr>"
            )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    parts.append(f"<h3>{_e(t('preport.budget', lang))}</h3><ul>")
    for b in report.budget:
        parts.append(
            "<li>"
            + _e(
                t(
                    "preport.budget.row",
                    lang,
                    year=b.year,
                    spent=fmt_epsilon(b.spent, lang),
                    budget=fmt_epsilon(b.budget, lang),
                    left=fmt_epsilon(b.left, lang),
                    delta=f"{b.delta:g}",
                    releases=b.releases,
                    sent=b.sent,
                )
            )
            + "</li>"
        )
    parts.append("</ul>")
    return "".join(parts)


def _more_note(report: PracticeReport, lang: Lang) -> str:
    """Point to the cards' place and trend sections, when there is any to point to."""
    if not any(i.placement or (i.trend and i.trend.points) for i in report.indicators):
        return ""
    return f"<p>{_e(t('preport.intro.more', lang))}</p>"


def _noise_only_note(report: PracticeReport, lang: Lang) -> str:
    """Said only when some shown figure comes from a release without released intervals."""
    figures = [f for i in report.indicators for f in (i.cluster, i.region) if f is not None]
    figures += [
        f
        for i in report.indicators
        if i.trend
        for p in i.trend.points
        for f in (p.cluster, p.region)
        if f is not None
    ]
    if not any(f.interval_source == "noise" for f in figures):
        return ""
    return f"<p class='meta'>{_e(t('preport.intro.noise_only', lang))}</p>"


def render_practice_report(report: PracticeReport, lang: Lang) -> str:
    title = t("preport.title", lang, practice=report.practice_id, date=report.as_of.isoformat())
    meta = t(
        "preport.meta",
        lang,
        cluster=report.cluster_id,
        date=report.as_of.isoformat(),
        at=report.generated_at,
    )
    return "".join(
        [
            f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'>",
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
            f"<p class='banner'><strong>{_e(t('preport.banner', lang))}</strong></p>",
            f"<h1>{_e(title)}</h1><p class='meta'>{_e(meta)}</p>",
            _sources(report, lang),
            f"<p>{_e(t('preport.intro', lang))}</p>",
            _noise_only_note(report, lang),
            _more_note(report, lang),
            f"<h2>{_e(t('preport.summary', lang))}</h2>",
            _summary(report, lang),
            f"<h2>{_e(t('preport.indicators', lang))}</h2><div class='grid'>",
            *(_card(item, report, lang) for item in report.indicators),
            "</div>",
            _receipts(report, lang),
            "</body></html>",
        ]
    )
