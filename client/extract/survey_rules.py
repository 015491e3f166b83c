"""The row rules of `survey_responses` that need the survey definitions.

Applied by the loader after the cell checks, to the rows still kept, in this
order (the same rules, with the same names, as `client.engine.survey`, which
applies them again per period; documented in docs/extract-schema.md):
- `unknown_item`: the survey, its version or the item is not defined (skipped);
- `out_of_scale`: a rated item's answer is not a whole number on its scale
  (skipped; an empty answer means "not applicable" and is kept);
- `duplicate_answer`: a respondent answered the same item twice on one date;
  the first row counts, the later ones are skipped;
- `duplicate_respondent`: a respondent answered on more than one date. The row
  is kept and noted: whether it counts depends on the period (only the first
  date's response in a period counts), which the engine decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from client.extract.cells import ParsedColumn
from indicator_defs.survey_model import ItemKind, Survey


@dataclass(frozen=True)
class Broken:
    """One rule broken on `rows` (a mask over the file's rows), with its message per row."""

    column: str
    kind: str
    rows: np.ndarray
    values: Callable[[int], dict[str, object]]  # the message's fields for row i


NEEDED = ("respondent", "survey", "version", "item", "answer", "date")


def survey_rules(
    parsed: Mapping[str, ParsedColumn],
    kept: np.ndarray,
    surveys: Mapping[str, Survey],
    where: Callable[[int], str],
) -> list[Broken]:
    """The rows that break each rule among the `kept` rows, in rule order.

    `where(i)` names row i in the file ('line 3'), for messages that point back
    to the row that counts.
    """
    frame = _frame(parsed, kept)
    rated = {
        (s.id, float(s.version), i.id): i.scale
        for s in surveys.values()
        for i in s.items.values()
        if i.kind is ItemKind.SCALE
    }
    free = {
        (s.id, float(s.version), i.id)
        for s in surveys.values()
        for i in s.items.values()
        if i.kind is ItemKind.FREE_TEXT
    }
    known_surveys = ", ".join(f"{s.id} {s.version}" for s in surveys.values()) or "-"
    keys = pd.MultiIndex.from_frame(frame[["survey", "version", "item"]])
    known = keys.isin(list(rated) + list(free))
    out = [
        Broken(
            "item",
            "unknown_item",
            _mask(len(kept), frame.index[~known]),
            lambda i: {
                "value": parsed["item"].shown(i),
                "survey": parsed["survey"].shown(i),
                "version": parsed["version"].shown(i),
                "known": known_surveys,
            },
        )
    ]
    frame = frame[known]
    keys = keys[known]
    on_scale = pd.Series([k in rated for k in keys], index=frame.index, dtype=bool)
    scales = [rated.get(k) for k in keys]
    low = np.array([s.low if s else np.nan for s in scales], dtype=float)
    high = np.array([s.high if s else np.nan for s in scales], dtype=float)
    answer = frame["answer"].to_numpy()
    whole = answer == np.floor(answer)
    inside = whole & (answer >= low) & (answer <= high)
    outside = on_scale.to_numpy() & ~np.isnan(answer) & ~inside
    scale_of = dict(zip(frame.index, scales, strict=True))
    out.append(
        Broken(
            "answer",
            "out_of_scale",
            _mask(len(kept), frame.index[outside]),
            lambda i: {
                "value": parsed["answer"].shown(i),
                "item": parsed["item"].shown(i),
                "low": scale_of[i].low if scale_of.get(i) else "",
                "high": scale_of[i].high if scale_of.get(i) else "",
            },
        )
    )
    frame = frame[~outside]
    answered = frame[frame["answer"].notna()]
    same = ["respondent", "survey", "version", "item", "date"]
    repeated = answered.duplicated(same)
    first_row = answered.reset_index().groupby(same)["index"].transform("min")
    first_of = dict(zip(answered.index, first_row.to_numpy(), strict=True))
    out.append(
        Broken(
            "item",
            "duplicate_answer",
            _mask(len(kept), answered.index[repeated.to_numpy()]),
            lambda i: {
                "value": parsed["respondent"].shown(i),
                "item": parsed["item"].shown(i),
                "first": where(int(first_of[i])),
            },
        )
    )
    frame = frame.drop(answered.index[repeated.to_numpy()])
    response = ["respondent", "survey", "version"]
    first_date = frame.groupby(response)["date"].transform("min")
    later = (frame["date"] != first_date).to_numpy() if len(frame) else np.zeros(0, bool)
    first_shown = dict(zip(frame.index, first_date.to_numpy(), strict=True))
    out.append(
        Broken(
            "date",
            "duplicate_respondent",
            _mask(len(kept), frame.index[later]),
            lambda i: {
                "value": parsed["respondent"].shown(i),
                "first": str(np.datetime64(first_shown[i], "D")),
            },
        )
    )
    return out


def _frame(parsed: Mapping[str, ParsedColumn], kept: np.ndarray) -> pd.DataFrame:
    """The kept rows' cells, indexed by their 0-based row in the file."""
    rows = np.flatnonzero(kept)
    columns = {
        name: parsed[name].text.to_numpy(zero_copy_only=False)[rows]
        for name in ("respondent", "survey", "item")
    }
    columns["version"] = np.asarray(parsed["version"].values, dtype=float)[rows]
    columns["answer"] = np.asarray(parsed["answer"].values, dtype=float)[rows]
    columns["date"] = np.asarray(parsed["date"].values)[rows]
    return pd.DataFrame(columns, index=rows)


def _mask(n: int, rows: pd.Index) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[np.asarray(rows, dtype=np.int64)] = True
    return mask
