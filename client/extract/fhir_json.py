"""Reading FHIR JSON in bounded memory: Bundle `entry` arrays and NDJSON, batch by batch.

A Bundle is read in chunks. The chunk is cut after the last complete entry,
found by counting brackets from a known entry start; the cut is then
confirmed by parsing the batch as a JSON array, which can only succeed at a
true entry boundary (a cut inside an entry leaves an unclosed value), so a
bracket inside a string costs a slower exact pass, never a wrong result.
NDJSON is cut at the last newline. Each batch is parsed by msgspec into the
structs of `fhir_model` and handed on; nothing but the current batch and the
caller's columns stays in memory.

A resource whose elements have the wrong JSON type (a number where FHIR
has a string) fails only itself: the batch is re-read item by item and the
bad item comes back as a `Malformed` with msgspec's path to the element.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import msgspec

from client.extract.fhir_model import ENTRIES, ENTRY, RAW_LIST, RESOURCE, Entry, Resource
from common.errors import KlyngeError
from common.i18n import register, t

register(
    {
        "fhir.read.unreadable": {
            "en": "{path}: cannot read ({reason})",
            "da": "{path}: kan ikke læses ({reason})",
        },
        "fhir.read.not_document": {
            "en": "{path}: not a JSON document ({reason})",
            "da": "{path}: ikke et JSON-dokument ({reason})",
        },
        "fhir.read.not_object": {
            "en": "{path}, line {line}: not a JSON object ({reason})",
            "da": "{path}, linje {line}: ikke et JSON-objekt ({reason})",
        },
        "fhir.read.at": {
            "en": "{path}, byte {offset}: {problem}",
            "da": "{path}, byte {offset}: {problem}",
        },
        "fhir.read.invalid": {"en": "not valid JSON", "da": "ikke gyldig JSON"},
        "fhir.read.invalid.because": {
            "en": "not valid JSON ({reason})",
            "da": "ikke gyldig JSON",
        },
        "fhir.read.expected": {"en": "expected {what}", "da": "forventede {what}"},
        "fhir.read.expected.bundle": {
            "en": "a JSON object (a FHIR Bundle)",
            "da": "et JSON-objekt (et FHIR-Bundle)",
        },
        "fhir.read.expected.comma_brace": {"en": "',' or '}}'", "da": "',' eller '}}'"},
        "fhir.read.expected.colon": {"en": "':'", "da": "':'"},
        "fhir.read.expected.entries": {
            "en": "'[' (the entry array)",
            "da": "'[' (listen af entry)",
        },
        "fhir.read.expected.after_entry": {
            "en": "',' or ']' after an entry",
            "da": "',' eller ']' efter en entry",
        },
    }
)

CHUNK = 1 << 20
_WS = b" \t\r\n"
_BOM = b"\xef\xbb\xbf"


class FhirReadError(KlyngeError):
    """A file that is not readable FHIR JSON at all; the message names the file and place."""


class NotABundle(Exception):
    """The file holds one resource of another type (e.g. a Group), not a Bundle."""

    def __init__(self, resource_type: object) -> None:
        super().__init__(resource_type)
        self.resource_type = resource_type


@dataclass(frozen=True)
class Malformed:
    """An item that is JSON but not the FHIR shape the import reads."""

    resource_type: str | None
    resource_id: str | None
    path: str  # e.g. "$.resource.code.coding[0].code"
    problem: str


@dataclass(frozen=True)
class BundleHeader:
    """The Bundle's own elements (everything but `entry`)."""

    type: Any
    timestamp: Any
    next_link: bool  # a searchset page that is not the last one


Item = Entry | Resource | Malformed
Batch = tuple[int, list[Item]]  # (number of the first item, items)


def read_bundle(path: Path, on_batch: Callable[[Batch], None]) -> BundleHeader:
    """Stream the Bundle's entries to `on_batch`; numbers are 0-based entry indices."""
    with _open(path) as stream:
        reader = _Buffer(stream, path)
        return _bundle(reader, on_batch)


def read_ndjson(path: Path) -> Iterator[Batch]:
    """The resources of an NDJSON file in batches; numbers are 1-based line numbers."""
    with _open(path) as stream:
        first = stream.read(len(_BOM))
        rest = b"" if first == _BOM else first
        line = 1
        while True:
            chunk = stream.read(CHUNK)
            data = rest + chunk
            if not chunk:
                if data.strip():
                    yield line, _lines(data, line, path)
                return
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                rest = data
                continue
            yield line, _lines(data[:cut], line, path)
            line += data.count(b"\n", 0, cut)
            rest = data[cut:]


def read_json(path: Path) -> Any:
    """A small JSON document (a manifest, a Group), parsed whole."""
    try:
        return json.loads(path.read_bytes().removeprefix(_BOM))
    except OSError as exc:
        raise FhirReadError(t("fhir.read.unreadable", path=path, reason=exc.strerror)) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FhirReadError(t("fhir.read.not_document", path=path, reason=exc)) from None


def decode_resource(raw: bytes | dict[str, Any]) -> Resource | Malformed:
    """One resource from JSON bytes or an already parsed object (a Group given on its own)."""
    data = raw if isinstance(raw, bytes) else json.dumps(raw).encode()
    try:
        return RESOURCE.decode(data)
    except msgspec.ValidationError as exc:
        return _malformed(data, exc, entry=False)


def _open(path: Path) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise FhirReadError(t("fhir.read.unreadable", path=path, reason=exc.strerror)) from None


def _lines(data: bytes, first_line: int, path: Path) -> list[Item]:
    blank_lines = b"\n\n" in data or b"\n\r\n" in data or data[:1] in (b"\n", b"\r")
    if not blank_lines:
        try:
            return list(RESOURCE.decode_lines(data))
        except (msgspec.ValidationError, msgspec.DecodeError):
            pass
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    out: list[Item] = []
    for offset, line in enumerate(lines):
        if not line.strip():
            out.append(BLANK)  # keeps item k on line first + k
            continue
        try:
            out.append(RESOURCE.decode(line))
        except msgspec.ValidationError as exc:
            out.append(_malformed(line, exc, entry=False))
        except msgspec.DecodeError as exc:
            line_no = first_line + offset
            message = t("fhir.read.not_object", path=path, line=line_no, reason=exc)
            raise FhirReadError(message) from None
    return out


BLANK = Malformed(None, None, "", "blank line")


def _malformed(data: bytes, exc: msgspec.ValidationError, *, entry: bool) -> Malformed:
    try:
        loose = msgspec.json.decode(data)
    except msgspec.DecodeError:
        loose = None
    resource = loose.get("resource") if entry and isinstance(loose, dict) else loose
    rtype = rid = None
    if isinstance(resource, dict):
        rtype = (
            resource.get("resourceType") if isinstance(resource.get("resourceType"), str) else None
        )
        rid = resource.get("id") if isinstance(resource.get("id"), str) else None
    message = str(exc)
    path = message.rsplit(" - at `", 1)[1].rstrip("`") if " - at `" in message else "$"
    problem = message.split(" - at `", 1)[0]
    return Malformed(rtype, rid, path, problem)


class _Buffer:
    """A growing window on a byte stream with a read position."""

    def __init__(self, stream: BinaryIO, path: Path) -> None:
        self.stream = stream
        self.path = path
        self.data = b""
        self.pos = 0
        self.base = 0  # file offset of data[0]
        self.eof = False

    def fill(self, at_least: int = CHUNK) -> bool:
        """Make at least `at_least` bytes available after pos; False at end of file."""
        if self.eof or len(self.data) - self.pos >= at_least:
            return not self.eof or self.pos < len(self.data)
        self.base += self.pos
        self.data = self.data[self.pos :]
        self.pos = 0
        while len(self.data) < at_least:
            chunk = self.stream.read(max(CHUNK, at_least - len(self.data)))
            if not chunk:
                self.eof = True
                break
            self.data += chunk
        if self.base == 0 and self.data.startswith(_BOM):
            self.data = self.data[len(_BOM) :]
            self.base = len(_BOM)
        return self.pos < len(self.data)

    def skip_ws(self) -> None:
        while True:
            while self.pos < len(self.data) and self.data[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.data) or not self.fill(1):
                return

    def peek(self) -> int | None:
        self.skip_ws()
        return self.data[self.pos] if self.pos < len(self.data) else None

    def expect(self, char: bytes, what: str) -> None:
        """`char` next, else an error saying what was expected (`what`: a message key's tail)."""
        if self.peek() != char[0]:
            self.fail(t("fhir.read.expected", what=t(f"fhir.read.expected.{what}")))
        self.pos += 1

    def value(self) -> Any:
        """One complete JSON value at pos (the Bundle's small elements)."""
        self.skip_ws()
        size = CHUNK
        decoder = json.JSONDecoder()
        while True:
            self.fill(size)
            window = self.data[self.pos :]
            text = window.decode("utf-8", "replace")
            try:
                value, end = decoder.raw_decode(text)
            except json.JSONDecodeError:
                if self.eof:
                    self.fail(t("fhir.read.invalid"))
                size *= 2
                continue
            self.pos += len(text[:end].encode("utf-8", "replace"))
            return value

    def fail(self, problem: str) -> None:
        offset = self.base + self.pos
        raise FhirReadError(t("fhir.read.at", path=self.path, offset=offset, problem=problem))


def _bundle(buf: _Buffer, on_batch: Callable[[Batch], None]) -> BundleHeader:
    buf.fill()
    buf.expect(b"{", "bundle")
    elements: dict[str, Any] = {}
    first = True
    while True:
        if buf.peek() == ord("}"):
            buf.pos += 1
            break
        if not first:
            buf.expect(b",", "comma_brace")
        first = False
        key = buf.value()
        buf.expect(b":", "colon")
        if key == "resourceType":
            elements[key] = buf.value()
            if elements[key] != "Bundle":
                raise NotABundle(elements[key])
        elif key == "entry":
            _entries(buf, on_batch)
            elements["entry"] = True
        else:
            elements[key] = buf.value()
    if elements.get("resourceType") != "Bundle":
        raise NotABundle(elements.get("resourceType"))
    links = elements.get("link") or []
    next_link = any(isinstance(x, dict) and x.get("relation") == "next" for x in links)
    return BundleHeader(elements.get("type"), elements.get("timestamp"), next_link)


def _entries(buf: _Buffer, on_batch: Callable[[Batch], None]) -> None:
    buf.expect(b"[", "entries")
    index = 0
    if buf.peek() == ord("]"):
        buf.pos += 1
        return
    while True:
        buf.fill()
        items = None
        for guess in (_cut_at_entry_start, _cut_by_counting):
            cut = guess(buf.data, buf.pos)
            if cut is not None:
                items = _decode_entries(buf.data[buf.pos : cut])
                if items is not None:
                    break
        if items is None:
            items, exact = _exact_entries(buf)
            if exact is None:  # not one whole entry in the buffer yet
                if buf.eof:  # nor will there be: the file ends inside the entry array
                    buf.fail(t("fhir.read.invalid"))
                buf.fill(2 * (len(buf.data) - buf.pos) + CHUNK)
                continue
            cut = exact
        assert cut is not None  # a guess that decoded, or the exact cut
        on_batch((index, items))
        index += len(items)
        buf.pos = cut
        if buf.peek() == ord("]"):
            buf.pos += 1
            return
        buf.expect(b",", "after_entry")
        buf.skip_ws()


_NOT_BRACKETS = bytes(i for i in range(256) if i not in b"{}[]")
_ENTRY_KEYS = (b'"fullUrl"', b'"resource"')


def _cut_at_entry_start(data: bytes, start: int) -> int | None:
    """The end of the last entry in data[start:] that a `{"fullUrl"` or `{"resource"` follows.

    A guess, like `_cut_by_counting`: parsing the batch confirms it, since a
    cut inside an entry leaves an unclosed value.
    """
    best = None
    for key in _ENTRY_KEYS:
        at = data.rfind(key, start)
        if at < 0:
            continue
        i = _back_over_ws(data, at - 1, start)
        if i <= start or data[i] != ord("{"):
            continue
        i = _back_over_ws(data, i - 1, start)
        if i <= start or data[i] != ord(","):
            continue
        end = _back_over_ws(data, i - 1, start) + 1
        if best is None or end > best:
            best = end
    return best if best is not None and data[best - 1] == ord("}") else None


def _back_over_ws(data: bytes, i: int, start: int) -> int:
    while i > start and data[i] in _WS:
        i -= 1
    return i


def _cut_by_counting(data: bytes, start: int) -> int | None:
    """Bracket counting from the entry start at `start`; fooled only by brackets in strings."""
    end = len(data)

    def depth(a: int, b: int) -> int:
        brackets = data[a:b].translate(None, _NOT_BRACKETS)
        return (
            brackets.count(b"{")
            + brackets.count(b"[")
            - brackets.count(b"}")
            - brackets.count(b"]")
        )

    level = depth(start, end)
    j = end
    while True:
        close = data.rfind(b"}", start, j)
        if close < 0:
            return None
        level -= depth(close + 1, j)
        j = close + 1
        if level == 0:
            k = j
            while k < end and data[k] in _WS:
                k += 1
            if k < end and data[k] in b",]":
                return j
        level += 1  # step over this '}'
        j = close


def _decode_entries(segment: bytes) -> list[Item] | None:
    """The entries of a segment that starts at an entry; None if the cut was not an entry end."""
    array = b"[" + segment + b"]"
    try:
        return list(ENTRIES.decode(array))
    except msgspec.ValidationError:
        return [_typed(bytes(raw)) for raw in RAW_LIST.decode(array)]
    except msgspec.DecodeError:
        return None


def _typed(raw: bytes) -> Item:
    try:
        return ENTRY.decode(raw)
    except msgspec.ValidationError as exc:
        return _malformed(raw, exc, entry=True)


def _exact_entries(buf: _Buffer) -> tuple[list[Item], int | None]:
    """Entries found by a real JSON parser, when bracket counting was fooled or the JSON is bad.

    Returns the entries that are complete in the buffer and the byte position
    after the last of them (None if none is complete yet).
    """
    text = buf.data[buf.pos :].decode("utf-8", "replace")
    decoder = json.JSONDecoder()
    raws: list[bytes] = []
    i = end = 0
    while i < len(text):
        try:
            _, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError as exc:
            if raws:
                break
            if not buf.eof:
                return [], None
            offset = buf.base + buf.pos + len(text[: exc.pos].encode("utf-8", "replace"))
            problem = t("fhir.read.invalid.because", reason=exc.msg)
            message = t("fhir.read.at", path=buf.path, offset=offset, problem=problem)
            raise FhirReadError(message) from None
        raws.append(text[i:end].encode("utf-8"))
        i = end
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i < len(text) and text[i] == ",":
            i += 1
            while i < len(text) and text[i] in " \t\r\n":
                i += 1
        else:
            i = end
            break
    if not raws:
        return [], None
    raws_end = len(text[:end].encode("utf-8", "replace"))
    return [_typed(raw) for raw in raws], buf.pos + raws_end
