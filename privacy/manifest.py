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

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from common.canonical import canonical_hash, domain_message
from common.tomlfile import Table, parse_table, read_table
from privacy.distribution import DistributionSpec
from privacy.errors import ManifestError
from privacy.release import LOCAL_MECHANISMS, MECHANISMS, NO_NOISE

FORMAT = "klynge-manifest/1"
HASH_DOMAIN = "klynge-manifest/1"

LEVELS: tuple[str, ...] = ("practice", "cluster", "region", "nation")
RECIPIENTS: tuple[str, ...] = ("practice", "cluster", "region", "nation")
UNITS: tuple[str, ...] = ("patients", "events")
FREQUENCIES: dict[str, int] = {"monthly": 12, "quarterly": 4, "half-yearly": 2, "yearly": 1}
BUDGET_PERIODS: tuple[str, ...] = ("calendar_year",)
MAX_DELTA = 1e-4
MIN_CELL_FLOOR = 3  # Statistics Denmark's rule: at least 3 observations per cell
VERIFICATION_PURPOSE = "verification"  # the marker kind = "none" requires in [mechanism]
UNLIMITED = "inf"  # canonical spelling of an unlimited ε (canonical JSON has no infinities)

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
    id: str
    content_hash: str
    unit: str
    max_numerator: int
    max_denominator: int
    noise_weight: int  # Skellam variance on this indicator's coordinates is noise_weight × μ
    strata: tuple[str, ...]


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


@dataclass(frozen=True)
class Bounding:
    max_list_size: int


@dataclass(frozen=True)
class SecAgg:
    neighbours: int
    threshold: int
    min_survivors: int


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
    distribution: DistributionSpec | None = None  # practice-rate histograms; None: not released

    def __post_init__(self) -> None:
        # The parser reports these with file and key; this also stops code that
        # builds a Manifest directly from pairing "no noise" with a DP budget.
        problem = no_dp_problem(self.mechanism, self.dp, self.budget)
        if problem is None and self.distribution is not None:
            problem = distribution_problem(self.distribution, self.indicators)
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
    def counts_length(self) -> int:
        """Coordinates of the counts: (num, den) per indicator and stratum, then the list size."""
        return sum(2 * len(i.strata) for i in self.indicators) + 1

    @property
    def vector_length(self) -> int:
        """Coordinates of the released vector: the counts, then the practice-rate histograms."""
        extra = self.distribution.coordinates if self.distribution else 0
        return self.counts_length + extra

    @property
    def is_local(self) -> bool:
        return self.mechanism in LOCAL_MECHANISMS

    def recipient(self, name: str) -> Recipient | None:
        return next((r for r in self.recipients if r.name == name), None)

    def canonical_document(self) -> dict[str, Any]:
        return to_document(self, canonical=True)

    def hash(self) -> str:
        """The manifest's identity: SHA-256 over its domain-tagged canonical form."""
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
        raise t.fail("valid_until", "is before valid_from")
    if meta.issued > meta.valid_until:
        raise t.fail("issued", "is after valid_until")
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
        raise t.fail("reference_dates", "must be strictly increasing (no repeats)")
    outside = [d for d in dates if not meta.valid_from <= d <= meta.valid_until]
    if outside:
        raise t.fail(
            "reference_dates",
            f"{outside[0].isoformat()} lies outside the validity period "
            f"{meta.valid_from.isoformat()}..{meta.valid_until.isoformat()}",
        )
    per_year = FREQUENCIES[frequency]
    for year in sorted({d.year for d in dates}):
        count = sum(1 for d in dates if d.year == year)
        if count > per_year:
            raise t.fail(
                "reference_dates", f"{count} dates in {year} exceed the {frequency} frequency"
            )
    return Schedule(frequency, dates)


def _indicator(t: Table) -> IndicatorEntry:
    entry = IndicatorEntry(
        id=t.string("id", pattern=_ID),
        content_hash=t.string("content_hash", pattern=_HEX64),
        unit=t.string("unit", choices=UNITS),
        max_numerator=t.integer("max_numerator", minimum=0),
        max_denominator=t.integer("max_denominator", minimum=1),
        noise_weight=t.integer("noise_weight", minimum=1),
        strata=t.strings("strata", nonempty=True, unique=True),
    )
    t.done()
    if entry.unit == "patients" and (entry.max_numerator, entry.max_denominator) != (1, 1):
        raise t.fail(
            "max_numerator", "a patient-level indicator counts each patient once: use 1 and 1"
        )
    return entry


def _distribution(t: Table, indicators: tuple[IndicatorEntry, ...]) -> DistributionSpec:
    spec = DistributionSpec(
        indicators=t.strings("indicators", nonempty=True, unique=True),
        bins=t.integer("bins", minimum=2, maximum=100),
        full_weight_denominator=t.integer("full_weight_denominator", minimum=1),
        scale=t.integer("scale", minimum=100),
        noise_weight=t.integer("noise_weight", minimum=1),
    )
    t.done()
    problem = distribution_problem(spec, indicators)
    if problem is not None:
        raise ManifestError(t.path, problem[0], problem[1])
    return spec


def distribution_problem(
    spec: DistributionSpec, indicators: tuple[IndicatorEntry, ...]
) -> tuple[str, str] | None:
    """(key, message) if the histograms name an indicator they cannot bin, else None."""
    by_id = {i.id: i for i in indicators}
    for name in spec.indicators:
        entry = by_id.get(name)
        if entry is None:
            return "distribution.indicators", f"{name} is not one of the manifest's indicators"
        if entry.max_numerator > entry.max_denominator:
            return (
                "distribution.indicators",
                f"{name} is not a proportion (a patient can add more to its numerator than to "
                "its denominator), so its rate has no fixed range to bin",
            )
    return None


def _codelist(t: Table) -> CodelistEntry:
    return _fields(CodelistEntry, t, content_hash=lambda: t.string("content_hash", pattern=_HEX64))


def _recipients(t: Table, mechanism: str) -> tuple[Recipient, ...]:
    out = []
    for name in t.data:
        if name not in RECIPIENTS:
            raise t.fail(name, f"unknown recipient; use {', '.join(RECIPIENTS)}")
    for name in RECIPIENTS:
        if name not in t:
            continue
        sub = t.table(name)
        receives = sub.strings("receives", unique=True)
        for level in receives:
            if level not in LEVELS:
                raise sub.fail("receives", f"unknown level {level!r}; use {', '.join(LEVELS)}")
        if "practice" in receives and mechanism not in LOCAL_MECHANISMS:
            raise sub.fail(
                "receives",
                "practice-level values are never released under distributed DP; "
                "only the sum over at least the minimum number of practices leaves",
            )
        out.append(Recipient(name, receives, _text(sub, "description")))
        sub.done()
    if not out:
        raise t.fail(None, "at least one recipient is required")
    return tuple(out)


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
        raise t.fail("delta", f"must be ≤ {MAX_DELTA:g}; larger δ lets rare records leak")
    if not 0 <= params.design_dropout < 1:
        raise t.fail("design_dropout", "must be in [0, 1)")
    given = [k for k in ("epsilon_per_release", "mu", "scale") if getattr(params, k) is not None]
    if len(given) != 1:
        raise t.fail(
            None, "set exactly one of epsilon_per_release, mu (Skellam) or scale (local DP)"
        )
    if params.mu is not None and mechanism in LOCAL_MECHANISMS:
        raise t.fail("mu", "mu is the Skellam variance; local mechanisms take scale")
    if params.scale is not None and mechanism not in LOCAL_MECHANISMS:
        raise t.fail("scale", "scale is for local mechanisms; distributed Skellam takes mu")
    return params


_NO_DP_TABLE = 'kind = "none" adds no noise, so it takes no [dp] table; remove it'


def no_dp_problem(mechanism: str, dp: DpParams | None, budget: Budget) -> tuple[str, str] | None:
    """(key, message) if the mechanism, its DP parameters and the budget do not fit together.

    No noise means no guarantee, so it must be declared as such (unlimited
    budget, no DP parameters); and an unlimited budget would let a DP manifest
    spend without bound, so only kind none may have one.
    """
    if mechanism == NO_NOISE:
        if dp is not None:
            return "dp", _NO_DP_TABLE
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
            raise t.fail("purpose", f'must be "{VERIFICATION_PURPOSE}", got {purpose!r}')
    elif "purpose" in t:
        raise t.fail("purpose", 'only kind = "none" takes a purpose (it must be "verification")')
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
        raise t.fail("delta_per_year", f"must be ≤ {MAX_DELTA:g}")
    return budget


def _disclosure(t: Table) -> Disclosure:
    d = Disclosure(
        min_cell=t.integer("min_cell", minimum=MIN_CELL_FLOOR),
        min_denominator_for_rate=t.integer("min_denominator_for_rate", minimum=1),
        min_practices=t.integer("min_practices", minimum=3),
        rounding_base=t.integer("rounding_base", minimum=1),
        suppress_small_complement=t.boolean("suppress_small_complement"),
    )
    t.done()
    if d.min_denominator_for_rate < d.min_cell:
        raise t.fail("min_denominator_for_rate", "must be at least min_cell")
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
            f"must exceed half the neighbours and not exceed them ({s.neighbours}); "
            "otherwise a server could collect both kinds of share for one practice",
        )
    if s.min_survivors < disclosure.min_practices:
        raise t.fail(
            "min_survivors",
            f"must be at least disclosure.min_practices ({disclosure.min_practices}), "
            "which it enforces cryptographically",
        )
    return s


def _bounding(t: Table) -> Bounding:
    bounding = Bounding(max_list_size=t.integer("max_list_size", minimum=1))
    t.done()
    return bounding


def _signed_manifest(root: Table) -> SignedManifest:
    """Validate a parsed manifest file into a manifest and its optional signature."""
    fmt = root.string("format")
    if fmt != FORMAT:
        raise root.fail("format", f"unsupported format {fmt!r}; this version reads {FORMAT!r}")
    meta = _meta(root.table("manifest"))
    legal = _legal(root.table("legal"))
    minimisation = _minimisation(root.table("data_minimisation"))
    schedule = _schedule(root.table("schedule"), meta)
    mechanism = _mechanism(root.table("mechanism"))
    indicators = tuple(_indicator(t) for t in root.tables("indicators"))
    if not indicators:
        raise root.fail("indicators", "at least one indicator is required")
    ids = [i.id for i in indicators]
    if len(set(ids)) != len(ids):
        raise root.fail("indicators", f"indicator {_first_duplicate(ids)} is listed twice")
    codelists = tuple(_codelist(t) for t in root.tables("codelists"))
    names = [c.name for c in codelists]
    if len(set(names)) != len(names):
        raise root.fail("codelists", f"code list {_first_duplicate(names)} is listed twice")
    recipients = _recipients(root.table("recipients"), mechanism)
    dp: DpParams | None = None
    if mechanism != NO_NOISE:
        dp = _dp(root.table("dp"), mechanism)
    elif "dp" in root:
        raise root.fail("dp", _NO_DP_TABLE)
    budget = _budget(root.table("budget"))
    problem = no_dp_problem(mechanism, dp, budget)
    if problem is not None:
        raise root.fail(*problem)
    disclosure = _disclosure(root.table("disclosure"))
    bounding = _bounding(root.table("bounding"))
    secagg = _secagg(root.table("secagg"), disclosure)
    distribution = None
    if "distribution" in root:
        distribution = _distribution(root.table("distribution"), indicators)
    signature = _signature(root.table("signature")) if "signature" in root else None
    root.used.update(("distribution", "signature"))  # optional, yet named as allowed keys
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
        distribution=distribution,
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
    return _signed_manifest(read_table(path, error=ManifestError, what="manifest file"))


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
