"""A small good extract as CSV text, and writing it with some tables replaced."""

from __future__ import annotations

from pathlib import Path

GOOD = {
    "patients": (
        "patient_id,birth_date,sex,list_start,list_end,death_date\n"
        "P1,1950-01-01,F,2000-01-01,,\n"
        "P2,1980-06-15,M,2010-01-01,2020-01-01,\n"
        "P3,1940-02-29,F,1990-01-01,,2022-03-01\n"
    ),
    "conditions": (
        "patient_id,system,code,start_date,end_date\n"
        "P1,ICPC2,T90,2015-01-01,\n"
        "P2,ICD10,E11,2012-01-01,2012-01-01\n"
    ),
    "prescriptions": (
        "patient_id,date,atc,ddd\nP1,2023-01-01,N05CD08,30\nP3,2021-05-05,C10AA01,\n"
    ),
    "lab_results": (
        "patient_id,date,system,code,value,unit\n"
        "P1,2023-02-01,NPU,NPU27300,48,mmol/mol\n"
        "P1,2023-06-01,NPU,NPU27300,,mmol/mol\n"
        "P2,2019-01-01,LOCAL,AAB00092,7.5,\n"
    ),
    "encounters": "patient_id,date,service_code\nP1,2023-01-01,0101\nP2,2019-01-01,0120\n",
}


def write(directory: Path, **tables: str | None) -> Path:
    """The good extract, with some tables replaced (text) or left out (None)."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in {**GOOD, **tables}.items():
        if content is not None:
            (directory / f"{name}.csv").write_text(content, encoding="utf-8")
    return directory
