"""Hypothesis strategies for extracts whose data sits on every edge of the catalogue.

Birthdays on R, list end on R, events exactly N days back, equal dates, empty cells,
values on thresholds: what the engine tests feed both engines.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from tests.client.engine.builders import make_extract

REF = date(2024, 3, 1)  # the day after a leap day, to stress age arithmetic

# Offsets (days before R) that sit on every window edge in the catalogue.
EDGE_OFFSETS = sorted(
    {o for n in (0, 90, 180, 365, 730) for o in (n - 1, n, n + 1) if o >= 0} | {-1, -30}
)
offsets = st.one_of(st.sampled_from(EDGE_OFFSETS), st.integers(-40, 800))


def day(offset: int) -> str:
    return (REF - timedelta(days=offset)).isoformat()


ICPC2 = [
    "T90",
    "T89",
    "K86",
    "K87",
    "K74",
    "K76",
    "K77",
    "K78",
    "K89",
    "K90",
    "K92",
    "R95",
    "R96",
    "P70",
    "R84",
    "T91",
    "K73",
]
ICD10 = ["C50", "C509", "C97", "D00", "I10"]
ATC = [
    "A10BA02",
    "C10AA05",
    "C10BA02",
    "C10AX09",
    "C09AA05",
    "C09DA01",
    "B01AA03",
    "B01AF01",
    "B01AC06",
    "J01CE02",
    "J01CA08",
    "J01MA02",
    "J01CR02",
    "J01DC02",
    "J01FA09",
    "N05BA01",
    "N05CD08",
    "N05CF01",
    "N03AE01",
    "N02AA01",
    "N05AH03",
    "N05AN01",
    "M01AE01",
    "R03AC02",
    "R03AC03",
    "R03BA02",
    "R03AK06",
    "J07BB02",
    "N05C",
    "N05CD",
]
LAB = [
    ("NPU", "NPU27300"),
    ("LOCAL", "AAB00092"),
    ("DNK", "NPU27300"),
    ("NPU", "NPU01568"),
    ("NPU", "NPU19661"),
    ("DNK", "DNK35302"),
    ("NPU", "NPU04998"),
    ("NPU", "NPU57947"),
    ("NPU", "NPU57948"),
]
# Values on and around every threshold in the catalogue, per test.
VALUES = {
    "NPU27300": [None, 40.0, 52.9, 53.0, 53.0, 53.1, 70.0],
    "NPU01568": [None, 1.7, 1.8, 1.8, 2.4, 2.5, 3.1],
    "NPU19661": [None, 10.0, 29.9, 30.0, 30.0, 120.0],
    "DNK35302": [None, 45.0, 59.9, 60.0, 60.0, 90.0],
    "NPU57947": [None, 120.0, 140.0, 140.0, 140.5, 165.0],
    "NPU57948": [None, 70.0, 90.0, 90.0, 90.5, 100.0],
}
SERVICES = ["0101", "0120", "7113", "7121", "0411"]

# Archetypes steer a patient's history towards one indicator family, so every
# indicator sees non-trivial numerators and denominators (checked below).
ARCHETYPES = {
    "diabetes": (
        ["T90", "T90", "T89", "K74"],
        ["C10AA05", "C10BA02", "C09AA05", "A10BA02"],
        [
            ("NPU", "NPU27300"),
            ("NPU", "NPU01568"),
            ("NPU", "NPU19661"),
            ("NPU", "NPU57947"),
            ("DNK", "DNK35302"),
        ],
        ["0120"],
    ),
    "cardio": (
        ["K86", "K87", "K78", "K77", "K90", "K75"],
        ["B01AF01", "B01AA03", "C10AA01", "M01AE01", "B01AC06"],
        [("NPU", "NPU57947"), ("NPU", "NPU57948"), ("DNK", "DNK35302"), ("NPU", "NPU19661")],
        ["0101"],
    ),
    "lungs": (
        ["R95", "R96"],
        ["R03AC02", "R03AC03", "R03AC02", "R03AC03", "R03BA02", "J07BB02", "J01CE02"],
        [("NPU", "NPU27300")],
        ["7113", "0120", "7121"],
    ),
    "psyche": (
        ["P70", "R84"],
        ["N05AH03", "N05AN01", "N05CD08", "N02AA01", "N05BA01"],
        [("DNK", "DNK35302")],
        ["0101"],
    ),
}


@st.composite
def extracts(draw):
    """Small practices whose patients each carry a dense, mostly in-window history."""
    n = draw(st.integers(1, 6))
    ids = [f"p{i}" for i in range(n)]
    in_window = st.one_of(st.sampled_from(EDGE_OFFSETS), st.integers(0, 400), offsets)
    patients, conditions, prescriptions, labs, encounters = [], [], [], [], []
    for pid in ids:
        arch_codes, arch_atc, arch_lab, arch_services = ARCHETYPES[
            draw(st.sampled_from(sorted(ARCHETYPES)))
        ]
        # ages straddle every age-band and criterion edge, birthdays on and around R
        years = draw(st.sampled_from([0, 15, 17, 18, 39, 40, 64, 65, 74, 75, 79, 80, 85, 90]))
        birth = REF.replace(year=REF.year - years) + timedelta(
            days=draw(st.sampled_from([-1, 0, 1, 100]))
        )
        patients.append(
            (
                pid,
                birth.isoformat(),
                draw(st.sampled_from(["F", "M"])),
                day(draw(st.sampled_from([-1, 0, 1, 400, 4000, 4000]))),
                draw(st.one_of(st.none(), st.none(), st.sampled_from([-1, 0, 1, 30]).map(day))),
                draw(
                    st.one_of(st.none(), st.none(), st.none(), st.sampled_from([-1, 0, 1]).map(day))
                ),
            )
        )
        for _ in range(draw(st.integers(0, 5))):
            system = draw(st.sampled_from(["ICPC2"] * 4 + ["ICD10"]))
            pool = arch_codes * 3 + ICPC2 if system == "ICPC2" else ICD10 + ICPC2[:2]
            code = draw(st.sampled_from(pool))
            start = draw(st.one_of(st.integers(1, 4000), st.sampled_from([-1, 0, 1])))
            end = draw(st.one_of(st.none(), st.none(), st.integers(-30, start)))
            conditions.append((pid, system, code, day(start), None if end is None else day(end)))
        for _ in range(draw(st.integers(0, 10))):
            prescriptions.append(
                (
                    pid,
                    day(draw(in_window)),
                    draw(st.sampled_from(arch_atc * 3 + ATC)),
                    draw(st.sampled_from([None, 0.0, 30.0, 89.9, 90.0, 100.0, 365.0])),
                )
            )
        for _ in range(draw(st.integers(0, 8))):
            system, code = draw(st.sampled_from(arch_lab * 3 + LAB))
            value = draw(st.sampled_from(VALUES.get(code, [None, 1.0, 60.0])))
            labs.append((pid, day(draw(in_window)), system, code, value, "x"))
        for _ in range(draw(st.integers(0, 3))):
            encounters.append(
                (pid, day(draw(in_window)), draw(st.sampled_from(arch_services + SERVICES)))
            )
    return make_extract(patients, conditions, prescriptions, labs, encounters)
