"""Which of the practice's own patients each indicator counts, for follow-up in the EPJ.

The lists come from the fast engine's per-patient contribution arrays, the
same arrays whose sums are the counts the agent bounds, noises and sends, so
a list can never disagree with a count. Ids are the practice's own
pseudonymous patient ids from its extract; they never leave the practice.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from client.engine.fast import PreparedExtract, patient_contributions
from client.extract.tables import Extract
from indicator_defs import model as m
from reporting.practice_model import IndicatorPatients, PatientContribution


def patients_from_arrays(
    indicator: m.Indicator, patient_ids: np.ndarray, num: np.ndarray, den: np.ndarray
) -> IndicatorPatients:
    """Keep every patient with a non-zero contribution, in id order (stable for the EPJ user)."""
    counted = np.flatnonzero((num != 0) | (den != 0))
    rows = sorted(
        (PatientContribution(str(patient_ids[i]), int(num[i]), int(den[i])) for i in counted),
        key=lambda c: c.patient_id,
    )
    return IndicatorPatients(indicator.id, indicator.unit, tuple(rows))


def patients_per_indicator(
    extract: Extract,
    catalogue: m.Catalogue,
    reference_date: date,
    prepared: PreparedExtract | None = None,
) -> dict[str, IndicatorPatients]:
    """Per indicator id (catalogue order), the patients counted at `reference_date`.

    Pass `prepared` (of this same extract) to reuse one preparation across dates.
    """
    if prepared is None:
        prepared = PreparedExtract.from_extract(extract)
    ids = extract.patients["patient_id"].astype(str).to_numpy()
    arrays = patient_contributions(prepared, catalogue, reference_date)
    return {
        ind.id: patients_from_arrays(ind, ids, *arrays[ind.id])
        for ind in catalogue.indicators.values()
    }
