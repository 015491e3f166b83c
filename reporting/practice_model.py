"""The practice report as data: what the practice page draws, and nothing it computes.

The practice agent gathers these values locally (`client.report`: its own
counts and patient lists from its extract, its place in the released
histograms, its trend, its ledger's receipts) and the kit draws them
(`reporting.practice_page`). Own figures are the sums of the per-patient
lists, so the counts and the lists cannot disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import Enum

from indicator_defs import model as m
from indicator_defs.survey_model import Measure, Survey
from reporting.release_document import (
    Distribution,
    IndicatorFigure,
    ReleaseDocument,
    SurveyMeasureFigure,
)


@dataclass(frozen=True)
class PatientContribution:
    """One patient's part of an indicator: 0/1 for patient indicators, capped events otherwise."""

    patient_id: str
    numerator: int
    denominator: int


@dataclass(frozen=True)
class IndicatorPatients:
    indicator_id: str
    unit: m.Unit
    contributions: tuple[PatientContribution, ...]  # every patient counted, sorted by id

    @property
    def numerator(self) -> int:
        return sum(c.numerator for c in self.contributions)

    @property
    def denominator(self) -> int:
        return sum(c.denominator for c in self.contributions)

    @property
    def in_numerator(self) -> tuple[PatientContribution, ...]:
        return tuple(c for c in self.contributions if c.numerator > 0)

    @property
    def not_in_numerator(self) -> tuple[PatientContribution, ...]:
        """Counted in the denominator only: for a higher-is-better indicator, the ones to see."""
        return tuple(c for c in self.contributions if c.numerator == 0)


@dataclass(frozen=True)
class Placement:
    """The own rate in one level's released histogram."""

    level: str  # "cluster" | "region"
    unit: str
    distribution: Distribution
    own_rate: float | None  # None: no own patients in the denominator
    own_bin: int | None  # index of the bin holding the own rate
    share_below: float | None  # only when the release gives deciles
    decile: int | None  # 1..10, only when the release gives deciles
    included: bool  # the practice took part in a round this release sums
    own_mass: float  # how much of one practice the practice counts as here (d / d_min, ≤ 1)

    @property
    def decile_given(self) -> bool:
        return self.decile is not None


@dataclass(frozen=True)
class IndicatorPlacement:
    cluster: Placement | None  # None: the cluster release has no histogram for it
    region: Placement | None

    @property
    def decile_from(self) -> Placement | None:
        """The cluster's decile first; the region's when the cluster's is withheld."""
        for place in (self.cluster, self.region):
            if place is not None and place.decile_given:
                return place
        return None

    @property
    def shown(self) -> Placement | None:
        """The histogram to draw: the one the decile comes from, else the cluster's."""
        return self.decile_from or self.cluster or self.region


@dataclass(frozen=True)
class TrendPoint:
    reference_date: date
    numerator: int
    denominator: int
    cluster: IndicatorFigure | None  # None: not in that period's release
    region: IndicatorFigure | None

    @property
    def rate(self) -> float | None:
        return None if self.denominator == 0 else self.numerator / self.denominator


@dataclass(frozen=True)
class IndicatorTrend:
    indicator_id: str
    points: tuple[TrendPoint, ...]  # one per period, oldest first


class Position(Enum):
    """Own rate against the rest of the cluster (or the cluster), beyond 99.8 % limits."""

    ABOVE = "above"
    BELOW = "below"
    WITHIN_NOISE = "within_noise"
    NO_OWN_RATE = "no_own_rate"  # no patients in the practice's denominator
    SUPPRESSED = "suppressed"  # the cluster's rate is suppressed
    NO_RELEASE = "no_release"  # no cluster release for this date, or indicator absent
    UNCERTAIN = "cluster_uncertain"  # the cluster's survey figure is labelled too uncertain


@dataclass(frozen=True)
class IndicatorReport:
    indicator: m.Indicator
    patients: IndicatorPatients
    cluster: IndicatorFigure | None  # None: not in a downloaded release
    region: IndicatorFigure | None
    position: Position
    better: bool | None  # own rate better than the cluster's (by direction); None if unknown
    placement: IndicatorPlacement | None = None  # None: no released histogram for it
    trend: IndicatorTrend | None = None  # None: no trend was computed
    compared_with: str | None = None  # "rest_of_cluster", "cluster", or None
    nation: IndicatorFigure | None = None  # the country's; None: no national release (yet)

    @property
    def numerator(self) -> int:
        return self.patients.numerator

    @property
    def denominator(self) -> int:
        return self.patients.denominator

    @property
    def rate(self) -> float | None:
        """As a proportion, like the releases' rates and the targets."""
        return None if self.denominator == 0 else self.numerator / self.denominator


@dataclass(frozen=True)
class ReceiptRow:
    """What left the practice in one charged round, from its ledger receipt."""

    reference_date: date
    charged_at: str
    round_id: str
    recipient: str
    manifest_id: str
    manifest_hash: str
    payload_bytes: int
    payload_sha256: str
    coordinates: int
    mechanism: str
    epsilon: float
    delta: float
    sent: bool


@dataclass(frozen=True)
class BudgetYear:
    year: int
    releases: int
    sent: int
    spent: float
    budget: float
    left: float
    delta: float


@dataclass(frozen=True)
class SurveyMeasureResult:
    """One survey measure from the practice's own answers: exact, with a sampling interval."""

    measure: Measure
    value: float | None  # a share in [0, 1] (top box) or a mean score; None: no respondents
    respondents: int
    interval: tuple[float, float] | None  # 95 % sampling interval (client.report.sampling)
    too_few: bool  # fewer respondents than the minimum: shown in words, not as a figure
    # The released figures beside it and the verdict against the cluster (`build_report`).
    cluster: SurveyMeasureFigure | None = None
    region: SurveyMeasureFigure | None = None
    position: Position = Position.NO_RELEASE
    better: bool | None = None


@dataclass(frozen=True)
class SurveyComment:
    """A free-text answer: shown in this local report only, never sent or stored elsewhere."""

    day: date
    text: str


@dataclass(frozen=True)
class PracticeSurvey:
    survey: Survey
    start: date  # the period: the year ending at the report's date
    end: date
    respondents: int
    measures: tuple[SurveyMeasureResult, ...]  # in the survey's order
    comments: tuple[SurveyComment, ...]  # in date order
    skipped: dict[str, int]  # rows per skip rule (client.engine.survey.SKIP_KINDS)
    min_respondents: int


@dataclass(frozen=True)
class PracticeReport:
    practice_id: str
    cluster_id: str
    as_of: date
    generated_at: str
    indicators: tuple[IndicatorReport, ...]
    cluster_release: ReleaseDocument | None
    region_release: ReleaseDocument | None
    other_release_dates: tuple[date, ...]
    receipts: tuple[ReceiptRow, ...]
    budget: tuple[BudgetYear, ...]
    nation_release: ReleaseDocument | None = None  # the national tier's sum of the regions
    surveys: tuple[PracticeSurvey, ...] = ()  # patient experience, from the own answers only
    comparisons: int = 0  # verdicts the page gives (indicators and survey measures); 0: indicators
