"""The `klynge` command registers every command module, and only those, lazily."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

from typer.testing import CliRunner

import klynge.commands
from klynge.cli import COMMANDS, load_command, root


def test_every_command_module_is_registered() -> None:
    shipped = {m.name for m in pkgutil.iter_modules(klynge.commands.__path__)}
    assert {c.module for c in COMMANDS} == shipped


def test_every_group_is_offered() -> None:
    result = CliRunner().invoke(root, ["--help"])
    assert result.exit_code == 0
    # national: docs/national.md; partner: docs/partners.md
    assert len([c for c in COMMANDS if c.group]) == 10
    for entry in COMMANDS:
        assert f" {entry.name} " in result.output


def test_every_entry_loads_the_command_it_names() -> None:
    for entry in COMMANDS:
        command = load_command(entry)
        assert command.name == entry.name
        assert bool(getattr(command, "commands", None)) == entry.group, entry.name


def test_help_imports_no_command_module() -> None:
    """The listing comes from COMMANDS alone: no pandas, Jinja2 or gRPC for `--help`."""
    probe = (
        "import sys\n"
        "from klynge.cli import root\n"
        "try:\n    root(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('klynge.commands.')"
        " or m.split('.')[0] in ('pandas', 'jinja2', 'grpc', 'numpy')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
