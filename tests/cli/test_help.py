"""Every `--help` in Danish by default and in English with --lang en; usage errors in one line.

The walk builds every command of `COMMANDS` as `klynge` does and fails on a
command, subcommand or option whose help has no Danish text, or whose Danish
text still reads as English (the scan of `tests/browser/danish.py`). Typer's
and click's own words are checked in the help a reader gets, and each kind
of usage error must be one line that names the option, exit code 2.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer import _click
from typer.testing import CliRunner

from common.i18n import set_lang
from klynge.cli import COMMANDS, load_command, root
from klynge.help_text import HELP_DA, translate
from klynge.localize import localize
from tests.browser.danish import scan

# Names that stand as they are in Danish prose: configuration keys a reader types.
KEYS = frozenset({"state_dir", "log_key"})
# Option names and TOML tables in a help text are names too (--prepare-only, [[practices]]).
NAMES = re.compile(r"--[\w-]+|\[\[\w+\]\]")
ENGLISH_WORDS = (
    "Usage:",
    "Options",
    "Arguments",
    "Commands",
    "Show this message",
    "[required]",
    "[default:",
    "<str>",
    "<bool>",
    "<path>",
    "range>",
)


def _helps(command: _click.Command, path: str) -> Iterator[tuple[str, str]]:
    """(where, help text) for a command, its options and arguments, and its subcommands."""
    if command.help:
        yield path, command.help
    for param in command.params:
        text = getattr(param, "help", None)
        if text:
            yield f"{path} {param.opts[0] if param.opts else param.name}", text
    for name, sub in getattr(command, "commands", {}).items():
        yield from _helps(sub, f"{path} {name}")


def _english_helps() -> list[tuple[str, str]]:
    set_lang("en")
    try:
        return [h for entry in COMMANDS for h in _helps(load_command(entry), entry.name)]
    finally:
        set_lang(None)


ENGLISH = _english_helps()


def test_the_walk_sees_every_command_and_option() -> None:
    paths = {where for where, _ in ENGLISH}
    assert len(ENGLISH) > 150
    assert {"compute", "server trigger", "server trigger --wait", "agent init --practice"} <= paths
    assert "synth --install-completion" not in paths  # completion is off, everywhere


@pytest.mark.parametrize(("where", "english"), ENGLISH, ids=[w for w, _ in ENGLISH])
def test_every_help_has_a_danish_text(where: str, english: str) -> None:
    set_lang("da")
    try:
        danish = translate(english)
    finally:
        set_lang(None)
    assert english.strip() in HELP_DA, f"{where}: no Danish help for {english!r}"
    assert danish != english, f"{where}: the Danish help is the English one"
    slips = scan(NAMES.sub(" ", danish or ""), KEYS)
    assert not slips, f"{where}: Danish help reads as English: {[str(s) for s in slips]}"


def test_no_danish_text_is_left_without_its_command() -> None:
    """A translation whose English text no command has any more is stale: it would never show."""
    assert set(HELP_DA) == {english.strip() for _, english in ENGLISH}


def test_english_is_the_source_text() -> None:
    set_lang("en")
    try:
        assert all(translate(english) == english for _, english in ENGLISH)
    finally:
        set_lang(None)


def _invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(root, list(args), prog_name="klynge", env={"COLUMNS": "100"})
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize(
    "args", [["server", "--help"], ["server", "trigger", "--help"], ["synth", "--help"]]
)
def test_a_commands_help_is_danish_by_default(args: list[str]) -> None:
    set_lang("en")
    english = localize(load_command(next(c for c in COMMANDS if c.name == args[0])))
    set_lang(None)
    code, out, _ = _invoke(*args)
    assert code == 0
    assert "Brug: klynge " in out and "[TILVALG]" in out and "╭─ Tilvalg " in out
    assert "Vis denne hjælp og afslut." in out and "<ja/nej>" in out
    for word in ENGLISH_WORDS:
        assert word not in out, word
    assert english.help is not None and english.help.split("\n")[0] not in out


def test_a_commands_help_is_english_with_lang_en() -> None:
    code, out, _ = _invoke("--lang", "en", "server", "trigger", "--help")
    assert code == 0
    assert "Usage: klynge server trigger [OPTIONS]" in out
    assert "Seconds to wait for the coordinator's answer." in out and "<bool>" in out
    assert "Sekunder" not in out


USAGE_ERRORS = [
    (["synth", "--out", "x", "--bogus"], "ukendt tilvalg --bogus", "No such option: --bogus"),
    (["synth"], "tilvalget '--out' mangler", "Missing option '--out'"),
    (["indicators", "show"], "argumentet 'ID' mangler", "Missing argument 'ID'"),
    (
        ["synth", "--out", "x", "--years", "0"],
        "ugyldig værdi for '--years': skal være mindst 1",
        "Invalid value for '--years': Input should be greater than or equal to 1",
    ),
    (
        ["synth", "--out", "x", "--practices", "many"],
        "ugyldig værdi for '--practices': skal være et heltal",
        "Invalid value for '--practices': Input should be a valid integer",
    ),
    (
        ["synth", "--out", "x", "--practices"],
        "tilvalget '--practices' skal have en værdi",
        "Option '--practices' requires an argument",
    ),
    (["server", "trgger"], "ukendt kommando 'trgger'. Mente du 'trigger'?", "Did you mean"),
    (["nosuch"], "ukendt kommando 'nosuch'", "No such command 'nosuch'"),
    (["indicators", "show", "A", "B"], "uventede ekstra argumenter (B)", "unexpected extra"),
    (["--lang", "xx", "indicators", "list"], "ugyldig værdi for --lang: skal være", "--lang"),
]


@pytest.mark.parametrize(("args", "danish", "english"), USAGE_ERRORS)
def test_a_usage_error_is_one_line_in_the_readers_language(
    args: list[str], danish: str, english: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = _invoke(*args)
    assert code == 2 and out == ""
    assert err.startswith("klynge: ") and err.count("\n") == 1, err
    assert danish in err
    for word in ("Error", "Usage", "Try ", "Invalid value", "Missing", "No such"):
        assert word not in err, word
    if "--lang" not in args:
        code, _, err_en = _invoke("--lang", "en", *args)
        assert code == 2 and err_en.count("\n") == 1 and english in err_en, err_en
