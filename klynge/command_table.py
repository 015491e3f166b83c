"""Every `klynge` command, where it lives and its one-line help, without importing any.

`klynge --help` is rendered from this table alone (`klynge.quick`), and the
root group looks commands up in it, so listing them costs no Typer, no rich
and none of the command modules' dependencies (pandas, Jinja2, gRPC).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommandEntry:
    """One entry of `klynge --help`: where the command lives and its one-line help."""

    name: str
    module: str  # under klynge.commands
    group: bool  # True: the module's `app`; False: what its `register(root)` adds
    help_key: str  # registered in klynge.help_text, Danish and English


COMMANDS: tuple[CommandEntry, ...] = (
    CommandEntry("compute", "local", False, "cli.cmd.compute"),
    CommandEntry("indicators", "indicators", True, "cli.cmd.indicators"),
    CommandEntry("synth", "synth", False, "cli.cmd.synth"),
    CommandEntry("manifest", "manifest", True, "cli.cmd.manifest"),
    CommandEntry("audit", "audit", True, "cli.cmd.audit"),
    CommandEntry("pki", "pki", True, "cli.cmd.pki"),
    CommandEntry("server", "server", True, "cli.cmd.server"),
    CommandEntry("agent", "agent", True, "cli.cmd.agent"),
    CommandEntry("demo", "demo", False, "cli.cmd.demo"),
    CommandEntry("report", "report", True, "cli.cmd.report"),
    CommandEntry("fhir", "fhir", True, "cli.cmd.fhir"),
    CommandEntry("national", "national", True, "cli.cmd.national"),
    CommandEntry("partner", "partner", True, "cli.cmd.partner"),
)
BY_NAME = {c.name: c for c in COMMANDS}
