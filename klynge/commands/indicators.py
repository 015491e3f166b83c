"""`klynge indicators list|show`: the catalogue as a reviewer reads it.

The words and tables are `klynge.catalogue_view`'s; `klynge indicators list`
normally runs from `klynge.quick` without building this Typer group at all.
"""

from __future__ import annotations

import typer

from common.i18n import t
from klynge.catalogue_view import find, known_ids, print_list, print_show

app = typer.Typer(help="Show the indicator catalogue.", no_args_is_help=True)


@app.command("list")
def list_indicators() -> None:
    """List every indicator with its title and content hash."""
    print_list()


@app.command("show")
def show(indicator_id: str = typer.Argument(..., metavar="ID")) -> None:
    """Show one definition in words."""
    ind = find(indicator_id)
    if ind is None:
        typer.echo(t("ind.unknown", id=indicator_id, known=known_ids()), err=True)
        raise typer.Exit(2)
    print_show(ind)
