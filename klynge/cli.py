"""The `klynge` command as a Typer app: one entry point, subcommand groups per job.

Each group lives in `klynge/commands/<group>.py` and exposes `app` (a group)
or `register(root)` (top-level commands). `COMMANDS` (`klynge.command_table`)
names them with their one-line help, so `klynge --help` lists every command
without importing any of them: a command's module (and its heavy
dependencies: pandas, Jinja2, gRPC) is imported only when that command runs
or shows its own help. The `klynge` executable starts in `klynge.quick`,
which answers `klynge --help` and `klynge indicators list` before this module
(and Typer) is imported at all; the root's help here is the same text.

The language is settled before any help text is built (`--lang` on the
command line, else `KLYNGE_LANG`, else Danish), and help is translated when a
command is built (`klynge.localize`), so `--help` speaks the reader's
language although Typer fixes help strings at import time.

Errors that carry a file, row or field are turned into one clear line and a
non-zero exit here, never a traceback; usage errors are one line too
(`klynge.localize.usage_error_line`, exit 2).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

import typer
from typer import _click  # typer's own copy of click: Group.invoke takes its Context
from typer.core import TyperGroup, TyperOption

from common.errors import KlyngeError
from common.i18n import set_lang, t
from klynge.command_table import BY_NAME, COMMANDS, CommandEntry
from klynge.localize import localize, localize_typer
from klynge.options import language
from klynge.quick import failure, root_help, terminal_width

__all__ = ["COMMANDS", "CommandEntry", "load_command", "main", "root"]

_COMPLETION = ("install_completion", "show_completion")


def load_command(entry: CommandEntry) -> _click.Command:
    """Import the command's module and build its click command (untranslated)."""
    module = importlib.import_module(f"klynge.commands.{entry.module}")
    if entry.group:
        command = typer.main.get_command(module.app)
    else:
        host = typer.Typer()
        module.register(host)
        command = typer.main.get_command(host)
    # Shell completion is the root's business (off), not each command's.
    command.params = [p for p in command.params if p.name not in _COMPLETION]
    command.name = entry.name
    return command


def _lang_in(args: Sequence[str]) -> str | None:
    """`--lang X` or `--lang=X` among the root's arguments, before any command is built."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
    return None


class _KlyngeGroup(TyperGroup):
    """The root: lazy commands, one language per invocation, one line per error.

    Any KlyngeError raised below becomes one line on stderr and an exit code. So
    does an operating-system error no layer below turned into one (a full disk,
    a directory without permission): it names the file and the system's reason.
    """

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: _click.Context | None = None,
        **extra: Any,
    ) -> _click.Context:
        try:
            set_lang(language(_lang_in(args)))
        except typer.BadParameter:
            set_lang(None)  # the option's own check reports it
        localize_typer()
        return super().make_context(info_name, args, parent, **extra)

    def get_help_option(self, ctx: _click.Context) -> TyperOption | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = t("cli.typer.help")
        return option

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return [c.name for c in COMMANDS]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        entry = BY_NAME.get(cmd_name)
        if entry is None:
            return None
        return localize(load_command(entry))

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        """The same text `klynge.quick` prints without Typer: one rendering of the root's help."""
        formatter.write(root_help(ctx.command_path, terminal_width()))

    def format_usage(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        formatter.write_usage(ctx.command_path, t("cli.usage.root"), f"{t('cli.typer.usage')} ")

    def invoke(self, ctx: _click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (KlyngeError, OSError) as exc:
            line, code = failure(exc)
            typer.echo(line, err=True)
            raise typer.Exit(code) from None


root = typer.Typer(
    cls=_KlyngeGroup,
    name="klynge",
    help="Klynge: federated quality indicators for Danish general practice.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@root.callback()
def _main(
    lang: str = typer.Option(
        None,
        "--lang",
        metavar="da|en",
        help="Language of messages and reports: da or en (default da).",
    ),
) -> None:
    set_lang(language(lang or None))  # reset per invocation, so one --lang never leaks


def main() -> None:
    root()


if __name__ == "__main__":
    main()
