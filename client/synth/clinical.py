"""Each patient's hidden clinical state: usual lab levels and long-term treatment courses.

Labs and prescriptions are drawn from the same state, so they agree the way
real records do: statin users have lower LDL, albuminuric diabetics are the
ones offered a RAS agent, patients with low eGFR have high creatinine
(CKD-EPI 2009 inverted), and a practice whose profile says "HbA1c control
is poor" has patients whose usual HbA1c sits higher.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from client.synth.days import DAYS_PER_YEAR, NO_DATE
from client.synth.morbidity import Morbidity
from client.synth.population import Population
from client.synth.quality import QualityProfile


@dataclass(frozen=True)
class Courses:
    """Treatment courses of one kind: one row per course, inclusive [start, stop]."""

    patient: np.ndarray
    start: np.ndarray
    stop: np.ndarray

    def on(self, n_patients: int, idx: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Whether patient idx is on this treatment on `day` (at most one course each)."""
        start = np.full(n_patients, NO_DATE, dtype=np.int64)
        stop = np.full(n_patients, NO_DATE, dtype=np.int64)
        start[self.patient], stop[self.patient] = self.start, self.stop
        s = start[idx]
        return (s != NO_DATE) & (s <= day) & (day <= stop[idx])


@dataclass(frozen=True)
class Clinical:
    hba1c: np.ndarray  # usual HbA1c, mmol/mol
    ldl_untreated: np.ndarray  # mmol/L
    hdl: np.ndarray
    triglycerides: np.ndarray
    egfr: np.ndarray  # mL/min/1.73 m2, uncapped
    acr: np.ndarray  # usual urine albumin/creatinine ratio, mg/g
    systolic: np.ndarray  # usual systolic BP, mmHg
    height: np.ndarray  # cm
    bmi: np.ndarray
    courses: dict[str, Courses]


def draw_clinical(
    rng: np.random.Generator, pop: Population, morb: Morbidity, q: QualityProfile
) -> Clinical:
    n = pop.size
    age = (pop.index_day - pop.birth) / DAYS_PER_YEAR
    t2d, t1d = morb.has("t2d"), morb.has("t1d")
    ht = morb.has("hypertension")
    hf = morb.has("hf")

    hba1c = rng.normal(36, 3, n)
    prediabetes = rng.random(n) < np.where(age >= 40, 0.08, 0.02)
    hba1c[prediabetes] = rng.normal(44, 2, int(prediabetes.sum()))
    hba1c[t2d] = rng.normal(q.hba1c_mean, 9, int(t2d.sum()))
    hba1c[t1d] = rng.normal(62, 10, int(t1d.sum()))
    hba1c = np.clip(hba1c, 28, 110)

    ldl = np.clip(rng.normal(2.6 + 0.012 * np.clip(age - 20, 0, 50), 0.8), 1.0, 7.5)
    hdl = np.clip(rng.normal(np.where(pop.female, 1.6, 1.3), 0.3), 0.5, 3.0)
    tg = np.exp(rng.normal(np.log(np.where(t2d, 1.9, 1.3)), 0.45))

    egfr = rng.normal(108 - 0.85 * np.clip(age - 30, 0, None), 11, n)
    egfr -= 8 * t2d + 5 * ht + 15 * hf
    ckd = rng.random(n) < np.where(age >= 70, 0.08, 0.01)  # kidney disease beyond the average
    egfr[ckd] *= rng.uniform(0.3, 0.7, int(ckd.sum()))
    egfr = np.clip(egfr, 6, 135)

    p_alb = np.select([t2d, ht], [0.25, 0.10], 0.02)
    alb = rng.random(n) < p_alb
    acr = np.exp(np.where(alb, rng.normal(np.log(90), 0.8, n), rng.normal(np.log(7), 0.6, n)))
    acr = np.where(alb, np.maximum(acr, 30), np.minimum(acr, 29.9))

    systolic = rng.normal(118 + 0.45 * np.clip(age - 30, 0, None), 11, n)
    systolic[ht] = rng.normal(q.bp_systolic_mean, 12, int(ht.sum()))
    height = rng.normal(np.where(pop.female, 166, 180), 7)
    bmi = np.clip(rng.normal(np.where(t2d, 31, 26), 4.5), 16, 55)

    courses = _courses(rng, pop, morb, q, age, alb)
    return Clinical(
        hba1c=hba1c,
        ldl_untreated=ldl,
        hdl=hdl,
        triglycerides=tg,
        egfr=egfr,
        acr=acr,
        systolic=systolic,
        height=height,
        bmi=bmi,
        courses=courses,
    )


def _course(
    rng: np.random.Generator,
    pop: Population,
    p: np.ndarray,
    trigger: np.ndarray,
    delay_years: float,
    stop_share: float,
) -> Courses:
    """Start a course with probability p, some time after `trigger`; a share stop early."""
    eligible = (trigger != NO_DATE) & (trigger <= pop.index_day)
    take = eligible & (rng.random(pop.size) < p)
    idx = np.flatnonzero(take)
    delay = np.floor(rng.exponential(delay_years * DAYS_PER_YEAR, idx.size)).astype(np.int64)
    end = pop.index_day[idx]
    start = np.minimum(trigger[idx] + delay, end)
    stop = end.copy()
    stops = rng.random(idx.size) < stop_share
    stop[stops] = start[stops] + np.floor(rng.random(int(stops.sum())) * (end - start)[stops])
    return Courses(idx, start, stop.astype(np.int64))


def _earliest(*days: np.ndarray) -> np.ndarray:
    stacked = np.stack([np.where(d == NO_DATE, np.iinfo(np.int64).max, d) for d in days])
    out = stacked.min(axis=0)
    return np.where(out == np.iinfo(np.int64).max, NO_DATE, out)


def _courses(
    rng: np.random.Generator,
    pop: Population,
    morb: Morbidity,
    q: QualityProfile,
    age: np.ndarray,
    alb: np.ndarray,
) -> dict[str, Courses]:
    on = morb.onset
    has = morb.has
    n = pop.size
    none = np.full(n, NO_DATE, dtype=np.int64)
    at_40 = pop.birth + int(40 * DAYS_PER_YEAR)
    at_50 = pop.birth + int(50 * DAYS_PER_YEAR)
    t2d_40 = np.where(has("t2d") & (age >= 40), np.maximum(on["t2d"], at_40), NO_DATE)
    cvd_on = _earliest(on["ihd"], on["stroke"], on["pad"])
    cvd = cvd_on != NO_DATE
    primary = np.where(age >= 50, at_50 + np.floor(rng.exponential(8 * DAYS_PER_YEAR, n)), none)
    primary = np.where(has("lipid_disorder"), on["lipid_disorder"], primary).astype(np.int64)
    p_statin = np.select(
        [cvd, t2d_40 != NO_DATE, has("lipid_disorder"), age >= 50],
        [q.statin_cvd, q.statin_t2d, 0.5, 0.08],
        0.0,
    )
    statin_trigger = _earliest(cvd_on, t2d_40, primary)

    ras_p = np.select(
        [has("hf"), has("t2d") & alb, has("hypertension"), has("t2d")],
        [0.8, q.ras_albuminuria, 0.55, 0.25],
        0.0,
    )
    ras_trigger = _earliest(on["hf"], on["hypertension"], on["t2d"])

    af = has("af")
    high_risk = (age >= 65) | has("hypertension") | has("t2d") | has("hf") | has("stroke")
    p_anticoag = np.where(af, np.where(high_risk, q.anticoagulation_af, 0.3), 0.0)
    anticoag = _course(rng, pop, p_anticoag, on["af"], 0.1, 0.05)
    has_anticoag = np.zeros(n, dtype=bool)
    has_anticoag[anticoag.patient] = True

    t1d, t2d = has("t1d"), has("t2d") & ~has("t1d")
    return {
        "statin": _course(rng, pop, p_statin, statin_trigger, 0.4, 0.08),
        "ras": _course(rng, pop, ras_p, ras_trigger, 0.3, 0.06),
        "calcium_blocker": _course(
            rng, pop, np.where(has("hypertension"), 0.4, 0.0), on["hypertension"], 0.8, 0.05
        ),
        "beta_blocker": _course(
            rng,
            pop,
            np.select([has("hf"), af, has("ihd")], [0.7, 0.6, 0.4], 0.0),
            _earliest(on["hf"], on["af"], on["ihd"]),
            0.1,
            0.1,
        ),
        "anticoagulant": anticoag,
        "antiplatelet": _course(
            rng, pop, np.where(cvd & ~has_anticoag, 0.75, 0.0), cvd_on, 0.05, 0.05
        ),
        "metformin": _course(rng, pop, np.where(t2d, 0.8, 0.0), on["t2d"], 0.3, 0.05),
        "sglt2": _course(rng, pop, np.where(t2d, 0.25, 0.0), on["t2d"], 2.0, 0.05),
        "glp1": _course(rng, pop, np.where(t2d, 0.15, 0.0), on["t2d"], 2.5, 0.1),
        "insulin": _course(
            rng,
            pop,
            np.where(t1d, 0.98, np.where(t2d, 0.1, 0.0)),
            _earliest(on["t1d"], on["t2d"]),
            0.01,
            0.0,
        ),
        "copd_inhaler": _course(rng, pop, np.where(has("copd"), 0.85, 0.0), on["copd"], 0.2, 0.05),
        "dementia_drug": _course(
            rng, pop, np.where(has("dementia"), 0.5, 0.0), on["dementia"], 0.1, 0.2
        ),
        "antipsychotic_dementia": _course(
            rng,
            pop,
            np.where(has("dementia"), q.antipsychotic_dementia, 0.0),
            on["dementia"],
            0.8,
            0.2,
        ),
    }
