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

from common import i18n
from common.i18n import LANGS
from common.tomlfile import Table
from indicator_defs import survey_model as s
from indicator_defs.hashing import sha256_hex
from indicator_defs.loader import DefinitionError, _bilingual, _choice, _read, default_root

i18n.register(
    {
        "survey.err.labels": {
            "en": "must have {n} labels, one per answer",
            "da": "skal have {n} etiketter, én pr. svarmulighed",
        },
        "survey.err.scale": {
            "en": "unknown scale '{name}' (declared: {declared})",
            "da": "ukendt skala '{name}' (angivet: {declared})",
        },
        "survey.err.item": {"en": "unknown item '{name}'", "da": "ukendt spørgsmål '{name}'"},
        "survey.err.free_text": {
            "en": "item '{name}' is free text, which no measure may count",
            "da": "spørgsmålet '{name}' er fritekst, som intet mål må tælle",
        },
        "survey.err.one_scale": {
            "en": "items of one measure must share one scale",
            "da": "spørgsmålene i ét mål skal have samme skala",
        },
        "survey.err.bounds": {
            "en": "must be [low, high] with {low} <= low < high <= {high}",
            "da": "skal være [lav, høj] med {low} <= lav < høj <= {high}",
        },
        "survey.err.number": {"en": "must be a number", "da": "skal være et tal"},
        "survey.err.twice": {
            "en": "{kind} '{id}' is declared twice",
            "da": "{kind} '{id}' er angivet to gange",
        },
        "survey.err.file_name": {
            "en": "must equal the file name '{stem}'",
            "da": "skal være lig med filnavnet '{stem}'",
        },
        "survey.err.no_measure": {
            "en": "a survey must report at least one measure",
            "da": "et spørgeskema skal have mindst ét mål",
        },
        "survey.kind.scale": {"en": "scale", "da": "skalaen"},
        "survey.kind.item": {"en": "item", "da": "spørgsmålet"},
        "survey.kind.measure": {"en": "measure", "da": "målet"},
        "survey.err.no_directory": {"en": "directory is missing", "da": "mappen findes ikke"},
        "survey.err.empty": {
            "en": "holds no survey definitions",
            "da": "indeholder ingen spørgeskemadefinitioner",
        },
    }
)

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
            raise labels_t.fail(lang, i18n.t("survey.err.labels", n=high - low + 1))
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
            declared = ", ".join(scales)
            raise t.fail("scale", i18n.t("survey.err.scale", name=name, declared=declared))
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
            raise t.fail("items", i18n.t("survey.err.item", name=name))
        if item.scale is None:
            raise t.fail("items", i18n.t("survey.err.free_text", name=name))
        scales[item.scale.id] = item.scale
    if len(scales) > 1:
        raise t.fail("items", i18n.t("survey.err.one_scale"))
    (scale,) = scales.values()
    if kind is s.MeasureKind.TOP_BOX:
        low, high = 0.0, 1.0
    else:
        bounds = t.array("bounds", lambda key, v: _bound(t, key, v), nonempty=True)
        if len(bounds) != 2 or not scale.low <= bounds[0] < bounds[1] <= scale.high:
            message = i18n.t("survey.err.bounds", low=scale.low, high=scale.high)
            raise t.fail("bounds", message)
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
        raise t.fail(key, i18n.t("survey.err.number"))
    return float(value)


def _declared(t: Table, name: str, parse: Callable[[Table], T]) -> dict[str, T]:
    """The `[[name]]` tables parsed, by id in file order; an id declared twice is an error."""
    out: dict[str, T] = {}
    for sub in t.tables(name):
        parsed = parse(sub)
        key = parsed.id
        if key in out:
            raise sub.fail(
                "id", i18n.t("survey.err.twice", kind=i18n.t(f"survey.kind.{name[:-1]}"), id=key)
            )
        out[key] = parsed
    return out


def load_survey(path: Path) -> s.Survey:
    """One survey file; every reference inside it (scale, item) must resolve."""
    t = _read(path, f"surveys/{path.name}")
    survey_id = t.string("id", pattern=_ID)
    if survey_id != path.stem:
        raise t.fail("id", i18n.t("survey.err.file_name", stem=path.stem))
    version = t.integer("version", minimum=1)
    scales = _declared(t, "scales", _scale)
    items = _declared(t, "items", lambda it: _item(it, scales))
    measures = _declared(t, "measures", lambda mt: _measure(mt, items))
    if not measures:
        raise t.fail("measures", i18n.t("survey.err.no_measure"))
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
        raise DefinitionError(directory, None, i18n.t("survey.err.no_directory"))
    surveys = {p.stem: load_survey(p) for p in sorted(directory.glob("*.toml"))}
    if not surveys:
        raise DefinitionError(directory, None, i18n.t("survey.err.empty"))
    return surveys


@functools.cache
def installed_surveys() -> dict[str, s.Survey]:
    """The survey definitions of this installation, read once per process (treat as read-only)."""
    return load_surveys()
