"""Load the TOML definitions and code lists into the query model.

Everything a reviewer can get wrong in a definition is caught here, at load
time, with the file and the key path named: unparsable TOML, unknown keys,
unknown code lists or systems, impossible windows. An indicator that loads
is one both engines can evaluate.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from common.errors import KlyngeError
from indicator_defs import model as m
from indicator_defs.codelists import (
    Codelist,
    CodelistFormatError,
    CodeSystem,
    normalise_entries,
)
from indicator_defs.hashing import catalogue_hash, sha256_hex


class DefinitionError(KlyngeError):
    """A definition or code list is invalid; names the file and key."""

    def __init__(self, file: str, key: str, message: str) -> None:
        self.file, self.key, self.message = file, key, message
        where = f"{file}, key '{key}'" if key else file
        super().__init__(f"{where}: {message}")


def default_root() -> Path:
    return Path(str(resources.files("indicator_defs")))


def _read_toml(path: Path, label: str) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(label, "", f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise DefinitionError(label, "", f"cannot be read: {exc.strerror}") from None


class _Reader:
    """Typed access to one TOML document with key paths in every error."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, message: str) -> DefinitionError:
        return DefinitionError(self.file, key, message)

    def table(self, data: Any, key: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(key, f"must be a table, not {type(data).__name__}")
        return data

    def keys(self, data: dict[str, Any], key: str, required: set[str], optional: set[str]) -> None:
        for name in required:
            if name not in data:
                raise self.fail(f"{key}.{name}".lstrip("."), "is required")
        unknown = set(data) - required - optional
        if unknown:
            allowed = ", ".join(sorted(required | optional))
            raise self.fail(
                f"{key}.{sorted(unknown)[0]}".lstrip("."), f"unknown key (allowed: {allowed})"
            )

    def str_(self, data: dict[str, Any], name: str, key: str) -> str:
        value = data[name]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{key}.{name}".lstrip("."), "must be a non-empty string")
        return value.strip()

    def int_(self, data: dict[str, Any], name: str, key: str, minimum: int = 0) -> int:
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(f"{key}.{name}".lstrip("."), f"must be an integer >= {minimum}")
        return value

    def num(self, data: dict[str, Any], name: str, key: str) -> float:
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(f"{key}.{name}".lstrip("."), "must be a number")
        return float(value)

    def bilingual(self, data: dict[str, Any], name: str, key: str) -> dict[str, str]:
        value = self.table(data.get(name), f"{key}.{name}".lstrip("."))
        self.keys(value, f"{key}.{name}".lstrip("."), {"da", "en"}, set())
        return {lang: self.str_(value, lang, f"{key}.{name}".lstrip(".")) for lang in ("da", "en")}


# --- code lists ---------------------------------------------------------------


def load_codelist(path: Path) -> Codelist:
    r = _Reader(f"codelists/{path.name}")
    data = _read_toml(path, r.file)
    r.keys(data, "", {"name", "version", "system", "title", "codes", "source"}, {"exclude"})
    name = r.str_(data, "name", "")
    if name != path.stem:
        raise r.fail("name", f"must equal the file name '{path.stem}'")
    system_name = r.str_(data, "system", "")
    try:
        system = CodeSystem(system_name)
    except ValueError:
        allowed = ", ".join(s.value for s in CodeSystem)
        raise r.fail(
            "system", f"unknown code system '{system_name}' (allowed: {allowed})"
        ) from None
    entries = {}
    for field in ("codes", "exclude"):
        raw = data.get(field, [])
        if not isinstance(raw, list) or (field == "codes" and not raw):
            raise r.fail(
                field, "must be a list" + (" with at least one code" if field == "codes" else "")
            )
        try:
            entries[field] = normalise_entries(system, raw)
        except CodelistFormatError as exc:
            raise r.fail(field, str(exc)) from None
    if entries["exclude"] and system is not CodeSystem.ATC:
        raise r.fail("exclude", "is only meaningful for ATC (prefix) code lists")
    return Codelist(
        name=name,
        version=r.str_(data, "version", ""),
        system=system,
        title=r.str_(data, "title", ""),
        codes=entries["codes"],
        exclude=entries["exclude"],
        source=r.str_(data, "source", ""),
        content_hash=sha256_hex(data),
    )


# --- criteria -----------------------------------------------------------------

_TABLE_SYSTEMS = {
    "condition": {CodeSystem.ICPC2, CodeSystem.ICD10},
    "prescription": {CodeSystem.ATC},
    "lab": {CodeSystem.LAB},
    "encounter": {CodeSystem.SERVICE},
}


class _CriterionParser:
    def __init__(self, reader: _Reader, codelists: dict[str, Codelist]) -> None:
        self.r = reader
        self.codelists = codelists
        self.used: set[str] = set()

    def codelist_refs(self, data: dict[str, Any], key: str, kind: str) -> tuple[Codelist, ...]:
        raw = data["codelist"]
        names = [raw] if isinstance(raw, str) else raw
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise self.r.fail(f"{key}.codelist", "must be a code list name or a list of names")
        out = []
        for name in names:
            cl = self.codelists.get(name)
            if cl is None:
                raise self.r.fail(f"{key}.codelist", f"unknown code list '{name}'")
            if cl.system not in _TABLE_SYSTEMS[kind]:
                raise self.r.fail(
                    f"{key}.codelist",
                    f"code list '{name}' is {cl.system.value}, which cannot match {kind} rows",
                )
            self.used.add(name)
            out.append(cl)
        return tuple(out)

    def window(self, data: dict[str, Any], key: str) -> m.Window:
        if "window_days" not in data:
            raise self.r.fail(f"{key}.window_days", 'is required (a number of days, or "all")')
        raw = data["window_days"]
        if raw == "all":
            return m.Window(None)
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise self.r.fail(f"{key}.window_days", 'must be a positive number of days or "all"')
        return m.Window(raw)

    def parse(self, data: Any, key: str) -> m.Criterion:
        data = self.r.table(data, key)
        if len(data) != 1:
            raise self.r.fail(
                key, "a criterion is a table with exactly one key, e.g. { listed = true }"
            )
        ((kind, body),) = data.items()
        k = f"{key}.{kind}"
        handler: Callable[[Any, str], m.Criterion] | None = getattr(self, f"_{kind}", None)
        if handler is None:
            raise self.r.fail(
                k,
                "unknown criterion (allowed: listed, age, sex, condition, prescription, "
                "lab, encounter, all, any, not, score)",
            )
        return handler(body, k)

    def _listed(self, body: Any, key: str) -> m.Criterion:
        if body is not True:
            raise self.r.fail(key, "must be true")
        return m.Listed()

    def _age(self, body: Any, key: str) -> m.Criterion:
        body = self.r.table(body, key)
        self.r.keys(body, key, set(), {"min", "max"})
        if not body:
            raise self.r.fail(key, "needs min, max or both")
        lo = self.r.int_(body, "min", key) if "min" in body else None
        hi = self.r.int_(body, "max", key) if "max" in body else None
        if lo is not None and hi is not None and lo > hi:
            raise self.r.fail(key, "min is above max")
        return m.Age(lo, hi)

    def _sex(self, body: Any, key: str) -> m.Criterion:
        if body not in ("F", "M"):
            raise self.r.fail(key, 'must be "F" or "M"')
        return m.Sex(body)

    def _condition(self, body: Any, key: str) -> m.Criterion:
        body = self.r.table(body, key)
        self.r.keys(body, key, {"codelist"}, {"status", "started_within_days"})
        codelists = self.codelist_refs(body, key, "condition")
        if ("status" in body) == ("started_within_days" in body):
            raise self.r.fail(
                key, 'needs exactly one of status ("active"/"ever") and started_within_days'
            )
        if "status" in body:
            try:
                status = m.ConditionStatus(body["status"])
            except ValueError:
                raise self.r.fail(f"{key}.status", 'must be "active" or "ever"') from None
            return m.HasCondition(codelists, status, None)
        days = self.r.int_(body, "started_within_days", key, minimum=1)
        return m.HasCondition(codelists, None, m.Window(days))

    def _count(self, body: dict[str, Any], key: str) -> int:
        return self.r.int_(body, "min_count", key, minimum=1) if "min_count" in body else 1

    def _prescription(self, body: Any, key: str) -> m.Criterion:
        body = self.r.table(body, key)
        self.r.keys(body, key, {"codelist", "window_days"}, {"min_count", "min_ddd"})
        min_ddd = self.r.num(body, "min_ddd", key) if "min_ddd" in body else None
        return m.HasPrescription(
            self.codelist_refs(body, key, "prescription"),
            self.window(body, key),
            self._count(body, key),
            min_ddd,
        )

    def _lab(self, body: Any, key: str) -> m.Criterion:
        body = self.r.table(body, key)
        self.r.keys(body, key, {"codelist", "window_days"}, {"min_count", "latest"})
        latest = None
        if "latest" in body:
            lk = f"{key}.latest"
            spec = self.r.table(body["latest"], lk)
            if len(spec) != 1:
                raise self.r.fail(lk, "must hold exactly one comparison: lt, le, ge or gt")
            ((op, _),) = spec.items()
            try:
                comparator = m.Comparator(op)
            except ValueError:
                raise self.r.fail(
                    f"{lk}.{op}", "unknown comparison (allowed: lt, le, ge, gt)"
                ) from None
            latest = m.LatestValue(comparator, self.r.num(spec, op, lk))
        return m.HasLab(
            self.codelist_refs(body, key, "lab"),
            self.window(body, key),
            self._count(body, key),
            latest,
        )

    def _encounter(self, body: Any, key: str) -> m.Criterion:
        body = self.r.table(body, key)
        self.r.keys(body, key, {"codelist", "window_days"}, {"min_count"})
        return m.HasEncounter(
            self.codelist_refs(body, key, "encounter"),
            self.window(body, key),
            self._count(body, key),
        )

    def _parts(self, body: Any, key: str) -> tuple[m.Criterion, ...]:
        if not isinstance(body, list) or not body:
            raise self.r.fail(key, "must be a non-empty list of criteria")
        return tuple(self.parse(part, f"{key}[{i}]") for i, part in enumerate(body))

    def _all(self, body: Any, key: str) -> m.Criterion:
        return m.AllOf(self._parts(body, key))

    def _any(self, body: Any, key: str) -> m.Criterion:
        return m.AnyOf(self._parts(body, key))

    def _not(self, body: Any, key: str) -> m.Criterion:
        return m.Not(self.parse(body, key))

    def _score(self, body: Any, key: str) -> m.Criterion:
        body = self.r.table(body, key)
        self.r.keys(body, key, {"min", "items"}, set())
        items_raw = body["items"]
        if not isinstance(items_raw, list) or not items_raw:
            raise self.r.fail(f"{key}.items", "must be a non-empty list")
        items = []
        for i, item in enumerate(items_raw):
            ik = f"{key}.items[{i}]"
            item = self.r.table(item, ik)
            self.r.keys(item, ik, {"points", "when"}, set())
            items.append(
                m.ScoreItem(
                    self.r.int_(item, "points", ik, 1), self.parse(item["when"], f"{ik}.when")
                )
            )
        return m.Score(tuple(items), self.r.int_(body, "min", key, 1))

    def events(self, data: Any, key: str) -> m.EventCount:
        data = self.r.table(data, key)
        if list(data) != ["prescription"]:
            raise self.r.fail(
                key, "event counts are supported for prescriptions: { prescription = {...} }"
            )
        body = self.r.table(data["prescription"], f"{key}.prescription")
        self.r.keys(body, f"{key}.prescription", {"codelist", "window_days"}, set())
        return m.PrescriptionEvents(
            self.codelist_refs(body, f"{key}.prescription", "prescription"),
            self.window(body, f"{key}.prescription"),
        )


# --- indicators ---------------------------------------------------------------


def _top_level_parts(criterion: m.Criterion) -> tuple[m.Criterion, ...]:
    return criterion.parts if isinstance(criterion, m.AllOf) else (criterion,)


def load_indicator(path: Path, codelists: dict[str, Codelist]) -> m.Indicator:
    r = _Reader(f"definitions/{path.name}")
    data = _read_toml(path, r.file)
    r.keys(
        data,
        "",
        {
            "id",
            "version",
            "title",
            "description",
            "area",
            "unit",
            "direction",
            "denominator",
            "numerator",
            "strata",
            "source",
        },
        {"target", "scale", "national_goal", "cap_per_patient"},
    )
    ind_id = r.str_(data, "id", "")
    if ind_id != path.stem:
        raise r.fail("id", f"must equal the file name '{path.stem}'")
    try:
        unit = m.Unit(data["unit"])
    except ValueError:
        raise r.fail("unit", 'must be "patients" or "events"') from None
    try:
        direction = m.Direction(data["direction"])
    except ValueError:
        raise r.fail("direction", 'must be "higher" or "lower"') from None

    parser = _CriterionParser(r, codelists)
    den = r.table(data["denominator"], "denominator")
    r.keys(den, "denominator", {"population"}, {"events"})
    num = r.table(data["numerator"], "numerator")
    r.keys(num, "numerator", set(), {"criterion", "events"})
    population = parser.parse(den["population"], "denominator.population")
    if not any(isinstance(p, m.Listed) for p in _top_level_parts(population)):
        raise r.fail("denominator.population", "must require { listed = true } at the top level")

    numerator = numerator_events = denominator_events = cap = None
    if unit is m.Unit.PATIENTS:
        if set(num) != {"criterion"} or "events" in den or "cap_per_patient" in data:
            raise r.fail(
                "numerator",
                "a patient-level indicator has numerator.criterion and no events or cap",
            )
        numerator = parser.parse(num["criterion"], "numerator.criterion")
    else:
        if set(num) != {"events"}:
            raise r.fail("numerator", "an event-level indicator has numerator.events")
        if "cap_per_patient" not in data:
            raise r.fail(
                "cap_per_patient", "is required for event-level indicators (it bounds sensitivity)"
            )
        cap = r.int_(data, "cap_per_patient", "", minimum=1)
        numerator_events = parser.events(num["events"], "numerator.events")
        if "events" in den:
            denominator_events = parser.events(den["events"], "denominator.events")

    strata = r.table(data["strata"], "strata")
    r.keys(strata, "strata", {"age_bands"}, set())
    bounds = strata["age_bands"]
    if (
        not isinstance(bounds, list)
        or not bounds
        or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 0 for b in bounds)
        or list(bounds) != sorted(set(bounds))
    ):
        raise r.fail(
            "strata.age_bands", "must be a strictly ascending list of ages, e.g. [18, 40, 65, 80]"
        )
    if bounds[0] > 0:
        floor = max(
            (
                p.min
                for p in _top_level_parts(population)
                if isinstance(p, m.Age) and p.min is not None
            ),
            default=0,
        )
        if floor < bounds[0]:
            raise r.fail(
                "strata.age_bands",
                f"starts at {bounds[0]} but the population admits younger patients; "
                f"add {{ age = {{ min = {bounds[0]} }} }} or start the bands at 0",
            )

    target = r.num(data, "target", "") if "target" in data else None
    scale = r.int_(data, "scale", "", minimum=1) if "scale" in data else 100
    used = {name: codelists[name].content_hash for name in sorted(parser.used)}
    return m.Indicator(
        id=ind_id,
        version=r.int_(data, "version", "", minimum=1),
        title=r.bilingual(data, "title", ""),
        description=r.bilingual(data, "description", ""),
        area=r.str_(data, "area", ""),
        unit=unit,
        direction=direction,
        target=target,
        scale=scale,
        national_goal=r.str_(data, "national_goal", "") if "national_goal" in data else "",
        source=r.str_(data, "source", ""),
        population=population,
        numerator=numerator,
        numerator_events=numerator_events,
        denominator_events=denominator_events,
        cap_per_patient=cap,
        age_bands=m.AgeBands(tuple(bounds)),
        content_hash=sha256_hex({"definition": data, "codelists": used}),
        source_file=str(path),
    )


def load_catalogue(root: Path | None = None) -> m.Catalogue:
    """Load every code list and indicator under `root` (default: the installed set)."""
    root = root or default_root()
    cl_dir, def_dir = root / "codelists", root / "definitions"
    for d in (cl_dir, def_dir):
        if not d.is_dir():
            raise DefinitionError(str(d), "", "directory is missing")
    codelists = {p.stem: load_codelist(p) for p in sorted(cl_dir.glob("*.toml"))}
    indicators = {}
    for p in sorted(def_dir.glob("*.toml")):
        ind = load_indicator(p, codelists)
        indicators[ind.id] = ind
    if not indicators:
        raise DefinitionError(str(def_dir), "", "holds no indicator definitions")
    return m.Catalogue(indicators, codelists, catalogue_hash(indicators))
