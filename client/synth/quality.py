"""Per-practice quality profiles: what makes one synthetic practice better than another.

Benchmarks are only interesting if practices differ, and in real data they
differ coherently: a practice that runs good diabetes reviews tends also to
record blood pressure. So every parameter is driven by one latent practice
score plus its own noise (loading 0.75 / 0.66), mapped onto a range whose
ends are "worse" and "better" practice. The ranges are set so that the middle
practice reproduces the national figures in the indicator catalogue (for
example about 355 antibiotic prescriptions per 1,000 per year, 30-31 %
penicillin V).

Profiles are synthetic and describe no real practice, so writing them into
the federation file is harmless and lets a demo check that benchmarks recover
what was put in.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np


@dataclass(frozen=True)
class QualityProfile:
    # diabetes care
    diabetes_followup: float  # share of T2D patients in regular follow-up
    hba1c_tests_per_year: float  # HbA1c frequency for followed patients
    hba1c_mean: float  # mean of patients' usual HbA1c, mmol/mol
    bp_per_visit: float  # chance a diabetes visit records blood pressure
    acr_per_year: float  # chance of a urine ACR in a follow-up year
    lipids_per_year: float  # chance of a lipid panel in a follow-up year
    statin_t2d: float  # share of T2D patients aged 40+ on a statin
    statin_cvd: float  # share of ASCVD patients on lipid-lowering therapy
    ras_albuminuria: float  # share of albuminuric T2D patients on a RAS agent
    bp_systolic_mean: float  # mean systolic BP of treated hypertensives, mmHg
    # cardiovascular and respiratory
    anticoagulation_af: float  # share of AF patients (high risk) anticoagulated
    copd_spirometry: float  # share of COPD patients with spirometry on record
    copd_annual_review: float  # chance of an annual COPD review in a year
    flu_vaccine: float  # influenza vaccine uptake among COPD / chronic patients
    saba_overuse: float  # share of asthma patients on SABA alone, >= 3 a year
    # prescribing
    antibiotic_rate: float  # J01 prescriptions per person-year
    penicillin_v_share: float  # share of J01 prescriptions that are J01CE02
    broad_spectrum_share: float  # share that are J01MA, J01CR or J01DB-DE
    uti_first_line: float  # cystitis antibiotics that are first-line
    urti_antibiotic: float  # URTI episodes treated with an antibiotic
    hypnotics_elderly: float  # yearly chance a 65+ patient gets N05CD/N05CF
    benzo_long_term: float  # share of adults on long-term benzodiazepines / Z-drugs
    opioid_long_term: float  # share of adults on long-term opioids
    opioid_benzo: float  # long-term opioid users also given a benzodiazepine/Z-drug course
    antipsychotic_dementia: float  # share of dementia patients on antipsychotics
    antidepressant_followup: float  # new antidepressant starters seen in 2-6 weeks
    nsaid_high_risk: float  # NSAID rate in high-risk patients relative to others
    home_visit_end_of_life: float  # dying patients with a home visit in the last month
    # not quality: the practice's population and lab set-up
    coding_completeness: float  # multiplier on registered chronic prevalence
    morbidity: float  # multiplier for the population's burden of disease
    poc_hba1c_share: float  # HbA1c results from a point-of-care device (local code)

    @classmethod
    def typical(cls) -> QualityProfile:
        """The middle practice: national average figures, no point-of-care device."""
        values = {name: (worse + better) / 2 for name, (worse, better) in _RANGES.items()}
        return cls(**values, morbidity=1.0, poc_hba1c_share=0.0)

    def as_pairs(self) -> tuple[tuple[str, float], ...]:
        return tuple((k, float(v)) for k, v in asdict(self).items())

    @classmethod
    def from_pairs(cls, pairs: tuple[tuple[str, float], ...] | dict[str, float]) -> QualityProfile:
        values = dict(pairs)
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        missing = sorted(names - set(values))
        if unknown or missing:
            raise ValueError(f"quality profile: unknown {unknown}, missing {missing}")
        return cls(**{k: float(v) for k, v in values.items()})


# name -> (value in a worse practice, value in a better practice)
_RANGES: dict[str, tuple[float, float]] = {
    "diabetes_followup": (0.80, 0.97),
    "hba1c_tests_per_year": (2.2, 3.2),
    "hba1c_mean": (54.0, 47.0),
    "bp_per_visit": (0.50, 0.85),
    "acr_per_year": (0.55, 0.95),
    "lipids_per_year": (0.60, 0.95),
    "statin_t2d": (0.55, 0.88),
    "statin_cvd": (0.70, 0.95),
    "ras_albuminuria": (0.55, 0.92),
    "bp_systolic_mean": (140.0, 128.0),
    "anticoagulation_af": (0.65, 0.92),
    "copd_spirometry": (0.55, 0.95),
    "copd_annual_review": (0.45, 0.90),
    "flu_vaccine": (0.50, 0.85),
    "saba_overuse": (0.25, 0.05),
    "antibiotic_rate": (0.41, 0.33),
    "penicillin_v_share": (0.22, 0.40),
    "broad_spectrum_share": (0.20, 0.07),
    "uti_first_line": (0.65, 0.95),
    "urti_antibiotic": (0.30, 0.05),
    "hypnotics_elderly": (0.10, 0.03),
    "benzo_long_term": (0.009, 0.002),
    "opioid_long_term": (0.025, 0.008),
    "opioid_benzo": (0.30, 0.06),
    "antipsychotic_dementia": (0.30, 0.10),
    "antidepressant_followup": (0.45, 0.90),
    "nsaid_high_risk": (1.0, 0.3),
    "home_visit_end_of_life": (0.35, 0.85),
    "coding_completeness": (0.90, 1.04),
}

_LATENT, _OWN = 0.75, 0.66  # loadings; 0.75^2 + 0.66^2 ~ 1, so each score is ~N(0, 1)


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def draw_quality(rng: np.random.Generator) -> QualityProfile:
    """A random practice, correlated across parameters through one latent score."""
    latent = rng.standard_normal()
    own = rng.standard_normal(len(_RANGES))
    values: dict[str, float] = {}
    for (name, (worse, better)), e in zip(_RANGES.items(), own, strict=True):
        u = _phi(_LATENT * latent + _OWN * e)
        values[name] = round(worse + (better - worse) * u, 4)
    morbidity = round(float(np.clip(rng.normal(1.0, 0.08), 0.8, 1.2)), 4)
    has_poc = rng.random() < 0.25  # some practices run a point-of-care HbA1c device
    poc = round(float(rng.uniform(0.1, 0.5)), 4) if has_poc else 0.0
    return QualityProfile(**values, morbidity=morbidity, poc_hba1c_share=poc)
