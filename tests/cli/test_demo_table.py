"""The demo's table of released rates on a narrow terminal (CI's is 80 columns)."""

from __future__ import annotations

import pytest
from rich.console import Console

from klynge.commands.demo import rates_table

UNITS = ["K01", "K02", "K03", "Midtjylland"]
ROWS = [
    ("AB-01 Antibiotika pr. 1.000 patienter", ["369,5", "356,2", "341,8", "355,0"]),
    ("BZ-01 Langtidsbrug af benzodiazepiner og Z-præparater (pr. 1.000)", ["5,8"] * 4),
    ("DM-01 HbA1c målt", ["89,4 %", "skjult", "88,0 %", "100,0 %"]),
]


@pytest.mark.parametrize("width", [60, 80, 120])
def test_every_unit_and_number_is_shown_one_line_per_indicator(width: int) -> None:
    console = Console(width=width, record=True, color_system=None)
    console.print(rates_table("Udgivne rater", UNITS, ROWS, width))
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= width
    header = next(line for line in lines if "Indikator" in line)
    assert all(unit in header for unit in UNITS), header
    body = [line for line in lines if line.startswith("│")]
    assert len(body) == len(ROWS)  # one line each: titles are cut, not wrapped
    for (_, cells), line in zip(ROWS, body, strict=True):
        assert all(cell in line for cell in cells), line
