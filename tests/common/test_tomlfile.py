"""The shared strict TOML reader: errors name the file, the dotted key and, if known, the line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from common.errors import FileKeyError
from common.tomlfile import parse_table, read_table
from tests.langs import in_english


@pytest.fixture(autouse=True)
def english(monkeypatch):
    """These tests pin the English words; the Danish ones are pinned at the end."""
    in_english(monkeypatch)


class ReaderError(FileKeyError):
    """A reader's own error type: the shared reader must raise it, not its base."""


def table(tmp_path: Path, body: str):
    path = tmp_path / "conf.toml"
    path.write_text(f"[section]\n{body}\n", encoding="utf-8")
    return path, read_table(path, error=ReaderError).table("section")


@pytest.mark.parametrize(
    ("body", "read", "fragment"),
    [
        ("x = 1", lambda t: t.string("x"), "must be non-empty text, got an integer"),
        ('x = "  "', lambda t: t.string("x"), "non-empty text"),
        ('x = "P 1"', lambda t: t.string("x", pattern=__import__("re").compile(r"P\d+")), "form"),
        ('x = "later"', lambda t: t.string("x", choices=("now", "manual")), "one of 'now'"),
        ("y = 1", lambda t: t.string("x"), "required key is missing"),
        ("x = 1.5", lambda t: t.integer("x"), "must be an integer, got a number"),
        ("x = true", lambda t: t.integer("x"), "must be an integer, got true/false"),
        ("x = 2", lambda t: t.integer("x", minimum=3), "at least 3, got 2"),
        ("x = 9", lambda t: t.integer("x", maximum=5), "at most 5, got 9"),
        ('x = "1"', lambda t: t.number("x"), "must be a number, got text"),
        ("x = nan", lambda t: t.number("x"), "must be a number, got nan"),
        ("x = inf", lambda t: t.number("x", finite=True), "must be a finite number, got inf"),
        ("x = 0", lambda t: t.number("x", positive=True), "greater than 0"),
        ("x = -1", lambda t: t.number("x", minimum=0), "at least 0, got -1"),
        ("x = 1", lambda t: t.boolean("x"), "must be true or false"),
        ('x = "2026-03-31"', lambda t: t.day("x"), "without quotes"),
        ("x = 2026-03-31T10:00:00", lambda t: t.day("x"), "got a date-time"),
        ('x = "31-03-2026"', lambda t: t.day("x", text=True), "YYYY-MM-DD, got '31-03-2026'"),
        ('x = "hej"', lambda t: t.bilingual("x"), "table with da and en, got text"),
        ("x = [1]", lambda t: t.strings("x"), "array of non-empty texts"),
        ("x = []", lambda t: t.strings("x", nonempty=True), "must not be empty"),
        ('x = ["a", "b", "a"]', lambda t: t.strings("x", unique=True), "lists 'a' twice"),
        ("x = 1", lambda t: t.table("x"), "must be a table, got an integer"),
        ("x = [1]", lambda t: list(t.tables("x")), "array of tables"),
        ("x = 1", lambda t: t.array("x", lambda k, v: v), "must be an array"),
        ("x = []", lambda t: t.array("x", lambda k, v: v, nonempty=True), "must not be empty"),
    ],
)
def test_each_getter_names_the_file_and_the_dotted_key(tmp_path, body, read, fragment):
    path, section = table(tmp_path, body)
    with pytest.raises(ReaderError) as info:
        read(section)
    message = str(info.value)
    assert message.startswith(f"{path}, key 'section.x': "), message
    assert info.value.key == "section.x"
    assert fragment in message, message


def test_an_array_item_error_names_its_index(tmp_path):
    _, section = table(tmp_path, 'days = [2026-03-31, "soon"]')
    with pytest.raises(ReaderError, match=r"key 'section\.days\[1\]': must be a date"):
        section.array("days", lambda key, value: section.as_date(key, value, text=True))


def test_a_bilingual_text_needs_both_languages(tmp_path):
    _, t = table(tmp_path, 'x = { da = "hej" }')
    with pytest.raises(ReaderError) as info:
        t.bilingual("x")
    assert info.value.key == "section.x.en"
    assert "required key is missing" in str(info.value)


def test_values_defaults_and_paths(tmp_path):
    body = (
        'name = "K01"\nsize = 3\nratio = 0.5\nflag = false\nwhen = 2026-03-31\n'
        'quoted = "2026-06-30"\nfiles = ["a", "b"]\ndir = "sub/dir"\n'
        'title = { da = "Titel", en = "Title" }\nplain = "Klynge"'
    )
    path, t = table(tmp_path, body)
    assert t.string("name") == "K01" and t.integer("size") == 3
    assert t.number("ratio") == 0.5 and t.number("size") == 3.0
    assert t.boolean("flag") is False
    assert t.day("when") == date(2026, 3, 31) and t.day("quoted", text=True) == date(2026, 6, 30)
    assert t.strings("files") == ("a", "b")
    assert t.path_value("dir") == (path.parent / "sub" / "dir").resolve()
    assert t.bilingual("title") == {"da": "Titel", "en": "Title"}
    assert t.bilingual("plain", plain=True) == {"da": "Klynge", "en": "Klynge"}
    assert t.integer("missing", required=False, default=7) == 7
    state = t.path_value("state", required=False, default="state")
    assert state == (path.parent / "state").resolve()
    t.done()


def test_an_unknown_key_is_named_with_the_keys_that_are_allowed(tmp_path):
    _, t = table(tmp_path, "min_cell = 5\nmin_cel = 3\nrounding = 1")
    t.integer("min_cell")
    t.integer("rounding")
    with pytest.raises(ReaderError) as info:
        t.done()
    assert info.value.key == "section.min_cel"
    assert "unknown key (allowed: min_cell, rounding)" in str(info.value)


def test_an_array_of_tables_names_the_index_in_the_key_and_the_line(tmp_path):
    path = tmp_path / "federation.toml"
    path.write_text(
        'name = "x"\n\n[[practices]]\nid = "P0001"\n\n[[practices]]\nid = 7\n', encoding="utf-8"
    )
    root = read_table(path, error=ReaderError)
    first, second = root.tables("practices")
    assert first.string("id") == "P0001"
    with pytest.raises(ReaderError) as info:
        second.string("id")
    assert info.value.key == "practices[1].id"
    assert info.value.line == 6
    assert str(info.value).startswith(f"{path}:6, key 'practices[1].id': ")
    # an error in a sub-table of that array item still points at the item's header
    with pytest.raises(ReaderError) as sub:
        second.table("limits", required=False).integer("max")
    assert (sub.value.key, sub.value.line) == ("practices[1].limits.max", 6)


def test_a_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('format = "x"\n[dp\n', encoding="utf-8")
    with pytest.raises(ReaderError) as info:
        read_table(path, error=ReaderError)
    assert info.value.line == 2 and info.value.key is None
    assert str(info.value).startswith(f"{path}:2: not valid TOML: ")
    with pytest.raises(ReaderError, match="not valid TOML"):
        parse_table("x = ", "text.toml", error=ReaderError)  # at the end: no line to give


def test_unreadable_files_say_why(tmp_path):
    with pytest.raises(ReaderError, match="agent configuration file not found"):
        read_table(tmp_path / "agent.toml", error=ReaderError, what="agent")
    with pytest.raises(ReaderError, match="is a directory"):
        read_table(tmp_path, error=ReaderError)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ReaderError, match=r"binary\.toml: is not UTF-8 text"):
        read_table(binary, error=ReaderError)


def test_text_from_no_file_still_names_the_key():
    root = parse_table("[dp]\ndelta = -1\n", None)
    with pytest.raises(FileKeyError) as info:
        root.table("dp").number("delta", positive=True)
    assert str(info.value) == "key 'dp.delta': must be greater than 0, got -1"


@pytest.mark.parametrize(
    ("text", "read", "danish"),
    [
        ("y = 1\n", lambda r: r.string("x"), "conf.toml, nøgle 'x': påkrævet nøgle mangler"),
        ("x = 1\n", lambda r: r.done(), "conf.toml, nøgle 'x': ukendt nøgle"),
        (
            "x = 1\n",
            lambda r: r.string("x"),
            "skal være en tekst, der ikke er tom, men er et heltal",
        ),
        ("x = 0.25\n", lambda r: r.number("x", minimum=0.5), "skal være mindst 0,5, men er 0,25"),
        ("x = 1\n", lambda r: r.boolean("x"), "skal være true eller false, men er et heltal"),
        ('x = "1.1.2026"\n', lambda r: r.day("x"), "uden anførselstegn"),
        ("x = \n", lambda r: r, "conf.toml:1: ikke gyldig TOML: ugyldig værdi (kolonne 5)"),
    ],
)
def test_messages_are_danish_by_default(monkeypatch, text, read, danish):
    monkeypatch.delenv("KLYNGE_LANG")
    with pytest.raises(FileKeyError) as info:
        read(parse_table(text, "conf.toml"))
    assert danish in str(info.value)
    assert "key" not in str(info.value) and "must" not in str(info.value)


def test_a_missing_file_is_named_by_its_kind_in_danish(monkeypatch, tmp_path):
    monkeypatch.delenv("KLYNGE_LANG")
    with pytest.raises(FileKeyError, match="agentens konfigurationsfil findes ikke"):
        read_table(tmp_path / "agent.toml", what="agent")
