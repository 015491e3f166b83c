"""The fast indicator engine: numpy over whole columns, one pass per criterion.

Preparation (`PreparedExtract`) happens once per extract and is independent
of the reference date: dates become integer days, codes become factorised
integers, and every event table is sorted by (patient, date) (labs also by
value), so "latest value" is simply the last selected row per patient and
the rows of any code list are already in (patient, date) order: episodes
then find their anchors' neighbours by binary search on one int64 key.
Evaluation at a date R works on row subsets chosen by code list first
(small) and by window second. Results are memoised per criterion node, so a
population shared by several indicators (e.g. the DM-01 denominator) is
computed once. "At death" evaluates its criterion in a second evaluation
whose reference date is each patient's own death date.

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
# (patient, day) as one sortable int64: patient * _STRIDE + day + _SHIFT. Days of
# years 1-9999 and offsets of a few thousand days stay inside [0, _STRIDE).
_STRIDE = 1 << 32
_SHIFT = 1 << 31
_MAX_SUPPLY_DAYS = 1 << 20  # longer supplies cover every day of any window anyway


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
    supply: np.ndarray | None = None  # prescriptions: whole days covered from the date
    _rows: dict[tuple[Codelist, ...], np.ndarray] = field(default_factory=dict)

    def day_keys(self, rows: np.ndarray) -> np.ndarray:
        """(patient, day) keys of `rows`; ascending, since tables are sorted that way."""
        return self.pidx[rows] * _STRIDE + (self.date[rows] + _SHIFT)

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


def _supply_days(frame: pd.DataFrame) -> np.ndarray:
    """Whole days each prescription covers: days_supply, else the DDD stand-in, else none.

    A day d + k is covered when k < supply, so a supply of 89.9 covers 90 days.
    """
    days = frame["days_supply"].to_numpy(dtype=np.float64)
    ddd = frame["ddd"].to_numpy(dtype=np.float64)
    supply = np.where(np.isnan(days), np.nan_to_num(ddd, nan=0.0), days)
    return np.ceil(np.clip(supply, 0, _MAX_SUPPLY_DAYS)).astype(np.int64)


def _event_table(
    frame: pd.DataFrame,
    patient_ids: pa.Array,
    code: str,
    system: str | None = None,
    value: str | None = None,
    date_col: str = "date",
    end: str | None = None,
    by_value: bool = False,
    supply: bool = False,
) -> EventTable:
    """Build one table, rows in (patient, date) order; `by_value` also orders by value."""
    pidx = _positions(frame["patient_id"], patient_ids)
    dates = _days(frame[date_col])
    values = frame[value].to_numpy(dtype=np.float64) if value else None
    key, keys = _keys(frame, code, system)
    ends = _days(frame[end]) if end else None
    supplies = _supply_days(frame) if supply else None
    day_key = pidx * _STRIDE + (dates + _SHIFT)
    if by_value:
        order = np.lexsort([values, day_key])
    elif len(day_key) and np.any(day_key[1:] < day_key[:-1]):
        order = np.argsort(day_key, kind="stable")
    else:
        order = None  # already in order, as EPJ exports and synth practices usually are
    if order is not None:
        pidx, dates, key = pidx[order], dates[order], key[order]
        values = values[order] if values is not None else None
        ends = ends[order] if ends is not None else None
        supplies = supplies[order] if supplies is not None else None
    return EventTable(
        pidx=pidx, date=dates, key=key, keys=keys, value=values, end=ends, supply=supplies
    )


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
    survey_responses: pd.DataFrame | None = None  # answers, kept as loaded (see `survey`)

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
            prescriptions=_event_table(
                extract.prescriptions, index, "atc", value="ddd", supply=True
            ),
            labs=_event_table(
                extract.lab_results, index, "code", system="system", value="value", by_value=True
            ),
            encounters=_event_table(extract.encounters, index, "service_code"),
            survey_responses=extract.survey_responses,
        )

    def table(self, source: m.EventSource) -> EventTable:
        return {
            m.EventSource.CONDITION: self.conditions,
            m.EventSource.PRESCRIPTION: self.prescriptions,
            m.EventSource.LAB: self.labs,
            m.EventSource.ENCOUNTER: self.encounters,
        }[source]


class _Evaluation:
    """All criteria at one reference date, memoised per node.

    The reference date is one day for everyone, or (for "at death") an array
    with each patient's own day; every comparison with it then gathers the
    patient's day per row.
    """

    def __init__(self, px: PreparedExtract, ref: date | np.ndarray) -> None:
        self.px = px
        year: int | np.ndarray
        mmdd: int | np.ndarray
        if isinstance(ref, date):
            self.r: int | np.ndarray = _day(ref)
            year, mmdd = ref.year, ref.month * 100 + ref.day
        else:
            self.r = ref
            days = ref.astype("datetime64[D]")
            months = days.astype("datetime64[M]")
            year = days.astype("datetime64[Y]").astype(np.int64) + 1970
            mmdd = (months.astype(np.int64) % 12 + 1) * 100 + (days - months).astype(np.int64) + 1
        self.age = year - px.birth_year - (mmdd < px.birth_mmdd)
        self.listed = (px.list_start <= self.r) & (px.list_end > self.r) & (px.death > self.r)
        self._memo: dict[object, np.ndarray] = {}
        self._at_death: _Evaluation | None = None

    def _r_rows(self, table: EventTable, rows: np.ndarray) -> int | np.ndarray:
        return self.r if isinstance(self.r, int) else self.r[table.pidx[rows]]

    def _in_window(self, table: EventTable, rows: np.ndarray, window: m.Window) -> np.ndarray:
        d, r = table.date[rows], self._r_rows(table, rows)
        keep = d <= r
        if window.days is not None:
            keep &= d > r - window.days
        return rows[keep]

    def _died_by_r(self) -> np.ndarray:
        return self.px.death <= self.r

    def at_death(self) -> _Evaluation:
        """The evaluation at each patient's day of death (R for the living, who are masked)."""
        if self._at_death is None:
            self._at_death = _Evaluation(
                self.px, np.where(self._died_by_r(), self.px.death, self.r)
            )
        return self._at_death

    def _per_patient_count(self, table: EventTable, rows: np.ndarray) -> np.ndarray:
        return np.bincount(table.pidx[rows], minlength=self.px.n)

    def count_events(self, e: m.EventCount) -> np.ndarray:
        if isinstance(e, m.Episodes):
            return self._episodes(e)
        t = self.px.prescriptions
        return self._per_patient_count(
            t, self._in_window(t, t.rows_matching(e.codelists), e.window)
        )

    def _episodes(self, e: m.Episodes) -> np.ndarray:
        """Qualifying anchor dates per patient, found by binary search on (patient, day) keys."""
        a = e.anchor
        t = self.px.table(a.table)
        rows = t.rows_matching(a.codelists)
        all_keys = t.day_keys(rows)  # every matching row, for the look-back
        last = self.r - a.follow_up_days
        d = t.date[rows]
        assert a.window.days is not None  # the loader requires a number of days
        anchors = np.unique(all_keys[(d <= last) & (d > last - a.window.days)])
        patient = anchors // _STRIDE
        ok = np.ones(anchors.size, bool)
        if a.new_after_days is not None:
            since = anchors - a.new_after_days
            observed = self.px.list_start[patient] <= since % _STRIDE - _SHIFT
            before = np.searchsorted(all_keys, anchors) - np.searchsorted(all_keys, since)
            ok &= observed & (before == 0)
        for req in e.require:
            rt = self.px.table(req.table)
            keys = rt.day_keys(rt.rows_matching(req.codelists))
            lo = np.searchsorted(keys, anchors + req.from_day, side="left")
            hi = np.searchsorted(keys, anchors + req.to_day, side="right")
            ok &= hi > lo
        return np.bincount(patient[ok], minlength=self.px.n)

    def _days_covered(self, c: m.DaysCovered) -> np.ndarray:
        """Days in the window covered by every supply: a sweep over interval ends.

        Each prescription's supply [d, d + days) is clipped to the window and
        becomes +1 at its start and -1 at its end, per supply group; after
        sorting by (patient, day), the running sum per group is how many of
        its prescriptions cover the stretch up to the next boundary. Stretches
        where every group's sum is positive are covered. A patient's +1s and
        -1s balance, so running sums never leak into the next patient.
        """
        t, n = self.px.prescriptions, self.px.n
        days = c.window.days
        assert days is not None and t.supply is not None  # the loader requires days
        keys, groups, deltas = [], [], []
        for g, supply in enumerate(c.supplies):
            rows = t.rows_matching(supply.codelists)
            r = self._r_rows(t, rows)
            start = np.maximum(t.date[rows], r - days + 1)
            stop = np.minimum(t.date[rows] + t.supply[rows], r + 1)
            keep = stop > start
            base = t.pidx[rows][keep] * _STRIDE + _SHIFT
            keys += [base + start[keep], base + stop[keep]]
            groups += [np.full(2 * int(keep.sum()), g)]
            deltas += [np.ones(int(keep.sum()), np.int64), -np.ones(int(keep.sum()), np.int64)]
        key = np.concatenate(keys)
        if key.size == 0:
            return np.zeros(n, np.int64)
        order = np.argsort(key, kind="stable")
        key, group, delta = key[order], np.concatenate(groups)[order], np.concatenate(deltas)[order]
        active = np.ones(key.size, bool)
        for g in range(len(c.supplies)):
            active &= np.cumsum(np.where(group == g, delta, 0)) > 0
        length = np.diff(key, append=key[-1])
        return np.bincount(key[active] // _STRIDE, weights=length[active], minlength=n).astype(
            np.int64
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
            r = self._r_rows(t, rows)
            if c.status is m.ConditionStatus.ACTIVE:
                rows = rows[(start <= r) & (t.end[rows] > r)]
            elif c.status is m.ConditionStatus.EVER:
                rows = rows[start <= r]
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
        if isinstance(c, m.DaysCovered):
            return self._days_covered(c) >= c.min_days
        if isinstance(c, m.Died):
            assert c.window.days is not None  # the loader requires a number of days
            died = self._died_by_r() & (px.death > self.r - c.window.days)
            return died & (px.list_start <= px.death) & (px.list_end >= px.death)
        if isinstance(c, m.AtDeath):
            return self._died_by_r() & self.at_death().holds(c.part)
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
