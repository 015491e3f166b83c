"""Each FHIR mapping rule gives the numbers the same facts give through a CSV extract.

Every case states one rule (docs/fhir.md, "Mapping rules") as a pair: the FHIR
resources an EPJ might send, and the CSV rows that say the same facts. Both go
through the real path (CSV: writer and loader; FHIR: `import_fhir`) and the
real engine, and must agree on every indicator. Each case also pins the value
of the indicator the rule is about, so a case cannot pass by measuring nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from client.engine.fast import evaluate_fast
from client.extract.fhir_import import import_fhir
from client.extract.loader import load_extract
from client.extract.writer import write_extract
from indicator_defs import load_catalogue
from tests.client.engine.builders import make_extract

REF = date(2026, 9, 30)
NPU = "http://npu-terminology.org"
NPU_OID = "urn:oid:1.2.208.176.2.1"
ICPC2 = "urn:oid:1.2.208.176.2.31"
SKS = "urn:oid:1.2.208.176.2.4.12"
ATC = "http://www.whocc.no/atc"
OK22 = "https://klynge.dk/fhir/CodeSystem/ok22-service"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

# p1: woman, 66, T2D; p2: man, 71, T2D; p3: woman, 56, hypertension.
PATIENTS = [
    ("p1", "1960-05-01", "F", "2010-01-01", None, None),
    ("p2", "1955-03-02", "M", "2012-01-01", None, None),
    ("p3", "1970-07-07", "F", "2015-01-01", None, None),
]
CONDITIONS = [
    ("p1", "ICPC2", "T90", "2015-01-01", None),
    ("p2", "ICPC2", "T90", "2016-01-01", None),
    ("p3", "ICPC2", "K86", "2018-01-01", None),
]


def patient(pid: str, birth: str, gender: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "gender": gender, "birthDate": birth}


def group(*members: tuple[str, str, str | None]) -> dict[str, Any]:
    out = []
    for pid, start, end in members:
        period = {"start": start} | ({"end": end} if end else {})
        out.append({"entity": {"reference": f"Patient/{pid}"}, "period": period})
    return {"resourceType": "Group", "id": "list", "type": "person", "actual": True, "member": out}


def condition(pid: str, codings: list[tuple[str, str]], onset: str | None, **extra: Any) -> dict:
    resource = {
        "resourceType": "Condition",
        "code": {"coding": [{"system": s, "code": c} for s, c in codings]},
        "subject": {"reference": f"Patient/{pid}"},
    }
    if onset:
        resource["onsetDateTime"] = onset
    return resource | extra


def status(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def lab(
    pid: str, codings: list[tuple[str, str]], when: str, value: Any = None, **extra: Any
) -> dict:
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": s, "code": c} for s, c in codings]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
    }
    if value is not None:
        resource["valueQuantity"] = value if isinstance(value, dict) else {"value": value}
    return resource | extra


def rx(pid: str, atc: str, when: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": ATC, "code": atc}]},
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": when,
    } | extra


def base_fhir() -> list[dict[str, Any]]:
    return [
        group(("p1", "2010-01-01", None), ("p2", "2012-01-01", None), ("p3", "2015-01-01", None)),
        patient("p1", "1960-05-01", "female"),
        patient("p2", "1955-03-02", "male"),
        patient("p3", "1970-07-07", "female"),
        condition("p1", [(ICPC2, "T90")], "2015-01-01"),
        condition("p2", [(ICPC2, "T90")], "2016-01-01"),
        condition("p3", [(ICPC2, "K86")], "2018-01-01"),
    ]


@dataclass
class Rule:
    name: str
    fhir: list[dict[str, Any]]  # added to base_fhir()
    csv: dict[str, list[tuple]] = field(default_factory=dict)  # added to the base CSV rows
    indicator: str = "DM-01"
    expected: tuple[int, int] = (0, 0)  # (numerator, denominator) of `indicator`
    replace_base: bool = False  # fhir replaces base_fhir() and csv the base rows


HBA1C = [(NPU, "NPU27300")]
DDD_EXT = "https://klynge.dk/fhir/StructureDefinition/ddd"


def supplied(value: float, code: str) -> dict[str, Any]:
    """A MedicationRequest's dispenseRequest lasting `value` `code` (UCUM)."""
    return {"expectedSupplyDuration": {"value": value, "code": code}}


def ddd(value: float) -> list[dict[str, Any]]:
    return [{"url": DDD_EXT, "valueDecimal": value}]


RULES = [
    Rule(
        "expectedSupplyDuration is days_supply; a duration in no days leaves the DDD stand-in",
        [
            # 13 weeks = 91 days covered, where 10 DDD alone would cover 10: counted
            rx(
                "p3", "N02AX02", "2026-05-01", extension=ddd(10), dispenseRequest=supplied(13, "wk")
            ),
            # months are no number of days: the 30 DDD stand-in covers 30 days, not counted
            rx("p1", "N02AX02", "2026-05-01", extension=ddd(30), dispenseRequest=supplied(4, "mo")),
            # a statement has no supply duration: 60 DDD cover 60 days, not counted
            {
                "resourceType": "MedicationStatement",
                "status": "active",
                "medicationCodeableConcept": {"coding": [{"system": ATC, "code": "N02AX02"}]},
                "subject": {"reference": "Patient/p2"},
                "effectiveDateTime": "2026-05-01",
                "extension": ddd(60),
            },
        ],
        {
            "prescriptions": [
                ("p3", "2026-05-01", "N02AX02", 10, 91),
                ("p1", "2026-05-01", "N02AX02", 30, None),
                ("p2", "2026-05-01", "N02AX02", 60),
            ]
        },
        "OP-01",
        (1, 3),
    ),
    Rule(
        "every coding of a condition counts (SKS-D first, ICPC-2 second)",
        [
            patient("p4", "1950-01-01", "male"),
            group(
                ("p1", "2010-01-01", None),
                ("p2", "2012-01-01", None),
                ("p3", "2015-01-01", None),
                ("p4", "2000-01-01", None),
            ),
            condition("p4", [(SKS, "DE119"), (ICPC2, "T90")], "2019-03-01"),
            rx("p4", "C10AA05", "2026-05-01"),
        ],
        {
            "patients": [("p4", "1950-01-01", "M", "2000-01-01", None, None)],
            "conditions": [
                ("p4", "ICD10", "E119", "2019-03-01", None),
                ("p4", "ICPC2", "T90", "2019-03-01", None),
            ],
            "prescriptions": [("p4", "2026-05-01", "C10AA05", None)],
        },
        "DM-06",
        (1, 3),
    ),
    Rule(
        "a DNK code under the NPU system is a DNK code (eGFR)",
        [
            lab("p3", [(NPU, "DNK35302")], "2026-03-01", 75),
            lab("p3", [(NPU, "NPU19661")], "2026-03-01", 12),
        ],
        {
            "lab_results": [
                ("p3", "2026-03-01", "DNK", "DNK35302", 75, None),
                ("p3", "2026-03-01", "NPU", "NPU19661", 12, None),
            ]
        },
        "CKD-01",
        (1, 3),
    ),
    Rule(
        "MedCom's NPU OID and a LOINC coding beside it",
        [lab("p1", [(LOINC, "4548-4"), (NPU_OID, "NPU27300")], "2026-06-01", 50)],
        {"lab_results": [("p1", "2026-06-01", "NPU", "NPU27300", 50, None)]},
        "DM-01",
        (1, 2),
    ),
    Rule(
        "entered-in-error, refuted and unconfirmed conditions are not diagnoses",
        [
            condition(
                "p3",
                [(ICPC2, "T90")],
                "2020-01-01",
                verificationStatus=status(VERIFICATION, "entered-in-error"),
            ),
            condition(
                "p3",
                [(ICPC2, "T90")],
                "2020-01-01",
                verificationStatus=status(VERIFICATION, "refuted"),
            ),
            condition(
                "p3",
                [(ICPC2, "T90")],
                "2020-01-01",
                verificationStatus=status(VERIFICATION, "unconfirmed"),
            ),
        ],
        {},
        "DM-01",
        (0, 2),
    ),
    Rule(
        "a resolved condition without an abatement date is never active",
        [
            condition(
                "p3", [(ICPC2, "T90")], "2020-01-01", clinicalStatus=status(CLINICAL, "resolved")
            )
        ],
        {"conditions": [("p3", "ICPC2", "T90", "2020-01-01", "2020-01-01")]},
        "DM-01",
        (0, 2),
    ),
    Rule(
        "a year-only onset counts from the year's last day",
        [condition("p3", [(ICPC2, "T90")], "2026")],
        {"conditions": [("p3", "ICPC2", "T90", "2026-12-31", None)]},
        "DM-01",
        (0, 2),
    ),
    Rule(
        "a month-only onset counts from the month's last day",
        [condition("p3", [(ICPC2, "T90")], "2026-08")],
        {"conditions": [("p3", "ICPC2", "T90", "2026-08-31", None)]},
        "DM-01",
        (0, 3),
    ),
    Rule(
        "without onset, recordedDate is the start",
        [condition("p3", [(ICPC2, "T90")], None, recordedDate="2021-02-03")],
        {"conditions": [("p3", "ICPC2", "T90", "2021-02-03", None)]},
        "DM-01",
        (0, 3),
    ),
    Rule(
        "cancelled, entered-in-error and draft prescriptions and proposals are not prescriptions",
        [
            rx("p1", "C10AA01", "2026-05-01", status="cancelled"),
            rx("p1", "C10AA01", "2026-05-01", status="entered-in-error"),
            rx("p1", "C10AA01", "2026-05-01", status="draft"),
            rx("p1", "C10AA01", "2026-05-01", intent="proposal"),
            rx("p1", "C10AA01", "2026-05-01", intent="plan"),
            rx("p2", "C10AA01", "2026-05-01", status="stopped"),
        ],
        {"prescriptions": [("p2", "2026-05-01", "C10AA01", None)]},
        "DM-06",
        (1, 2),
    ),
    Rule(
        "a medicationReference names its Medication",
        [
            {
                "resourceType": "Medication",
                "id": "simva",
                "code": {"coding": [{"system": ATC, "code": "C10AA01"}]},
            },
            {
                "resourceType": "MedicationRequest",
                "status": "completed",
                "intent": "order",
                "medicationReference": {"reference": "Medication/simva"},
                "subject": {"reference": "Patient/p1"},
                "authoredOn": "2026-05-01",
            },
        ],
        {"prescriptions": [("p1", "2026-05-01", "C10AA01", None)]},
        "DM-06",
        (1, 2),
    ),
    Rule(
        "HbA1c '<48' is at target (<= 53) whatever its value",
        [lab("p1", HBA1C, "2026-06-01", {"value": 48, "comparator": "<"})],
        {"lab_results": [("p1", "2026-06-01", "NPU", "NPU27300", 47, None)]},
        "DM-02",
        (1, 2),
    ),
    Rule(
        "HbA1c '>53' is above target, not 53",
        [lab("p1", HBA1C, "2026-06-01", {"value": 53, "comparator": ">"})],
        {"lab_results": [("p1", "2026-06-01", "NPU", "NPU27300", 54, None)]},
        "DM-02",
        (0, 2),
    ),
    Rule(
        "HbA1c '<60' could be either side of 53: no value, but measured",
        [lab("p1", HBA1C, "2026-06-01", {"value": 60, "comparator": "<"})],
        {"lab_results": [("p1", "2026-06-01", "NPU", "NPU27300", None, None)]},
        "DM-02",
        (0, 2),
    ),
    Rule(
        "valueString '<48' reads as the comparator",
        [lab("p1", HBA1C, "2026-06-01", valueString="<48")],
        {"lab_results": [("p1", "2026-06-01", "NPU", "NPU27300", 47.5, None)]},
        "DM-02",
        (1, 2),
    ),
    Rule(
        "dates are Danish: 23:30 UTC on 30 Sept 2025 is 1 Oct in Denmark, inside the window",
        [
            lab("p1", HBA1C, "2025-09-30T23:30:00Z", 50),
            lab("p2", HBA1C, "2026-09-30T22:30:00Z", 50),
        ],
        {
            "lab_results": [
                ("p1", "2025-10-01", "NPU", "NPU27300", 50, None),
                ("p2", "2026-10-01", "NPU", "NPU27300", 50, None),
            ]
        },
        "DM-01",
        (1, 2),
    ),
    Rule(
        "registered, cancelled and entered-in-error results are not results; preliminary is",
        [
            lab("p1", HBA1C, "2026-06-01", 50, status="registered"),
            lab("p1", HBA1C, "2026-06-01", 50, status="cancelled"),
            lab("p1", HBA1C, "2026-06-01", 50, status="entered-in-error"),
            lab("p2", HBA1C, "2026-06-01", 50, status="preliminary"),
        ],
        {"lab_results": [("p2", "2026-06-01", "NPU", "NPU27300", 50, None)]},
        "DM-01",
        (1, 2),
    ),
    Rule(
        "blood pressure components are two results",
        [
            lab(
                "p3",
                [(LOINC, "85354-9")],
                "2026-04-01",
                component=[
                    {
                        "code": {"coding": [{"system": NPU, "code": "NPU57947"}]},
                        "valueQuantity": {"value": 130},
                    },
                    {
                        "code": {"coding": [{"system": NPU, "code": "NPU57948"}]},
                        "valueQuantity": {"value": 85},
                    },
                ],
            )
        ],
        {
            "lab_results": [
                ("p3", "2026-04-01", "NPU", "NPU57947", 130, None),
                ("p3", "2026-04-01", "NPU", "NPU57948", 85, None),
            ]
        },
        "HT-01",
        (1, 1),
    ),
    Rule(
        "an encounter without an OK22 code is left out; planned ones too",
        [
            {
                "resourceType": "Encounter",
                "status": "finished",
                "serviceType": {"coding": [{"system": SNOMED, "code": "11429006"}]},
                "subject": {"reference": "Patient/p1"},
                "period": {"start": "2026-01-05"},
            },
            {
                "resourceType": "Encounter",
                "status": "planned",
                "serviceType": {"coding": [{"system": OK22, "code": "0120"}]},
                "subject": {"reference": "Patient/p1"},
                "period": {"start": "2026-11-05"},
            },
        ],
        {},
        "DM-01",
        (0, 2),
    ),
    Rule(
        "a patient of unknown gender is skipped, not fatal",
        [
            patient("p5", "1950-01-01", "unknown"),
            group(
                ("p1", "2010-01-01", None),
                ("p2", "2012-01-01", None),
                ("p3", "2015-01-01", None),
                ("p5", "2000-01-01", None),
            ),
            condition("p5", [(ICPC2, "T90")], "2019-03-01"),
        ],
        {},
        "DM-01",
        (0, 2),
    ),
    Rule(
        "the Group's periods are the list; a patient outside the Group is not listed",
        [
            patient("p6", "1950-01-01", "male"),
            group(
                ("p1", "2010-01-01", None),
                ("p2", "2012-01-01", "2026-01-01"),
                ("p3", "2015-01-01", None),
            ),
            condition("p6", [(ICPC2, "T90")], "2019-03-01"),
        ],
        {"patients": [("p2", "1955-03-02", "M", "2012-01-01", "2026-01-01", None)]},
        "DM-01",
        (0, 1),
    ),
    Rule(
        "a CPR-like patient id stays in the practice's extract",
        [
            patient("0101501234", "1950-01-01", "female"),
            group(
                ("p1", "2010-01-01", None),
                ("p2", "2012-01-01", None),
                ("p3", "2015-01-01", None),
                ("0101501234", "2000-01-01", None),
            ),
            condition("0101501234", [(ICPC2, "T90")], "2019-03-01"),
        ],
        {
            "patients": [("0101501234", "1950-01-01", "F", "2000-01-01", None, None)],
            "conditions": [("0101501234", "ICPC2", "T90", "2019-03-01", None)],
        },
        "DM-01",
        (0, 3),
    ),
]


def _csv_extract(rule: Rule, tmp: Path):
    patients = {p[0]: p for p in PATIENTS}
    for row in rule.csv.get("patients", []):
        patients[row[0]] = row
    rows = {
        "conditions": CONDITIONS + rule.csv.get("conditions", []),
        "prescriptions": rule.csv.get("prescriptions", []),
        "lab_results": rule.csv.get("lab_results", []),
        "encounters": rule.csv.get("encounters", []),
    }
    write_extract(make_extract(list(patients.values()), **rows), tmp / "csv")
    return load_extract(tmp / "csv")


def _fhir_extract(rule: Rule, tmp: Path):
    resources = base_fhir()
    if any(r["resourceType"] == "Group" for r in rule.fhir):
        resources = [r for r in resources if r["resourceType"] != "Group"]
    resources += rule.fhir
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": r} for r in resources],
    }
    path = tmp / "bundle.json"
    path.write_text(json.dumps(bundle))
    return import_fhir([path]).extract


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_fhir_gives_the_numbers_csv_gives(rule: Rule, tmp_path: Path) -> None:
    catalogue = load_catalogue()
    from_csv = evaluate_fast(_csv_extract(rule, tmp_path), catalogue, REF)
    from_fhir = evaluate_fast(_fhir_extract(rule, tmp_path), catalogue, REF)
    assert from_fhir == from_csv
    counts = from_fhir.by_id()[rule.indicator]
    assert (counts.numerator, counts.denominator) == rule.expected
