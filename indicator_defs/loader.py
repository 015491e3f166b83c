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
        raise t.fail("name", f"must equal the file name '{path.stem}'")
    system_name = _text(t, "system")
    try:
        system = CodeSystem(system_name)
    except ValueError:
        allowed = ", ".join(s.value for s in CodeSystem)
        raise t.fail(
            "system", f"unknown code system '{system_name}' (allowed: {allowed})"
        ) from None
    entries = {}
    for field in ("codes", "exclude"):
        raw = t.raw(field, required=field == "codes")
        raw = [] if raw is None else raw
        if not isinstance(raw, list) or (field == "codes" and not raw):
            raise t.fail(
                field, "must be a list" + (" with at least one code" if field == "codes" else "")
            )
        try:
            entries[field] = normalise_entries(system, raw)
        except CodelistFormatError as exc:
            raise t.fail(field, str(exc)) from None
    if entries["exclude"] and system is not CodeSystem.ATC:
        raise t.fail("exclude", "is only meaningful for ATC (prefix) code lists")
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
            raise body.fail(key, "must be a code list name or a list of names")
        out = []
        for name in names:
            cl = self.codelists.get(name)
            if cl is None:
                raise body.fail(key, f"unknown code list '{name}'")
            if cl.system not in _TABLE_SYSTEMS[kind]:
                raise body.fail(
                    key,
                    f"code list '{name}' is {cl.system.value}, which cannot match {kind} rows",
                )
            self.used.add(name)
            out.append(cl)
        return tuple(out)

    def window(self, body: Table) -> m.Window:
        if "window_days" not in body:
            raise body.fail("window_days", 'is required (a number of days, or "all")')
        raw = body.raw("window_days")
        if raw == "all":
            return m.Window(None)
        if isinstance(raw, bool) or not isinstance(raw, int) or raw < 1:
            raise body.fail("window_days", 'must be a positive number of days or "all"')
        return m.Window(raw)

    def count(self, body: Table) -> int:
        return body.integer("min_count", required=False, default=1, minimum=1)

    def parse(self, c: Table) -> m.Criterion:
        if len(c.data) != 1:
            raise c.fail(
                None, "a criterion is a table with exactly one key, e.g. { listed = true }"
            )
        (kind,) = c.data
        handler: Callable[[Table, str], m.Criterion] | None = getattr(self, f"_{kind}", None)
        if handler is None:
            raise c.fail(
                kind,
                "unknown criterion (allowed: listed, age, sex, condition, prescription, "
                "lab, encounter, days_covered, died, at_death, all, any, not, score)",
            )
        return handler(c, kind)

    def _listed(self, c: Table, kind: str) -> m.Criterion:
        if c.raw(kind) is not True:
            raise c.fail(kind, "must be true")
        return m.Listed()

    def _age(self, c: Table, kind: str) -> m.Criterion:
        body = c.table(kind)
        lo = body.integer("min", required=False, minimum=0)
        hi = body.integer("max", required=False, minimum=0)
        body.done()
        if lo is None and hi is None:
            raise c.fail(kind, "needs min, max or both")
        if lo is not None and hi is not None and lo > hi:
            raise c.fail(kind, "min is above max")
        return m.Age(lo, hi)

    def _sex(self, c: Table, kind: str) -> m.Criterion:
        value = c.raw(kind)
        if value not in ("F", "M"):
            raise c.fail(kind, 'must be "F" or "M"')
        return m.Sex(value)

    def _condition(self, c: Table, kind: str) -> m.Criterion:
        body = c.table(kind)
        codelists = self.codelist_refs(body, kind)
        if ("status" in body) == ("started_within_days" in body):
            raise body.fail(
                None, 'needs exactly one of status ("active"/"ever") and started_within_days'
            )
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
                raise spec.fail(None, "must hold exactly one comparison: lt, le, ge or gt")
            (op,) = spec.data
            try:
                comparator = m.Comparator(op)
            except ValueError:
                raise spec.fail(op, "unknown comparison (allowed: lt, le, ge, gt)") from None
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
            raise body.fail("window_days", "must be a number of days for days_covered")
        supplies = [m.Supply(self.codelist_refs(body, "prescription"))]
        if "together_with" in body:
            supplies.append(m.Supply(self.codelist_refs(body, "prescription", "together_with")))
        min_days = body.integer("min_days", minimum=1)
        body.done()
        if min_days > window.days:
            raise body.fail("min_days", f"cannot exceed window_days ({window.days})")
        return m.DaysCovered(tuple(supplies), window, min_days)

    def _died(self, c: Table, kind: str) -> m.Criterion:
        body = c.table(kind)
        window = self.window(body)
        body.done()
        if window.days is None:
            raise body.fail("window_days", "must be a number of days for died")
        return m.Died(window)

    def _at_death(self, c: Table, kind: str) -> m.Criterion:
        part = self.parse(c.table(kind))
        for node in iter_nodes(part):
            if isinstance(node, (m.Listed, m.Died, m.AtDeath)):
                name = {m.Listed: "listed", m.Died: "died", m.AtDeath: "at_death"}[type(node)]
                raise c.fail(
                    kind, f"'{name}' has no meaning inside at_death (nobody is listed after death)"
                )
        return m.AtDeath(part)

    def _parts(self, c: Table, kind: str) -> tuple[m.Criterion, ...]:
        value = c.raw(kind)
        if not isinstance(value, list) or not value:
            raise c.fail(kind, "must be a non-empty list of criteria")
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
            raise body.fail("items", "must be a non-empty list")
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
            raise e.fail(
                None,
                "event counts are prescriptions or episodes: { prescription = {...} } "
                "or { episodes = {...} }",
            )
        body = e.table("prescription")
        events = m.PrescriptionEvents(self.codelist_refs(body, "prescription"), self.window(body))
        body.done()
        return events

    def _event_table(self, t: Table) -> tuple[m.EventSource, Table]:
        tables = ", ".join(s.value for s in m.EventSource)
        if len(t.data) != 1:
            raise t.fail(None, f"must name exactly one table ({tables})")
        (name,) = t.data
        try:
            source = m.EventSource(name)
        except ValueError:
            raise t.fail(name, f"unknown table (allowed: {tables})") from None
        return source, t.table(name)

    def episodes(self, e: Table) -> m.Episodes:
        source, body = self._event_table(e.table("anchor"))
        window = self.window(body)
        if window.days is None:
            raise body.fail("window_days", "must be a number of days for an anchor")
        follow_up = body.integer("follow_up_days", required=False, default=0, minimum=0)
        new_after = body.integer("new_after_days", required=False, minimum=1)
        anchor = m.Anchor(
            source, self.codelist_refs(body, source.value), window, follow_up, new_after
        )
        body.done()
        if "with" in e and not isinstance(e.raw("with"), list):
            raise e.fail("with", "must be a list of requirements")
        require = []
        for item in e.tables("with", required=False):
            source, body = self._event_table(item)
            lo = self._signed(body, "from_day")
            hi = self._signed(body, "to_day")
            if lo > hi:
                raise body.fail("from_day", "must not be after to_day")
            if hi > follow_up:
                raise body.fail(
                    "to_day",
                    f"looks {hi} days past the anchor, beyond the anchor's follow_up_days "
                    f"({follow_up}): events after the reference date would be needed",
                )
            require.append(m.Nearby(source, self.codelist_refs(body, source.value), lo, hi))
            body.done()
            item.done()
        e.done()
        return m.Episodes(anchor, tuple(require))

    @staticmethod
    def _signed(body: Table, name: str) -> int:
        value = body.raw(name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise body.fail(name, "must be a whole number of days (may be negative)")
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
        raise num.fail("events", "must count episodes when the denominator does")
    assert isinstance(numerator, m.Episodes) and isinstance(denominator, m.Episodes)
    if numerator.anchor != denominator.anchor:
        raise num.fail("events.episodes.anchor", "must equal the denominator's anchor")
    if any(req not in numerator.require for req in denominator.require):
        raise num.fail(
            "events.episodes.with", "must repeat every requirement of the denominator's episodes"
        )


def load_indicator(path: Path, codelists: dict[str, Codelist]) -> m.Indicator:
    t = _read(path, f"definitions/{path.name}")
    ind_id = _text(t, "id")
    if ind_id != path.stem:
        raise t.fail("id", f"must equal the file name '{path.stem}'")
    unit = _choice(t, "unit", m.Unit)
    direction = _choice(t, "direction", m.Direction)

    parser = _CriterionParser(codelists)
    den = t.table("denominator")
    num = t.table("numerator")
    population = parser.parse(den.table("population"))
    if not any(isinstance(p, (m.Listed, m.Died)) for p in _top_level_parts(population)):
        raise den.fail(
            "population",
            "must require { listed = true } (or, for the deceased, { died = {...} }) "
            "at the top level",
        )

    numerator = numerator_events = denominator_events = cap = None
    if unit is m.Unit.PATIENTS:
        if set(num.data) != {"criterion"} or "events" in den or "cap_per_patient" in t:
            raise t.fail(
                "numerator",
                "a patient-level indicator has numerator.criterion and no events or cap",
            )
        numerator = parser.parse(num.table("criterion"))
    else:
        if set(num.data) != {"events"}:
            raise t.fail("numerator", "an event-level indicator has numerator.events")
        if "cap_per_patient" not in t:
            raise t.fail(
                "cap_per_patient", "is required for event-level indicators (it bounds sensitivity)"
            )
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
        raise strata.fail(
            "age_bands", "must be a strictly ascending list of ages, e.g. [18, 40, 65, 80]"
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
            raise strata.fail(
                "age_bands",
                f"starts at {bounds[0]} but the population admits younger patients; "
                f"add {{ age = {{ min = {bounds[0]} }} }} or start the bands at 0",
            )

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
            raise DefinitionError(d, None, "directory is missing")
    codelists = {p.stem: load_codelist(p) for p in sorted(cl_dir.glob("*.toml"))}
    indicators = {}
    for p in sorted(def_dir.glob("*.toml")):
        ind = load_indicator(p, codelists)
        indicators[ind.id] = ind
    if not indicators:
        raise DefinitionError(def_dir, None, "holds no indicator definitions")
    return m.Catalogue(indicators, codelists, catalogue_hash(indicators))
