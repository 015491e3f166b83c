"""Drug menus: which ATC codes a synthetic prescriber picks, how often, and the DDD per pack.

Weights approximate Danish primary-care prescribing (for example atorvastatin
as the dominant statin, apixaban the dominant anticoagulant). DDD values are
plausible pack sizes expressed in defined daily doses; chronic courses are
refilled about every `interval_days`, which is what makes a long-term user's
yearly DDD total reach the 365 that BZ-01 looks for.

The days' supply is what the EPJ's structured dosage gives: the pack's DDD
divided by the patient's daily dose in DDD (`dose` typical, varying between
patients), so a low-dose patient's pack lasts longer than its DDD say. Some
prescriptions have no structured dosage ("as needed"), and then no days'
supply; the indicators fall back to the DDD stand-in for those.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from client.synth.rows import Coded, TableRows

MISSING_DDD_SHARE = 0.02  # prescriptions whose DDD the EPJ did not record
MISSING_SUPPLY_SHARE = 0.12  # prescriptions without a structured dosage, so no days' supply


@dataclass(frozen=True)
class Menu:
    drugs: tuple[tuple[str, float, tuple[float, ...]], ...]  # (ATC, weight, DDD per pack)
    interval_days: float = 90.0  # refill interval for a course
    dose: float = 1.0  # typical daily dose in DDD

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(d[0] for d in self.drugs)

    def pick(self, rng: np.random.Generator, n: int) -> np.ndarray:
        w = np.array([d[1] for d in self.drugs], dtype=float)
        return rng.choice(w.size, size=n, p=w / w.sum()).astype(np.int32)

    def ddd(self, rng: np.random.Generator, which: np.ndarray) -> np.ndarray:
        width = max(len(d[2]) for d in self.drugs)
        table = np.full((len(self.drugs), width), np.nan)
        counts = np.array([len(d[2]) for d in self.drugs])
        for i, d in enumerate(self.drugs):
            table[i, : len(d[2])] = d[2]
        k = np.floor(rng.random(which.size) * counts[which]).astype(np.int64)
        return table[which, k]

    def coded(self, which: np.ndarray) -> Coded:
        return Coded(self.codes, which)

    def issue(
        self,
        rng: np.random.Generator,
        rows: TableRows,
        idx: np.ndarray,
        day: np.ndarray,
        which: np.ndarray | None = None,
    ) -> None:
        """Prescriptions for (patient, day); `which` fixes the drug (one per course)."""
        which = self.pick(rng, idx.size) if which is None else which
        ddd = self.ddd(rng, which)
        dose = self.dose * rng.lognormal(0.0, 0.3, idx.size)
        days = np.maximum(np.round(ddd / dose), 1.0)
        days[rng.random(idx.size) < MISSING_SUPPLY_SHARE] = np.nan
        ddd[rng.random(idx.size) < MISSING_DDD_SHARE] = np.nan
        rows.add(idx, date=day, atc=self.coded(which), ddd=ddd, days_supply=days)


# fmt: off
COURSE_MENUS: dict[str, Menu] = {
    "statin": Menu((("C10AA05", 0.55, (100, 200)), ("C10AA01", 0.20, (100,)),
                    ("C10AA07", 0.15, (100, 200)), ("C10BA02", 0.04, (98,)),
                    ("C10AX09", 0.06, (98, 100)))),
    "ras": Menu((("C09AA05", 0.35, (98, 100)), ("C09CA01", 0.25, (98,)),
                 ("C09AA02", 0.10, (100,)), ("C09CA06", 0.10, (98,)),
                 ("C09DA01", 0.12, (98,)), ("C09BA05", 0.08, (98,)))),
    "calcium_blocker": Menu((("C08CA01", 1.0, (98, 100)),)),
    "beta_blocker": Menu((("C07AB02", 1.0, (100,)),)),
    "anticoagulant": Menu((("B01AF02", 0.45, (84, 100)), ("B01AF01", 0.22, (98,)),
                           ("B01AE07", 0.10, (90,)), ("B01AF03", 0.08, (90,)),
                           ("B01AA03", 0.15, (100,)))),
    "antiplatelet": Menu((("B01AC06", 0.7, (100,)), ("B01AC04", 0.3, (84, 90)))),
    "metformin": Menu((("A10BA02", 1.0, (50, 100)),)),
    "sglt2": Menu((("A10BK01", 0.5, (98,)), ("A10BK03", 0.5, (98,)))),
    "glp1": Menu((("A10BJ06", 0.7, (28, 56)), ("A10BJ02", 0.3, (30, 60)))),
    "insulin": Menu((("A10AE04", 0.6, (50, 100)), ("A10AE05", 0.2, (50, 100)),
                     ("A10AB05", 0.2, (50, 100))), interval_days=60),
    "copd_inhaler": Menu((("R03AL03", 0.45, (60, 90)), ("R03BB04", 0.2, (30, 90)),
                          ("R03AL08", 0.2, (30, 90)), ("R03AK07", 0.15, (60, 120))),
                         interval_days=60),
    "dementia_drug": Menu((("N06DA02", 1.0, (98,)),)),
    "antipsychotic_dementia": Menu((("N05AH04", 0.5, (20, 50)), ("N05AX08", 0.35, (50, 100)),
                                    ("N05AD01", 0.15, (20, 40))), interval_days=60),
}

ASTHMA_ICS = Menu((("R03BA02", 0.35, (60, 120)), ("R03AK07", 0.45, (60, 120)),
                   ("R03AK06", 0.2, (60,))), interval_days=75)
SABA = Menu((("R03AC02", 0.8, (25, 50)), ("R03AC03", 0.2, (25, 50))), interval_days=90)
ANTIDEPRESSANT = Menu((("N06AB10", 0.30, (28, 56, 98)), ("N06AB06", 0.20, (28, 98)),
                       ("N06AB04", 0.15, (28, 98)), ("N06AX11", 0.15, (30, 90)),
                       ("N06AX16", 0.10, (28, 98)), ("N06AA09", 0.10, (25, 50))),
                      interval_days=60)
BENZO_LONG = Menu((("N05BA04", 0.30, (30, 40, 50)), ("N05BA01", 0.20, (30, 50)),
                   ("N05CF01", 0.30, (30, 40)), ("N05CD02", 0.10, (30,)),
                   ("N05BA12", 0.05, (30,)), ("N03AE01", 0.05, (30, 50))), interval_days=30)
HYPNOTIC_SHORT = Menu((("N05CF01", 0.7, (10, 20, 30)), ("N05CF02", 0.2, (10, 20)),
                       ("N05CD02", 0.1, (10, 20))))
ANXIOLYTIC_SHORT = Menu((("N05BA04", 0.35, (10, 20)), ("N05BA01", 0.35, (10, 20)),
                         ("N05CF01", 0.25, (10, 20, 30)), ("N05CF02", 0.05, (10,))))
OPIOID_LONG = Menu((("N02AX02", 0.35, (20, 30, 50)), ("N02AA05", 0.25, (20, 30)),
                    ("N02AE01", 0.20, (28, 30)), ("N02AJ06", 0.20, (25, 50))), interval_days=30)
OPIOID_SHORT = Menu((("N02AX02", 0.4, (5, 10, 20)), ("N02AJ06", 0.4, (5, 10)),
                     ("N02AA05", 0.2, (5, 10))))
OPIOID_PALLIATIVE = Menu((("N02AA01", 0.5, (10, 20)), ("N02AB03", 0.3, (10, 20)),
                          ("N02AA05", 0.2, (10, 20))), interval_days=14)
ANTIPSYCHOTIC = Menu((("N05AH04", 0.40, (30, 50)), ("N05AX08", 0.20, (50, 100)),
                      ("N05AH03", 0.25, (28, 56)), ("N05AB03", 0.15, (50,))), interval_days=60)
LITHIUM = Menu((("N05AN01", 1.0, (100,)),))
NSAID = Menu((("M01AE01", 0.5, (10, 20, 30)), ("M01AB05", 0.2, (10, 20)),
              ("M01AE02", 0.2, (10, 20)), ("M01AH01", 0.1, (10, 20))))
PARACETAMOL = Menu((("N02BE01", 1.0, (25, 50)),))
PPI = Menu((("A02BC02", 0.6, (28, 56)), ("A02BC01", 0.4, (28, 56))))
FLU_VACCINE = Menu((("J07BB02", 1.0, (1,)),))

# Antibiotics, by role in the calibration of penicillin V and broad-spectrum shares.
BROAD_SPECTRUM = Menu((("J01CR02", 0.45, (7, 10)), ("J01MA02", 0.35, (3, 5, 7)),
                       ("J01DC02", 0.10, (5, 7)), ("J01DB01", 0.10, (5, 7))))
PENICILLIN_V = Menu((("J01CE02", 1.0, (6.7, 10, 13.3)),))
OTHER_ANTIBIOTIC = Menu((("J01CA04", 0.30, (7, 10)), ("J01CF01", 0.15, (7, 10)),
                         ("J01FA09", 0.10, (7,)), ("J01FA01", 0.05, (7, 10)),
                         ("J01FA10", 0.05, (3,)), ("J01AA02", 0.12, (7, 10)),
                         ("J01CA08", 0.13, (3, 5)), ("J01XE01", 0.05, (5,)),
                         ("J01EB02", 0.05, (3, 5))))
UTI_FIRST_LINE = Menu((("J01CA08", 0.45, (3, 5)), ("J01EB02", 0.25, (3, 5)),
                       ("J01XE01", 0.20, (5,)), ("J01EA01", 0.10, (3, 5))))
# fmt: on
