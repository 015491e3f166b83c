"""The indicator query model: immutable nodes that say *what* is counted.

Like ehrQL's query model, these nodes know nothing about pandas or SQL. Two
engines (`client.engine.fast` and `client.engine.reference`) interpret them,
and tests check that the engines agree. Semantics (binding, issue 2), at a
reference date R:
- listed: list_start <= R, list_end empty or > R, death_date empty or > R;
- active condition: start_date <= R, end_date empty or > R;
- a window of N days holds dates d with R - N days < d <= R; "all history"
  holds every d <= R; events after R never count;
- age is completed years at R;
- the latest lab value is the value of the most recent result in the window
  that has a value; when several share that date, the highest value counts.

Episodes and deaths (issue 15):
- a prescription dated d with a supply of s days covers the days d + k for
  whole k >= 0 with k < s; s is `days_supply` where the extract gives it,
  otherwise the DDD stand-in (one DDD a day), otherwise nothing. Days covered
  are counted inside the window only; overlapping supplies count once;
- an anchor is a distinct date a of a matching row (conditions: start_date)
  with E - N < a <= E, where E = R - follow_up_days, so every episode's
  follow-up has ended by R. With new_after_days = M, a counts only when the
  patient was on the list from a - M (list_start <= a - M) and has no
  matching row dated a - M <= d < a: the absence was observed;
- a `with` requirement holds for an anchor a when a matching row is dated
  a + from_day <= d <= a + to_day (to_day <= follow_up_days, so d <= R);
- died in a window: death_date D in the window, and on the list that day
  (list_start <= D, list_end empty or >= D: a list that ends on the day of
  death still counts); "at death" evaluates its criterion with R moved to D,
  and is false for anyone alive on R.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

from indicator_defs.codelists import Codelist


class ConditionStatus(Enum):
    ACTIVE = "active"  # active on R
    EVER = "ever"  # started on or before R, whether ended or not


class Comparator(Enum):
    LT = "lt"
    LE = "le"
    GE = "ge"
    GT = "gt"

    def holds(self, value: float, threshold: float) -> bool:
        if self is Comparator.LT:
            return value < threshold
        if self is Comparator.LE:
            return value <= threshold
        if self is Comparator.GE:
            return value >= threshold
        return value > threshold


@dataclass(frozen=True)
class Window:
    """`days=None` means all history up to and including R."""

    days: int | None

    def describe(self, lang: Literal["da", "en"]) -> str:
        if self.days is None:
            return "nogensinde" if lang == "da" else "ever"
        return f"seneste {self.days} dage" if lang == "da" else f"in the last {self.days} days"


# --- patient-level criteria -------------------------------------------------


@dataclass(frozen=True)
class Listed:
    pass


@dataclass(frozen=True)
class Age:
    """Completed years at R, both bounds inclusive."""

    min: int | None
    max: int | None


@dataclass(frozen=True)
class Sex:
    value: Literal["F", "M"]


@dataclass(frozen=True)
class HasCondition:
    codelists: tuple[Codelist, ...]
    status: ConditionStatus | None  # exactly one of status and started_within is set
    started_within: Window | None


@dataclass(frozen=True)
class HasPrescription:
    codelists: tuple[Codelist, ...]
    window: Window
    min_count: int = 1
    min_ddd: float | None = None  # sum of DDD over the matching prescriptions


@dataclass(frozen=True)
class LatestValue:
    comparator: Comparator
    threshold: float


@dataclass(frozen=True)
class HasLab:
    codelists: tuple[Codelist, ...]
    window: Window
    min_count: int = 1
    latest: LatestValue | None = None  # if set, the latest valued result must satisfy it


@dataclass(frozen=True)
class HasEncounter:
    codelists: tuple[Codelist, ...]
    window: Window
    min_count: int = 1


@dataclass(frozen=True)
class Supply:
    """Prescriptions of these lists; each covers its days' supply from its date."""

    codelists: tuple[Codelist, ...]


@dataclass(frozen=True)
class DaysCovered:
    """At least `min_days` days in the window on which every one of `supplies` covers.

    One supply: days covered (OP-01). Two: days of concurrent use (OP-02).
    """

    supplies: tuple[Supply, ...]
    window: Window  # always a number of days
    min_days: int


@dataclass(frozen=True)
class Died:
    """Died in the window while on the practice list (the deceased population)."""

    window: Window


@dataclass(frozen=True)
class AtDeath:
    """`part` as of the day of death: windows look back from it, age is age at death."""

    part: Criterion


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Criterion, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Criterion, ...]


@dataclass(frozen=True)
class Not:
    part: Criterion


@dataclass(frozen=True)
class ScoreItem:
    points: int
    when: Criterion


@dataclass(frozen=True)
class Score:
    """Sum of points of the items that hold; true when >= min (e.g. CHA2DS2-VASc)."""

    items: tuple[ScoreItem, ...]
    min: int


Criterion = (
    Listed
    | Age
    | Sex
    | HasCondition
    | HasPrescription
    | HasLab
    | HasEncounter
    | DaysCovered
    | Died
    | AtDeath
    | AllOf
    | AnyOf
    | Not
    | Score
)


# --- event counts -----------------------------------------------------------


@dataclass(frozen=True)
class PrescriptionEvents:
    """Count of a patient's matching prescriptions in the window."""

    codelists: tuple[Codelist, ...]
    window: Window


class EventSource(Enum):
    """The extract table an episode's anchor or requirement is drawn from."""

    CONDITION = "condition"  # dated by start_date
    PRESCRIPTION = "prescription"
    LAB = "lab"
    ENCOUNTER = "encounter"


@dataclass(frozen=True)
class Anchor:
    """The rows that open episodes: one episode per distinct qualifying date."""

    table: EventSource
    codelists: tuple[Codelist, ...]
    window: Window  # N days ending follow_up_days before R
    follow_up_days: int = 0
    new_after_days: int | None = None  # look-back that must be observed and free of the codes


@dataclass(frozen=True)
class Nearby:
    """A matching row dated from `from_day` to `to_day` days after the anchor (inclusive)."""

    table: EventSource
    codelists: tuple[Codelist, ...]
    from_day: int
    to_day: int


@dataclass(frozen=True)
class Episodes:
    """Count of a patient's anchors for which every requirement holds."""

    anchor: Anchor
    require: tuple[Nearby, ...] = ()


EventCount = PrescriptionEvents | Episodes


# --- indicator ----------------------------------------------------------------


class Unit(Enum):
    PATIENTS = "patients"
    EVENTS = "events"  # prescriptions or episodes, capped per patient


class Direction(Enum):
    HIGHER = "higher"
    LOWER = "lower"


@dataclass(frozen=True)
class AgeBands:
    """Lower bounds of age bands; the last band is open. Ages below the first
    bound are excluded by the population (checked at load time)."""

    bounds: tuple[int, ...]

    def labels(self) -> tuple[str, ...]:
        out = []
        for i, lo in enumerate(self.bounds):
            if i + 1 < len(self.bounds):
                out.append(f"{lo}-{self.bounds[i + 1] - 1}")
            else:
                out.append(f"{lo}+")
        return tuple(out)

    def band_of(self, age: int) -> int:
        band = 0
        for i, lo in enumerate(self.bounds):
            if age >= lo:
                band = i
        return band


SEXES: tuple[Literal["F", "M"], ...] = ("F", "M")


@dataclass(frozen=True)
class Indicator:
    id: str
    version: int
    title: dict[str, str]  # "da", "en"
    description: dict[str, str]
    area: str
    unit: Unit
    direction: Direction
    target: float | None  # as a proportion (0.95) or, with scale, per `scale` units
    scale: int  # 100 for percentages, 1000 for "per 1,000"
    national_goal: dict[str, str]  # "da", "en"; empty when the definition names none
    source: str
    population: Criterion
    numerator: Criterion | None  # patient-level indicators
    numerator_events: EventCount | None  # event-level numerator
    denominator_events: EventCount | None  # None: the denominator counts patients
    cap_per_patient: int | None
    age_bands: AgeBands
    content_hash: str
    source_file: str

    @property
    def strata(self) -> tuple[str, ...]:
        """Sex x age band labels, e.g. 'F:18-39'; every patient falls in exactly one."""
        return tuple(f"{sex}:{band}" for sex in SEXES for band in self.age_bands.labels())

    def stratum_index(self, sex: str, age: int) -> int:
        return SEXES.index(sex) * len(self.age_bands.bounds) + self.age_bands.band_of(age)

    def rate(self, numerator: int, denominator: int) -> float | None:
        """Numerator per `scale` units of denominator (percent, or per 1,000)."""
        return None if denominator == 0 else numerator / denominator * self.scale

    @property
    def max_contribution(self) -> tuple[int, int]:
        """(numerator, denominator) one patient can add at most: the sensitivity basis."""
        if self.unit is Unit.PATIENTS:
            return (1, 1)
        cap = self.cap_per_patient or 0
        return (cap, cap if self.denominator_events is not None else 1)

    @property
    def codelists(self) -> tuple[str, ...]:
        from indicator_defs.walk import codelists_used

        return tuple(sorted(codelists_used(self)))


@dataclass(frozen=True)
class Catalogue:
    indicators: dict[str, Indicator]  # sorted by id
    codelists: dict[str, Codelist]
    content_hash: str  # over all indicator hashes: pins the whole catalogue

    def ids(self) -> tuple[str, ...]:
        return tuple(self.indicators)

    def select(self, ids: list[str] | tuple[str, ...]) -> Catalogue:
        """A sub-catalogue, e.g. the indicators a manifest allows."""
        from indicator_defs.hashing import catalogue_hash

        chosen = {i: self.indicators[i] for i in sorted(ids)}
        used = {name for ind in chosen.values() for name in ind.codelists}
        return Catalogue(
            chosen,
            {n: c for n, c in self.codelists.items() if n in used},
            catalogue_hash(chosen),
        )
