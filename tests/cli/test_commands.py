"""The `klynge` command registers every command module, and only those."""

from __future__ import annotations

import pkgutil

from typer.testing import CliRunner

import klynge.commands
from klynge.cli import COMMAND_MODULES, root


def test_every_command_module_is_registered() -> None:
    shipped = {m.name for m in pkgutil.iter_modules(klynge.commands.__path__)}
    registered = {module.__name__.removeprefix("klynge.commands.") for module, _ in COMMAND_MODULES}
    assert registered == shipped


def test_every_group_is_offered() -> None:
    result = CliRunner().invoke(root, ["--help"])
    assert result.exit_code == 0
    groups = [group for _, group in COMMAND_MODULES if group is not None]
    assert len(groups) == 9  # national: the national tier (docs/national.md)
    for group in groups:
        assert f" {group} " in result.output
