"""One synthetic practice: a complete, valid extract (schema v1) from a seeded generator."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from client.extract.schema import CONDITIONS, ENCOUNTERS, LAB_RESULTS, PRESCRIPTIONS
from client.extract.tables import Extract
from client.synth.clinical import draw_clinical
from client.synth.contacts import draw_contacts
from client.synth.days import to_datetime64, to_day
from client.synth.labs import draw_lab_setup, draw_labs
from client.synth.morbidity import draw_morbidity
from client.synth.population import Population, draw_population
from client.synth.prescribing import draw_prescriptions
from client.synth.quality import QualityProfile
from client.synth.rows import TableRows

EGFR_CODE_SWITCH = date(2019, 6, 1)  # about when labs moved from DNK35131 to DNK35302


def synthesize_practice(
    n_patients: int,
    reference_date: date,
    years_history: int,
    quality: QualityProfile | None = None,
    rng: np.random.Generator | None = None,
) -> Extract:
    """A practice with exactly `n_patients` listed on `reference_date`, plus former patients.

    The extract holds `years_history` years of activity up to and including
    the reference date. The output depends only on the arguments and the
    state of `rng`: the same seed gives the same extract, value for value.
    Defaults: the typical (national average) quality profile, and seed 0.
    """
    quality = QualityProfile.typical() if quality is None else quality
    rng = np.random.default_rng(0) if rng is None else rng
    if n_patients < 1:
        raise ValueError("n_patients must be at least 1")
    if years_history < 1:
        raise ValueError("years_history must be at least 1")
    pop = draw_population(rng, n_patients, reference_date, years_history)
    conditions = TableRows(CONDITIONS)
    prescriptions = TableRows(PRESCRIPTIONS)
    labs = TableRows(LAB_RESULTS)
    encounters = TableRows(ENCOUNTERS)

    morb = draw_morbidity(rng, pop, quality, conditions)
    clin = draw_clinical(rng, pop, morb, quality)
    setup = draw_lab_setup(rng, to_day(EGFR_CODE_SWITCH))
    draw_labs(rng, pop, morb, clin, quality, setup, labs, encounters)
    rx = draw_prescriptions(rng, pop, morb, clin, quality, prescriptions)
    draw_contacts(rng, pop, morb, quality, rx, encounters)

    ids = pop.patient_id
    return Extract(
        patients=_patients_frame(pop),
        conditions=conditions.frame(ids, sort_by="start_date"),
        prescriptions=prescriptions.frame(ids, sort_by="date"),
        lab_results=labs.frame(ids, sort_by="date"),
        encounters=encounters.frame(ids, sort_by="date"),
    )


def _patients_frame(pop: Population) -> pd.DataFrame:
    def text(values: pa.Array) -> pd.Series:
        return pd.Series(pd.array(values, dtype="str"))

    sex = pa.array(["M", "F"]).take(pa.array(pop.female.astype(np.int32)))
    return pd.DataFrame(
        {
            "patient_id": text(pa.array(pop.patient_id)),
            "birth_date": to_datetime64(pop.birth),
            "sex": text(sex),
            "list_start": to_datetime64(pop.list_start),
            "list_end": to_datetime64(pop.list_end),
            "death_date": to_datetime64(pop.death),
        }
    )
