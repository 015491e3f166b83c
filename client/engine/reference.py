"""The reference evaluator: patient by patient, in plain Python.

It is deliberately slow and literal: each rule in `indicator_defs.model`'s
docstring is written once, as close to its wording as Python allows. The fast
engine must agree with it on every extract (tests/client/engine/test_agreement.py).
Do not optimise this file; clarity is its whole job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import pandas as pd

from client.engine.result import IndicatorCount, PracticeResult, StratumCount
from client.extract.tables import Extract
from indicator_defs import model as m
from indicator_defs.codelists import Codelist


def _d(value: Any) -> date | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


def _day(value: Any) -> date:
    """A date the loader has already required to be present."""
    day = _d(value)
    assert day is not None
    return day


def _f(value: Any) -> float | None:
    if value is None or pd.isna(value):
        return None
    return float(value)


@dataclass
class Patient:
    birth_date: date
    sex: str
    list_start: date
    list_end: date | None
    death_date: date | None
    conditions: list[tuple[str, str, date, date | None]] = field(default_factory=list)
    prescriptions: list[tuple[date, str, float | None, float | None]] = field(
        default_factory=list
    )  # (date, atc, ddd, days_supply)
    labs: list[tuple[date, str, str, float | None]] = field(default_factory=list)
    encounters: list[tuple[date, str]] = field(default_factory=list)


def build_patients(extract: Extract) -> dict[str, Patient]:
    patients: dict[str, Patient] = {}
    for row in extract.rows("patients"):
        patients[row.patient_id] = Patient(
            _day(row.birth_date),
            row.sex,
            _day(row.list_start),
            _d(row.list_end),
            _d(row.death_date),
        )
    for row in extract.rows("conditions"):
        patients[row.patient_id].conditions.append(
            (row.system, row.code, _day(row.start_date), _d(row.end_date))
        )
    for row in extract.rows("prescriptions"):
        patients[row.patient_id].prescriptions.append(
            (_day(row.date), row.atc, _f(row.ddd), _f(row.days_supply))
        )
    for row in extract.rows("lab_results"):
        patients[row.patient_id].labs.append((_day(row.date), row.system, row.code, _f(row.value)))
    for row in extract.rows("encounters"):
        patients[row.patient_id].encounters.append((_day(row.date), row.service_code))
    return patients


def age_on(birth: date, ref: date) -> int:
    """Completed years: one less if this year's birthday is still to come."""
    before_birthday = (ref.month, ref.day) < (birth.month, birth.day)
    return ref.year - birth.year - (1 if before_birthday else 0)


def is_listed(p: Patient, ref: date) -> bool:
    return (
        p.list_start <= ref
        and (p.list_end is None or p.list_end > ref)
        and (p.death_date is None or p.death_date > ref)
    )


def in_window(d: date, window: m.Window, ref: date) -> bool:
    if d > ref:
        return False
    if window.days is None:
        return True
    return ref - timedelta(days=window.days) < d


def any_matches(codelists: tuple[Codelist, ...], code: str, system: str | None = None) -> bool:
    return any(cl.matches(code, system) for cl in codelists)


def supply_days(ddd: float | None, days_supply: float | None) -> float:
    """Days a prescription lasts: its days' supply, else the DDD stand-in, else none."""
    if days_supply is not None:
        return days_supply
    return ddd if ddd is not None else 0.0


def listed_at_death(p: Patient) -> bool:
    """On the list on the day of death; a list ending that very day still counts."""
    d = p.death_date
    return d is not None and p.list_start <= d and (p.list_end is None or p.list_end >= d)


def dated_rows(p: Patient, table: m.EventSource) -> list[tuple[date, str, str | None]]:
    """(date, code, system) of one table's rows; conditions are dated by their start."""
    if table is m.EventSource.CONDITION:
        return [(start, code, system) for system, code, start, _ in p.conditions]
    if table is m.EventSource.PRESCRIPTION:
        return [(d, atc, None) for d, atc, _, _ in p.prescriptions]
    if table is m.EventSource.LAB:
        return [(d, code, system) for d, system, code, _ in p.labs]
    return [(d, code, None) for d, code in p.encounters]


class ReferenceEvaluator:
    def __init__(self, patient: Patient, ref: date) -> None:
        self.p = patient
        self.ref = ref

    def holds(self, c: m.Criterion) -> bool:
        p, ref = self.p, self.ref
        if isinstance(c, m.Listed):
            return is_listed(p, ref)
        if isinstance(c, m.Age):
            age = age_on(p.birth_date, ref)
            return (c.min is None or age >= c.min) and (c.max is None or age <= c.max)
        if isinstance(c, m.Sex):
            return p.sex == c.value
        if isinstance(c, m.HasCondition):
            for system, code, start, end in p.conditions:
                if not any_matches(c.codelists, code, system):
                    continue
                if (
                    c.status is m.ConditionStatus.ACTIVE
                    and start <= ref
                    and (end is None or end > ref)
                ):
                    return True
                if c.status is m.ConditionStatus.EVER and start <= ref:
                    return True
                if c.started_within is not None and in_window(start, c.started_within, ref):
                    return True
            return False
        if isinstance(c, m.HasPrescription):
            found = [
                ddd
                for d, atc, ddd, _ in p.prescriptions
                if in_window(d, c.window, ref) and any_matches(c.codelists, atc)
            ]
            if len(found) < c.min_count:
                return False
            if c.min_ddd is not None:
                total = sum(x for x in found if x is not None)
                return total >= c.min_ddd
            return True
        if isinstance(c, m.HasLab):
            results = [
                (d, value)
                for d, system, code, value in p.labs
                if in_window(d, c.window, ref) and any_matches(c.codelists, code, system)
            ]
            if len(results) < c.min_count:
                return False
            if c.latest is None:
                return True
            valued = [(d, v) for d, v in results if v is not None and not math.isnan(v)]
            if not valued:
                return False
            latest_date = max(d for d, _ in valued)
            latest_value = max(v for d, v in valued if d == latest_date)
            return c.latest.comparator.holds(latest_value, c.latest.threshold)
        if isinstance(c, m.HasEncounter):
            n = sum(
                1
                for d, code in p.encounters
                if in_window(d, c.window, ref) and any_matches(c.codelists, code)
            )
            return n >= c.min_count
        if isinstance(c, m.DaysCovered):
            return self.days_covered(c) >= c.min_days
        if isinstance(c, m.Died):
            return (
                p.death_date is not None
                and in_window(p.death_date, c.window, ref)
                and listed_at_death(p)
            )
        if isinstance(c, m.AtDeath):
            if p.death_date is None or p.death_date > ref:
                return False
            return ReferenceEvaluator(p, p.death_date).holds(c.part)
        if isinstance(c, m.AllOf):
            return all(self.holds(part) for part in c.parts)
        if isinstance(c, m.AnyOf):
            return any(self.holds(part) for part in c.parts)
        if isinstance(c, m.Not):
            return not self.holds(c.part)
        if isinstance(c, m.Score):
            points = sum(item.points for item in c.items if self.holds(item.when))
            return points >= c.min
        raise TypeError(f"unknown criterion {c!r}")

    def supplies(self, supply: m.Supply) -> list[tuple[date, float]]:
        """(date, days supplied) of the prescriptions in the supply's lists."""
        return [
            (d, supply_days(ddd, days))
            for d, atc, ddd, days in self.p.prescriptions
            if any_matches(supply.codelists, atc)
        ]

    def days_covered(self, c: m.DaysCovered) -> int:
        """Days of the window on which each supply has a prescription covering the day:
        day = d + k with whole k >= 0 and k < the days supplied."""
        groups = [self.supplies(s) for s in c.supplies]
        assert c.window.days is not None  # the loader requires a number of days
        window = [self.ref - timedelta(days=k) for k in range(c.window.days)]
        return sum(
            1
            for day in window
            if all(any(d <= day and (day - d).days < n for d, n in group) for group in groups)
        )

    def anchor_dates(self, a: m.Anchor) -> list[date]:
        """Distinct qualifying dates of the anchor's rows (see indicator_defs.model)."""
        rows = [
            d
            for d, code, system in dated_rows(self.p, a.table)
            if any_matches(a.codelists, code, system)
        ]
        last = self.ref - timedelta(days=a.follow_up_days)
        assert a.window.days is not None  # the loader requires a number of days
        first_excluded = last - timedelta(days=a.window.days)
        out = []
        for day in sorted(set(rows)):
            if not first_excluded < day <= last:
                continue
            if a.new_after_days is not None:
                since = day - timedelta(days=a.new_after_days)
                if self.p.list_start > since or any(since <= d < day for d in rows):
                    continue
            out.append(day)
        return out

    def near(self, req: m.Nearby, anchor: date) -> bool:
        lo = anchor + timedelta(days=req.from_day)
        hi = anchor + timedelta(days=req.to_day)
        return any(
            lo <= d <= hi and any_matches(req.codelists, code, system)
            for d, code, system in dated_rows(self.p, req.table)
        )

    def count_events(self, e: m.EventCount) -> int:
        if isinstance(e, m.Episodes):
            return sum(
                1
                for day in self.anchor_dates(e.anchor)
                if all(self.near(req, day) for req in e.require)
            )
        return sum(
            1
            for d, atc, _, _ in self.p.prescriptions
            if in_window(d, e.window, self.ref) and any_matches(e.codelists, atc)
        )

    def contribution(self, ind: m.Indicator) -> tuple[int, int]:
        """(numerator, denominator) this patient adds to the indicator."""
        if not self.holds(ind.population):
            return (0, 0)
        if ind.unit is m.Unit.PATIENTS:
            assert ind.numerator is not None  # the loader requires it for patient indicators
            return (1 if self.holds(ind.numerator) else 0, 1)
        cap = ind.cap_per_patient
        assert cap is not None and ind.numerator_events is not None  # required for events
        numerator = min(self.count_events(ind.numerator_events), cap)
        if ind.denominator_events is None:
            return (numerator, 1)
        denominator = min(self.count_events(ind.denominator_events), cap)
        return (min(numerator, denominator), denominator)


def evaluate_reference(
    extract: Extract, catalogue: m.Catalogue, reference_date: date
) -> PracticeResult:
    patients = build_patients(extract)
    results = []
    for ind in catalogue.indicators.values():
        num = [0] * len(ind.strata)
        den = [0] * len(ind.strata)
        for p in patients.values():
            n, d = ReferenceEvaluator(p, reference_date).contribution(ind)
            if d:
                s = ind.stratum_index(p.sex, age_on(p.birth_date, reference_date))
                num[s] += n
                den[s] += d
        results.append(
            IndicatorCount(
                ind.id,
                tuple(StratumCount(label, num[i], den[i]) for i, label in enumerate(ind.strata)),
            )
        )
    list_size = sum(1 for p in patients.values() if is_listed(p, reference_date))
    return PracticeResult(reference_date, list_size, tuple(results))
