"""The protocol manifest: the signed, complete statement of what a round may compute and release.

An agent runs nothing that a trusted, approved manifest does not name. The
manifest fixes the indicator definitions (by content hash), the schedule, who
receives which level, the DP mechanism and its parameters, the yearly budget,
disclosure control and the SecAgg parameters. Its identity is the hash of its
canonical form (`canonical.py`), so reformatting a file never changes it and
any change of meaning always does.

Loading is strict: every key is validated and unknown keys are errors, since a
misspelt `min_cel = 3` that was silently ignored would weaken protection.

Kind `none` (no noise, no DP guarantee) exists only to check the federation's
arithmetic on synthetic data. It cannot be chosen by accident: it needs
`[mechanism] purpose = "verification"`, no `[dp]` table and a yearly budget
declared unlimited (`epsilon_per_year = inf`); an unlimited budget is refused
for every other kind.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from common.canonical import canonical_hash, domain_message
from common.federation import REGIONS, Federation
from common.identities import PARTNER, PRACTICE, parse_identity
from common.tomlfile import Table, parse_table, read_table
from privacy.distribution import DistributionSpec
from privacy.errors import ManifestError
from privacy.manifest_text import say
from privacy.release import LOCAL_MECHANISMS, MECHANISMS, NO_NOISE

FORMAT = "klynge-manifest/2"
HASH_DOMAIN = "klynge-manifest/2"
OLD_FORMATS = ("klynge-manifest/1",)

LEVELS: tuple[str, ...] = ("practice", "cluster", "region", "nation")
RECIPIENTS: tuple[str, ...] = ("practice", "cluster", "region", "nation")
UNITS: tuple[str, ...] = ("patients", "events")
PASS_FAIL = "pass_fail"  # a proportion: each counted patient (or capped event) passes or fails
COUNT = "count"  # events per listed patient: one cell, over the list size
CELL_KINDS: tuple[str, ...] = (PASS_FAIL, COUNT)
LIST_POPULATION = "list"  # the population of a count indicator: the practice's listed patients
SURVEY_KINDS: tuple[str, ...] = ("top_box", "mean")  # `indicator_defs.survey_model.MeasureKind`
SURVEY_LEVELS: tuple[str, ...] = ("practice", "cluster", "region")  # where min_respondents applies
FREQUENCIES: dict[str, int] = {"monthly": 12, "quarterly": 4, "half-yearly": 2, "yearly": 1}
BUDGET_PERIODS: tuple[str, ...] = ("calendar_year",)
MAX_DELTA = 1e-4
MIN_CELL_FLOOR = 3  # Statistics Denmark's rule: at least 3 observations per cell
VERIFICATION_PURPOSE = "verification"  # the marker kind = "none" requires in [mechanism]
UNLIMITED = "inf"  # canonical spelling of an unlimited ε (canonical JSON has no infinities)
# Partners in the wider health system ([[partners]]): what they are, and what they may
# receive. Never practice level (no figure of one practice leaves) and never the nation
# (the country's figures are the regions' to publish).
PARTNER_KINDS: tuple[str, ...] = (
    "hospital_quality_unit",
    "municipal_health_services",
    "regional_quality_unit",
)
PARTNER_LEVELS: tuple[str, ...] = ("cluster", "region")
ALL_MEASURES = "all"

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")

# Field metadata for the few places where the file's shape is not the dataclass's
# (see `to_document`): every other field is written under its own name by its type.
FILE_KEY = "file_key"  # the key in the file, where it differs from the field's name
KEYED_BY = "keyed_by"  # a tuple of tables written as one table keyed by this field
AS_TABLE = "as_table"  # a function writing one value as a whole table


def mechanism_table(kind: str) -> dict[str, str]:
    """[mechanism]: the kind, with the marker kind "none" (no noise) must carry."""
    return {"kind": kind, "purpose": VERIFICATION_PURPOSE} if kind == NO_NOISE else {"kind": kind}


@dataclass(frozen=True)
class Text:
    """Free text for reviewers in Danish and English; a plain TOML string sets both."""

    da: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.da

    def to_value(self) -> str | dict[str, str]:
        return self.da if self.da == self.en else {"da": self.da, "en": self.en}

    def canonical(self) -> dict[str, str]:
        return {"da": self.da, "en": self.en}


@dataclass(frozen=True)
class Meta:
    id: str
    version: int
    title: Text
    authority: str
    issued: date
    valid_from: date
    valid_until: date
    code_version: str
    rationale: Text


@dataclass(frozen=True)
class Legal:
    basis: Text
    gdpr_articles: tuple[str, ...]
    purpose: Text
    controller: str
    controller_contact: str
    joint_controllers: tuple[str, ...]
    processors: tuple[str, ...]
    dpia_reference: str
    data_subjects: Text
    data_categories: Text
    practice_permission: Text
    patient_information: Text
    opt_out: Text
    retention: Text
    security: Text
    third_country_transfers: Text


@dataclass(frozen=True)
class Minimisation:
    fields_read: tuple[str, ...]
    age_bands: Text
    max_lookback_days: int
    pseudonyms: Text


@dataclass(frozen=True)
class Schedule:
    frequency: str
    reference_dates: tuple[date, ...]

    def dates_in_year(self, year: int) -> tuple[date, ...]:
        return tuple(d for d in self.reference_dates if d.year == year)

    def years(self) -> tuple[int, ...]:
        return tuple(sorted({d.year for d in self.reference_dates}))


@dataclass(frozen=True)
class IndicatorEntry:
    """One indicator of the locked set, and how its counts are released.

    `cells` says what one group (the cluster's total, or one age/sex stratum in
    the region-wide round) releases: PASS_FAIL, two cells (passed, failed) in
    which each counted patient (or capped event) lands once; COUNT, one cell of
    capped events whose denominator is the list size. Indicators with the same
    `population` count the same patients in their denominators, so the
    estimator measures that population once from all their pairs. The planning
    figures are assumptions about a typical Danish practice population, stated
    so the audit can give each indicator's expected precision; they never
    enter the noise or the release.
    """

    id: str
    content_hash: str
    unit: str
    cells: str
    max_per_patient: int  # 1 for patients; the cap on a patient's counted events
    population: str
    headline: bool
    noise_weight: int  # Skellam variance on each of this indicator's cells is noise_weight × μ
    strata: tuple[str, ...]  # used by the region-wide round; cluster rounds release totals
    expected_denominator_per_1000: float  # of listed patients (per listed patient for COUNT)
    expected_rate: float
    # Events only: the share of events the per-patient cap removes, measured on synthetic data
    # (`benchmarks/utility.py --clipping`), so the audit can state the cap's bias.
    expected_clipped_share: float | None = None
    # The definition's version beside its hash, so a release can name the Measure version it
    # was computed under (FHIR export) even after the catalogue has moved on. None: not pinned.
    version: int | None = None


@dataclass(frozen=True)
class SurveyMeasureEntry:
    """One survey measure as released: a respondent's value lies in [low, high].

    The numerator cell counts `(value - low) * resolution` summed over
    respondents (whole units, `client.engine.survey`), so one respondent adds
    at most `max_units = (high - low) * resolution` to it and 1 to the
    respondents cell: that is the block's contribution bound.
    """

    id: str
    kind: str  # one of SURVEY_KINDS: a top-box share in [0, 1], or a bounded mean score
    low: float
    high: float
    resolution: int

    @property
    def max_units(self) -> int:
        return round((self.high - self.low) * self.resolution)

    def value(self, units: float, respondents: float) -> float:
        """The measure (share or mean score) from its numerator units and respondents."""
        return self.low + units / self.resolution / respondents


@dataclass(frozen=True)
class MinRespondents:
    """Below these many respondents a measure is called too uncertain to use, per level."""

    practice: int
    cluster: int
    region: int

    def at(self, level: str) -> int:
        return int(getattr(self, level)) if level in SURVEY_LEVELS else self.region


@dataclass(frozen=True)
class SurveyEntry:
    """A patient-experience survey released in the same rounds as the indicators.

    The privacy unit stays a person: a respondent may also be a listed patient,
    and no link is needed, because every respondent is counted as if they were
    one (the survey's blocks are added to the same vector and the same
    sensitivity). `noise_weight` means what an indicator's does, in the
    measure's own scale: the respondents cell gets variance noise_weight × μ,
    the numerator cell (noise_weight × max_units²) × μ, so a measure costs the
    budget what a one-patient count of that weight would. Answers dated in the
    `period_months` months up to a reference date count in its round.
    """

    id: str
    version: int
    content_hash: str
    period_months: int
    noise_weight: int
    min_respondents: MinRespondents
    measures: tuple[SurveyMeasureEntry, ...]

    @property
    def measure_ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.measures)

    def period(self, reference_date: date) -> tuple[date, date]:
        """The answers a round at `reference_date` counts: dated in the `period_months` months
        up to and including it (a month-end minus n months is that month's end).

        >>> SurveyEntry("PX", 1, "", 12, 1, MinRespondents(10, 30, 30), ()).period(
        ...     date(2026, 2, 28))
        (datetime.date(2025, 3, 1), datetime.date(2026, 2, 28))
        """
        months = reference_date.year * 12 + reference_date.month - 1 - self.period_months
        year, month = divmod(months, 12)
        day = min(reference_date.day, calendar.monthrange(year, month + 1)[1])
        return date(year, month + 1, day) + timedelta(days=1), reference_date


@dataclass(frozen=True)
class CodelistEntry:
    name: str
    version: str
    content_hash: str


@dataclass(frozen=True)
class Recipient:
    name: str
    receives: tuple[str, ...]
    description: Text


@dataclass(frozen=True)
class Partner:
    """A partner in the wider health system, declared as a recipient of released aggregates.

    It receives, at Fetch, only the releases of its units at its levels, and
    in them only its measures: the coordinator filters the release document
    and refuses anything more. Units are named clusters or one region (then
    its clusters at cluster level, and the region at region level). `identity`
    is the URI its certificate carries (`common.identities`), never a
    practice's, so no practice can fetch as a partner.
    """

    id: str
    name: Text
    kind: str
    identity: str
    levels: tuple[str, ...]
    measures: tuple[str, ...] | str  # indicator and survey measure ids, or ALL_MEASURES
    clusters: tuple[str, ...] | None = None
    region: str | None = None

    def measure_ids(self, manifest_ids: tuple[str, ...]) -> tuple[str, ...]:
        """The ids it receives, in the manifest's order (`Manifest.released_measure_ids`)."""
        if self.measures == ALL_MEASURES:
            return manifest_ids
        return tuple(i for i in manifest_ids if i in self.measures)

    def units(self, level: str, federation: Federation) -> tuple[str, ...]:
        """The clusters or regions whose releases at `level` it receives."""
        if level not in self.levels:
            return ()
        if level == "region":
            return (self.region,) if self.region is not None else ()
        if self.clusters is not None:
            return self.clusters
        return tuple(c.id for c in federation.clusters_in(self.region or ""))


@dataclass(frozen=True)
class DpParams:
    """Exactly one of `epsilon_per_release` (a target), `mu` (Skellam) or `scale` (local) is set."""

    delta: float
    design_dropout: float
    epsilon_per_release: float | None
    mu: float | None
    scale: float | None


@dataclass(frozen=True)
class Budget:
    epsilon_per_year: float  # math.inf only in a verification manifest of kind none
    delta_per_year: float
    period: str

    @property
    def unlimited(self) -> bool:
        return self.epsilon_per_year == math.inf


@dataclass(frozen=True)
class Disclosure:
    min_cell: int
    min_denominator_for_rate: int
    min_practices: int
    rounding_base: int
    suppress_small_complement: bool
    # DP releases hide nothing by its noisy value; a rate whose 95 % half-width exceeds these
    # (a proportion's in rate units, a per-1,000 rate's relative to itself) is called uncertain.
    uncertain_half_width: float
    uncertain_relative_half_width: float


@dataclass(frozen=True)
class Bounding:
    max_list_size: int
    # The list size is one cell of every release (a patient adds 1); its noise weight is the
    # manifest's choice like an indicator's: rates per listed patient are what need it.
    list_size_noise_weight: int = 1


@dataclass(frozen=True)
class SecAgg:
    neighbours: int
    threshold: int
    min_survivors: int


@dataclass(frozen=True)
class RegionRound:
    """The optional region-wide round: all practices of a region in one SecAgg+ round.

    It carries what only many practices can make precise (the age/sex strata
    of every indicator, the practice-rate distributions), on its own reference
    dates and at its own ε, charged to the same yearly budget.
    """

    reference_dates: tuple[date, ...]
    epsilon_per_release: float | None  # None exactly when the manifest adds no noise
    distribution: DistributionSpec | None = None


@dataclass(frozen=True)
class Manifest:
    """A validated manifest. `dp` is None exactly when `mechanism` is "none" (no noise)."""

    meta: Meta = field(metadata={FILE_KEY: "manifest"})
    legal: Legal
    minimisation: Minimisation = field(metadata={FILE_KEY: "data_minimisation"})
    schedule: Schedule
    indicators: tuple[IndicatorEntry, ...]
    codelists: tuple[CodelistEntry, ...]
    recipients: tuple[Recipient, ...] = field(metadata={KEYED_BY: "name"})
    mechanism: str = field(metadata={AS_TABLE: mechanism_table})
    dp: DpParams | None
    budget: Budget
    disclosure: Disclosure
    bounding: Bounding
    secagg: SecAgg
    region_round: RegionRound | None = None  # None: no region-wide round
    partners: tuple[Partner, ...] | None = None  # None: no [[partners]] (the hash is unchanged)
    surveys: tuple[SurveyEntry, ...] | None = None  # None: no survey (the hash is unchanged)

    def __post_init__(self) -> None:
        # The parser reports these with file and key; this also stops code that
        # builds a Manifest directly from pairing "no noise" with a DP budget.
        problem = no_dp_problem(self.mechanism, self.dp, self.budget)
        if problem is None:
            problem = layout_problem(self.indicators)
        if problem is None and self.region_round is not None:
            problem = region_round_problem(self.region_round, self.mechanism, self.indicators)
        if problem is None and self.surveys is not None:
            problem = surveys_problem(self.surveys, self.mechanism, self.indicators)
        if problem is not None:
            raise ManifestError(None, *problem)

    @property
    def has_dp(self) -> bool:
        """False for a verification manifest (kind none): its releases are exact."""
        return self.mechanism != NO_NOISE

    @property
    def indicator_ids(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.indicators)

    @property
    def distribution(self) -> DistributionSpec | None:
        """The practice-rate histograms, released only in the region-wide round."""
        return None if self.region_round is None else self.region_round.distribution

    def indicator(self, indicator_id: str) -> IndicatorEntry:
        for entry in self.indicators:
            if entry.id == indicator_id:
                return entry
        raise KeyError(indicator_id)

    @property
    def is_local(self) -> bool:
        return self.mechanism in LOCAL_MECHANISMS

    @property
    def survey_entries(self) -> tuple[SurveyEntry, ...]:
        return self.surveys or ()

    @property
    def released_measure_ids(self) -> tuple[str, ...]:
        """Every id a release can carry a figure for: the indicators, then the survey
        measures; what a partner's `measures` name and `"all"` means."""
        return self.indicator_ids + tuple(m.id for _, m in self.survey_measures())

    def survey_measures(self) -> tuple[tuple[SurveyEntry, SurveyMeasureEntry], ...]:
        """Every released survey measure with its survey, in vector order."""
        return tuple((s, m) for s in self.survey_entries for m in s.measures)

    def recipient(self, name: str) -> Recipient | None:
        return next((r for r in self.recipients if r.name == name), None)

    def partner(self, identity: str) -> Partner | None:
        """The partner declared with this certificate identity, or None."""
        return next((p for p in self.partners or () if p.identity == identity), None)

    def canonical_document(self) -> dict[str, Any]:
        return to_document(self, canonical=True)

    def hash(self) -> str:
        """The manifest's identity: SHA-256 over its domain-tagged canonical form."""
        return self._identity

    @cached_property
    def _identity(self) -> str:
        # Computed once: the manifest is immutable (a changed copy is a new object), and
        # the ledger, the agent's checks and the coordinator ask for it on every round.
        return canonical_hash(HASH_DOMAIN, self.canonical_document())

    def signing_message(self) -> bytes:
        return domain_message(HASH_DOMAIN, self.canonical_document())


@dataclass(frozen=True)
class Signature:
    algorithm: str
    key_id: str
    manifest_hash: str
    value: str


@dataclass(frozen=True)
class SignedManifest:
    """A manifest as read from a file, with its embedded signature if any."""

    manifest: Manifest
    signature: Signature | None
    path: str | None = None


# ---------------------------------------------------------------------------
# Reading

D = TypeVar("D")


def _text(t: Table, name: str) -> Text:
    return Text(**t.bilingual(name, plain=True))


# How a field is read when its type says it all; every integer states its own range.
_BY_TYPE: dict[str, Callable[[Table, str], Any]] = {
    "str": lambda t, name: t.string(name),
    "Text": _text,
    "date": lambda t, name: t.day(name),
    "bool": lambda t, name: t.boolean(name),
    "tuple[str, ...]": lambda t, name: t.strings(name, nonempty=True, unique=True),
}


def _fields(cls: Callable[..., D], t: Table, **special: Callable[[], Any]) -> D:
    """`cls` read from table `t` in field order: `special` reads the fields that have rules of
    their own, the others are read by their type. Keys the dataclass lacks are unknown."""
    values = {
        f.name: special[f.name]() if f.name in special else _BY_TYPE[str(f.type)](t, f.name)
        for f in fields(cls)  # type: ignore[arg-type]
    }
    t.done()
    return cls(**values)


def _meta(t: Table) -> Meta:
    meta = _fields(
        Meta,
        t,
        id=lambda: t.string("id", pattern=_ID),
        version=lambda: t.integer("version", minimum=1),
    )
    if meta.valid_until < meta.valid_from:
        raise t.fail("valid_until", say("before_valid_from"))
    if meta.issued > meta.valid_until:
        raise t.fail("issued", say("after_valid_until"))
    return meta


def _legal(t: Table) -> Legal:
    return _fields(
        Legal,
        t,
        joint_controllers=lambda: t.strings("joint_controllers", unique=True),
        processors=lambda: t.strings("processors", unique=True),
    )


def _minimisation(t: Table) -> Minimisation:
    return _fields(
        Minimisation,
        t,
        # Sundhedsloven § 42 d: data for quality work must be less than 5 years old.
        max_lookback_days=lambda: t.integer("max_lookback_days", minimum=1, maximum=5 * 365),
    )


def _schedule(t: Table, meta: Meta) -> Schedule:
    frequency = t.string("frequency", choices=tuple(FREQUENCIES))
    dates = t.array("reference_dates", t.as_date, nonempty=True)
    t.done()
    if list(dates) != sorted(set(dates)):
        raise t.fail("reference_dates", say("increasing"))
    outside = [d for d in dates if not meta.valid_from <= d <= meta.valid_until]
    if outside:
        raise t.fail(
            "reference_dates",
            say(
                "outside_validity",
                day=outside[0].isoformat(),
                start=meta.valid_from.isoformat(),
                end=meta.valid_until.isoformat(),
            ),
        )
    per_year = FREQUENCIES[frequency]
    for year in sorted({d.year for d in dates}):
        count = sum(1 for d in dates if d.year == year)
        if count > per_year:
            raise t.fail(
                "reference_dates",
                say("frequency", count=count, year=year, frequency=frequency),
            )
    return Schedule(frequency, dates)


def _indicator(t: Table) -> IndicatorEntry:
    entry = IndicatorEntry(
        id=t.string("id", pattern=_ID),
        content_hash=t.string("content_hash", pattern=_HEX64),
        unit=t.string("unit", choices=UNITS),
        cells=t.string("cells", choices=CELL_KINDS),
        max_per_patient=t.integer("max_per_patient", minimum=1, maximum=1000),
        population=t.string("population", pattern=_ID),
        headline=t.boolean("headline"),
        noise_weight=t.integer("noise_weight", minimum=1),
        strata=t.strings("strata", nonempty=True, unique=True),
        expected_denominator_per_1000=t.number(
            "expected_denominator_per_1000", positive=True, finite=True, maximum=1000
        ),
        expected_rate=t.number("expected_rate", minimum=0, finite=True),
        expected_clipped_share=t.number(
            "expected_clipped_share", required=False, minimum=0, maximum=1
        ),
        version=t.integer("version", required=False, minimum=1),
    )
    t.done()
    problem = indicator_problem(entry)
    if problem is not None:
        raise t.fail(*problem)
    return entry


def indicator_problem(entry: IndicatorEntry) -> tuple[str, str] | None:
    """(key, message) if one indicator's release layout contradicts itself."""
    if entry.unit == "patients" and entry.max_per_patient != 1:
        return "max_per_patient", "a patient-level indicator counts each patient once: use 1"
    if entry.cells == COUNT and entry.population != LIST_POPULATION:
        return (
            "population",
            "a count indicator is a rate per listed patient: its population is "
            f'"{LIST_POPULATION}"',
        )
    if entry.cells == PASS_FAIL and entry.population == LIST_POPULATION:
        return (
            "population",
            f'"{LIST_POPULATION}" is the list size, measured by its own cell; name the '
            "population this indicator's denominator counts",
        )
    if entry.cells == PASS_FAIL and entry.expected_rate > 1:
        return "expected_rate", "a proportion's expected rate is at most 1"
    if (entry.expected_clipped_share is None) != (entry.unit == "patients"):
        return (
            "expected_clipped_share",
            "an event indicator states the share of events its cap removes (measured on "
            "synthetic data); a patient-level indicator has no cap to state",
        )
    return None


def layout_problem(indicators: tuple[IndicatorEntry, ...]) -> tuple[str, str] | None:
    """(key, message) if indicators said to share a population could not measure the same one."""
    by_population: dict[str, IndicatorEntry] = {}
    for entry in indicators:
        first = by_population.setdefault(entry.population, entry)
        if entry.cells == COUNT:
            continue
        shape = (entry.unit, entry.max_per_patient, entry.expected_denominator_per_1000)
        if shape != (first.unit, first.max_per_patient, first.expected_denominator_per_1000):
            return (
                "indicators",
                f"{entry.id} and {first.id} share population {entry.population!r} but differ in "
                "unit, cap or expected denominator, so they cannot count the same patients",
            )
    return None


def _region_round(t: Table, manifest_dates: tuple[date, ...], mechanism: str) -> RegionRound:
    dates = t.array("reference_dates", t.as_date, nonempty=True)
    epsilon = None
    if mechanism != NO_NOISE:
        epsilon = t.number("epsilon_per_release", positive=True, finite=True)
    elif "epsilon_per_release" in t:
        raise t.fail("epsilon_per_release", say("none_epsilon"))
    distribution = None
    if "distribution" in t:
        distribution = _distribution(t.table("distribution"))
    t.used.add("distribution")
    t.done()
    if list(dates) != sorted(set(dates)):
        raise t.fail("reference_dates", say("increasing"))
    missing = [d for d in dates if d not in manifest_dates]
    if missing:
        raise t.fail(
            "reference_dates",
            say("not_a_reference_date", day=missing[0].isoformat()),
        )
    return RegionRound(tuple(dates), epsilon, distribution)


def region_round_problem(
    region: RegionRound, mechanism: str, indicators: tuple[IndicatorEntry, ...]
) -> tuple[str, str] | None:
    """(key, message) if the region-wide round does not fit the rest of the manifest."""
    if (region.epsilon_per_release is None) != (mechanism == NO_NOISE):
        return (
            "region_round.epsilon_per_release",
            "is required exactly when the manifest adds noise",
        )
    if region.distribution is not None:
        return distribution_problem(region.distribution, indicators)
    return None


def _distribution(t: Table) -> DistributionSpec:
    spec = DistributionSpec(
        indicators=t.strings("indicators", nonempty=True, unique=True),
        bins=t.integer("bins", minimum=2, maximum=100),
        full_weight_denominator=t.integer("full_weight_denominator", minimum=1),
        scale=t.integer("scale", minimum=100),
        noise_weight=t.integer("noise_weight", minimum=1),
    )
    t.done()
    return spec


def distribution_problem(
    spec: DistributionSpec, indicators: tuple[IndicatorEntry, ...]
) -> tuple[str, str] | None:
    """(key, message) if the histograms name an indicator they cannot bin, else None."""
    by_id = {i.id: i for i in indicators}
    for name in spec.indicators:
        entry = by_id.get(name)
        if entry is None:
            return (
                "region_round.distribution.indicators",
                f"{name} is not one of the manifest's indicators",
            )
        if entry.cells != PASS_FAIL:
            return (
                "region_round.distribution.indicators",
                f"{name} is not a proportion, so its rate has no fixed range to bin",
            )
    return None


def _survey_measure(t: Table) -> SurveyMeasureEntry:
    entry = SurveyMeasureEntry(
        id=t.string("id", pattern=_ID),
        kind=t.string("kind", choices=SURVEY_KINDS),
        low=t.number("low", finite=True),
        high=t.number("high", finite=True),
        resolution=t.integer("resolution", minimum=1, maximum=10**6),
    )
    t.done()
    problem = survey_measure_problem(entry)
    if problem is not None:
        raise t.fail(*problem)
    return entry


def survey_measure_problem(entry: SurveyMeasureEntry) -> tuple[str, str] | None:
    """(key, message) if a measure's bounds cannot give a whole-number contribution bound."""
    if not entry.high > entry.low:
        return "high", "must be greater than low"
    if entry.kind == "top_box" and (entry.low, entry.high) != (0.0, 1.0):
        return "low", "a top-box share lies in [0, 1]: use low = 0 and high = 1"
    span = (entry.high - entry.low) * entry.resolution
    if abs(span - round(span)) > 1e-9:
        return (
            "resolution",
            "(high - low) × resolution must be whole: it is the most one respondent adds",
        )
    return None


def _survey(t: Table) -> SurveyEntry:
    levels = t.table("min_respondents")
    minimum = MinRespondents(
        **{level: levels.integer(level, minimum=MIN_CELL_FLOOR) for level in SURVEY_LEVELS}
    )
    levels.done()
    entry = SurveyEntry(
        id=t.string("id", pattern=_ID),
        version=t.integer("version", minimum=1),
        content_hash=t.string("content_hash", pattern=_HEX64),
        period_months=t.integer("period_months", minimum=1, maximum=12),
        noise_weight=t.integer("noise_weight", minimum=1),
        min_respondents=minimum,
        measures=tuple(_survey_measure(m) for m in t.tables("measures")),
    )
    t.done()
    if not entry.measures:
        raise t.fail("measures", say("survey_no_measures"))
    return entry


def surveys_problem(
    surveys: tuple[SurveyEntry, ...], mechanism: str, indicators: tuple[IndicatorEntry, ...]
) -> tuple[str, str] | None:
    """(key, message) if the surveys do not fit the rest of the manifest.

    Local mechanisms give every coordinate the same noise, so a numerator cell
    whose bound is thousands of units would set the noise of every indicator;
    only distributed Skellam scales each cell's noise by its own weight.
    """
    if not surveys:
        return "surveys", say("no_surveys")
    if mechanism in LOCAL_MECHANISMS:
        return "surveys", say("survey_mechanism", mechanism=mechanism)
    seen = {i.id for i in indicators}
    for survey in surveys:
        if survey.id in seen:
            return "surveys", say("survey_twice", id=survey.id)
        seen.add(survey.id)
        for measure in survey.measures:
            if measure.id in seen:
                return "surveys", say("survey_twice", id=measure.id)
            seen.add(measure.id)
    return None


def _codelist(t: Table) -> CodelistEntry:
    return _fields(CodelistEntry, t, content_hash=lambda: t.string("content_hash", pattern=_HEX64))


def _recipients(t: Table, mechanism: str) -> tuple[Recipient, ...]:
    out = []
    for name in t.data:
        if name not in RECIPIENTS:
            raise t.fail(name, say("recipient", allowed=", ".join(RECIPIENTS)))
    for name in RECIPIENTS:
        if name not in t:
            continue
        sub = t.table(name)
        receives = sub.strings("receives", unique=True)
        for level in receives:
            if level not in LEVELS:
                allowed = ", ".join(LEVELS)
                raise sub.fail("receives", say("level", level=repr(level), allowed=allowed))
        if "practice" in receives and mechanism not in LOCAL_MECHANISMS:
            raise sub.fail(
                "receives",
                say("practice_level"),
            )
        out.append(Recipient(name, receives, _text(sub, "description")))
        sub.done()
    if not out:
        raise t.fail(None, say("no_recipient"))
    return tuple(out)


def _partner(t: Table, measure_ids: tuple[str, ...]) -> Partner:
    partner_id = t.string("id", pattern=_ID)
    name = _text(t, "name")
    kind = t.string("kind", choices=PARTNER_KINDS)
    identity = t.string("identity")
    parsed = parse_identity(identity)
    if parsed is not None and parsed[0] == PRACTICE:
        raise t.fail("identity", say("partner_is_practice", identity=identity, role=PARTNER))
    if parsed is None or parsed[0] != PARTNER:
        raise t.fail("identity", say("partner_identity", role=PARTNER))
    if parsed[1] != partner_id:
        raise t.fail("identity", say("partner_other_id", named=parsed[1], id=partner_id))
    levels = t.strings("levels", nonempty=True, unique=True)
    for level in levels:
        if level not in PARTNER_LEVELS:
            why = say("partner_practice_level") if level == "practice" else ""
            levels_text = ", ".join(PARTNER_LEVELS)
            raise t.fail("levels", say("partner_level", levels=levels_text, level=level) + why)
    if t.raw("measures") == ALL_MEASURES:
        measures: tuple[str, ...] | str = ALL_MEASURES
    else:
        measures = t.strings("measures", nonempty=True, unique=True)
        for measure in measures:
            if measure not in measure_ids:
                raise t.fail("measures", say("measure", measure=measure))
    clusters = t.strings("clusters", required=False, nonempty=True, unique=True)
    region = t.string("region", required=False)
    t.done()
    if (clusters is None) == (region is None):
        raise t.fail("clusters", say("clusters_or_region"))
    if region is not None and region not in REGIONS:
        allowed = ", ".join(REGIONS)
        raise t.fail("region", say("region", region=repr(region), allowed=allowed))
    if "region" in levels and region is None:
        raise t.fail("levels", say("region_level"))
    return Partner(partner_id, name, kind, identity, levels, measures, clusters, region)


def _partners(root: Table, measure_ids: tuple[str, ...]) -> tuple[Partner, ...] | None:
    if "partners" not in root:
        return None
    partners = tuple(_partner(t, measure_ids) for t in root.tables("partners"))
    if not partners:
        raise root.fail("partners", say("no_partners"))
    identities = [p.identity for p in partners]  # each names its id, so ids are unique too
    if len(set(identities)) != len(identities):
        twice = _first_duplicate(identities)
        raise root.fail("partners", say("identity_twice", identity=twice))
    return partners


def partners_problem(manifest: Manifest, federation: Federation) -> tuple[str, str] | None:
    """(key, message) if a partner names a cluster or region the federation does not have.

    The manifest is written without the federation, so the coordinator checks
    this when it starts with both.
    """
    clusters = {c.id: c.region for c in federation.clusters}
    for i, partner in enumerate(manifest.partners or ()):
        for cluster in partner.clusters or ():
            if cluster not in clusters:
                return f"partners[{i}].clusters", say("partner_cluster", cluster=cluster)
        if partner.region is not None and partner.region not in clusters.values():
            return f"partners[{i}].region", say("partner_region", region=partner.region)
    return None


def _dp(t: Table, mechanism: str) -> DpParams:
    def optional(name: str) -> float | None:
        value: float | None = t.number(name, required=False, positive=True, finite=True)
        return value

    params = DpParams(
        delta=t.number("delta", positive=True, finite=True),
        design_dropout=t.number("design_dropout", finite=True),
        epsilon_per_release=optional("epsilon_per_release"),
        mu=optional("mu"),
        scale=optional("scale"),
    )
    t.done()
    if params.delta > MAX_DELTA:
        raise t.fail("delta", say("delta_max", max=f"{MAX_DELTA:g}"))
    if not 0 <= params.design_dropout < 1:
        raise t.fail("design_dropout", say("dropout"))
    given = [k for k in ("epsilon_per_release", "mu", "scale") if getattr(params, k) is not None]
    if len(given) != 1:
        raise t.fail(None, say("one_of_noise"))
    if params.mu is not None and mechanism in LOCAL_MECHANISMS:
        raise t.fail("mu", say("mu_local"))
    if params.scale is not None and mechanism not in LOCAL_MECHANISMS:
        raise t.fail("scale", say("scale_distributed"))
    return params


def no_dp_problem(mechanism: str, dp: DpParams | None, budget: Budget) -> tuple[str, str] | None:
    """(key, message) if the mechanism, its DP parameters and the budget do not fit together.

    No noise means no guarantee, so it must be declared as such (unlimited
    budget, no DP parameters); and an unlimited budget would let a DP manifest
    spend without bound, so only kind none may have one.
    """
    if mechanism == NO_NOISE:
        if dp is not None:
            return "dp", say("no_dp_table")
        if not budget.unlimited:
            return (
                "budget.epsilon_per_year",
                'kind = "none" gives no differential-privacy guarantee, so the yearly budget '
                "must be declared unlimited: epsilon_per_year = inf",
            )
        return None
    if dp is None:
        return "dp", f"required key is missing (kind {mechanism!r} needs DP parameters)"
    if budget.unlimited:
        return (
            "budget.epsilon_per_year",
            'an unlimited budget (inf) is allowed only with kind = "none" (verification '
            "without DP); a DP manifest needs a finite yearly ε",
        )
    return None


def _mechanism(t: Table) -> str:
    kind = t.string("kind", choices=MECHANISMS)
    if kind == NO_NOISE:
        if "purpose" not in t:
            raise t.fail(
                "purpose",
                'kind = "none" releases exact sums without differential privacy; it is only for '
                f'verification with synthetic data and needs purpose = "{VERIFICATION_PURPOSE}"',
            )
        purpose = t.string("purpose")
        if purpose != VERIFICATION_PURPOSE:
            raise t.fail("purpose", say("purpose", purpose=VERIFICATION_PURPOSE, got=repr(purpose)))
    elif "purpose" in t:
        raise t.fail("purpose", say("purpose_kind"))
    t.done()
    return str(kind)


def _budget(t: Table) -> Budget:
    unlimited = t.raw("epsilon_per_year") == math.inf
    budget = Budget(
        epsilon_per_year=(
            math.inf if unlimited else t.number("epsilon_per_year", positive=True, finite=True)
        ),
        delta_per_year=t.number("delta_per_year", positive=True, finite=True),
        period=t.string("period", choices=BUDGET_PERIODS),
    )
    t.done()
    if budget.delta_per_year > MAX_DELTA:
        raise t.fail("delta_per_year", say("delta_year_max", max=f"{MAX_DELTA:g}"))
    return budget


def _disclosure(t: Table) -> Disclosure:
    d = Disclosure(
        min_cell=t.integer("min_cell", minimum=MIN_CELL_FLOOR),
        min_denominator_for_rate=t.integer("min_denominator_for_rate", minimum=1),
        min_practices=t.integer("min_practices", minimum=3),
        rounding_base=t.integer("rounding_base", minimum=1),
        suppress_small_complement=t.boolean("suppress_small_complement"),
        uncertain_half_width=t.number(
            "uncertain_half_width", positive=True, finite=True, maximum=1
        ),
        uncertain_relative_half_width=t.number(
            "uncertain_relative_half_width", positive=True, finite=True
        ),
    )
    t.done()
    if d.min_denominator_for_rate < d.min_cell:
        raise t.fail("min_denominator_for_rate", say("at_least_min_cell"))
    return d


def _secagg(t: Table, disclosure: Disclosure) -> SecAgg:
    s = SecAgg(
        neighbours=t.integer("neighbours", minimum=2),
        threshold=t.integer("threshold", minimum=2),
        min_survivors=t.integer("min_survivors", minimum=2),
    )
    t.done()
    if not s.neighbours / 2 < s.threshold <= s.neighbours:
        raise t.fail(
            "threshold",
            say("threshold", neighbours=s.neighbours),
        )
    if s.min_survivors < disclosure.min_practices:
        raise t.fail(
            "min_survivors",
            say("min_survivors", minimum=disclosure.min_practices),
        )
    return s


def _bounding(t: Table) -> Bounding:
    bounding = Bounding(
        max_list_size=t.integer("max_list_size", minimum=1),
        list_size_noise_weight=t.integer("list_size_noise_weight", minimum=1),
    )
    t.done()
    return bounding


def _signed_manifest(root: Table) -> SignedManifest:
    """Validate a parsed manifest file into a manifest and its optional signature."""
    fmt = root.string("format")
    if fmt in OLD_FORMATS:
        raise root.fail(
            "format",
            say("old_format", found=repr(fmt), expected=repr(FORMAT)),
        )
    if fmt != FORMAT:
        raise root.fail("format", say("format", found=repr(fmt), expected=repr(FORMAT)))
    meta = _meta(root.table("manifest"))
    legal = _legal(root.table("legal"))
    minimisation = _minimisation(root.table("data_minimisation"))
    schedule = _schedule(root.table("schedule"), meta)
    mechanism = _mechanism(root.table("mechanism"))
    indicators = tuple(_indicator(t) for t in root.tables("indicators"))
    if not indicators:
        raise root.fail("indicators", say("no_indicator"))
    ids = [i.id for i in indicators]
    if len(set(ids)) != len(ids):
        raise root.fail("indicators", say("indicator_twice", id=_first_duplicate(ids)))
    codelists = tuple(_codelist(t) for t in root.tables("codelists"))
    names = [c.name for c in codelists]
    if len(set(names)) != len(names):
        raise root.fail("codelists", say("codelist_twice", name=_first_duplicate(names)))
    recipients = _recipients(root.table("recipients"), mechanism)
    dp: DpParams | None = None
    if mechanism != NO_NOISE:
        dp = _dp(root.table("dp"), mechanism)
    elif "dp" in root:
        raise root.fail("dp", say("no_dp_table"))
    budget = _budget(root.table("budget"))
    problem = no_dp_problem(mechanism, dp, budget)
    if problem is not None:
        raise root.fail(*problem)
    disclosure = _disclosure(root.table("disclosure"))
    bounding = _bounding(root.table("bounding"))
    secagg = _secagg(root.table("secagg"), disclosure)
    problem = layout_problem(indicators)
    if problem is not None:
        raise root.fail(*problem)
    region_round = None
    if "region_round" in root:
        region_round = _region_round(
            root.table("region_round"), schedule.reference_dates, mechanism
        )
        problem = region_round_problem(region_round, mechanism, indicators)
        if problem is not None:
            raise root.fail(*problem)
    surveys = None
    if "surveys" in root:
        surveys = tuple(_survey(t) for t in root.tables("surveys"))
        problem = surveys_problem(surveys, mechanism, indicators)
        if problem is not None:
            raise root.fail(*problem)
    survey_ids = tuple(m.id for s in surveys or () for m in s.measures)
    partners = _partners(root, (*ids, *survey_ids))
    signature = _signature(root.table("signature")) if "signature" in root else None
    # optional, yet named as allowed keys
    root.used.update(("region_round", "signature", "partners", "surveys"))
    root.done()
    manifest = Manifest(
        meta=meta,
        legal=legal,
        minimisation=minimisation,
        schedule=schedule,
        indicators=indicators,
        codelists=codelists,
        recipients=recipients,
        mechanism=mechanism,
        dp=dp,
        budget=budget,
        disclosure=disclosure,
        bounding=bounding,
        secagg=secagg,
        region_round=region_round,
        partners=partners,
        surveys=surveys,
    )
    return SignedManifest(manifest, signature, str(root.path) if root.path else None)


def _signature(t: Table) -> Signature:
    sig = Signature(
        algorithm=t.string("algorithm", choices=("ed25519",)),
        key_id=t.string("key_id", pattern=re.compile(r"^[0-9a-f]{16}$")),
        manifest_hash=t.string("manifest_hash", pattern=_HEX64),
        value=t.string("value"),
    )
    t.done()
    return sig


def _first_duplicate(values: list[str]) -> str:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            return v
        seen.add(v)
    return ""


def parse_manifest(text: str, path: Path | str | None = None) -> SignedManifest:
    """Validate manifest text; `path` only names it in errors."""
    return _signed_manifest(parse_table(text, path, error=ManifestError))


def load_manifest(path: Path | str) -> SignedManifest:
    """Read and validate a manifest file (schema only; see plan.validate_plan for budgets)."""
    return _signed_manifest(read_table(path, error=ManifestError, what="manifest"))


# ---------------------------------------------------------------------------
# Writing


def to_document(manifest: Manifest, *, canonical: bool = False) -> dict[str, Any]:
    """The manifest as a TOML-shaped dict, derived from its dataclasses field by field.

    Absent (None) fields are left out, tuples become arrays, and a text is one
    string when both languages agree, else a {da, en} table; `canonical` always
    writes the table and spells an unlimited ε as the string "inf" (canonical
    JSON has no infinities; a string can never equal a finite budget, so the
    hash still tells every manifest apart). Field metadata (FILE_KEY, KEYED_BY,
    AS_TABLE) covers where the file's shape differs, so a new field needs no
    edit here.
    """
    return {"format": FORMAT, **_document_table(manifest, canonical)}


def _document_table(obj: Any, canonical: bool) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for f in fields(obj):
        value = getattr(obj, f.name)
        if value is None:
            continue
        key = f.metadata.get(FILE_KEY, f.name)
        if AS_TABLE in f.metadata:
            table[key] = f.metadata[AS_TABLE](value)
        elif KEYED_BY in f.metadata:
            name = f.metadata[KEYED_BY]
            table[key] = {
                getattr(item, name): {
                    k: v for k, v in _document_table(item, canonical).items() if k != name
                }
                for item in value
            }
        else:
            table[key] = _document_value(value, canonical)
    return table


def _document_value(value: Any, canonical: bool) -> Any:
    if isinstance(value, Text):
        return value.canonical() if canonical else value.to_value()
    if is_dataclass(value):
        return _document_table(value, canonical)
    if isinstance(value, tuple):
        return [_document_value(item, canonical) for item in value]
    if canonical and isinstance(value, float) and value == math.inf:
        return UNLIMITED
    return value
