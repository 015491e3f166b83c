"""Hypothesis strategies for extracts whose data sits on every edge of the catalogue.

Birthdays on R, list end on R, events exactly N days back, equal dates, empty cells,
values on thresholds: what the engine tests feed both engines. `extracts(archetypes)`
can be narrowed to the episodic histories (infections, antidepressant starts,
overlapping supplies, deaths) that reach the episode indicators' edges.
"""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import strategies as st

from tests.client.engine.builders import make_extract

REF = date(2024, 3, 1)  # the day after a leap day, to stress age arithmetic

# Offsets (days before R) that sit on every window edge in the catalogue, including
# the episode windows: 365 days ending 3 (AB-04, AB-05) or 42 (MH-02) days before R.
EDGE_OFFSETS = sorted(
    {o for n in (0, 3, 30, 42, 90, 180, 365, 368, 407, 730) for o in (n - 1, n, n + 1) if o >= 0}
    | {-1, -30}
)
offsets = st.one_of(st.sampled_from(EDGE_OFFSETS), st.integers(-40, 800))
# Days between an episode's anchor and its neighbours, on every edge of the
# catalogue's requirements (±3, 0-3, 14-42) and look-backs (28, 365).
EPISODE_GAPS = sorted(
    {g for n in (0, 3, 14, 28, 42, 365) for g in (n - 1, n, n + 1)}
    | {-g for n in (3, 28, 365) for g in (n - 1, n, n + 1)}
)
gaps = st.one_of(
    st.sampled_from(EPISODE_GAPS), st.integers(-4, 4), st.integers(-45, 45), st.integers(-400, 400)
)
# Days' supply and DDD values around the days-covered thresholds (14, 90 days).
SUPPLY = [None, 13.0, 14.0, 89.0, 90.0, None, 0.0, 1.0, 13.5, 30.0, 89.9, 100.0, 400.0]
DDD = [14.0, 13.0, 89.0, 90.0, None, 0.0, 13.9, 30.0, 89.9, 100.0, 365.0]


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
    "U71",
    "R74",
    "X76",
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
    "J01EA01",
    "J01XE01",
    "J01EB02",
    "N06AB10",
    "N06AX11",
    "N02AX02",
    "N05BA04",
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
SERVICES = ["0101", "0120", "7113", "7121", "0411", "0201", "0105", "0125", "0127"]

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
    # episode indicators: infections and their antibiotics (AB-04, AB-05), antidepressant
    # starts and follow-up contacts (MH-02), opioids with benzodiazepines (OP-01, OP-02),
    # deaths with cancer and home visits (PAL-01)
    "infection": (
        ["U71", "R74", "U71", "R74"],
        ["J01CA08", "J01EA01", "J01XE01", "J01CE02", "J01MA02", "J01CR02"],
        [],
        ["0101", "0201"],
    ),
    "mood": (
        ["P76"],
        ["N06AB10", "N06AX11", "N06AB10"],
        [],
        ["0101", "0201", "0105", "0125", "0127", "0120"],
    ),
    "pain": (
        ["L71", "K86"],
        ["N02AX02", "N02AA01", "N02AX02", "N05BA04", "N05CF01", "N05CD08", "N03AE01"],
        [],
        ["0101"],
    ),
    "dying": (
        ["X76", "R84", "K77"],
        ["N02AA01", "N05BA04"],
        [],
        ["0411", "0411", "0101"],
    ),
    # more treated infections in a year than the cap lets count (AB-04, AB-05)
    "recurrent": (["U71", "R74"], ["J01CA08", "J01CE02"], [], ["0101"]),
}


EPISODIC = ("infection", "recurrent", "mood", "pain", "dying")
# Hypothesis leans towards the first entry of a list and the low end of a range,
# so lists open with a typical value and interleave the kinds that must all appear.
INFECTION_DRUGS = [
    "J01CE02",
    "J01CA08",
    "N02AX02",
    "J01MA02",
    "J01EA01",
    "J01CR02",
    "J01XE01",
    "R03AC02",
    "J01FA09",
    "J01EB02",
    "J07BB02",
]
one_or_more = st.sampled_from([1, 2, 0])


@st.composite
def extracts(draw, archetypes: tuple[str, ...] = tuple(sorted(ARCHETYPES))):
    """Small practices whose patients each carry a dense, mostly in-window history."""
    n = draw(st.integers(1, 6))
    ids = [f"p{i}" for i in range(n)]
    in_window = st.one_of(st.sampled_from(EDGE_OFFSETS), st.integers(0, 400), offsets)
    rows = Rows()
    for pid in ids:
        archetype = draw(st.sampled_from(archetypes))
        arch_codes, arch_atc, arch_lab, arch_services = ARCHETYPES[archetype]
        # ages straddle every age-band and criterion edge, birthdays on and around R;
        # infections lean towards AB-04's population (women 18-64)
        ages = [0, 15, 17, 18, 39, 40, 64, 65, 74, 75, 79, 80, 85, 90]
        sexes = ["F", "M"]
        if archetype == "infection":
            ages, sexes = [30, 18, 17, 39, 40, 63, 64, 65, 15], ["F", "M", "F", "F"]
        years = draw(st.sampled_from(ages))
        birth = REF.replace(year=REF.year - years) + timedelta(
            days=draw(st.sampled_from([-1, 0, 1, 100]))
        )
        list_end = draw(st.one_of(st.none(), st.none(), st.sampled_from([-1, 0, 1, 30]).map(day)))
        death = draw(st.one_of(st.none(), st.none(), st.none(), st.sampled_from([-1, 0, 1])))
        death = None if death is None else day(death)
        if archetype == "dying":
            list_end, death = _dying(draw, pid, list_end, rows)
        elif archetype in EPISODIC:
            EPISODES[archetype](draw, pid, rows)
        rows.patients.append(
            (
                pid,
                birth.isoformat(),
                draw(st.sampled_from(sexes)),
                day(draw(st.sampled_from([4000, -1, 0, 1, 400, 4000]))),
                list_end,
                death,
            )
        )
        for _ in range(draw(st.integers(0, 5))):
            system = draw(st.sampled_from(["ICPC2"] * 4 + ["ICD10"]))
            pool = arch_codes * 3 + ICPC2 if system == "ICPC2" else ICD10 + ICPC2[:2]
            code = draw(st.sampled_from(pool))
            start = draw(st.one_of(st.integers(1, 4000), st.sampled_from([-1, 0, 1])))
            end = draw(st.one_of(st.none(), st.none(), st.integers(-30, start)))
            rows.conditions.append(
                (pid, system, code, day(start), None if end is None else day(end))
            )
        for _ in range(draw(st.integers(0, 10))):
            rows.prescriptions.append(
                (
                    pid,
                    day(draw(in_window)),
                    draw(st.sampled_from(arch_atc * 3 + ATC)),
                    draw(st.sampled_from(DDD)),
                    draw(st.sampled_from(SUPPLY)),
                )
            )
        for _ in range(draw(st.integers(0, 8))):
            system, code = draw(st.sampled_from(arch_lab * 3 + LAB))
            value = draw(st.sampled_from(VALUES.get(code, [None, 1.0, 60.0])))
            rows.labs.append((pid, day(draw(in_window)), system, code, value, "x"))
        for _ in range(draw(st.integers(0, 3))):
            rows.encounters.append(
                (pid, day(draw(in_window)), draw(st.sampled_from(arch_services + SERVICES)))
            )
    return make_extract(
        rows.patients, rows.conditions, rows.prescriptions, rows.labs, rows.encounters
    )


class Rows:
    def __init__(self) -> None:
        self.patients: list[tuple] = []
        self.conditions: list[tuple] = []
        self.prescriptions: list[tuple] = []
        self.labs: list[tuple] = []
        self.encounters: list[tuple] = []


# --- episodes: anchors with neighbours a chosen gap away, on every edge ------------
# An event `gap` days after an anchor at offset a (days before R) sits at offset a - gap.

anchor_offsets = st.one_of(st.integers(5, 360), st.sampled_from(EDGE_OFFSETS))
small_gaps = st.one_of(st.integers(-5, 5), st.sampled_from(EPISODE_GAPS), st.integers(-50, 50))


def _anchors(draw) -> list[int]:
    """1-3 anchor offsets; later ones follow earlier ones by gaps around the look-backs."""
    first = draw(anchor_offsets)
    out = [first]
    for _ in range(draw(st.integers(0, 2))):
        out.append(out[-1] - draw(st.sampled_from([0, 1, 27, 28, 29, 60, 364, 365, 366])))
    return out


def _infection(draw, pid: str, rows: Rows) -> None:
    """Cystitis / URTI episodes with antibiotics around them (AB-04, AB-05)."""
    for a in _anchors(draw):
        code = draw(st.sampled_from(["U71", "R74"]))
        system = draw(st.sampled_from(["ICPC2", "ICPC2", "ICPC2", "ICD10"]))
        end = draw(st.one_of(st.none(), st.integers(a - 10, a).map(day)))
        rows.conditions.append((pid, system, code, day(a), end))
        for _ in range(draw(one_or_more)):
            atc = draw(st.sampled_from(INFECTION_DRUGS))
            when = a - draw(small_gaps)
            rows.prescriptions.append((pid, day(when), atc, draw(st.sampled_from(DDD))))


def _mood(draw, pid: str, rows: Rows) -> None:
    """Antidepressant starts (or continuations) and contacts after them (MH-02)."""
    for a in _anchors(draw):
        atc = draw(st.sampled_from(["N06AB10", "N06AX11"]))
        rows.prescriptions.append((pid, day(a), atc, None))
        for _ in range(draw(one_or_more)):
            service = draw(st.sampled_from(["0101", "0127", "0201", "0120", "0105", "0125"]))
            gap = draw(st.one_of(st.sampled_from([20, 13, 14, 15, 41, 42, 43]), small_gaps))
            rows.encounters.append((pid, day(a - gap), service))


def _pain(draw, pid: str, rows: Rows) -> None:
    """Opioid supplies with benzodiazepines or Z-drugs overlapping them (OP-01, OP-02)."""
    for a in _anchors(draw):
        for _ in range(draw(st.integers(1, 3))):
            atc = draw(st.sampled_from(["N02AX02", "N02AA01", "N05BA04", "N05CF01", "N03AE01"]))
            when = a - draw(st.one_of(st.just(0), small_gaps))
            supply = draw(st.sampled_from(SUPPLY))
            rows.prescriptions.append((pid, day(when), atc, draw(st.sampled_from(DDD)), supply))


def _dying(draw, pid: str, list_end: str | None, rows: Rows) -> tuple[str | None, str | None]:
    """A death around the 365-day window, cancer codes and home visits around it (PAL-01).

    A list ending on the day of death is what many EPJs record; it must still
    count as "on the list when they died".
    """
    if draw(st.sampled_from([False, False, True])):
        return list_end, None
    death = draw(st.one_of(st.sampled_from([30, 364, 365, 366, 0, -1, 1, 29, 31]), anchor_offsets))
    if draw(st.booleans()):
        list_end = day(death + draw(st.sampled_from([0, -1, 1])))
    for _ in range(draw(one_or_more)):
        system, code = draw(
            st.sampled_from([("ICPC2", "X76"), ("ICD10", "C509"), ("ICPC2", "R84")])
        )
        start = death + draw(st.sampled_from([400, 0, 1, -1]))
        rows.conditions.append((pid, system, code, day(start), None))
    for _ in range(draw(one_or_more)):
        gap = draw(st.sampled_from([1, 29, 30, 0, 31, 28, -1]))
        service = draw(st.sampled_from(["0411", "0101", "0411"]))
        rows.encounters.append((pid, day(death + gap), service))
    return list_end, day(death)


def _recurrent(draw, pid: str, rows: Rows) -> None:
    """Four to seven episodes of one infection a month or two apart, each treated."""
    code = draw(st.sampled_from(["U71", "R74"]))
    a = draw(st.integers(300, 366))
    for _ in range(draw(st.integers(4, 7))):
        rows.conditions.append((pid, "ICPC2", code, day(a), None))
        atc = draw(st.sampled_from(["J01CA08", "J01CE02", "J01EA01"]))
        rows.prescriptions.append((pid, day(a - draw(st.integers(-3, 3))), atc, None))
        a -= draw(st.sampled_from([29, 30, 45, 60, 28]))


EPISODES = {"infection": _infection, "mood": _mood, "pain": _pain, "recurrent": _recurrent}
