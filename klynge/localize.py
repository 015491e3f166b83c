"""Typer's help and usage errors in the reader's language, built when a command is.

Typer fixes help strings when a command module is imported, in English (the
source's language); `localize` translates a built command tree in place
through `klynge.help_text`. Typer's and click's own words (the usage line,
panel titles, "[required]", the help option, usage errors) are English
literals in Typer's copy of click; `localize_typer` sets the ones Typer keeps
as module settings and replaces its error printer with `usage_error_line`,
which words each kind of usage error from the exception's fields and prints
one line, as every other error of `klynge` does. The exit code stays click's
(2).
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from typer import _click, rich_utils
from typer._click.exceptions import (
    BadParameter,
    ClickException,
    MissingParameter,
    NoSuchOption,
    UsageError,
)
from typer.core import TyperGroup, TyperOption

from common.i18n import reword, t
from klynge.help_text import translate, translate_type


def localize(command: _click.Command) -> _click.Command:
    """Translate a freshly built command tree's help and usage words in place; returns it."""
    command.help = _shown(translate(command.help))
    command.short_help = _shown(translate(command.short_help))
    for param in command.params:
        _localize_param(param)
    command.options_metavar = t("cli.usage.options")
    if isinstance(command, TyperGroup):
        command.subcommand_metavar = t("cli.usage.command")
    original = command.get_help_option

    def help_option(ctx: _click.Context) -> TyperOption | None:
        option = original(ctx)
        if option is not None:
            _localize_param(option)
            option.help = t("cli.typer.help")
        return option

    def format_usage(ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        pieces = command.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.command_path, " ".join(pieces), f"{t('cli.typer.usage')} ")

    command.get_help_option = help_option  # type: ignore[method-assign]
    command.format_usage = format_usage  # type: ignore[method-assign]
    for sub in getattr(command, "commands", {}).values():
        localize(sub)
    return command


def _shown(text: str | None) -> str | None:
    """Help as Typer's rich renderer must get it: a TOML table name like `[[partners]]` is
    text, not markup (unescaped, rich prints it as `[]`)."""
    return None if text is None else escape(text)


def _localize_param(param: Any) -> None:
    """An option's or argument's help and type label in the current language, once."""
    if getattr(param, "_klynge_localized", False):
        return
    param._klynge_localized = True
    if hasattr(param, "help"):  # options, and typer's arguments
        param.help = _shown(translate(param.help))
    if hasattr(param, "display_type_rich"):
        shown = param.display_type_rich

        def display_type(ctx: _click.Context) -> str | None:
            return translate_type(shown(ctx))

        param.display_type_rich = display_type


def _hint(exc: BadParameter) -> str | None:
    """The option or argument an error is about, as click names it: '--out', 'ID'."""
    hint: Any = exc.param_hint
    if hint is None and exc.param is not None:
        hint = exc.param.get_error_hint()
    if hint is not None and not isinstance(hint, str):
        hint = " / ".join(repr(x) for x in hint)
    return hint


def _words(text: str) -> str:
    """English text click or pydantic wrote, in the current language where it is known."""
    return reword(text, ("cli.click.",))


def usage_message(exc: ClickException) -> str:
    """What went wrong, in the current language, from the exception's fields."""
    if isinstance(exc, NoSuchOption):
        text = t("cli.click.no_such_option", name=exc.option_name)
        if exc.possibilities:
            text += " " + t("cli.click.possible", options=", ".join(sorted(exc.possibilities)))
        return text
    if isinstance(exc, MissingParameter):
        kind = exc.param_type or (exc.param.param_type_name if exc.param else "parameter")
        hint = _hint(exc)
        key = f"cli.click.missing.{kind if kind in ('option', 'argument') else 'parameter'}"
        text = t(key, hint=hint or "")
        extra = exc.param.get_missing_message(exc.ctx) if exc.param is not None else None
        return f"{text} {_words(extra)}" if extra else text
    if isinstance(exc, BadParameter):
        hint = _hint(exc)
        if hint is None:
            return t("cli.click.invalid", message=_words(exc.message))
        return t("cli.click.invalid_for", hint=hint, message=_words(exc.message))
    return _words(exc.message)


def usage_error_line(exc: ClickException) -> str:
    """One line for a usage error: what is wrong and where the help is."""
    text = f"klynge: {usage_message(exc)}"
    ctx: _click.Context | None = getattr(exc, "ctx", None)
    if isinstance(exc, UsageError) and ctx is not None and ctx.command.get_help_option(ctx):
        text += " " + t("cli.click.try", command=ctx.command_path)
    return " ".join(text.split())


def _print_error(self: ClickException) -> None:
    """Typer's error printer, replaced: one line on stderr (its caller exits with the code)."""
    if self.__class__.__name__ == "NoArgsIsHelpError":
        return  # the help was printed; the exit code says the command was missing
    _click.echo(usage_error_line(self), err=True)


def localize_typer() -> None:
    """Typer's own words in help and usage errors, in the current language."""
    rich_utils.OPTIONS_PANEL_TITLE = t("cli.typer.options")
    rich_utils.ARGUMENTS_PANEL_TITLE = t("cli.typer.arguments")
    rich_utils.COMMANDS_PANEL_TITLE = t("cli.typer.commands")
    rich_utils.ERRORS_PANEL_TITLE = t("cli.typer.error")
    rich_utils.REQUIRED_LONG_STRING = t("cli.typer.required")
    rich_utils.DEFAULT_STRING = t("cli.typer.default")
    rich_utils.ENVVAR_STRING = t("cli.typer.envvar")
    rich_utils.DEPRECATED_STRING = t("cli.typer.deprecated")
    rich_utils.ABORTED_TEXT = t("cli.typer.aborted")
    rich_utils.RICH_HELP = t("cli.typer.try")
    rich_utils.rich_format_error = _print_error
