"""What `klynge` answers before Typer is imported: the root's help and `indicators list`.

Importing Typer (with click, rich and pydantic) costs more than the goal of
issue 14 allows for `klynge --help` (0.3 s). The root's help is therefore
rendered here from `COMMANDS` and `klynge.help_text`, in the same words and
panels as Typer's help of any subcommand; the Typer root (`klynge.cli`) prints
this same text, so there is one rendering. `indicators list` takes no options
and needs only the catalogue, so it runs without Typer too. Anything else, and
anything unusual about these two (an unknown option, a bad --lang), goes to
Typer, which answers and reports errors as before.

`python benchmarks/cli.py` measures both against `python -c pass`.
"""

from __future__ import annotations

import os
import sys
import textwrap
from collections.abc import Callable, Sequence

from common.cpr import mask_cpr
from common.errors import KlyngeError
from common.i18n import LANGS, Lang, set_lang, t
from klynge import help_text  # noqa: F401  (registers the cli.* texts used here)
from klynge.command_table import COMMANDS

HELP_OPTIONS = ("--help",)


def program_name() -> str:
    """How the user called us, as click names it: "klynge" or "python -m klynge"."""
    path = sys.argv[0] if sys.argv else "klynge"
    package = getattr(sys.modules.get("__main__"), "__package__", None)
    if not package:
        return os.path.basename(path)
    name = os.path.splitext(os.path.basename(path))[0]
    module = package if name == "__main__" else f"{package}.{name}"
    return f"python -m {module.lstrip('.')}"


def terminal_width() -> int:
    """The width rich would use: $COLUMNS, else the terminal's, else 80."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def _panel(title: str, rows: Sequence[tuple[str, ...]], width: int) -> list[str]:
    """A titled box like Typer's: columns padded to their widest cell, the last one wrapped."""
    inner = width - 4  # "│ " and " │"
    fixed = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    lead = sum(w + 2 for w in fixed)
    wrap = max(inner - lead, 10)
    lines = [f"╭─ {title} " + "─" * max(width - len(title) - 5, 0) + "╮"]
    for row in rows:
        head = "".join(cell.ljust(w + 2) for cell, w in zip(row, fixed, strict=False))
        for i, part in enumerate(textwrap.wrap(row[-1], wrap) or [""]):
            text = (head if i == 0 else " " * lead) + part
            lines.append(f"│ {text.ljust(inner)} │")
    lines.append("╰" + "─" * (width - 2) + "╯")
    return lines


def root_help(prog: str, width: int) -> str:
    """`klynge --help` in the current language: usage, what Klynge is, options, commands."""
    usage = f"{t('cli.typer.usage')} {prog} {t('cli.usage.root')}"
    options = [
        ("--lang", t("cli.opt.lang.metavar"), t("cli.opt.lang")),
        ("--help", "", t("cli.typer.help")),
    ]
    commands = [(c.name, t(c.help_key)) for c in COMMANDS]
    about = textwrap.wrap(t("cli.root"), width - 2)
    lines = ["", f" {usage}", "", *(f" {line}" for line in about), ""]
    lines += _panel(t("cli.typer.options"), options, width)
    lines += _panel(t("cli.typer.commands"), commands, width)
    return "\n".join(lines) + "\n"


def _root_options(args: Sequence[str]) -> tuple[bool, Lang | None, list[str]] | None:
    """The root's own options (--help, --lang) and what follows them; None if unusual."""
    wants_help, lang, i = False, None, 0
    while i < len(args) and args[i].startswith("-"):
        arg = args[i]
        if arg in HELP_OPTIONS:
            wants_help = True
        elif (arg == "--lang" and i + 1 < len(args)) or arg.startswith("--lang="):
            value = args[i + 1] if arg == "--lang" else arg.split("=", 1)[1]
            i += arg == "--lang"
            if value not in LANGS:
                return None  # Typer reports it
            lang = next(x for x in LANGS if x == value)
        else:
            return None
        i += 1
    return wants_help, lang, list(args[i:])


def _list_indicators() -> None:
    from klynge.catalogue_view import print_list  # rich and the catalogue, only now

    print_list()


def failure(exc: KlyngeError | OSError) -> tuple[str, int]:
    """The one line and exit code of a refused command, on the fast path and through Typer."""
    if isinstance(exc, KlyngeError):
        return f"klynge: {mask_cpr(str(exc))}", exc.exit_code  # docs/fhir.md, "CPR"
    where = f"{exc.filename}: " if exc.filename else ""
    return f"klynge: {where}{exc.strerror or exc}", KlyngeError.exit_code


QUICK_COMMANDS: dict[tuple[str, ...], Callable[[], None]] = {
    ("indicators", "list"): _list_indicators,
}


def answer(args: Sequence[str]) -> int | None:
    """Answer `args` without Typer and return the exit code, or None to leave it to Typer."""
    parsed = _root_options(args)
    if parsed is None:
        return None
    wants_help, lang, rest = parsed
    if (wants_help and not rest) or not args:
        set_lang(lang)
        sys.stdout.write(root_help(program_name(), terminal_width()))
        sys.stdout.flush()  # a closed pipe shows here, where main() handles it
        return 0 if wants_help else 2  # no command at all is a usage error, as in click
    run = QUICK_COMMANDS.get(tuple(rest))
    if run is None or wants_help:
        return None
    set_lang(lang)
    try:
        run()
    except BrokenPipeError:
        raise  # main() handles a closed pipe
    except (KlyngeError, OSError) as exc:
        line, code = failure(exc)
        sys.stderr.write(line + "\n")
        return code
    return 0


def main() -> None:
    """The `klynge` command: answer at once when we can, else build the Typer app."""
    try:
        code = answer(sys.argv[1:])
    except BrokenPipeError:  # the reader left (klynge --help | true): exit 1 quietly, as click
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    if code is not None:
        sys.exit(code)
    from klynge.cli import main as typer_main

    typer_main()
