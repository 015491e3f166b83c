"""Laboratory results and the contacts that produce them.

Chronic patients are seen in follow-up visits: blood is drawn (service 2101)
and a consultation (0101, or 0120 for the annual review) follows a few days
later, where blood pressure and weight are recorded. Type 2 diabetes
patients in follow-up have HbA1c 2-3 times a year (INDICATORS.md); the
practice profile sets how many are followed, how often, and what else is
measured. Codes and units follow the NPU/DNK reference in INDICATORS.md; a
point-of-care HbA1c device reports under the lab-local code AAB00092.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from client.synth.clinical import Clinical
from client.synth.days import NO_DATE
from client.synth.events import age_rate_events, regular_events
from client.synth.morbidity import Morbidity
from client.synth.population import Population
from client.synth.quality import QualityProfile
from client.synth.rows import Coded, TableRows

MISSING_VALUE_SHARE = 0.004  # results with no value (haemolysed, not analysed)
EGFR_CAP = 90  # Danish labs report eGFR above 90 as ">90"; a numeric extract carries 90


@dataclass(frozen=True)
class LabSetup:
    """How the practice's laboratory codes things (varies between regions and years)."""

    creatinine_code: str  # NPU04998 (enzymatic) or NPU18016 (generic)
    egfr_switch_day: int  # results before this day use DNK35131, later DNK35302


def draw_lab_setup(rng: np.random.Generator, switch_around: int) -> LabSetup:
    code = "NPU04998" if rng.random() < 0.6 else "NPU18016"
    return LabSetup(code, int(switch_around + rng.integers(-365, 366)))


@dataclass(frozen=True)
class _Visits:
    idx: np.ndarray  # patient
    draw: np.ndarray  # blood drawn
    consult: np.ndarray  # consultation
    rate: np.ndarray  # the patient's visits per year (for per-year probabilities)


def draw_labs(
    rng: np.random.Generator,
    pop: Population,
    morb: Morbidity,
    clin: Clinical,
    q: QualityProfile,
    setup: LabSetup,
    labs: TableRows,
    encounters: TableRows,
) -> None:
    emit = _Emitter(rng, pop, clin, setup, labs)
    _diabetes(rng, pop, morb, q, emit, encounters)
    _cardiovascular(rng, pop, morb, q, emit, encounters)
    _background(rng, pop, emit, encounters)


def _visits(
    rng: np.random.Generator,
    pop: Population,
    patients: np.ndarray,
    start: np.ndarray,
    rate: np.ndarray,
    cv: float,
) -> _Visits:
    end = pop.obs_end[patients]
    w, draw = regular_events(rng, start, end, 365.2425 / rate, cv=cv)
    idx = patients[w]
    consult = draw + rng.integers(2, 11, idx.size)
    consult = np.where(consult <= pop.obs_end[idx], consult, draw)
    return _Visits(idx, draw, consult, rate[w])


def _per_visit(per_year: float | np.ndarray, visits_per_year: np.ndarray) -> np.ndarray:
    """Chance per visit that gives about `per_year` chance of at least one test a year."""
    return 1.0 - (1.0 - np.minimum(per_year, 0.999)) ** (1.0 / np.maximum(visits_per_year, 1.0))


def _concat_visits(a: _Visits, b: _Visits) -> _Visits:
    return _Visits(
        *(
            np.concatenate((x, y))
            for x, y in zip(
                (a.idx, a.draw, a.consult, a.rate), (b.idx, b.draw, b.consult, b.rate), strict=True
            )
        )
    )


def _diabetes(
    rng: np.random.Generator,
    pop: Population,
    morb: Morbidity,
    q: QualityProfile,
    emit: _Emitter,
    encounters: TableRows,
) -> None:
    t1d = morb.has("t1d")
    t2d = morb.has("t2d") & ~t1d
    onset = np.where(t1d, morb.onset["t1d"], morb.onset["t2d"])
    followed = t2d & (rng.random(pop.size) < q.diabetes_followup)
    groups = (
        (np.flatnonzero(followed), q.hba1c_tests_per_year, 0.35),
        (np.flatnonzero(t2d & ~followed), 0.4, 1.0),  # drifting out of care: Poisson-like
        (np.flatnonzero(t1d), 1.0, 1.0),  # mostly followed at the hospital
    )
    visits: _Visits | None = None
    for patients, rate, cv in groups:
        start = np.maximum(onset[patients], pop.obs_start[patients])
        v = _visits(rng, pop, patients, start, np.full(patients.size, rate), cv)
        visits = v if visits is None else _concat_visits(visits, v)
    assert visits is not None
    n = visits.idx.size
    poc = rng.random(n) < q.poc_hba1c_share
    emit.hba1c(visits.idx, np.where(poc, visits.consult, visits.draw), poc)
    per_year = 1.0 / visits.rate
    lipids = rng.random(n) < _per_visit(q.lipids_per_year, visits.rate)
    kidney = rng.random(n) < _per_visit(0.9, visits.rate)
    acr = rng.random(n) < _per_visit(q.acr_per_year, visits.rate)
    bp = rng.random(n) < q.bp_per_visit
    review = rng.random(n) < np.minimum(1.0, per_year)
    emit.lipids(visits.idx[lipids], visits.draw[lipids])
    emit.kidney(visits.idx[kidney], visits.draw[kidney])
    emit.acr(visits.idx[acr], visits.draw[acr])
    emit.blood_pressure(visits.idx[bp], visits.consult[bp])
    weigh = review & (rng.random(n) < 0.7)
    emit.weight(visits.idx[weigh], visits.consult[weigh])
    drawn = ~poc | lipids | kidney
    encounters.add(visits.idx[drawn], date=visits.draw[drawn], service_code="2101")
    encounters.add(
        visits.idx,
        date=visits.consult,
        service_code=Coded(("0101", "0120"), review.astype(np.int32)),
    )


def _cardiovascular(
    rng: np.random.Generator,
    pop: Population,
    morb: Morbidity,
    q: QualityProfile,
    emit: _Emitter,
    encounters: TableRows,
) -> None:
    """Hypertension and cardiovascular follow-up for patients without diabetes."""
    diabetic = morb.has("t2d") | morb.has("t1d")
    ht = morb.has("hypertension")
    cvd = morb.has("ihd") | morb.has("stroke") | morb.has("pad") | morb.has("hf") | morb.has("af")
    onset = np.full(pop.size, np.iinfo(np.int64).max)
    for key in ("hypertension", "ihd", "stroke", "pad", "hf", "af"):
        o = morb.onset[key]
        onset = np.where(o != NO_DATE, np.minimum(onset, o), onset)
    patients = np.flatnonzero((ht | cvd) & ~diabetic & (rng.random(pop.size) < 0.85))
    rate = np.where(ht[patients], 1.5, 1.0)
    start = np.maximum(onset[patients], pop.obs_start[patients])
    v = _visits(rng, pop, patients, start, rate, 0.45)
    n = v.idx.size
    per_year = 1.0 / v.rate
    bp = rng.random(n) < 0.9
    kidney = rng.random(n) < _per_visit(0.8, v.rate)
    lipids = rng.random(n) < _per_visit(np.where(cvd[v.idx], 0.8, 0.5), v.rate)
    acr = rng.random(n) < _per_visit(0.6 * q.acr_per_year, v.rate)
    screen = rng.random(n) < _per_visit(0.25, v.rate)
    review = rng.random(n) < per_year
    emit.blood_pressure(v.idx[bp], v.consult[bp])
    emit.kidney(v.idx[kidney], v.draw[kidney])
    emit.lipids(v.idx[lipids], v.draw[lipids])
    emit.acr(v.idx[acr], v.draw[acr])
    emit.hba1c(v.idx[screen], v.draw[screen], np.zeros(int(screen.sum()), dtype=bool))
    drawn = kidney | lipids | screen
    encounters.add(v.idx[drawn], date=v.draw[drawn], service_code="2101")
    encounters.add(
        v.idx, date=v.consult, service_code=Coded(("0101", "0120"), review.astype(np.int32))
    )


def _background(
    rng: np.random.Generator, pop: Population, emit: _Emitter, encounters: TableRows
) -> None:
    """Blood tests for everyone else: check-ups, tiredness, medication monitoring."""
    rates = np.tile(np.array([0.0, 0.25, 0.5]), (pop.size, 1))
    idx, day = age_rate_events(rng, pop.obs_start, pop.obs_end, pop.birth, rates, (18, 65))
    n = idx.size
    kidney = rng.random(n) < 0.7
    lipids = rng.random(n) < 0.35
    hba1c = rng.random(n) < 0.3
    acr = rng.random(n) < 0.03
    emit.kidney(idx[kidney], day[kidney])
    emit.lipids(idx[lipids], day[lipids])
    emit.hba1c(idx[hba1c], day[hba1c], np.zeros(int(hba1c.sum()), dtype=bool))
    emit.acr(idx[acr], day[acr])
    encounters.add(idx, date=day, service_code="2101")


class _Emitter:
    """Turns (patient, day) pairs into coded, valued lab rows."""

    def __init__(
        self,
        rng: np.random.Generator,
        pop: Population,
        clin: Clinical,
        setup: LabSetup,
        rows: TableRows,
    ) -> None:
        self.rng, self.pop, self.clin, self.setup, self.rows = rng, pop, clin, setup, rows
        self.statin_factor = np.clip(rng.normal(0.52, 0.1, pop.size), 0.3, 0.9)

    def _add(
        self,
        idx: np.ndarray,
        day: np.ndarray,
        system: str | Coded,
        code: str | Coded,
        value: np.ndarray,
        unit: str,
        missing: float = MISSING_VALUE_SHARE,
    ) -> None:
        value = np.where(self.rng.random(idx.size) < missing, np.nan, value)
        self.rows.add(idx, date=day, system=system, code=code, value=value, unit=unit)

    def hba1c(self, idx: np.ndarray, day: np.ndarray, poc: np.ndarray) -> None:
        value = np.clip(np.round(self.clin.hba1c[idx] + self.rng.normal(0, 4, idx.size)), 20, 160)
        which = poc.astype(np.int32)
        self._add(
            idx,
            day,
            Coded(("NPU", "LOCAL"), which),
            Coded(("NPU27300", "AAB00092"), which),
            value,
            "mmol/mol",
        )

    def lipids(self, idx: np.ndarray, day: np.ndarray) -> None:
        rng, clin, n = self.rng, self.clin, idx.size
        on_statin = self.clin.courses["statin"].on(self.pop.size, idx, day)
        factor = np.where(on_statin, self.statin_factor[idx], 1.0)
        ldl = np.clip(clin.ldl_untreated[idx] * factor + rng.normal(0, 0.2, n), 0.3, 9.0)
        hdl = np.clip(clin.hdl[idx] + rng.normal(0, 0.1, n), 0.3, 4.0)
        tg = np.clip(clin.triglycerides[idx] * np.exp(rng.normal(0, 0.25, n)), 0.2, 15.0)
        ldl, hdl, tg = np.round(ldl, 1), np.round(hdl, 1), np.round(tg, 1)
        total = np.round(ldl + hdl + tg / 2.2, 1)
        fasting = (rng.random(n) < 0.05).astype(np.int32)
        self._add(idx, day, "NPU", Coded(("NPU01568", "NPU10171"), fasting), ldl, "mmol/L")
        self._add(idx, day, "NPU", "NPU01566", total, "mmol/L")
        self._add(idx, day, "NPU", "NPU01567", hdl, "mmol/L")
        self._add(idx, day, "NPU", "NPU04094", tg, "mmol/L")

    def acr(self, idx: np.ndarray, day: np.ndarray) -> None:
        value = self.clin.acr[idx] * np.exp(self.rng.normal(0, 0.35, idx.size))
        self._add(idx, day, "NPU", "NPU19661", np.round(value, 1), "mg/g")

    def kidney(self, idx: np.ndarray, day: np.ndarray) -> None:
        """eGFR (new or old code by date) with the plasma creatinine it was computed from."""
        pop, n = self.pop, idx.size
        egfr = np.clip(self.clin.egfr[idx] + self.rng.normal(0, 4, n), 4, 140)
        age = (day - pop.birth[idx]) / 365.2425
        creat = _ckd_epi_creatinine(egfr, np.maximum(age, 18), pop.female[idx])
        new = (day >= self.setup.egfr_switch_day).astype(np.int32)
        self._add(
            idx,
            day,
            "DNK",
            Coded(("DNK35131", "DNK35302"), new),
            np.minimum(np.round(egfr), EGFR_CAP),
            "mL/min/1.73m²",
        )
        self._add(idx, day, "NPU", self.setup.creatinine_code, np.round(creat), "µmol/L")

    def blood_pressure(self, idx: np.ndarray, day: np.ndarray) -> None:
        rng, n = self.rng, idx.size
        sys = np.clip(np.round(self.clin.systolic[idx] + rng.normal(0, 9, n)), 80, 240)
        dia = np.clip(np.round(0.42 * sys + rng.normal(23, 6, n)), 40, 140)
        self._add(idx, day, "NPU", "NPU57947", sys, "mmHg")
        self._add(idx, day, "NPU", "NPU57948", dia, "mmHg", missing=0.01)

    def weight(self, idx: np.ndarray, day: np.ndarray) -> None:
        rng, n = self.rng, idx.size
        height_m = self.clin.height[idx] / 100
        weight = np.round(self.clin.bmi[idx] * height_m**2 + rng.normal(0, 1.5, n), 1)
        self._add(idx, day, "NPU", "NPU03804", weight, "kg")
        self._add(idx, day, "NPU", "NPU27281", np.round(weight / height_m**2, 1), "kg/m²")
        measured = rng.random(n) < 0.2
        self._add(
            idx[measured],
            day[measured],
            "NPU",
            "NPU03794",
            np.round(self.clin.height[idx[measured]]),
            "cm",
        )


def _ckd_epi_creatinine(egfr: np.ndarray, age: np.ndarray, female: np.ndarray) -> np.ndarray:
    """Plasma creatinine (µmol/L) that CKD-EPI 2009 maps to `egfr` (inverted equation)."""
    kappa = np.where(female, 0.7, 0.9)
    alpha = np.where(female, -0.329, -0.411)
    g = egfr / (141.0 * 0.993**age * np.where(female, 1.018, 1.0))
    ratio = np.where(g <= 1.0, g ** (-1 / 1.209), g ** (1 / alpha))
    return ratio * kappa * 88.4
