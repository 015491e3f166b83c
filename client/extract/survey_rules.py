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
    to the row that counts. Vectorised over integer codes: the definitions are
    looked up once per distinct (survey, version, item), not once per row.
    """
    rows = np.flatnonzero(kept)
    n = len(kept)
    survey_code, survey_names = pd.factorize(_text(parsed, "survey", rows))
    version_code, versions = pd.factorize(np.asarray(parsed["version"].values, float)[rows])
    item_code, item_names = pd.factorize(_text(parsed, "item", rows))
    respondent = pd.factorize(_text(parsed, "respondent", rows))[0]
    answer = np.asarray(parsed["answer"].values, dtype=float)[rows]
    day = np.asarray(parsed["date"].values).astype("datetime64[D]").astype(np.int64)[rows]
    response = (respondent * len(survey_names) + survey_code) * len(versions) + version_code
    combined = (survey_code * len(versions) + version_code) * len(item_names) + item_code
    distinct, inverse = np.unique(combined, return_inverse=True)
    low_of, high_of, kind_of = _definitions(distinct, survey_names, versions, item_names, surveys)
    low, high, kind = low_of[inverse], high_of[inverse], kind_of[inverse]
    known_surveys = ", ".join(f"{s.id} {s.version}" for s in surveys.values()) or "-"

    unknown = kind == _UNKNOWN
    out = [
        Broken(
            "item",
            "unknown_item",
            _mask(n, rows[unknown]),
            lambda i: {
                "value": parsed["item"].shown(i),
                "survey": parsed["survey"].shown(i),
                "version": parsed["version"].shown(i),
                "known": known_surveys,
            },
        )
    ]
    whole = answer == np.floor(answer)
    outside = (kind == _RATED) & ~np.isnan(answer) & ~(whole & (answer >= low) & (answer <= high))
    off = np.flatnonzero(outside)
    bounds = dict(zip(rows[off].tolist(), zip(low[off], high[off], strict=True), strict=True))
    out.append(
        Broken(
            "answer",
            "out_of_scale",
            _mask(n, rows[outside]),
            lambda i: {
                "value": parsed["answer"].shown(i),
                "item": parsed["item"].shown(i),
                "low": int(bounds[i][0]),
                "high": int(bounds[i][1]),
            },
        )
    )
    counted = ~unknown & ~outside
    answered = counted & ~np.isnan(answer)
    keys = pd.DataFrame(
        {"who": response[answered], "item": item_code[answered], "day": day[answered]}
    )
    repeated = keys.duplicated().to_numpy()
    first = keys.groupby(["who", "item", "day"], sort=False).ngroup().to_numpy()
    first_row = np.full(first.max() + 1 if len(first) else 0, -1, dtype=np.int64)
    answered_rows = rows[answered]
    first_row[first[~repeated]] = answered_rows[~repeated]
    first_of = dict(
        zip(answered_rows[repeated].tolist(), first_row[first[repeated]].tolist(), strict=True)
    )
    out.append(
        Broken(
            "item",
            "duplicate_answer",
            _mask(n, answered_rows[repeated]),
            lambda i: {
                "value": parsed["respondent"].shown(i),
                "item": parsed["item"].shown(i),
                "first": where(first_of[i]),
            },
        )
    )
    remaining = counted.copy()
    remaining[np.flatnonzero(answered)[repeated]] = False
    who, when = response[remaining], day[remaining]
    first_day = pd.Series(when).groupby(who).transform("min").to_numpy() if len(who) else when
    later = when != first_day
    later_rows = rows[remaining][later]
    first_shown = dict(zip(later_rows.tolist(), first_day[later].tolist(), strict=True))
    out.append(
        Broken(
            "date",
            "duplicate_respondent",
            _mask(n, later_rows),
            lambda i: {
                "value": parsed["respondent"].shown(i),
                "first": str(np.datetime64(first_shown[i], "D")),
            },
        )
    )
    return out


_UNKNOWN, _RATED, _FREE = 0, 1, 2


def _definitions(
    distinct: np.ndarray,
    survey_names: np.ndarray,
    versions: np.ndarray,
    item_names: np.ndarray,
    surveys: Mapping[str, Survey],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per distinct (survey, version, item) code: the scale's bounds and the item's kind."""
    defined = {(s.id, float(s.version)): s for s in surveys.values()}
    low = np.full(len(distinct), np.nan)
    high = np.full(len(distinct), np.nan)
    kind = np.zeros(len(distinct), dtype=np.int8)
    n_items, n_versions = len(item_names), len(versions)
    for k, code in enumerate(distinct.tolist()):
        pair, item_id = divmod(code, n_items)
        survey_id, version = divmod(pair, n_versions)
        survey = defined.get((str(survey_names[survey_id]), float(versions[version])))
        item = survey.items.get(str(item_names[item_id])) if survey else None
        if item is None:
            continue
        if item.kind is ItemKind.FREE_TEXT or item.scale is None:
            kind[k] = _FREE
            continue
        kind[k], low[k], high[k] = _RATED, item.scale.low, item.scale.high
    return low, high, kind


def _text(parsed: Mapping[str, ParsedColumn], name: str, rows: np.ndarray) -> np.ndarray:
    return np.asarray(parsed[name].text.to_numpy(zero_copy_only=False))[rows]


def _mask(n: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[np.asarray(rows, dtype=np.int64)] = True
    return mask
