"""The `klynge` command: one entry point, subcommand groups per job.

Each group lives in `klynge/commands/<group>.py` and exposes `app` (a group)
or `register(root)` (top-level commands). Errors that carry a file, row or
field are turned into one clear line and a non-zero exit here, never a
traceback.
"""

from __future__ import annotations

import importlib

import typer
from typer.core import TyperGroup

from common.cpr import mask_cpr
from common.errors import KlyngeError
from common.i18n import set_lang


class _KlyngeGroup(TyperGroup):
    """Turns any KlyngeError raised below into one line on stderr and an exit code."""

    def invoke(self, ctx: typer.Context) -> object:
        try:
            return super().invoke(ctx)
        except KlyngeError as exc:
            typer.echo(f"klynge: {mask_cpr(str(exc))}", err=True)  # docs/fhir.md, "CPR"
            raise typer.Exit(exc.exit_code) from None


root = typer.Typer(
    cls=_KlyngeGroup,
    name="klynge",
    help="Klynge: federated quality indicators for Danish general practice.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# (module, group name or None for top-level commands)
_COMMAND_MODULES: tuple[tuple[str, str | None], ...] = (
    ("klynge.commands.local", None),
    ("klynge.commands.indicators", "indicators"),
    ("klynge.commands.synth", None),
    ("klynge.commands.manifest", "manifest"),
    ("klynge.commands.audit", "audit"),
    ("klynge.commands.pki", "pki"),
    ("klynge.commands.server", "server"),
    ("klynge.commands.agent", "agent"),
    ("klynge.commands.demo", None),
    ("klynge.commands.report", "report"),
    ("klynge.commands.fhir", "fhir"),
)


@root.callback()
def _main(
    lang: str = typer.Option(
        None, "--lang", help="Language of messages and reports: da or en (default da)."
    ),
) -> None:
    if lang and lang not in ("da", "en"):
        raise typer.BadParameter("must be 'da' or 'en'", param_hint="--lang")
    set_lang(lang or None)  # reset per invocation, so one command's --lang never leaks


def _load_commands() -> None:
    for module_name, group in _COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue  # that group is not built yet
            raise
        if group is None:
            module.register(root)
        else:
            root.add_typer(module.app, name=group)


_load_commands()


def main() -> None:
    root()


if __name__ == "__main__":
    main()
