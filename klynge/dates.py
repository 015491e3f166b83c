"""Parsing of user-supplied dates: strict ISO, with a message that says so."""

from __future__ import annotations

from datetime import date

import typer


def parse_iso_date(value: str, option: str) -> date:
    try:
        if len(value) != 10:
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"'{value}' is not a date in YYYY-MM-DD form", param_hint=option
        ) from None
