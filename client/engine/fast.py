"""The fast indicator engine: numpy over whole columns, one pass per criterion.

Preparation (`PreparedExtract`) happens once per extract and is independent
of the reference date: dates become integer days, codes become factorised
integers, and the lab table is sorted by (patient, date, value) so "latest
value" is simply the last selected row per patient. Evaluation at a date R
then works on row subsets chosen by code list first (small) and by window
second. Results are memoised per criterion node, so a population shared by
several indicators (e.g. the DM-01 denominator) is computed once.

Semantics are those of `indicator_defs.model`; `client.engine.reference` is
the slow twin this must always agree with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from client.engine.result import IndicatorCount, PracticeResult, StratumCount
from client.extract.tables import Extract
from indicator_defs import model as m
from indicator_defs.codelists import Codelist

_OPEN = np.iinfo(np.int64).max  # an empty end date: never reached
_EPOCH = date(1970, 1, 1)


def _days(series: pd.Series, missing: int = _OPEN) -> np.ndarray:
    values = series.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    out = values.astype(np.int64)
    out[np.isnat(values)] = missing
    return out


def _day(d: date) -> int:
    return (d - _EPOCH).days


@dataclass
class EventTable:
    """One event table with factorised codes; the lab table is also sorted by
    (patient, date, value) so the latest value is the last selected row."""

    pidx: np.ndarray  # int64 index into the patient arrays
    date: np.ndarray  # int64 days since 1970-01-01
    key: np.ndarray  # int64 index into `keys`
    keys: list[tuple[str | None, str]]  # (row system or None, code)
    value: np.ndarray | None = None  # float64 (labs: value; prescriptions: ddd)
    end: np.ndarray | None = None  # conditions: end date, _OPEN when empty
    _rows: dict[tuple[Codelist, ...], np.ndarray] = field(default_factory=dict)

    def rows_matching(self, codelists: tuple[Codelist, ...]) -> np.ndarray:
        """Row positions (ascending) whose code is in any of the lists; cached."""
        rows = self._rows.get(codelists)
        if rows is None:
            hit = np.fromiter(
                (any(cl.matches(code, system) for cl in codelists) for system, code in self.keys),
                dtype=bool,
                count=len(self.keys),
            )
            rows = np.flatnonzero(hit[self.key]) if len(self.key) else np.empty(0, np.int64)
            self._rows[codelists] = rows
        return rows


def _positions(ids: pd.Series, patient_ids: pa.Array) -> np.ndarray:
    """Row -> patient position, hashed in Arrow (the loader guarantees every id is known)."""
    found = pc.index_in(pa.array(ids, type=pa.large_string()), value_set=patient_ids)
    return found.to_numpy(zero_copy_only=False).astype(np.int64)


def _keys(frame: pd.DataFrame, code: str, system: str | None) -> tuple[np.ndarray, list]:
    """Factorise (system, code) pairs into small integers plus the distinct pairs."""
    code_idx, codes = pd.factorize(frame[code])
    if system is None:
        return code_idx.astype(np.int64), [(None, c) for c in codes]
    sys_idx, systems = pd.factorize(frame[system])
    combined = sys_idx.astype(np.int64) * len(codes) + code_idx
    distinct, key = np.unique(combined, return_inverse=True)
    return key.astype(np.int64), [
        (systems[k // len(codes)], codes[k % len(codes)]) for k in distinct
    ]


def _event_table(
    frame: pd.DataFrame,
    patient_ids: pa.Array,
    code: str,
    system: str | None = None,
    value: str | None = None,
    date_col: str = "date",
    end: str | None = None,
    sort: bool = False,
) -> EventTable:
    """Build one table; `sort` orders rows by (patient, date, value) for "latest" lookups."""
    pidx = _positions(frame["patient_id"], patient_ids)
    dates = _days(frame[date_col])
    values = frame[value].to_numpy(dtype=np.float64) if value else None
    key, keys = _keys(frame, code, system)
    ends = _days(frame[end]) if end else None
    if sort:
        order = (
            np.lexsort([values, dates, pidx]) if values is not None else np.lexsort([dates, pidx])
        )
        pidx, dates, key = pidx[order], dates[order], key[order]
        values = values[order] if values is not None else None
        ends = ends[order] if ends is not None else None
    return EventTable(pidx=pidx, date=dates, key=key, keys=keys, value=values, end=ends)


@dataclass
class PreparedExtract:
    n: int
    birth_year: np.ndarray
    birth_mmdd: np.ndarray
    female: np.ndarray
    list_start: np.ndarray
    list_end: np.ndarray
    death: np.ndarray
    conditions: EventTable
    prescriptions: EventTable
    labs: EventTable
    encounters: EventTable

    @classmethod
    def from_extract(cls, extract: Extract) -> PreparedExtract:
        pats = extract.patients
        index = pa.array(pats["patient_id"], type=pa.large_string())
        birth = pd.to_datetime(pats["birth_date"])
        return cls(
            n=len(pats),
            birth_year=birth.dt.year.to_numpy(np.int64),
            birth_mmdd=(birth.dt.month * 100 + birth.dt.day).to_numpy(np.int64),
            female=(pats["sex"] == "F").to_numpy(bool),
            list_start=_days(pats["list_start"]),
            list_end=_days(pats["list_end"]),
            death=_days(pats["death_date"]),
            conditions=_event_table(
                extract.conditions,
                index,
                "code",
                system="system",
                date_col="start_date",
                end="end_date",
            ),
            prescriptions=_event_table(extract.prescriptions, index, "atc", value="ddd"),
            labs=_event_table(
                extract.lab_results, index, "code", system="system", value="value", sort=True
            ),
            encounters=_event_table(extract.encounters, index, "service_code"),
        )


class _Evaluation:
    """All criteria at one reference date, memoised per node."""

    def __init__(self, px: PreparedExtract, ref: date) -> None:
        self.px = px
        self.r = _day(ref)
        mmdd = ref.month * 100 + ref.day
        self.age = ref.year - px.birth_year - (mmdd < px.birth_mmdd)
        self.listed = (px.list_start <= self.r) & (px.list_end > self.r) & (px.death > self.r)
        self._memo: dict[object, np.ndarray] = {}

    def _in_window(self, table: EventTable, rows: np.ndarray, window: m.Window) -> np.ndarray:
        d = table.date[rows]
        keep = d <= self.r
        if window.days is not None:
            keep &= d > self.r - window.days
        return rows[keep]

    def _per_patient_count(self, table: EventTable, rows: np.ndarray) -> np.ndarray:
        return np.bincount(table.pidx[rows], minlength=self.px.n)

    def count_events(self, e: m.EventCount) -> np.ndarray:
        t = self.px.prescriptions
        return self._per_patient_count(
            t, self._in_window(t, t.rows_matching(e.codelists), e.window)
        )

    def holds(self, c: m.Criterion) -> np.ndarray:
        cached = self._memo.get(c)
        if cached is None:
            cached = self._compute(c)
            self._memo[c] = cached
        return cached

    def _compute(self, c: m.Criterion) -> np.ndarray:
        px, n = self.px, self.px.n
        if isinstance(c, m.Listed):
            return self.listed
        if isinstance(c, m.Age):
            ok = np.ones(n, bool)
            if c.min is not None:
                ok &= self.age >= c.min
            if c.max is not None:
                ok &= self.age <= c.max
            return ok
        if isinstance(c, m.Sex):
            return px.female if c.value == "F" else ~px.female
        if isinstance(c, m.HasCondition):
            t = px.conditions
            assert t.end is not None  # conditions always carry their end dates
            rows = t.rows_matching(c.codelists)
            start = t.date[rows]
            if c.status is m.ConditionStatus.ACTIVE:
                rows = rows[(start <= self.r) & (t.end[rows] > self.r)]
            elif c.status is m.ConditionStatus.EVER:
                rows = rows[start <= self.r]
            else:
                assert c.started_within is not None  # exactly one of status and started_within
                rows = self._in_window(t, rows, c.started_within)
            return self._per_patient_count(t, rows) > 0
        if isinstance(c, m.HasPrescription):
            t = px.prescriptions
            rows = self._in_window(t, t.rows_matching(c.codelists), c.window)
            ok = self._per_patient_count(t, rows) >= c.min_count
            if c.min_ddd is not None:
                assert t.value is not None  # prescriptions carry their DDD
                ddd = np.nan_to_num(t.value[rows], nan=0.0)
                ok &= np.bincount(t.pidx[rows], weights=ddd, minlength=n) >= c.min_ddd
            return ok
        if isinstance(c, m.HasLab):
            t = px.labs
            rows = self._in_window(t, t.rows_matching(c.codelists), c.window)
            ok = self._per_patient_count(t, rows) >= c.min_count
            if c.latest is not None:
                assert t.value is not None  # labs carry their values
                rows = rows[~np.isnan(t.value[rows])]
                p = t.pidx[rows]
                last = np.ones(len(rows), bool)
                last[:-1] = p[1:] != p[:-1]
                latest = np.full(n, np.nan)
                latest[p[last]] = t.value[rows[last]]
                with np.errstate(invalid="ignore"):
                    ok &= _COMPARE[c.latest.comparator](latest, c.latest.threshold)
            return ok
        if isinstance(c, m.HasEncounter):
            t = px.encounters
            rows = self._in_window(t, t.rows_matching(c.codelists), c.window)
            return self._per_patient_count(t, rows) >= c.min_count
        if isinstance(c, m.AllOf):
            ok = np.ones(n, bool)
            for part in c.parts:
                ok = ok & self.holds(part)
            return ok
        if isinstance(c, m.AnyOf):
            ok = np.zeros(n, bool)
            for part in c.parts:
                ok = ok | self.holds(part)
            return ok
        if isinstance(c, m.Not):
            return ~self.holds(c.part)
        if isinstance(c, m.Score):
            points = np.zeros(n, np.int64)
            for item in c.items:
                points += item.points * self.holds(item.when)
            return points >= c.min
        raise TypeError(f"unknown criterion {c!r}")

    def contributions(self, ind: m.Indicator) -> tuple[np.ndarray, np.ndarray]:
        pop = self.holds(ind.population)
        if ind.unit is m.Unit.PATIENTS:
            assert ind.numerator is not None  # the loader requires it for patient indicators
            return (pop & self.holds(ind.numerator)).astype(np.int64), pop.astype(np.int64)
        cap = ind.cap_per_patient
        assert cap is not None and ind.numerator_events is not None  # required for events
        num = np.minimum(self.count_events(ind.numerator_events), cap) * pop
        if ind.denominator_events is None:
            return num, pop.astype(np.int64)
        den = np.minimum(self.count_events(ind.denominator_events), cap) * pop
        return np.minimum(num, den), den

    def stratum(self, ind: m.Indicator) -> np.ndarray:
        bounds = np.asarray(ind.age_bands.bounds)
        band = np.clip(np.searchsorted(bounds, self.age, side="right") - 1, 0, None)
        return np.where(self.px.female, 0, 1) * len(bounds) + band


_COMPARE: dict[m.Comparator, Callable[[np.ndarray, float], np.ndarray]] = {
    m.Comparator.LT: np.less,
    m.Comparator.LE: np.less_equal,
    m.Comparator.GE: np.greater_equal,
    m.Comparator.GT: np.greater,
}


def evaluate_prepared(
    px: PreparedExtract,
    catalogue: m.Catalogue,
    reference_date: date,
    progress: Callable[[str], None] | None = None,
) -> PracticeResult:
    ev = _Evaluation(px, reference_date)
    results = []
    for ind in catalogue.indicators.values():
        num, den = ev.contributions(ind)
        stratum = ev.stratum(ind)
        k = len(ind.strata)
        num_s = np.bincount(stratum, weights=num, minlength=k).astype(np.int64)
        den_s = np.bincount(stratum, weights=den, minlength=k).astype(np.int64)
        results.append(
            IndicatorCount(
                ind.id,
                tuple(
                    StratumCount(label, int(num_s[i]), int(den_s[i]))
                    for i, label in enumerate(ind.strata)
                ),
            )
        )
        if progress:
            progress(ind.id)
    return PracticeResult(reference_date, int(ev.listed.sum()), tuple(results))


def evaluate_fast(extract: Extract, catalogue: m.Catalogue, reference_date: date) -> PracticeResult:
    return evaluate_prepared(PreparedExtract.from_extract(extract), catalogue, reference_date)


def patient_contributions(
    px: PreparedExtract, catalogue: m.Catalogue, reference_date: date
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per indicator, each patient's (numerator, denominator) contribution, in patient-table order.

    These are the very arrays `evaluate_prepared` sums into its counts, taken
    from the same evaluation, so a per-patient list built from them cannot
    disagree with the counts that are released.
    """
    ev = _Evaluation(px, reference_date)
    return {ind.id: ev.contributions(ind) for ind in catalogue.indicators.values()}
