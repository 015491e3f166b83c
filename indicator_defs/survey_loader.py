"""Load survey definitions from TOML, each error naming the file and key.

Files are named relative to the catalogue ("surveys/PX.toml"), like the
indicators, so a message reads the same wherever Klynge is installed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from common.i18n import LANGS
from common.tomlfile import Table
from indicator_defs import survey_model as s
from indicator_defs.hashing import sha256_hex
from indicator_defs.loader import DefinitionError, _bilingual, _choice, _read, default_root

T = TypeVar("T", s.Scale, s.Item, s.Measure)

_ID = re.compile(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)*")
_ITEM = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def _scale(t: Table) -> s.Scale:
    scale_id = t.string("id", pattern=_ITEM)
    low = t.integer("low")
    high = t.integer("high", minimum=low + 1)
    top_box = t.integer("top_box", minimum=low + 1, maximum=high)
    labels_t = t.table("labels")
    labels: dict[str, tuple[str, ...]] = {}
    for lang in LANGS:
        texts = labels_t.strings(lang, nonempty=True)
        if len(texts) != high - low + 1:
            raise labels_t.fail(lang, f"must have {high - low + 1} labels, one per answer")
        labels[lang] = texts
    labels_t.done()
    t.done()
    return s.Scale(scale_id, low, high, top_box, labels)


def _item(t: Table, scales: dict[str, s.Scale]) -> s.Item:
    item_id = t.string("id", pattern=_ITEM)
    kind = _choice(t, "kind", s.ItemKind) if "kind" in t else s.ItemKind.SCALE
    scale = None
    if kind is s.ItemKind.SCALE:
        name = t.string("scale")
        scale = scales.get(name)
        if scale is None:
            raise t.fail("scale", f"unknown scale '{name}' (declared: {', '.join(scales)})")
    item = s.Item(item_id, t.string("domain", pattern=_ITEM), kind, scale, _bilingual(t, "text"))
    t.done()
    return item


def _measure(t: Table, items: dict[str, s.Item]) -> s.Measure:
    measure_id = t.string("id", pattern=_ID)
    kind = _choice(t, "kind", s.MeasureKind)
    names = t.strings("items", nonempty=True, unique=True)
    scales: dict[str, s.Scale] = {}
    for name in names:
        item = items.get(name)
        if item is None:
            raise t.fail("items", f"unknown item '{name}'")
        if item.scale is None:
            raise t.fail("items", f"item '{name}' is free text, which no measure may count")
        scales[item.scale.id] = item.scale
    if len(scales) > 1:
        raise t.fail("items", "items of one measure must share one scale")
    (scale,) = scales.values()
    if kind is s.MeasureKind.TOP_BOX:
        low, high = 0.0, 1.0
    else:
        bounds = t.array("bounds", lambda key, v: _bound(t, key, v), nonempty=True)
        if len(bounds) != 2 or not scale.low <= bounds[0] < bounds[1] <= scale.high:
            raise t.fail(
                "bounds", f"must be [low, high] with {scale.low} <= low < high <= {scale.high}"
            )
        low, high = bounds
    measure = s.Measure(
        measure_id,
        kind,
        names,
        low,
        high,
        _bilingual(t, "title"),
        _bilingual(t, "description"),
    )
    t.done()
    return measure


def _bound(t: Table, key: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise t.fail(key, "must be a number")
    return float(value)


def _declared(t: Table, name: str, parse: Callable[[Table], T]) -> dict[str, T]:
    """The `[[name]]` tables parsed, by id in file order; an id declared twice is an error."""
    out: dict[str, T] = {}
    for sub in t.tables(name):
        parsed = parse(sub)
        key = parsed.id
        if key in out:
            raise sub.fail("id", f"{name[:-1]} '{key}' is declared twice")
        out[key] = parsed
    return out


def load_survey(path: Path) -> s.Survey:
    """One survey file; every reference inside it (scale, item) must resolve."""
    t = _read(path, f"surveys/{path.name}")
    survey_id = t.string("id", pattern=_ID)
    if survey_id != path.stem:
        raise t.fail("id", f"must equal the file name '{path.stem}'")
    version = t.integer("version", minimum=1)
    scales = _declared(t, "scales", _scale)
    items = _declared(t, "items", lambda it: _item(it, scales))
    measures = _declared(t, "measures", lambda mt: _measure(mt, items))
    if not measures:
        raise t.fail("measures", "a survey must report at least one measure")
    survey = s.Survey(
        id=survey_id,
        version=version,
        title=_bilingual(t, "title"),
        description=_bilingual(t, "description"),
        source=t.string("source"),
        scales=scales,
        items=items,
        measures=measures,
        content_hash=sha256_hex(t.data),
        source_file=str(path),
    )
    t.done()
    return survey


def load_surveys(root: Path | None = None) -> dict[str, s.Survey]:
    """Every survey under `root`/surveys (default: the installed set), by id."""
    directory = (root or default_root()) / "surveys"
    if not directory.is_dir():
        raise DefinitionError(directory, None, "directory is missing")
    surveys = {p.stem: load_survey(p) for p in sorted(directory.glob("*.toml"))}
    if not surveys:
        raise DefinitionError(directory, None, "holds no survey definitions")
    return surveys


@functools.cache
def installed_surveys() -> dict[str, s.Survey]:
    """The survey definitions of this installation, read once per process (treat as read-only)."""
    return load_surveys()
