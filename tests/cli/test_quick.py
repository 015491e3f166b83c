"""`klynge --help` and `klynge indicators list` answer without Typer, and say the same.

`klynge.quick` answers these two before Typer (with click, rich and pydantic)
is imported; these tests pin that it imports none of that, that what it
prints is what the Typer app prints for the same arguments, and that
anything else is left to Typer. Speed itself is measured by
`benchmarks/cli.py`, not here.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from klynge.cli import COMMANDS, root
from klynge.quick import answer, root_help

HEAVY = ("typer", "click", "rich", "pydantic", "pandas", "numpy", "jinja2", "grpc")


def _imported_by(args: list[str]) -> tuple[int, list[str]]:
    """Run `answer(args)` in a fresh interpreter: its exit code and the heavy packages loaded."""
    probe = (
        "import sys\n"
        "from klynge.quick import answer\n"
        f"code = answer({args!r})\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))\n"
        "print(code, ','.join(heavy), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    code, _, heavy = done.stderr.strip().splitlines()[-1].partition(" ")
    return int(code), [h for h in heavy.split(",") if h]


def test_root_help_imports_neither_typer_nor_rich() -> None:
    assert _imported_by(["--help"]) == (0, [])
    assert _imported_by(["--lang", "en", "--help"]) == (0, [])


def test_indicators_list_imports_rich_and_the_catalogue_only() -> None:
    assert _imported_by(["indicators", "list"]) == (0, ["rich"])


@pytest.mark.parametrize("lang", ["da", "en"])
def test_quick_help_is_the_typer_apps_help(lang: str) -> None:
    typer_help = CliRunner().invoke(
        root, ["--lang", lang, "--help"], prog_name="klynge", env={"COLUMNS": "80"}
    )
    assert typer_help.exit_code == 0
    assert typer_help.output == root_help("klynge", 80)
    for entry in COMMANDS:
        assert f"│ {entry.name} " in typer_help.output


def test_quick_help_speaks_the_chosen_language() -> None:
    from common.i18n import set_lang

    set_lang("en")
    english = root_help("klynge", 80)
    set_lang("da")
    danish = root_help("klynge", 80)
    set_lang(None)
    assert "Usage: klynge [OPTIONS] COMMAND [ARGS]..." in english
    assert "Brug: klynge [TILVALG] KOMMANDO [ARGUMENTER]..." in danish
    assert "╭─ Kommandoer " in danish and "Vis denne hjælp og afslut." in danish
    assert "Show this message and exit." not in danish


def test_every_line_fits_the_terminal() -> None:
    for width in (50, 80, 120):
        lines = root_help("klynge", width).splitlines()
        assert all(len(line) <= width for line in lines)
        boxed = [line for line in lines if line and line[0] in "╭│╰"]
        assert boxed and all(len(line) == width for line in boxed)


@pytest.mark.parametrize("lang", ["da", "en"])
def test_quick_list_is_the_typer_apps_list(
    lang: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    typer_list = CliRunner().invoke(root, ["--lang", lang, "indicators", "list"])
    assert typer_list.exit_code == 0
    assert answer(["--lang", lang, "indicators", "list"]) == 0
    quick = capsys.readouterr().out
    assert quick == typer_list.output
    assert ("Indholds-hash" in quick) == (lang == "da")


@pytest.mark.parametrize(
    "args",
    [
        ["--lang", "xx", "--help"],  # Typer reports the bad language
        ["--bogus"],
        ["indicators", "list", "--help"],
        ["indicators", "list", "extra"],
        ["--help", "indicators"],
        ["indicators", "show", "DM-01"],
        ["--lang"],
    ],
)
def test_anything_else_is_left_to_typer(args: list[str]) -> None:
    assert answer(args) is None


def test_no_command_prints_the_help_and_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KLYNGE_LANG", raising=False)
    assert answer([]) == 2
    out = capsys.readouterr().out
    assert "Brug: " in out and "[TILVALG] KOMMANDO [ARGUMENTER]..." in out


def test_a_reader_that_leaves_early_gets_no_traceback() -> None:
    """`klynge --help | true`: the pipe is closed when the help is written."""
    probe = "import sys\nsys.argv = ['klynge', '--help']\nfrom klynge.quick import main\nmain()\n"
    with subprocess.Popen(
        [sys.executable, "-c", probe],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"COLUMNS": "80", "PATH": "/usr/bin:/bin"},
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # before a byte is read: the first write breaks the pipe
        err = process.stderr.read().decode()
        assert process.wait(timeout=60) == 1, err
    assert "Traceback" not in err and "BrokenPipeError" not in err
