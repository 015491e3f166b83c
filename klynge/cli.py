"""The `klynge` command: one entry point, subcommand groups per job.

Each group lives in `klynge/commands/<group>.py` and exposes `app` (a group)
or `register(root)` (top-level commands). Errors that carry a file, row or
field are turned into one clear line and a non-zero exit here, never a
traceback.
"""

from __future__ import annotations

from types import ModuleType

import typer
from typer import _click  # typer's own copy of click: Group.invoke takes its Context
from typer.core import TyperGroup

from common.cpr import mask_cpr
from common.errors import KlyngeError
from common.i18n import set_lang
from klynge.commands import (
    agent,
    audit,
    demo,
    fhir,
    indicators,
    local,
    manifest,
    national,
    pki,
    report,
    server,
    synth,
)
from klynge.options import language


class _KlyngeGroup(TyperGroup):
    """Turns any KlyngeError raised below into one line on stderr and an exit code.

    So does an operating-system error no layer below turned into one (a full disk,
    a directory without permission): it names the file and the system's reason.
    """

    def invoke(self, ctx: _click.Context) -> object:
        try:
            return super().invoke(ctx)
        except KlyngeError as exc:
            typer.echo(f"klynge: {mask_cpr(str(exc))}", err=True)  # docs/fhir.md, "CPR"
            raise typer.Exit(exc.exit_code) from None
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            typer.echo(f"klynge: {where}{exc.strerror or exc}", err=True)
            raise typer.Exit(KlyngeError.exit_code) from None


root = typer.Typer(
    cls=_KlyngeGroup,
    name="klynge",
    help="Klynge: federated quality indicators for Danish general practice.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# (module, group name or None for top-level commands). Imported, not looked up
# by name, so a missing command module stops the CLI instead of vanishing from it.
COMMAND_MODULES: tuple[tuple[ModuleType, str | None], ...] = (
    (local, None),
    (indicators, "indicators"),
    (synth, None),
    (manifest, "manifest"),
    (audit, "audit"),
    (pki, "pki"),
    (server, "server"),
    (agent, "agent"),
    (demo, None),
    (report, "report"),
    (fhir, "fhir"),
    (national, "national"),
)


@root.callback()
def _main(
    lang: str = typer.Option(
        None, "--lang", help="Language of messages and reports: da or en (default da)."
    ),
) -> None:
    set_lang(language(lang or None))  # reset per invocation, so one --lang never leaks


def _load_commands() -> None:
    for module, group in COMMAND_MODULES:
        if group is None:
            module.register(root)
        else:
            root.add_typer(module.app, name=group)


_load_commands()


def main() -> None:
    root()


if __name__ == "__main__":
    main()
