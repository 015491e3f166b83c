"""Load the TOML definitions and code lists into the query model.

Everything a reviewer can get wrong in a definition is caught here, at load
time, with the file and the key path named: unparsable TOML, unknown keys,
unknown code lists or systems, impossible windows. An indicator that loads
is one both engines can evaluate. Files are named relative to the catalogue
("definitions/DM-01.toml"), so a message reads the same wherever it is installed.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from common.errors import FileKeyError
from common.tomlfile import Table, parse_table, read_toml_text
from indicator_defs import model as m
from indicator_defs.codelists import (
    Codelist,
    CodelistFormatError,
    CodeSystem,
    normalise_entries,
)
from indicator_defs.hashing import catalogue_hash, sha256_hex
from indicator_defs.loader_text import say
from indicator_defs.walk import iter_nodes


class DefinitionError(FileKeyError):
    """A definition or code list is invalid; names the file and key."""

    @property
    def file(self) -> str | None:
        """The file as named in the catalogue, e.g. "definitions/DM-01.toml"."""
        return self.path


def default_root() -> Path:
    return Path(str(resources.files("indicator_defs")))


def _read(path: Path, label: str) -> Table:
    """One catalogue file as a strict table whose errors name it as `label`."""
    return parse_table(read_toml_text(path, error=DefinitionError), label, error=DefinitionError)


def _text(t: Table, name: str) -> str:
    return t.string(name).strip()


def _bilingual(t: Table, name: str) -> dict[str, str]:
    return {lang: text.strip() for lang, text in t.bilingual(name).items()}


def _choice(t: Table, name: str, kind: Callable[[str], Any]) -> Any:
    """The enum member `kind` names by the key's text, the error listing what is allowed."""
    return kind(t.string(name, choices=tuple(member.value for member in kind)))  # type: ignore[attr-defined]


# --- code lists ---------------------------------------------------------------


def load_codelist(path: Path) -> Codelist:
    t = _read(path, f"codelists/{path.name}")
    name = _text(t, "name")
    if name != path.stem:
        raise t.fail("name", say("file_name", stem=path.stem))
    system_name = _text(t, "system")
    try:
        system = CodeSystem(system_name)
    except ValueError:
        allowed = ", ".join(s.value for s in CodeSystem)
        raise t.fail("system", say("code_system", name=system_name, allowed=allowed)) from None
    entries = {}
    for field in ("codes", "exclude"):
        raw = t.raw(field, required=field == "codes")
        raw = [] if raw is None else raw
        if not isinstance(raw, list) or (field == "codes" and not raw):
            raise t.fail(field, say("codes") if field == "codes" else say("list"))
        try:
            entries[field] = normalise_entries(system, raw)
        except CodelistFormatError as exc:
            raise t.fail(field, str(exc)) from None
    if entries["exclude"] and system is not CodeSystem.ATC:
        raise t.fail("exclude", say("exclude"))
    codelist = Codelist(
        name=name,
        version=_text(t, "version"),
        system=system,
        title=_text(t, "title"),
        codes=entries["codes"],
        exclude=entries["exclude"],
        source=_text(t, "source"),
        content_hash=sha256_hex(t.data),
    )
    t.done()
    return codelist


# --- criteria -----------------------------------------------------------------

_TABLE_SYSTEMS = {
    "condition": {CodeSystem.ICPC2, CodeSystem.ICD10},
    "prescription": {CodeSystem.ATC},
    "lab": {CodeSystem.LAB},
    "encounter": {CodeSystem.SERVICE},
}


class _CriterionParser:
    """Criteria are tables with exactly one key naming their kind: `{ age = { min = 18 } }`."""

    def __init__(self, codelists: dict[str, Codelist]) -> None:
        self.codelists = codelists
        self.used: set[str] = set()

    def codelist_refs(self, body: Table, kind: str, key: str = "codelist") -> tuple[Codelist, ...]:
        raw = body.raw(key)
        names = [raw] if isinstance(raw, str) else raw
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise body.fail(key, say("codelist_names"))
        out = []
        for name in names:
            cl = self.codelists.get(name)
            if cl is None:
                raise body.fail(key, say("unknown_codelist", name=name))
            if cl.system not in _TABLE_SYSTEMS[kind]:
                message = say("codelist_system", name=name, system=cl.system.value, kind=kind)
                raise body.fail(key, message)
            self.used.add(name)
            out.append(cl)
        return tuple(out)

    def window(self, body: Table) -> m.Window:
        if "window_days" not in body:
            raise body.fail("window_days", say("window_required"))
        raw = body.raw("window_days")
        if raw == "all":
            return m.Window(None)
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise body.fail("window_days", say("window"))
        return m.Window(raw)

    def count(self, body: Table) -> int:
        return body.integer("min_count", required=False, default=1, minimum=1)

    def parse(self, c: Table) -> m.Criterion:
        if len(c.data) != 1:
            raise c.fail(None, say("one_key"))
        (kind,) = c.data
        handler: Callable[[Table, str], m.Criterion] | None = getattr(self, f"_{kind}", None)
        if handler is None:
            allowed = (
                "listed, age, sex, condition, prescription, lab, encounter, days_covered, "
                "died, at_death, all, any, not, score"
            )
            raise c.fail(kind, say("criterion", allowed=allowed))
        return handler(c, kind)

    def _listed(self, c: Table, kind: str) -> m.Criterion:
        if c.raw(kind) is not True:
            raise c.fail(kind, say("true"))
        return m.Listed()

    def _age(self, c: Table, kind: str) -> m.Criterion:
        body = c.table(kind)
        lo = body.integer("min", required=False, minimum=0)
        hi = body.integer("max", required=False, minimum=0)
        body.done()
        if lo is None and hi is None:
            raise c.fail(kind, say("min_max"))
        if lo is not None and hi is not None and lo > hi:
            raise c.fail(kind, say("min_above_max"))
        return m.Age(lo, hi)

    def _sex(self, c: Table, kind: str) -> m.Criterion:
        value = c.raw(kind)
        if value not in ("F", "M"):
            raise c.fail(kind, say("sex"))
        return m.Sex(value)

    def _condition(self, c: Table, kind: str) -> m.Criterion:
        body = c.table(kind)
        codelists = self.codelist_refs(body, kind)
        if ("status" in body) == ("started_within_days" in body):
            raise body.fail(None, say("status"))
        status = _choice(body, "status", m.ConditionStatus) if "status" in body else None
        days = body.integer("started_within_days", required=False, minimum=1)
        body.done()
        return m.HasCondition(codelists, status, None if days is None else m.Window(days))

    def _prescription(self, c: Table, kind: str) -> m.Criterion:
        body = c.table(kind)
        criterion = m.HasPrescription(
            self.codelist_refs(body, kind),
            self.window(body),
            self.count(body),
            body.number("min_ddd", required=False),
        )
        body.done()
        return criterion

    def _lab(self, c: Table, kind: str) -> m.Criterion:
        body = c.table(kind)
        latest = None
        if "latest" in body:
            spec = body.table("latest")
            if len(spec.data) != 1:
                raise spec.fail(None, say("one_comparison"))
            (op,) = spec.data
            try:
                comparator = m.Comparator(op)
            except ValueError:
                raise spec.fail(op, say("comparison")) from None
            latest = m.LatestValue(comparator, spec.number(op))
        criterion = m.HasLab(
            self.codelist_refs(body, kind), self.window(body), self.count(body), latest
        )
        body.done()
        return criterion

    def _encounter(self, c: Table, kind: str) -> m.Criterion:
        body = c.table(kind)
        criterion = m.HasEncounter(
            self.codelist_refs(body, kind), self.window(body), self.count(body)
        )
        body.done()
        return criterion

    def _days_covered(self, c: Table, kind: str) -> m.Criterion:
        body = c.table(kind)
        window = self.window(body)
        if window.days is None:
            raise body.fail("window_days", say("days_for", what="days_covered"))
        supplies = [m.Supply(self.codelist_refs(body, "prescription"))]
        if "together_with" in body:
            supplies.append(m.Supply(self.codelist_refs(body, "prescription", "together_with")))
        min_days = body.integer("min_days", minimum=1)
        body.done()
        if min_days > window.days:
            raise body.fail("min_days", say("min_days", days=window.days))
        return m.DaysCovered(tuple(supplies), window, min_days)

    def _died(self, c: Table, kind: str) -> m.Criterion:
        body = c.table(kind)
        window = self.window(body)
        body.done()
        if window.days is None:
            raise body.fail("window_days", say("days_for", what="died"))
        return m.Died(window)

    def _at_death(self, c: Table, kind: str) -> m.Criterion:
        part = self.parse(c.table(kind))
        for node in iter_nodes(part):
            if isinstance(node, (m.Listed, m.Died, m.AtDeath)):
                name = {m.Listed: "listed", m.Died: "died", m.AtDeath: "at_death"}[type(node)]
                raise c.fail(kind, say("at_death", name=name))
        return m.AtDeath(part)

    def _parts(self, c: Table, kind: str) -> tuple[m.Criterion, ...]:
        value = c.raw(kind)
        if not isinstance(value, list) or not value:
            raise c.fail(kind, say("criteria"))
        return tuple(self.parse(part) for part in c.tables(kind))

    def _all(self, c: Table, kind: str) -> m.Criterion:
        return m.AllOf(self._parts(c, kind))

    def _any(self, c: Table, kind: str) -> m.Criterion:
        return m.AnyOf(self._parts(c, kind))

    def _not(self, c: Table, kind: str) -> m.Criterion:
        return m.Not(self.parse(c.table(kind)))

    def _score(self, c: Table, kind: str) -> m.Criterion:
        body = c.table(kind)
        items_raw = body.raw("items")
        if not isinstance(items_raw, list) or not items_raw:
            raise body.fail("items", say("non_empty"))
        items = []
        for item in body.tables("items"):
            items.append(
                m.ScoreItem(item.integer("points", minimum=1), self.parse(item.table("when")))
            )
            item.done()
        score = m.Score(tuple(items), body.integer("min", minimum=1))
        body.done()
        return score

    def events(self, e: Table) -> m.EventCount:
        if list(e.data) == ["episodes"]:
            return self.episodes(e.table("episodes"))
        if list(e.data) != ["prescription"]:
            raise e.fail(None, say("event_kinds"))
        body = e.table("prescription")
        events = m.PrescriptionEvents(self.codelist_refs(body, "prescription"), self.window(body))
        body.done()
        return events

    def _event_table(self, t: Table) -> tuple[m.EventSource, Table]:
        tables = ", ".join(s.value for s in m.EventSource)
        if len(t.data) != 1:
            raise t.fail(None, say("one_table", tables=tables))
        (name,) = t.data
        try:
            source = m.EventSource(name)
        except ValueError:
            raise t.fail(name, say("table", tables=tables)) from None
        return source, t.table(name)

    def episodes(self, e: Table) -> m.Episodes:
        source, body = self._event_table(e.table("anchor"))
        window = self.window(body)
        if window.days is None:
            raise body.fail("window_days", say("days_for_anchor"))
        follow_up = body.integer("follow_up_days", required=False, default=0, minimum=0)
        new_after = body.integer("new_after_days", required=False, minimum=1)
        anchor = m.Anchor(
            source, self.codelist_refs(body, source.value), window, follow_up, new_after
        )
        body.done()
        if "with" in e and not isinstance(e.raw("with"), list):
            raise e.fail("with", say("requirements"))
        require = []
        for item in e.tables("with", required=False):
            source, body = self._event_table(item)
            lo = self._signed(body, "from_day")
            hi = self._signed(body, "to_day")
            if lo > hi:
                raise body.fail("from_day", say("from_after_to"))
            if hi > follow_up:
                raise body.fail("to_day", say("follow_up", days=hi, follow_up=follow_up))
            require.append(m.Nearby(source, self.codelist_refs(body, source.value), lo, hi))
            body.done()
            item.done()
        e.done()
        return m.Episodes(anchor, tuple(require))

    @staticmethod
    def _signed(body: Table, name: str) -> int:
        value = body.raw(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise body.fail(name, say("signed_days"))
        return int(value)


# --- indicators ---------------------------------------------------------------


def _top_level_parts(criterion: m.Criterion) -> tuple[m.Criterion, ...]:
    return criterion.parts if isinstance(criterion, m.AllOf) else (criterion,)


def _check_episode_subset(
    num: Table, numerator: m.EventCount, denominator: m.EventCount | None
) -> None:
    """Numerator episodes must be denominator episodes that meet more requirements.

    Then no patient's numerator can exceed their denominator, episode by
    episode, and the rate is a share of the denominator's episodes.
    """
    num_ep, den_ep = isinstance(numerator, m.Episodes), isinstance(denominator, m.Episodes)
    if denominator is None or not (num_ep or den_ep):
        return
    if num_ep != den_ep:
        raise num.fail("events", say("episodes_both"))
    assert isinstance(numerator, m.Episodes) and isinstance(denominator, m.Episodes)
    if numerator.anchor != denominator.anchor:
        raise num.fail("events.episodes.anchor", say("same_anchor"))
    if any(req not in numerator.require for req in denominator.require):
        raise num.fail("events.episodes.with", say("repeat_requirements"))


def load_indicator(path: Path, codelists: dict[str, Codelist]) -> m.Indicator:
    t = _read(path, f"definitions/{path.name}")
    ind_id = _text(t, "id")
    if ind_id != path.stem:
        raise t.fail("id", say("file_name", stem=path.stem))
    unit = _choice(t, "unit", m.Unit)
    direction = _choice(t, "direction", m.Direction)

    parser = _CriterionParser(codelists)
    den = t.table("denominator")
    num = t.table("numerator")
    population = parser.parse(den.table("population"))
    if not any(isinstance(p, (m.Listed, m.Died)) for p in _top_level_parts(population)):
        raise den.fail("population", say("population"))

    numerator = numerator_events = denominator_events = cap = None
    if unit is m.Unit.PATIENTS:
        if set(num.data) != {"criterion"} or "events" in den or "cap_per_patient" in t:
            raise t.fail("numerator", say("patient_level"))
        numerator = parser.parse(num.table("criterion"))
    else:
        if set(num.data) != {"events"}:
            raise t.fail("numerator", say("event_level"))
        if "cap_per_patient" not in t:
            raise t.fail("cap_per_patient", say("cap"))
        cap = t.integer("cap_per_patient", minimum=1)
        numerator_events = parser.events(num.table("events"))
        if "events" in den:
            denominator_events = parser.events(den.table("events"))
        _check_episode_subset(num, numerator_events, denominator_events)
    den.done()
    num.done()

    strata = t.table("strata")
    bounds = strata.raw("age_bands")
    strata.done()
    if (
        not isinstance(bounds, list)
        or not bounds
        or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 0 for b in bounds)
        or list(bounds) != sorted(set(bounds))
    ):
        raise strata.fail("age_bands", say("age_bands"))
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
            raise strata.fail("age_bands", say("age_floor", start=bounds[0]))

    used = {name: codelists[name].content_hash for name in sorted(parser.used)}
    indicator = m.Indicator(
        id=ind_id,
        version=t.integer("version", minimum=1),
        title=_bilingual(t, "title"),
        description=_bilingual(t, "description"),
        area=_text(t, "area"),
        unit=unit,
        direction=direction,
        target=t.number("target", required=False),
        scale=t.integer("scale", required=False, default=100, minimum=1),
        national_goal=_bilingual(t, "national_goal") if "national_goal" in t else {},
        source=_text(t, "source"),
        population=population,
        numerator=numerator,
        numerator_events=numerator_events,
        denominator_events=denominator_events,
        cap_per_patient=cap,
        age_bands=m.AgeBands(tuple(bounds)),
        content_hash=sha256_hex({"definition": t.data, "codelists": used}),
        source_file=str(path),
    )
    t.done()
    return indicator


def load_catalogue(root: Path | None = None) -> m.Catalogue:
    """Load every code list and indicator under `root` (default: the installed set)."""
    root = root or default_root()
    cl_dir, def_dir = root / "codelists", root / "definitions"
    for d in (cl_dir, def_dir):
        if not d.is_dir():
            raise DefinitionError(d, None, say("no_directory"))
    codelists = {p.stem: load_codelist(p) for p in sorted(cl_dir.glob("*.toml"))}
    indicators = {}
    for p in sorted(def_dir.glob("*.toml")):
        ind = load_indicator(p, codelists)
        indicators[ind.id] = ind
    if not indicators:
        raise DefinitionError(def_dir, None, say("no_definitions"))
    return m.Catalogue(indicators, codelists, catalogue_hash(indicators))
