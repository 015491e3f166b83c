"""The one strict TOML reader: every configuration and definition file goes through it.

Strict means an unknown key is an error, not a silent default: a typo in
`start_when` or a misspelt indicator key would otherwise change what a round
does without anyone noticing. Every failure is a `FileKeyError` (or the
caller's subclass of it, passed as `error`) naming the file, the dotted key
and, where the file lets us find it, the line:

    root = read_table(path, error=AgentConfigError, what="agent")
    practice = root.string("practice_id", pattern=PRACTICE_ID)
    for entry in root.tables("practices"):      # keys "practices[0].id", … and its line
        ...
        entry.done()
    root.done()                                 # any key not read is unknown

`read_table` and `parse_table` remember the line of every `[[array]]` header,
so an error inside the third `[[practices]]` table names that table's line.

For example (`parse_table` takes text; `read_table` reads the file):

>>> from common.i18n import set_lang
>>> set_lang("da")  # Danish, as by default (English with `klynge --lang en`)
>>> root = parse_table('rounds = 4\\n[[practices]]\\nid = "P1"\\nsize = 3\\n', "agent.toml")
>>> root.integer("rounds", minimum=1)
4
>>> practice = next(root.tables("practices"))
>>> practice.string("id")
'P1'
>>> practice.done()
Traceback (most recent call last):
common.errors.FileKeyError: agent.toml:2, nøgle 'practices[0].size': ukendt nøgle (tilladt: id)
>>> parse_table("rounds = 0\\n", "agent.toml").integer("rounds", minimum=1)
Traceback (most recent call last):
common.errors.FileKeyError: agent.toml, nøgle 'rounds': skal være mindst 1, men er 0
>>> parse_table("rounds = \\n", "agent.toml")
Traceback (most recent call last):
common.errors.FileKeyError: agent.toml:1: ikke gyldig TOML: ugyldig værdi (kolonne 10)
>>> set_lang(None)
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from common.dates import DateError, parse_iso_date
from common.errors import FileKeyError
from common.formatting import number as format_number
from common.i18n import LANGS, register, t

T = TypeVar("T")

ErrorType = Callable[..., FileKeyError]  # called as error(path, key, message, *, line=None)

register(
    {
        # What kind of file could not be read ("agent configuration file not found").
        "toml.what.file": {"en": "file", "da": "filen"},
        "toml.what.agent": {"en": "agent configuration file", "da": "agentens konfigurationsfil"},
        "toml.what.server": {
            "en": "server configuration file",
            "da": "serverens konfigurationsfil",
        },
        "toml.what.partner": {
            "en": "partner configuration file",
            "da": "partnerens konfigurationsfil",
        },
        "toml.what.manifest": {"en": "manifest file", "da": "manifestfilen"},
        "toml.what.federation": {"en": "federation file", "da": "føderationsfilen"},
        "toml.what.survey": {"en": "survey definition", "da": "spørgeskemadefinitionen"},
        "toml.what.indicator": {"en": "indicator definition", "da": "indikatordefinitionen"},
        "toml.not_found": {"en": "{what} not found", "da": "{what} findes ikke"},
        "toml.directory": {"en": "is a directory, not a file", "da": "er en mappe, ikke en fil"},
        "toml.not_utf8": {"en": "is not UTF-8 text", "da": "er ikke UTF-8-tekst"},
        "toml.unreadable": {"en": "cannot read ({reason})", "da": "kan ikke læses ({reason})"},
        "toml.syntax": {"en": "not valid TOML: {detail}", "da": "ikke gyldig TOML: {detail}"},
        "toml.syntax.at": {
            "en": "not valid TOML: {detail} (column {column})",
            "da": "ikke gyldig TOML: {detail} (kolonne {column})",
        },
        # tomllib's own words for the commonest slips (others are shown as they are).
        "toml.detail.Invalid value": {"en": "Invalid value", "da": "ugyldig værdi"},
        "toml.detail.Invalid statement": {"en": "Invalid statement", "da": "ugyldig linje"},
        "toml.detail.Expected '=' after a key in a key/value pair": {
            "en": "Expected '=' after a key in a key/value pair",
            "da": "der mangler '=' efter nøglen",
        },
        "toml.detail.Cannot overwrite a value": {
            "en": "Cannot overwrite a value",
            "da": "nøglen står der allerede",
        },
        "toml.detail.Cannot declare {name} twice": {
            "en": "Cannot declare {name} twice",
            "da": "{name} er angivet to gange",
        },
        "toml.detail.Expected ']' at the end of a table declaration": {
            "en": "Expected ']' at the end of a table declaration",
            "da": "der mangler ']' efter tabellens navn",
        },
        "toml.detail.Unterminated string": {
            "en": "Unterminated string",
            "da": "teksten mangler sit afsluttende anførselstegn",
        },
        "toml.required": {"en": "required key is missing", "da": "påkrævet nøgle mangler"},
        "toml.unknown": {"en": "unknown key", "da": "ukendt nøgle"},
        "toml.unknown.allowed": {
            "en": "unknown key (allowed: {allowed})",
            "da": "ukendt nøgle (tilladt: {allowed})",
        },
        "toml.text": {
            "en": "must be non-empty text, got {got}",
            "da": "skal være en tekst, der ikke er tom, men er {got}",
        },
        "toml.pattern": {
            "en": "{value} is not of the form {pattern}",
            "da": "{value} har ikke formen {pattern}",
        },
        "toml.choices": {
            "en": "must be one of {allowed}, got {value}",
            "da": "skal være en af {allowed}, men er {value}",
        },
        "toml.integer": {
            "en": "must be an integer, got {got}",
            "da": "skal være et heltal, men er {got}",
        },
        "toml.number": {
            "en": "must be a number, got {got}",
            "da": "skal være et tal, men er {got}",
        },
        "toml.finite": {
            "en": "must be a finite number, got {got}",
            "da": "skal være et endeligt tal, men er {got}",
        },
        "toml.positive": {
            "en": "must be greater than 0, got {got}",
            "da": "skal være større end 0, men er {got}",
        },
        "toml.minimum": {
            "en": "must be at least {limit}, got {got}",
            "da": "skal være mindst {limit}, men er {got}",
        },
        "toml.maximum": {
            "en": "must be at most {limit}, got {got}",
            "da": "må højst være {limit}, men er {got}",
        },
        "toml.boolean": {
            "en": "must be true or false, got {got}",
            "da": "skal være true eller false, men er {got}",
        },
        "toml.date.unquoted": {
            "en": "must be a date like 2026-03-31 without quotes, got {got}",
            "da": "skal være en dato som 2026-03-31 uden anførselstegn, men er {got}",
        },
        "toml.date": {
            "en": "must be a date YYYY-MM-DD, got {got}",
            "da": "skal være en dato ÅÅÅÅ-MM-DD, men er {got}",
        },
        "toml.bilingual": {
            "en": "must be a table with da and en, got {got}",
            "da": "skal være en tabel med da og en, men er {got}",
        },
        "toml.bilingual.plain": {
            "en": "must be a table with da and en (or one text for both), got {got}",
            "da": "skal være en tabel med da og en (eller én tekst til begge), men er {got}",
        },
        "toml.table": {
            "en": "must be a table, got {got}",
            "da": "skal være en tabel, men er {got}",
        },
        "toml.tables": {
            "en": "must be an array of tables ([[{name}]])",
            "da": "skal være en række tabeller ([[{name}]])",
        },
        "toml.texts": {
            "en": "must be an array of non-empty texts",
            "da": "skal være en liste af tekster, der ikke er tomme",
        },
        "toml.empty": {"en": "must not be empty", "da": "må ikke være tom"},
        "toml.twice": {"en": "lists {item} twice", "da": "nævner {item} to gange"},
        "toml.array": {
            "en": "must be an array, got {got}",
            "da": "skal være en liste, men er {got}",
        },
        # What a value is, in the words above ("…, got text").
        "toml.type.str": {"en": "text", "da": "tekst"},
        "toml.type.int": {"en": "an integer", "da": "et heltal"},
        "toml.type.float": {"en": "a number", "da": "et tal"},
        "toml.type.bool": {"en": "true/false", "da": "true/false"},
        "toml.type.list": {"en": "an array", "da": "en liste"},
        "toml.type.dict": {"en": "a table", "da": "en tabel"},
        "toml.type.date": {"en": "a date", "da": "en dato"},
        "toml.type.datetime": {"en": "a date-time", "da": "et tidspunkt"},
    }
)

_LOCATION = re.compile(r"^(?P<message>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$")


def read_toml_text(path: Path | str, *, error: ErrorType = FileKeyError, what: str = "file") -> str:
    """The file's text, or one line saying why it cannot be read.

    `what` names the kind of file in the message: "file", "agent", "server",
    "partner", "manifest", "federation", "survey" or "indicator".
    """
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(path, None, t("toml.not_found", what=t(f"toml.what.{what}"))) from None
    except IsADirectoryError:
        raise error(path, None, t("toml.directory")) from None
    except UnicodeDecodeError:
        raise error(path, None, t("toml.not_utf8")) from None
    except OSError as exc:
        raise error(path, None, t("toml.unreadable", reason=exc.strerror)) from None


def parse_toml(
    text: str, path: Path | str | None, *, error: ErrorType = FileKeyError
) -> dict[str, Any]:
    """Parse TOML text; a syntax error names the line it is on."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11 has the position only in the text: "... (at line 2, column 4)".
        match = _LOCATION.match(str(exc))
        if match is None:
            raise error(path, None, t("toml.syntax", detail=_detail(str(exc)))) from None
        detail = _detail(match["message"])
        message = t("toml.syntax.at", detail=detail, column=match["column"])
        raise error(path, None, message, line=int(match["line"])) from None


def read_toml(
    path: Path | str, *, error: ErrorType = FileKeyError, what: str = "file"
) -> dict[str, Any]:
    """Read and parse one TOML file."""
    return parse_toml(read_toml_text(path, error=error, what=what), path, error=error)


def parse_table(
    text: str, path: Path | str | None, *, error: ErrorType = FileKeyError, base: Path | None = None
) -> Table:
    """TOML text as a strict root `Table` that knows the line of each `[[array]]` table."""
    data = parse_toml(text, path, error=error)
    return Table(path, data, error=error, base=base, lines=table_lines(text))


def read_table(
    path: Path | str,
    *,
    error: ErrorType = FileKeyError,
    what: str = "file",
    base: Path | None = None,
) -> Table:
    """Read one TOML file as a strict root `Table`."""
    text = read_toml_text(path, error=error, what=what)
    return parse_table(text, path, error=error, base=base)


def _detail(text: str) -> str:
    """tomllib's reason in the reader's language, when it is one of the common ones."""
    for key in ("Invalid value", "Invalid statement", "Cannot overwrite a value"):
        if text == key:
            return t(f"toml.detail.{key}")
    if text in (
        "Expected '=' after a key in a key/value pair",
        "Expected ']' at the end of a table declaration",
    ):
        return t(f"toml.detail.{text}")
    if text.startswith("Unterminated string"):
        return t("toml.detail.Unterminated string")
    twice = re.fullmatch(r"Cannot declare (.+) twice", text)
    if twice:
        return t("toml.detail.Cannot declare {name} twice", name=twice.group(1))
    return text


def _type(value: object) -> str:
    kinds = (bool, int, float, str, list, dict, datetime, date)  # bool before int, datetime first
    for kind in kinds:
        if type(value) is kind:
            return t(f"toml.type.{kind.__name__}")
    return type(value).__name__


def _shown(value: object) -> str:
    """A value from the file as the message shows it: numbers in the reader's language."""
    text = repr(value)
    if isinstance(value, float) and "." in text and "e" not in text:
        return format_number(value, decimals=len(text.split(".")[-1]))
    return repr(value)


class Table:
    """Typed, strict access to one TOML table that remembers which keys were read.

    Call `done()` after reading: any key not read is reported as unknown, so
    the set of accepted keys is exactly the set the code reads. `path` may be
    None for text that came from no file; `line` is the line of the nearest
    `[[array]]` header this table lies in, when known.
    """

    def __init__(
        self,
        path: Path | str | None,
        data: dict[str, Any],
        prefix: str = "",
        *,
        error: ErrorType = FileKeyError,
        base: Path | None = None,
        line: int | None = None,
        lines: dict[str, list[int]] | None = None,
    ) -> None:
        self.path = path
        self.data = data
        self.prefix = prefix
        self.error = error
        if base is None:
            base = Path(path).parent if path is not None else Path()
        self.base = base
        self.line = line
        self.lines = lines or {}
        self.used: set[str] = set()

    # ------------------------------------------------------------------ basics

    def key(self, name: str | None) -> str:
        if name is None:
            return self.prefix.rstrip(".")
        return f"{self.prefix}{name}"

    def fail(self, name: str | None, message: str) -> FileKeyError:
        """The error for key `name` of this table (None: the table itself)."""
        return self.error(self.path, self.key(name) or None, message, line=self.line)

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, required: bool = True) -> Any:
        self.used.add(name)
        if name not in self.data:
            if required:
                raise self.fail(name, t("toml.required"))
            return None
        return self.data[name]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            allowed = ", ".join(sorted(self.used))
            message = t("toml.unknown.allowed", allowed=allowed) if allowed else t("toml.unknown")
            raise self.fail(unknown[0], message)

    # ------------------------------------------------------------------ scalars

    def string(
        self,
        name: str,
        *,
        required: bool = True,
        default: str | None = None,
        pattern: re.Pattern[str] | None = None,
        choices: tuple[str, ...] | None = None,
    ) -> Any:
        value = self.raw(name, required)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(name, t("toml.text", got=_type(value)))
        if pattern is not None and not pattern.fullmatch(value):
            raise self.fail(
                name, t("toml.pattern", value=repr(value[:64]), pattern=pattern.pattern)
            )
        if choices is not None and value not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise self.fail(name, t("toml.choices", allowed=allowed, value=repr(value[:64])))
        return value

    def integer(
        self,
        name: str,
        *,
        required: bool = True,
        default: int | None = None,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> Any:
        value = self.raw(name, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(name, t("toml.integer", got=_type(value)))
        self._check_range(name, value, minimum, maximum)
        return value

    def number(
        self,
        name: str,
        *,
        required: bool = True,
        default: float | None = None,
        minimum: float | None = None,
        maximum: float | None = None,
        positive: bool = False,
        finite: bool = False,
    ) -> Any:
        """A number as float; NaN is never one, and with `finite` neither is ±inf."""
        value = self.raw(name, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(name, t("toml.number", got=_type(value)))
        if math.isnan(value) or (finite and math.isinf(value)):
            raise self.fail(name, t("toml.finite" if finite else "toml.number", got=repr(value)))
        if positive and not value > 0:
            raise self.fail(name, t("toml.positive", got=_shown(value)))
        self._check_range(name, value, minimum, maximum)
        return float(value)

    def boolean(self, name: str, *, required: bool = True, default: bool | None = None) -> Any:
        value = self.raw(name, required)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(name, t("toml.boolean", got=_type(value)))
        return value

    def day(
        self, name: str, *, required: bool = True, default: date | None = None, text: bool = False
    ) -> Any:
        value = self.raw(name, required)
        if value is None:
            return default
        return self.as_date(name, value, text=text)

    def as_date(self, name: str, value: object, *, text: bool = False) -> date:
        """A TOML date (never a date-time); with `text`, "YYYY-MM-DD" in quotes as well."""
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        if isinstance(value, str) and text:
            try:
                return parse_iso_date(value, self.key(name))
            except DateError:
                pass
        if isinstance(value, str) and not text:
            raise self.fail(name, t("toml.date.unquoted", got=repr(value[:32])))
        shown = repr(value[:32]) if isinstance(value, str) else _type(value)
        raise self.fail(name, t("toml.date", got=shown))

    def bilingual(self, name: str, *, plain: bool = False) -> dict[str, str]:
        """A text in Danish and English: a table with `da` and `en` (with `plain`, or one
        string that stands for both)."""
        value = self.raw(name)
        if plain and isinstance(value, str):
            text = self.string(name)
            return {lang: text for lang in LANGS}
        if not isinstance(value, dict):
            key = "toml.bilingual.plain" if plain else "toml.bilingual"
            raise self.fail(name, t(key, got=_type(value)))
        sub = self.table(name)
        texts: dict[str, str] = {lang: sub.string(lang) for lang in LANGS}
        sub.done()
        return texts

    def path_value(self, name: str, *, required: bool = True, default: str | None = None) -> Any:
        """A path, resolved against the file's own directory so a deployment can move whole."""
        value = self.string(name, required=required, default=default)
        if value is None:
            return None
        return self.resolve(value)

    def resolve(self, value: str) -> Path:
        """`value` as an absolute path, relative ones taken from the file's own directory."""
        return (self.base / Path(value).expanduser()).resolve()

    def _check_range(
        self, name: str, value: float, minimum: float | None, maximum: float | None
    ) -> None:
        if minimum is not None and value < minimum:
            raise self.fail(name, t("toml.minimum", limit=_shown(minimum), got=_shown(value)))
        if maximum is not None and value > maximum:
            raise self.fail(name, t("toml.maximum", limit=_shown(maximum), got=_shown(value)))

    # ------------------------------------------------------------------ structure

    def _child(self, data: dict[str, Any], prefix: str, line: int | None) -> Table:
        return Table(
            self.path, data, prefix, error=self.error, base=self.base, line=line, lines=self.lines
        )

    def table(self, name: str, *, required: bool = True) -> Table:
        value = self.raw(name, required)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.fail(name, t("toml.table", got=_type(value)))
        return self._child(value, f"{self.key(name)}.", self.line)

    def tables(self, name: str, *, required: bool = True) -> Iterator[Table]:
        """The tables of an array of tables (`[[name]]`), each with an indexed key and its line."""
        value = self.raw(name, required)
        if value is None:
            return iter(())
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(name, t("toml.tables", name=self.key(name)))
        lines = self.lines.get(self.key(name), [])
        return iter(
            self._child(item, f"{self.key(name)}[{i}].", lines[i] if i < len(lines) else self.line)
            for i, item in enumerate(value)
        )

    def strings(
        self, name: str, *, required: bool = True, nonempty: bool = False, unique: bool = False
    ) -> Any:
        value = self.raw(name, required)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(name, t("toml.texts"))
        if nonempty and not value:
            raise self.fail(name, t("toml.empty"))
        if unique:
            seen: set[str] = set()
            for item in value:
                if item in seen:
                    raise self.fail(name, t("toml.twice", item=repr(item[:64])))
                seen.add(item)
        return tuple(value)

    def array(
        self,
        name: str,
        item: Callable[[str, object], T],
        *,
        required: bool = True,
        nonempty: bool = False,
    ) -> Any:
        """An array whose items `item(key, value)` converts, each error naming its index."""
        value = self.raw(name, required)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.fail(name, t("toml.array", got=_type(value)))
        if nonempty and not value:
            raise self.fail(name, t("toml.empty"))
        return tuple(item(f"{name}[{i}]", v) for i, v in enumerate(value))


def table_lines(text: str) -> dict[str, list[int]]:
    """The line of each `[[array]]` header, so an error in its n-th table can name the line."""
    lines: dict[str, list[int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"^\s*\[\[\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\]\]", line)
        if match:
            lines.setdefault(match.group(1), []).append(number)
    return lines
