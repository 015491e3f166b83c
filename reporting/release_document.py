"""The coordinator's release documents, typed: one parser, one writer, every reader.

A release document is what the coordinator publishes for one cluster or
region and period: `server.documents` builds it from the store, agents
download it byte for byte, and results.json files one per unit. The region,
cluster and practice reports and the FHIR export read it only through these
frozen dataclasses, so a change of what a release carries is made here: the
fields, `parse_release` and `ReleaseDocument.to_json`.

Suppressed figures stay None with their reason, never zero. A document that
does not parse is an error naming the file and the key, never a silently
empty comparison.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from common import boundedjson
from common.errors import FileKeyError
from privacy.intervals import noise_interval
from reporting.release_text import got, say

Level = Literal["cluster", "region", "nation"]
# "nation": the national tier's sum of the regions' releases (`national.combine`), never a round's
LEVELS: tuple[Level, ...] = ("cluster", "region", "nation")
DECILES = 9  # the 1st..9th decile
WITHHELD_REASONS = ("too_few_practices", "too_noisy", "empty")
# How a region's aggregate used the period's region-wide round (`server.releasing`): its
# totals combine both when both rounds summed the same practices, else come from the
# cluster sums alone, and this says why.
SAME_CONTRIBUTORS = "same_contributors"
REGION_ROUND_TOTALS = (
    SAME_CONTRIBUTORS,
    "contributors_differ",
    "region_round_not_released",
    "exact",
)
_CELL_FIELDS = ("numerator", "denominator", "rate")
_MAX_FILE_BYTES = 64 * 1024 * 1024  # results.json holds every unit of a period


class ReleaseDocumentError(FileKeyError):
    """A release document (or results.json) that this version cannot read."""


# ---------------------------------------------------------------------------
# The document


class _Released:
    """What a reader asks of a released cell, whether an indicator's total or one stratum."""

    rate: float | None
    denominator: int | None
    noise_sd: float | None
    suppressed: Mapping[str, str]
    released_interval: tuple[float, float] | None

    @property
    def suppressed_reason(self) -> str | None:
        """Why the rate is hidden (the rate's own reason first), or None if it is shown."""
        if self.rate is not None:
            return None
        reason = self.suppressed.get("rate")
        # "numerator_suppressed" only points on: the numerator's own reason says why.
        for name in ("numerator", "denominator"):
            if reason == f"{name}_suppressed" and name in self.suppressed:
                return self.suppressed[name]
        return reason or next(iter(self.suppressed.values()), "missing")

    @property
    def interval_source(self) -> Literal["released", "noise"] | None:
        """ "released" (sampling and noise), "noise" (older releases: noise only) or None."""
        if self.rate is None:
            return None
        return "released" if self.released_interval is not None else "noise"

    @property
    def interval(self) -> tuple[float, float] | None:
        """The released 95 % interval; for older releases without one, that of the noise only.

        The fallback leaves out the patients' own sampling variation, so a
        reader that shows it says so (`interval_source`).
        """
        if self.rate is None:
            return None
        if self.released_interval is not None:
            return self.released_interval
        if not self.denominator:
            return None
        i = noise_interval(self.rate, self.denominator, self.noise_sd or 0.0)
        return (i.low, i.high)


@dataclass(frozen=True)
class StratumFigure(_Released):
    """One age/sex stratum of an indicator (e.g. "F:18-39")."""

    stratum: str
    numerator: int | None
    denominator: int | None
    rate: float | None
    noise_sd: float | None
    suppressed: Mapping[str, str]
    released_interval: tuple[float, float] | None = None
    uncertain: bool = False  # the interval is too wide to interpret (DP releases)
    rate_noise_sd: float | None = None
    cells: Mapping[str, int] = field(default_factory=dict)  # the raw noisy cells, as released
    cell_noise_sd: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class IndicatorFigure(_Released):
    """One indicator's released total at one level, with its strata."""

    indicator_id: str
    numerator: int | None
    denominator: int | None
    rate: float | None  # a proportion (or events per patient); None when suppressed
    noise_sd: float | None  # of the numerator
    suppressed: Mapping[str, str]  # "numerator" | "denominator" | "rate" → reason code
    released_interval: tuple[float, float] | None = None  # 95 %: sampling and noise
    uncertain: bool = False  # the interval is too wide to interpret (DP releases)
    rate_noise_sd: float | None = None  # of the rate, from the least-squares estimate
    cells: Mapping[str, int] = field(default_factory=dict)  # the raw noisy cells, as released
    cell_noise_sd: Mapping[str, float] = field(default_factory=dict)
    strata: tuple[StratumFigure, ...] = ()


@dataclass(frozen=True)
class Distribution:
    """The released histogram of practice rates for one indicator (`server.releasing`).

    Bins count practices, not patients, smoothed: a rate is split between the
    two nearest bin centres, and a practice with a denominator below
    `full_weight_denominator` counts as a fraction of a practice.
    """

    indicator_id: str
    bins: tuple[float, ...]  # practices per bin (noisy, shown ≥ 0)
    edges: tuple[float, ...]  # equal-width over [0, 1]; len(bins) + 1
    bin_noise_sd: float  # SD of each bin, in practices (0 without DP)
    practices: int  # contributing practices
    full_weight_denominator: int
    deciles: tuple[float, ...] | None  # nine rates, or None with `deciles_withheld`
    deciles_withheld: str | None


@dataclass(frozen=True)
class SurveyMeasureFigure:
    """One survey measure's released figure (`privacy.survey_release`): a share (0–1) or a
    mean score, its 95 % interval (noise and chance), and whether it is too uncertain."""

    measure_id: str
    survey_id: str
    kind: str  # "top_box" or "mean"
    value: float | None  # None without respondents
    interval: tuple[float, float] | None
    respondents: int
    value_noise_sd: float | None
    uncertain: bool
    reason: str | None  # SURVEY_REASONS, when uncertain
    cells: Mapping[str, int] = field(default_factory=dict)  # units, respondents (noisy)
    cell_noise_sd: Mapping[str, float] = field(default_factory=dict)
    period: tuple[date, date] | None = None  # the answers' dates counted (manifest's period)


SURVEY_KINDS = ("top_box", "mean")
SURVEY_REASONS = ("no_respondents", "too_few_respondents", "too_wide")


@dataclass(frozen=True)
class RegionRoundNote:
    """The period's region-wide round, as a region's aggregate of its cluster sums used it."""

    round_id: str
    totals: str  # one of REGION_ROUND_TOTALS

    @property
    def combined(self) -> bool:
        """The totals are one least-squares estimate from the cluster sums and this round."""
        return self.totals == SAME_CONTRIBUTORS


@dataclass(frozen=True)
class Definition:
    """The indicator definition a release was computed under, as its manifest pinned it."""

    content_hash: str
    version: int | None  # None where the manifest pinned the hash only


@dataclass(frozen=True)
class ReleaseDocument:
    """One cluster's or region's release of one period, as published."""

    release_id: int | str
    created_at: str
    level: Level
    unit: str  # cluster id or region name
    reference_date: date
    round_ids: tuple[str, ...]
    manifest_hash: str
    contributors: int | None
    mechanism: str | None
    epsilon_per_release: float | None  # ∞ for a release without DP
    figures: Mapping[str, IndicatorFigure]
    distributions: Mapping[str, Distribution] = field(default_factory=dict)
    delta_per_release: float | None = None
    parameters: Mapping[str, Any] | None = None  # the mechanism's, as the manifest priced them
    list_size: int | None = None  # None when absent or suppressed (see list_size_suppressed)
    list_size_suppressed: bool | None = None
    scope: str = "cluster"  # "region" for a region-wide round's release (strata, distributions)
    region_round: RegionRoundNote | None = None  # a region's aggregate: the region-wide round
    # Per indicator; empty in releases made before definitions were recorded.
    definitions: Mapping[str, Definition] = field(default_factory=dict)
    # Per survey measure, in the manifest's order; empty when the manifest has no survey.
    surveys: Mapping[str, SurveyMeasureFigure] = field(default_factory=dict)

    @property
    def order_key(self) -> tuple[date, str, str]:
        """Newest last: by period, then by when it was made."""
        return (self.reference_date, self.created_at, str(self.release_id))

    def rate(self, indicator_id: str) -> float | None:
        """The released total rate of one indicator; None if hidden or not in this release."""
        figure = self.figures.get(indicator_id)
        return None if figure is None else figure.rate

    def shares_round_with(self, other: ReleaseDocument) -> bool:
        """A region's release sums the cluster rounds it lists: do the two share a round?"""
        return bool(set(self.round_ids) & set(other.round_ids))

    def to_json(self) -> dict[str, Any]:
        """The published JSON: what the coordinator serves and results.json nests."""
        extras: dict[str, Any] = {}
        for name, value in (
            ("contributors", self.contributors),
            ("mechanism", self.mechanism),
            ("delta_per_release", self.delta_per_release),
            ("parameters", None if self.parameters is None else dict(self.parameters)),
            ("list_size_suppressed", self.list_size_suppressed),
            ("scope", None if self.scope == "cluster" else self.scope),
        ):
            if value is not None:
                extras[name] = value
        if self.epsilon_per_release is not None:
            eps = self.epsilon_per_release
            extras["epsilon_per_release"] = eps if math.isfinite(eps) else "inf"
        if self.list_size is not None or self.list_size_suppressed is not None:
            extras["list_size"] = self.list_size
        if self.definitions:
            extras["definitions"] = {
                k: {"content_hash": d.content_hash}
                | ({} if d.version is None else {"version": d.version})
                for k, d in self.definitions.items()
            }
        if self.distributions:
            extras["distributions"] = {
                k: _distribution_json(d) for k, d in self.distributions.items()
            }
        if self.region_round is not None:
            note = self.region_round
            extras["region_round"] = {"round_id": note.round_id, "totals": note.totals}
        if self.surveys:
            extras["surveys"] = {k: _survey_json(f) for k, f in self.surveys.items()}
        return {
            "release_id": self.release_id,
            "created_at": self.created_at,
            "level": self.level,
            "unit": self.unit,
            "reference_date": self.reference_date.isoformat(),
            "round_ids": list(self.round_ids),
            "manifest_hash": self.manifest_hash,
            **dict(sorted(extras.items())),  # the order the store has always returned them in
            "indicators": [_indicator_json(f) for f in self.figures.values()],
        }


@dataclass(frozen=True)
class AbortedRound:
    """A round that released nothing; `cluster` is the region for a region-wide round."""

    round_id: str
    cluster: str
    reason: str


@dataclass(frozen=True)
class PeriodResults:
    """results.json: every cluster's and region's release of one period, for machines.

    `regions` are the regions' aggregates of their cluster sums (totals);
    `region_rounds` the releases of the period's region-wide rounds (strata
    and practice-rate distributions), by region. `history` (earlier periods,
    for trends), `dp` and `dropouts` are added by the commands that write a
    report's input; None means the key is absent. `nation` is the country's
    release of the period, where the region imported one (`national.combine`).
    """

    reference_date: date
    clusters: Mapping[str, ReleaseDocument]
    regions: Mapping[str, ReleaseDocument]
    aborted_rounds: tuple[AbortedRound, ...] = ()
    history: tuple[PeriodResults, ...] | None = None
    dp: bool | None = None
    dropouts: Mapping[str, str] | None = None
    region_rounds: Mapping[str, ReleaseDocument] = field(default_factory=dict)
    nation: ReleaseDocument | None = None

    def periods(self) -> list[PeriodResults]:
        """Earlier periods (from `history`) and this one, oldest first."""
        earlier = sorted(self.history or (), key=lambda p: p.reference_date)
        return [*earlier, self]

    def release(self, unit: str) -> ReleaseDocument | None:
        """The release of a cluster or region of this period; None if it released nothing."""
        return self.clusters.get(unit) or self.regions.get(unit)

    def region_round(self, region: str | None) -> ReleaseDocument | None:
        """The release of the region's region-wide round of this period, if one ran."""
        return None if region is None else self.region_rounds.get(region)

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "reference_date": self.reference_date.isoformat(),
            "clusters": {k: d.to_json() for k, d in self.clusters.items()},
            "regions": {k: d.to_json() for k, d in self.regions.items()},
            "region_rounds": {k: d.to_json() for k, d in self.region_rounds.items()},
            "aborted_rounds": [
                {"round_id": a.round_id, "cluster": a.cluster, "reason": a.reason}
                for a in self.aborted_rounds
            ],
        }
        if self.history is not None:
            doc["history"] = [p.to_json() for p in self.history]
        if self.dp is not None:
            doc["dp"] = self.dp
        if self.dropouts is not None:
            doc["dropouts"] = dict(self.dropouts)
        if self.nation is not None:
            doc["nation"] = self.nation.to_json()
        return doc


def _cell_json(cell: StratumFigure | IndicatorFigure, numerator: int | None) -> dict[str, Any]:
    interval = cell.released_interval
    out: dict[str, Any] = {
        "numerator": numerator,
        "denominator": cell.denominator,
        "rate": cell.rate,
        "interval": None if interval is None else list(interval),
        "noise_sd": cell.noise_sd,
        "suppressed": dict(cell.suppressed),
    }
    if cell.uncertain:
        out["uncertain"] = True
    if cell.rate_noise_sd is not None:
        out["rate_noise_sd"] = cell.rate_noise_sd
    if cell.cells:
        out["cells"] = dict(cell.cells)
        out["cell_noise_sd"] = dict(cell.cell_noise_sd)
    return out


def _indicator_json(figure: IndicatorFigure) -> dict[str, Any]:
    strata = [{"stratum": s.stratum, **_cell_json(s, s.numerator)} for s in figure.strata]
    return {"id": figure.indicator_id, "strata": strata, **_cell_json(figure, figure.numerator)}


def _survey_json(f: SurveyMeasureFigure) -> dict[str, Any]:
    return {
        "survey": f.survey_id,
        "kind": f.kind,
        "value": f.value,
        "interval": None if f.interval is None else list(f.interval),
        "respondents": f.respondents,
        "value_noise_sd": f.value_noise_sd,
        "uncertain": f.uncertain,
        "reason": f.reason,
        "cells": dict(f.cells),
        "cell_noise_sd": dict(f.cell_noise_sd),
        **({} if f.period is None else {"period": [d.isoformat() for d in f.period]}),
    }


def _distribution_json(d: Distribution) -> dict[str, Any]:
    return {
        "bin_noise_sd": d.bin_noise_sd,
        "bins": list(d.bins),
        "deciles": None if d.deciles is None else list(d.deciles),
        "deciles_withheld": d.deciles_withheld,
        "edges": list(d.edges),
        "full_weight_denominator": d.full_weight_denominator,
        "practices": d.practices,
    }


# ---------------------------------------------------------------------------
# The one parser


@dataclass(frozen=True)
class _At:
    """Where in which file a value sits, for the error that names it."""

    source: str
    key: str = ""

    def __truediv__(self, name: str | int) -> _At:
        if isinstance(name, int):
            return _At(self.source, f"{self.key}[{name}]")
        return _At(self.source, f"{self.key}.{name}" if self.key else name)

    def error(self, message: str) -> ReleaseDocumentError:
        return ReleaseDocumentError(self.source, self.key or None, message)


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _object(value: Any, at: _At) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise at.error(say("object", got=got(value)))
    return value


def _required(doc: dict[str, Any], name: str, kinds: tuple[type, ...], at: _At) -> Any:
    if name not in doc:
        raise (at / name).error(say("missing"))
    value = doc[name]
    if isinstance(value, bool) or not isinstance(value, kinds):
        kind = "/".join(k.__name__ for k in kinds)
        raise (at / name).error(say("kind", kind=kind, got=got(value)))
    return value


def _number(doc: dict[str, Any], name: str, at: _At) -> float | None:
    value = doc.get(name)
    if value is not None and not _finite(value):
        raise (at / name).error(say("number_or_null", got=got(value)))
    return value


def _count(doc: dict[str, Any], name: str, at: _At) -> int | None:
    value = doc.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise (at / name).error(say("whole_or_null", got=got(value)))
    return value


def _at_least(doc: dict[str, Any], name: str, least: int, at: _At) -> int:
    value = _required(doc, name, (int,), at)
    if value < least:
        raise (at / name).error(say("at_least", least=least, got=value))
    return value


def _numbers(value: Any, at: _At) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise at.error(say("numbers", got=got(value)))
    for i, v in enumerate(value):
        if not _finite(v):
            raise (at / i).error(say("number", got=got(v)))
    return tuple(value)


def _reasons(entry: dict[str, Any], at: _At) -> dict[str, str]:
    suppressed = entry.get("suppressed") or {}
    if not isinstance(suppressed, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in suppressed.items()
    ):
        raise (at / "suppressed").error(say("reasons"))
    return dict(suppressed)


def _interval(entry: dict[str, Any], at: _At) -> tuple[float, float] | None:
    """`[low, high]` or null; absent in releases made before intervals were released."""
    value = entry.get("interval")
    if value is None:
        return None
    at = at / "interval"
    if not isinstance(value, list) or len(value) != 2 or not all(_finite(v) for v in value):
        raise at.error(say("interval", got=got(value)))
    low, high = value
    if not 0 <= low <= high:
        raise at.error(say("interval_order", got=got(value)))
    if entry.get("rate") is None:
        raise at.error(say("interval_suppressed"))
    return (low, high)


def _cell(entry: dict[str, Any], at: _At) -> dict[str, Any]:
    uncertain = entry.get("uncertain", False)
    if not isinstance(uncertain, bool):
        raise (at / "uncertain").error(say("bool"))
    cells = entry.get("cells") or {}
    if not isinstance(cells, dict) or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
        for k, v in cells.items()
    ):
        raise (at / "cells").error(say("cells"))
    cell_sd = entry.get("cell_noise_sd") or {}
    if not isinstance(cell_sd, dict) or not all(
        isinstance(k, str) and _finite(v) and v >= 0 for k, v in cell_sd.items()
    ):
        raise (at / "cell_noise_sd").error(say("cell_sds"))
    return {
        "numerator": _count(entry, "numerator", at),
        "denominator": _count(entry, "denominator", at),
        "rate": _number(entry, "rate", at),
        "noise_sd": _number(entry, "noise_sd", at),
        "suppressed": _reasons(entry, at),
        "released_interval": _interval(entry, at),
        "uncertain": uncertain,
        "rate_noise_sd": _number(entry, "rate_noise_sd", at),
        "cells": dict(cells),
        "cell_noise_sd": dict(cell_sd),
    }


def _figure(entry: Any, at: _At) -> IndicatorFigure:
    entry = _object(entry, at)
    strata = entry.get("strata") or []
    if not isinstance(strata, list):
        raise (at / "strata").error(say("list", got=got(strata)))
    parsed = []
    for i, raw in enumerate(strata):
        s = _object(raw, at / "strata" / i)
        label = _required(s, "stratum", (str,), at / "strata" / i)
        parsed.append(StratumFigure(label, **_cell(s, at / "strata" / i)))
    return IndicatorFigure(
        _required(entry, "id", (str,), at), **_cell(entry, at), strata=tuple(parsed)
    )


def _distribution(indicator_id: Any, entry: Any, at: _At) -> Distribution:
    """One `distributions` entry, checked so that placing a rate in it is well defined."""
    if not isinstance(indicator_id, str) or not indicator_id:
        raise at.error(say("indicator_keys"))
    at = at / indicator_id
    entry = _object(entry, at)
    bins = _numbers(_required(entry, "bins", (list,), at), at / "bins")
    if any(b < 0 for b in bins):
        raise (at / "bins").error(say("negative_bin"))
    edges = _numbers(_required(entry, "edges", (list,), at), at / "edges")
    n = len(bins)
    if len(edges) != n + 1 or any(abs(e - k / n) > 1e-6 for k, e in enumerate(edges)):
        raise (at / "edges").error(say("edges", count=n + 1))
    sd = _required(entry, "bin_noise_sd", (int, float), at)
    if not math.isfinite(sd) or sd < 0:
        raise (at / "bin_noise_sd").error(say("non_negative", got=got(sd)))
    raw, withheld = entry.get("deciles"), entry.get("deciles_withheld")
    deciles = None
    if raw is not None:
        deciles = _numbers(raw, at / "deciles")
        if len(deciles) != DECILES or any(b < a for a, b in pairwise(deciles)):
            raise (at / "deciles").error(say("deciles"))
        if withheld is not None:
            raise (at / "deciles_withheld").error(say("deciles_given"))
    elif withheld not in WITHHELD_REASONS:
        raise (at / "deciles_withheld").error(
            say("withheld", allowed=", ".join(WITHHELD_REASONS), got=got(withheld))
        )
    return Distribution(
        indicator_id=indicator_id,
        bins=bins,
        edges=edges,
        bin_noise_sd=sd,
        practices=_at_least(entry, "practices", 0, at),
        full_weight_denominator=_at_least(entry, "full_weight_denominator", 1, at),
        deciles=deciles,
        deciles_withheld=withheld,
    )


def _distributions(doc: dict[str, Any], at: _At) -> dict[str, Distribution]:
    """The `distributions` object; absent in releases made before histograms were released."""
    value = doc.get("distributions")
    if value is None:
        return {}
    at = at / "distributions"
    if not isinstance(value, dict):
        raise at.error(say("object", got=got(value)))
    return {k: _distribution(k, v, at) for k, v in value.items()}


def parse_distributions(source: str, value: Any) -> dict[str, Distribution]:
    """A release's `distributions` on their own (the coordinator keeps them with the release)."""
    return _distributions({"distributions": value}, _At(source))


def _survey(measure_id: str, entry: Any, at: _At) -> SurveyMeasureFigure:
    """One `surveys` entry; a value without an interval, or outside it, is refused."""
    at = at / measure_id
    entry = _object(entry, at)
    kind = _required(entry, "kind", (str,), at)
    if kind not in SURVEY_KINDS:
        raise (at / "kind").error(say("one_of", allowed=", ".join(SURVEY_KINDS), got=got(kind)))
    value = _number(entry, "value", at)
    interval = entry.get("interval")
    if interval is not None:
        if not isinstance(interval, list) or len(interval) != 2 or not all(map(_finite, interval)):
            raise (at / "interval").error(say("interval", got=got(interval)))
        if value is None or not interval[0] <= value <= interval[1]:
            raise (at / "interval").error(say("interval_holds"))
    elif value is not None:
        raise (at / "interval").error(say("value_interval"))
    uncertain = entry.get("uncertain")
    if not isinstance(uncertain, bool):
        raise (at / "uncertain").error(say("bool"))
    reason = entry.get("reason")
    if reason is not None and reason not in SURVEY_REASONS:
        raise (at / "reason").error(
            say("one_of_or_null", allowed=", ".join(SURVEY_REASONS), got=got(reason))
        )
    cells = entry.get("cells") or {}
    noise = entry.get("cell_noise_sd") or {}
    if not isinstance(cells, dict) or not all(_whole(v) for v in cells.values()):
        raise (at / "cells").error(say("per_cell_whole"))
    if not isinstance(noise, dict) or not all(_finite(v) for v in noise.values()):
        raise (at / "cell_noise_sd").error(say("per_cell_number"))
    return SurveyMeasureFigure(
        measure_id,
        _required(entry, "survey", (str,), at),
        kind,
        value,
        None if interval is None else (interval[0], interval[1]),
        _at_least(entry, "respondents", 0, at),
        _number(entry, "value_noise_sd", at),
        uncertain,
        reason,
        dict(cells),
        dict(noise),
        _survey_period(entry, at),
    )


def _survey_period(entry: dict[str, Any], at: _At) -> tuple[date, date] | None:
    value = entry.get("period")
    if value is None:
        return None
    at = at / "period"
    if not isinstance(value, list) or len(value) != 2 or not all(isinstance(v, str) for v in value):
        raise at.error(say("period", got=got(value)))
    try:
        first, last = (date.fromisoformat(v) for v in value)
    except ValueError:
        raise at.error(say("iso_dates")) from None
    if first > last:
        raise at.error(say("first_after_last"))
    return first, last


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _surveys_at(value: Any, at: _At) -> dict[str, SurveyMeasureFigure]:
    if value is None:
        return {}
    at = at / "surveys"
    return {k: _survey(k, v, at) for k, v in _object(value, at).items()}


def parse_surveys(source: str, value: Any) -> dict[str, SurveyMeasureFigure]:
    """A release's `surveys` (absent: no survey in the manifest, or an older release)."""
    return _surveys_at(value, _At(source))


def _definitions(doc: dict[str, Any], at: _At) -> dict[str, Definition]:
    """`definitions`: indicator id → its pinned content hash and version; absent in older ones."""
    value = doc.get("definitions")
    if value is None:
        return {}
    at = at / "definitions"
    out = {}
    for indicator_id, entry in _object(value, at).items():
        here = at / indicator_id
        entry = _object(entry, here)
        version = entry.get("version")
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or version < 1
        ):
            raise (here / "version").error(say("version", got=got(version)))
        out[indicator_id] = Definition(_required(entry, "content_hash", (str,), here), version)
    return out


def _epsilon(doc: dict[str, Any], at: _At) -> float | None:
    """ε per release; a release without DP (`--no-dp`) states it as the string "inf"."""
    if doc.get("epsilon_per_release") == "inf":
        return math.inf
    return _number(doc, "epsilon_per_release", at)


def _scope(doc: dict[str, Any], at: _At) -> str:
    """ "cluster" (absent) or "region": which kind of round the release comes from."""
    value = doc.get("scope", "cluster")
    if value not in ("cluster", "region"):
        raise (at / "scope").error(say("one_of", allowed="cluster, region", got=got(value)))
    return str(value)


def _region_round(doc: dict[str, Any], at: _At) -> RegionRoundNote | None:
    """A region's aggregate: how it used the period's region-wide round (absent: no such round)."""
    value = doc.get("region_round")
    if value is None:
        return None
    at = at / "region_round"
    entry = _object(value, at)
    totals = _required(entry, "totals", (str,), at)
    if totals not in REGION_ROUND_TOTALS:
        raise (at / "totals").error(
            say("one_of", allowed=", ".join(REGION_ROUND_TOTALS), got=got(totals))
        )
    return RegionRoundNote(_required(entry, "round_id", (str,), at), totals)


def _placed(doc: dict[str, Any], name: str, implied: str | None, at: _At) -> str:
    """A field that results.json also implies by where it files the document; they must agree."""
    if implied is not None and name not in doc:
        return implied
    value = _required(doc, name, (str,), at)
    if implied is not None and value != implied:
        raise (at / name).error(say("filed_under", implied=repr(implied), got=got(value)))
    return value


def _release(
    doc: Any,
    at: _At,
    *,
    level: str | None = None,
    unit: str | None = None,
    reference_date: str | None = None,
    scope: str | None = None,
) -> ReleaseDocument:
    if not isinstance(doc, dict):
        raise at.error(say("release_object"))
    placed_level = _placed(doc, "level", level, at)
    if placed_level not in LEVELS:
        raise (at / "level").error(say("one_of", allowed=", ".join(LEVELS), got=got(placed_level)))
    ref = _placed(doc, "reference_date", reference_date, at)
    try:
        period = date.fromisoformat(ref)
    except ValueError:
        raise (at / "reference_date").error(say("iso_date")) from None
    round_ids = _required(doc, "round_ids", (list,), at)
    if not all(isinstance(r, str) for r in round_ids):
        raise (at / "round_ids").error(say("round_ids"))
    mechanism = doc.get("mechanism")
    if mechanism is not None and not isinstance(mechanism, str):
        raise (at / "mechanism").error(say("mechanism", got=got(mechanism)))
    parameters = doc.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise (at / "parameters").error(say("object", got=got(parameters)))
    suppressed_list = doc.get("list_size_suppressed")
    if suppressed_list is not None and not isinstance(suppressed_list, bool):
        raise (at / "list_size_suppressed").error(say("bool"))
    indicators = _required(doc, "indicators", (list,), at)
    figures = [_figure(entry, at / "indicators" / i) for i, entry in enumerate(indicators)]
    released_scope = _scope(doc, at)
    if scope is not None and released_scope != scope:
        raise (at / "scope").error(say("filed_scope", scope=scope, got=released_scope))
    return ReleaseDocument(
        release_id=_required(doc, "release_id", (int, str), at),
        created_at=_required(doc, "created_at", (str,), at),
        level=placed_level,  # checked against LEVELS above
        unit=_placed(doc, "unit", unit, at),
        reference_date=period,
        round_ids=tuple(round_ids),
        manifest_hash=_required(doc, "manifest_hash", (str,), at),
        contributors=_count(doc, "contributors", at),
        mechanism=mechanism,
        epsilon_per_release=_epsilon(doc, at),
        figures={f.indicator_id: f for f in figures},
        distributions=_distributions(doc, at),
        delta_per_release=_number(doc, "delta_per_release", at),
        parameters=parameters,
        list_size=_count(doc, "list_size", at),
        list_size_suppressed=suppressed_list,
        scope=released_scope,
        region_round=_region_round(doc, at),
        definitions=_definitions(doc, at),
        surveys=_surveys_at(doc.get("surveys"), at),
    )


def parse_release(source: Path | str, doc: Any) -> ReleaseDocument:
    """A release document (the JSON the coordinator serves) as typed values; `source` (a
    file, or what the document is) is named in every error."""
    return _release(doc, _At(str(source)))


def _aborted(value: Any, at: _At) -> tuple[AbortedRound, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise at.error(say("list", got=got(value)))
    out = []
    for i, raw in enumerate(value):
        entry = _object(raw, at / i)
        out.append(
            AbortedRound(
                round_id=_required(entry, "round_id", (str,), at / i),
                cluster=_required(entry, "cluster", (str,), at / i),
                reason=_required(entry, "reason", (str,), at / i),
            )
        )
    return tuple(out)


def _period(doc: Any, at: _At, *, nested: bool) -> PeriodResults:
    if not isinstance(doc, dict):
        raise at.error(say("results_object"))
    ref = _required(doc, "reference_date", (str,), at)
    try:
        period = date.fromisoformat(ref)
    except ValueError:
        raise (at / "reference_date").error(say("iso_date")) from None
    units: dict[str, dict[str, ReleaseDocument]] = {}
    for key, level, scope in (
        ("clusters", "cluster", "cluster"),
        ("regions", "region", "cluster"),
        ("region_rounds", "region", "region"),
    ):
        # region_rounds: absent in results written before region-wide rounds ran
        raw = doc.get(key, {}) if key == "region_rounds" else _required(doc, key, (dict,), at)
        filed = _object(raw, at / key)
        units[key] = {
            unit: _release(
                d, at / key / unit, level=level, unit=unit, reference_date=ref, scope=scope
            )
            for unit, d in filed.items()
        }
    history = doc.get("history")
    if history is not None:
        if nested or not isinstance(history, list):
            raise (at / "history").error(say("history"))
        history = tuple(_period(p, at / "history" / i, nested=True) for i, p in enumerate(history))
    dp = doc.get("dp")
    if dp is not None and not isinstance(dp, bool):
        raise (at / "dp").error(say("bool"))
    dropouts = doc.get("dropouts")
    if dropouts is not None and not (
        isinstance(dropouts, dict) and all(isinstance(v, str) for v in dropouts.values())
    ):
        raise (at / "dropouts").error(say("dropouts"))
    nation = doc.get("nation")  # absent unless the region imported the country's release
    if nation is not None:
        nation = _release(nation, at / "nation", level="nation", reference_date=ref)
    return PeriodResults(
        reference_date=period,
        clusters=units["clusters"],
        regions=units["regions"],
        aborted_rounds=_aborted(doc.get("aborted_rounds"), at / "aborted_rounds"),
        history=history,
        dp=dp,
        dropouts=dropouts,
        region_rounds=units["region_rounds"],
        nation=nation,
    )


def parse_results(source: Path | str, doc: Any) -> PeriodResults:
    """results.json as typed values; its releases need not repeat the level, unit and
    period they are filed under, but must agree with them where they do."""
    return _period(doc, _At(str(source)), nested=False)


def _load(path: Path) -> Any:
    """A downloaded file came from the coordinator: read it within bounds, like the wire."""
    return boundedjson.load_file(path, max_bytes=_MAX_FILE_BYTES, error=ReleaseDocumentError)


def read_release(path: Path) -> ReleaseDocument:
    """One downloaded release file."""
    return parse_release(path, _load(path))


def read_results(path: Path) -> PeriodResults:
    """A results.json written by `klynge demo`."""
    return parse_results(path, _load(path))
