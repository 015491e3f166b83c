"""The one strict TOML reader: every configuration and definition file goes through it.

Strict means an unknown key is an error, not a silent default: a typo in
`start_when` or a misspelt indicator key would otherwise change what a round
does without anyone noticing. Every failure is a `FileKeyError` (or the
caller's subclass of it) naming the file, the dotted key and, where TOML lets
us find it, the line.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from common.dates import DateError, parse_iso_date
from common.errors import FileKeyError

E = TypeVar("E", bound=FileKeyError)
T = TypeVar("T")

ErrorType = Callable[..., FileKeyError]


def read_toml_text(path: Path, *, error: ErrorType = FileKeyError, what: str = "file") -> str:
    """The file's text, or one line saying why it cannot be read."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(path, None, f"{what} not found") from None
    except IsADirectoryError:
        raise error(path, None, f"is a directory, not a {what}") from None
    except UnicodeDecodeError:
        raise error(path, None, "is not UTF-8 text") from None
    except OSError as exc:
        raise error(path, None, f"cannot read ({exc.strerror})") from None


def parse_toml(text: str, path: Path | str, *, error: ErrorType = FileKeyError) -> dict[str, Any]:
    """Parse TOML text; a syntax error names the line it is on."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = getattr(exc, "lineno", None)
        message = getattr(exc, "msg", str(exc))
        raise error(path, None, f"not valid TOML ({message})", line=line) from None


def read_toml(path: Path, *, error: ErrorType = FileKeyError, what: str = "file") -> dict[str, Any]:
    """Read and parse one TOML file."""
    return parse_toml(read_toml_text(path, error=error, what=what), path, error=error)


def _type(value: object) -> str:
    names = {str: "text", int: "an integer", float: "a number", bool: "true/false"}
    names.update({list: "an array", dict: "a table", date: "a date"})
    return names.get(type(value), type(value).__name__)


class Table:
    """Typed, strict access to one TOML table that remembers which keys were read.

    Call `done()` after reading: any key not read is reported as unknown, so
    the set of accepted keys is exactly the set the code reads.
    """

    def __init__(
        self,
        path: Path | str,
        data: dict[str, Any],
        prefix: str = "",
        *,
        error: ErrorType = FileKeyError,
        base: Path | None = None,
    ) -> None:
        self.path = Path(path)
        self.data = data
        self.prefix = prefix
        self.error = error
        self.base = base if base is not None else self.path.parent
        self.used: set[str] = set()

    # ------------------------------------------------------------------ basics

    def key(self, name: str | None) -> str:
        if name is None:
            return self.prefix.rstrip(".")
        return f"{self.prefix}{name}"

    def fail(self, name: str | None, message: str) -> FileKeyError:
        """The error for key `name` of this table (None: the table itself)."""
        return self.error(self.path, self.key(name) or None, message)

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def raw(self, name: str, required: bool = True) -> Any:
        self.used.add(name)
        if name not in self.data:
            if required:
                raise self.fail(name, "required key is missing")
            return None
        return self.data[name]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.fail(unknown[0], "unknown key")

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
            raise self.fail(name, f"must be non-empty text, got {_type(value)}")
        if pattern is not None and not pattern.fullmatch(value):
            raise self.fail(name, f"{value[:64]!r} is not of the form {pattern.pattern}")
        if choices is not None and value not in choices:
            allowed = ", ".join(repr(c) for c in choices)
            raise self.fail(name, f"must be one of {allowed}, got {value[:64]!r}")
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
            raise self.fail(name, f"must be an integer, got {_type(value)}")
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
    ) -> Any:
        value = self.raw(name, required)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(name, f"must be a number, got {_type(value)}")
        if positive and not value > 0:
            raise self.fail(name, f"must be greater than 0, got {value!r}")
        self._check_range(name, value, minimum, maximum)
        return float(value)

    def boolean(self, name: str, *, required: bool = True, default: bool | None = None) -> Any:
        value = self.raw(name, required)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(name, f"must be true or false, got {_type(value)}")
        return value

    def day(self, name: str, *, required: bool = True, default: date | None = None) -> Any:
        value = self.raw(name, required)
        if value is None:
            return default
        return self.as_date(name, value)

    def as_date(self, name: str, value: object) -> date:
        try:
            return parse_iso_date(value, self.key(name))
        except DateError:
            raise self.fail(name, f"must be a date YYYY-MM-DD, got {str(value)[:32]!r}") from None

    def path_value(self, name: str, *, required: bool = True) -> Any:
        """A path, resolved against the file's own directory so a deployment can move whole."""
        value = self.string(name, required=required)
        if value is None:
            return None
        return (self.base / Path(value).expanduser()).resolve()

    def _check_range(
        self, name: str, value: float, minimum: float | None, maximum: float | None
    ) -> None:
        if minimum is not None and value < minimum:
            raise self.fail(name, f"must be at least {minimum}, got {value!r}")
        if maximum is not None and value > maximum:
            raise self.fail(name, f"must be at most {maximum}, got {value!r}")

    # ------------------------------------------------------------------ structure

    def table(self, name: str, *, required: bool = True) -> Table:
        value = self.raw(name, required)
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise self.fail(name, f"must be a table, got {_type(value)}")
        return Table(self.path, value, f"{self.key(name)}.", error=self.error, base=self.base)

    def tables(self, name: str, *, required: bool = True) -> Iterator[Table]:
        """The tables of an array of tables (`[[name]]`), each with an indexed key."""
        value = self.raw(name, required)
        if value is None:
            return iter(())
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(name, f"must be an array of tables ([[{self.key(name)}]])")
        return iter(
            Table(self.path, item, f"{self.key(name)}[{i}].", error=self.error, base=self.base)
            for i, item in enumerate(value)
        )

    def strings(self, name: str, *, required: bool = True, nonempty: bool = False) -> Any:
        value = self.raw(name, required)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(name, "must be an array of non-empty texts")
        if nonempty and not value:
            raise self.fail(name, "must not be empty")
        return tuple(value)

    def array(self, name: str, item: Callable[[str, object], T], *, required: bool = True) -> Any:
        """An array whose items `item(key, value)` converts, each error naming its index."""
        value = self.raw(name, required)
        if value is None:
            return None
        if not isinstance(value, list):
            raise self.fail(name, f"must be an array, got {_type(value)}")
        return tuple(item(f"{name}[{i}]", v) for i, v in enumerate(value))


def table_lines(text: str) -> dict[str, list[int]]:
    """The line of each `[[array]]` header, so an error in its n-th table can name the line."""
    lines: dict[str, list[int]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = re.match(r"^\s*\[\[\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\]\]", line)
        if match:
            lines.setdefault(match.group(1), []).append(number)
    return lines
