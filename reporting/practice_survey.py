"""The patient-experience section of the practice's own report, in words and one chart.

Each measure of the practice's own answers with its respondents and its 95 %
sampling interval; a measure with fewer respondents than the minimum reads
"too few answers" instead of a figure. Beside it, the cluster's and the
region's released figures with their intervals ("too uncertain" in words
where the release says so), and the verdict against the cluster in the words
and by the rule of the page's indicators (`client.report.verdict`). Top-box
shares are drawn as bars with their intervals (the mean score, on another
scale, is in the table only).
The patients' free-text comments are listed here and nowhere else: this page
is local, and no other page or message holds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from common.formatting import day, integer, interval, number, percent
from common.i18n import Lang, register, t
from indicator_defs.survey_model import MeasureKind
from reporting.charts.axes import OWN
from reporting.charts.bars import BarRow, interval_bars
from reporting.practice_model import Position, PracticeSurvey, SurveyMeasureResult
from reporting.release_document import SurveyMeasureFigure
from reporting.survey_section import interval_text, value_text

register(
    {
        "preport.survey.head": {"da": "Patientoplevet kvalitet", "en": "Patient experience"},
        "preport.survey.meta": {
            "da": "{title}, version {version} · {start} til {end} · {n} svarpersoner",
            "en": "{title}, version {version} · {start} to {end} · {n} respondents",
        },
        "preport.survey.intro": {
            "da": "Praksisens egne svar, beregnet præcist på praksisens computer; intet er "
            "tilført støj. Intervallet er et 95\u00a0%-stikprøveinterval (Wilson for andele, "
            "t-fordelingen for gennemsnittet): svarpersonerne er et udsnit af praksisens "
            "patienter. Med under {min} svarpersoner vises ingen værdi.",
            "en": "The practice's own answers, computed exactly on the practice's computer; "
            "no noise is added. The interval is a 95% sampling interval (Wilson for shares, "
            "the t distribution for the mean): the respondents are a sample of the "
            "practice's patients. With fewer than {min} respondents no value is shown.",
        },
        "preport.survey.col.measure": {"da": "Mål", "en": "Measure"},
        "preport.survey.col.value": {"da": "Værdi", "en": "Value"},
        "preport.survey.col.respondents": {"da": "Svarpersoner", "en": "Respondents"},
        "preport.survey.col.interval": {"da": "95\u00a0%-interval", "en": "95% interval"},
        "preport.survey.col.cluster": {"da": "Klyngen", "en": "Cluster"},
        "preport.survey.col.region": {"da": "Regionen", "en": "Region"},
        "preport.survey.col.position": {
            "da": "I forhold til klyngen",
            "en": "Against the cluster",
        },
        "preport.survey.released": {
            "da": "Klyngens og regionens tal er udgivet med statistisk støj; deres interval "
            "dækker støj og tilfældighed. Vurderingen mod klyngen regner med både praksisens "
            "stikprøveinterval og klyngens interval og følger sidens regel for indikatorerne.",
            "en": "The cluster's and the region's figures are released with statistical noise; "
            "their interval covers noise and chance. The verdict against the cluster counts "
            "both the practice's sampling interval and the cluster's interval, and follows "
            "the page's rule for the indicators.",
        },
        "preport.survey.domain.access": {"da": "Adgang", "en": "Access"},
        "preport.survey.domain.communication": {"da": "Kommunikation", "en": "Communication"},
        "preport.survey.domain.involvement": {"da": "Inddragelse", "en": "Involvement"},
        "preport.survey.domain.coordination": {"da": "Sammenhæng", "en": "Coordination"},
        "preport.survey.too_few": {"da": "for få svar", "en": "too few answers"},
        "preport.survey.no_answers": {"da": "ingen svar", "en": "no answers"},
        "preport.survey.chart": {
            "da": "Andel positive svar (4–5) med 95\u00a0%-interval",
            "en": "Share of positive answers (4–5) with 95% intervals",
        },
        "preport.survey.chart_label": {
            "da": "Praksisens egne svar med 95\u00a0%-stikprøveinterval",
            "en": "The practice's own answers with 95% sampling intervals",
        },
        "preport.survey.skipped": {
            "da": "Svar, der ikke tæller: {items}.",
            "en": "Answers that do not count: {items}.",
        },
        "preport.survey.skip.unknown_item": {
            "da": "{n} med ukendt spørgsmål",
            "en": "{n} with an unknown question",
        },
        "preport.survey.skip.out_of_scale": {
            "da": "{n} uden for skalaen",
            "en": "{n} off the scale",
        },
        "preport.survey.skip.duplicate_respondent": {
            "da": "{n} fra en senere besvarelse af samme svarperson",
            "en": "{n} from a later response of the same respondent",
        },
        "preport.survey.skip.duplicate_answer": {
            "da": "{n} besvaret to gange",
            "en": "{n} answered twice",
        },
        "preport.survey.comments": {
            "da": "Patienternes kommentarer ({n})",
            "en": "The patients' comments ({n})",
        },
        "preport.survey.comments.private": {
            "da": "Kommentarerne står kun i denne lokale rapport. De sendes aldrig og indgår "
            "ikke i nogen beregning. Læs dem med omtanke: en kommentar kan nævne personer.",
            "en": "The comments are in this local report only. They are never sent and enter "
            "no calculation. Read them with care: a comment may name people.",
        },
        "preport.survey.comments.none": {
            "da": "Ingen kommentarer i perioden.",
            "en": "No comments in the period.",
        },
    }
)


@dataclass(frozen=True)
class MeasureRow:
    title: str
    value: str
    respondents: str
    interval: str
    muted: bool  # no figure: "too few answers" or "no answers"
    cluster: str = ""  # the released figure with its interval, "too uncertain" in words
    region: str = ""
    position: str = ""
    position_class: str = ""  # "better", "worse" or ""


@dataclass(frozen=True)
class CommentView:
    day: str
    text: str


@dataclass(frozen=True)
class SurveyView:
    head: str
    meta: str
    intro: str
    rows: tuple[MeasureRow, ...]
    released: bool  # a cluster or region figure is beside the practice's own
    chart: Markup
    skipped: str
    comments_head: str
    comments: tuple[CommentView, ...]


def survey_view(section: PracticeSurvey, lang: Lang) -> SurveyView:
    survey = section.survey
    meta = t(
        "preport.survey.meta",
        lang,
        title=survey.title[lang],
        version=survey.version,
        start=day(section.start, lang),
        end=day(section.end, lang),
        n=integer(section.respondents, lang),
    )
    bars = [
        BarRow(
            _short(item, section, lang),
            None if item.too_few else item.value,
            item.interval,
            OWN,
            missing=_missing(item, lang),
        )
        for item in section.measures
        if item.measure.kind is MeasureKind.TOP_BOX
    ]
    label = t("preport.survey.chart_label", lang)
    chart = interval_bars(bars, scale=100, target=None, upper=1.0, lang=lang, label=label)
    return SurveyView(
        head=t("preport.survey.head", lang),
        meta=meta,
        intro=t("preport.survey.intro", lang, min=integer(section.min_respondents, lang)),
        rows=tuple(_row(item, lang) for item in section.measures),
        released=any(m.cluster or m.region for m in section.measures),
        chart=Markup(chart),
        skipped=_skipped(section, lang),
        comments_head=t("preport.survey.comments", lang, n=integer(len(section.comments), lang)),
        comments=tuple(CommentView(day(c.day, lang), c.text) for c in section.comments),
    )


def _short(item: SurveyMeasureResult, section: PracticeSurvey, lang: Lang) -> str:
    """A bar's label: the domain in one word where the survey's items share one, else the id."""
    domains = {section.survey.items[i].domain for i in item.measure.items}
    if len(domains) == 1:
        try:
            return t(f"preport.survey.domain.{domains.pop()}", lang)
        except KeyError:  # a domain a later survey adds: its measure id is short and exact
            pass
    return item.measure.id


def _missing(item: SurveyMeasureResult, lang: Lang) -> str:
    key = "no_answers" if item.respondents == 0 else "too_few"
    return t(f"preport.survey.{key}", lang)


def _figure(value: float, item: SurveyMeasureResult, lang: Lang) -> str:
    if item.measure.kind is MeasureKind.TOP_BOX:
        return percent(value, 1, lang)
    return number(value, 2, lang)


def _row(item: SurveyMeasureResult, lang: Lang) -> MeasureRow:
    title = item.measure.title[lang]
    n = integer(item.respondents, lang)
    released = {
        "cluster": _released(item.cluster, lang),
        "region": _released(item.region, lang),
        "position": position_text(item.position, "cluster", item.better, lang)
        if item.cluster is not None
        else "",
        "position_class": position_class(item.better),
    }
    if item.value is None or item.too_few:
        return MeasureRow(title, _missing(item, lang), n, "", True, **released)
    own = _figure(item.value, item, lang)
    return MeasureRow(title, own, n, _interval(item, lang), False, **released)


def _released(figure: SurveyMeasureFigure | None, lang: Lang) -> str:
    """'41,2 % (37,3 %–45,1 %)', 'for usikker til at bruge' appended where the release says so."""
    if figure is None:
        return ""
    text = value_text(figure, lang)
    bounds = interval_text(figure, lang)
    if bounds:
        text += f" ({bounds})"
    if figure.uncertain:
        text += f" · {t('preport.uncertain', lang)}"
    return text


def position_text(
    position: Position, compared_with: str | None, better: bool | None, lang: Lang
) -> str:
    """A verdict in the page's words: above or below the cluster (or the rest of it), and
    whether that is better or worse; the same for an indicator and a survey measure."""
    what = t(f"preport.what.{compared_with or 'cluster'}", lang)
    text = t(f"preport.pos.{position.value}", lang, what=what)
    if better is True:
        text += t("preport.pos.better", lang)
    elif better is False:
        text += t("preport.pos.worse", lang)
    return text


def position_class(better: bool | None) -> str:
    return "" if better is None else ("better" if better else "worse")


def _interval(item: SurveyMeasureResult, lang: Lang) -> str:
    if item.interval is None:
        return ""
    if item.measure.kind is MeasureKind.TOP_BOX:
        return interval(item.interval, 100, lang=lang)
    low, high = item.interval
    return f"{number(low, 2, lang)}–{number(high, 2, lang)}"


def _skipped(section: PracticeSurvey, lang: Lang) -> str:
    parts = [
        t(f"preport.survey.skip.{kind}", lang, n=integer(count, lang))
        for kind, count in section.skipped.items()
        if count
    ]
    return t("preport.survey.skipped", lang, items="; ".join(parts)) if parts else ""
