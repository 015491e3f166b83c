"""The CLI's help in Danish and English, chosen when a command is built.

Typer fixes help strings when a command module is imported, in English (the
source's language). `localize` translates a built command tree into the
current language (`common.i18n`): every command's help and every option's
help is looked up in `HELP_DA` by its English text, so the source keeps one
readable text and the translation sits in one table a translator can review.
A help text without a translation fails a test (`tests/klynge/test_help.py`).
Typer's own words (panel titles, "[required]", the help option) follow the
same language (`localize_typer`).
"""

from __future__ import annotations

from typer import _click
from typer.core import TyperOption

from common.i18n import current_lang, register, t

register(
    {
        "cli.root": {
            "da": "Klynge: fødererede kvalitetsindikatorer for almen praksis.",
            "en": "Klynge: federated quality indicators for Danish general practice.",
        },
        "cli.opt.lang": {
            "da": "Sprog for meddelelser og rapporter: da eller en (standard da).",
            "en": "Language of messages and reports: da or en (default da).",
        },
        "cli.cmd.compute": {
            "da": "Beregn praksissens egne indikatorer lokalt.",
            "en": "Compute a practice's own indicators locally.",
        },
        "cli.cmd.indicators": {
            "da": "Vis indikatorkataloget.",
            "en": "Show the indicator catalogue.",
        },
        "cli.cmd.synth": {
            "da": "Lav syntetiske praksisudtræk og en føderationsfil.",
            "en": "Generate synthetic practice extracts and a federation file.",
        },
        "cli.cmd.manifest": {
            "da": "Opret, underskriv, kontroller og sammenlign protokolmanifester.",
            "en": "Create, sign, verify and compare protocol manifests.",
        },
        "cli.cmd.audit": {
            "da": "Revision: privatlivsrevision af et manifest og kontrol af loggen.",
            "en": "Audit: a manifest's privacy audit and checks of the log.",
        },
        "cli.cmd.pki": {
            "da": "Certifikatmyndighed for gensidig TLS.",
            "en": "Certificate authority for mutual TLS.",
        },
        "cli.cmd.server": {
            "da": "Kør og betjen den regionale koordinator.",
            "en": "Run and operate the regional coordinator.",
        },
        "cli.cmd.agent": {
            "da": "Praksisagenten: opsætning, kørsel og status.",
            "en": "The practice agent: set-up, running and status.",
        },
        "cli.cmd.demo": {
            "da": "Hele føderationen på én maskine, med rapporter.",
            "en": "The whole federation on one machine, with reports.",
        },
        "cli.cmd.report": {
            "da": "Rapporter for region, klynge og praksis.",
            "en": "Reports for region, cluster and practice.",
        },
        "cli.cmd.national": {
            "da": "Landstal: kontrollér regionernes publikationer og læg dem sammen.",
            "en": "National figures: verify the regions' publications and combine them.",
        },
        "cli.cmd.partner": {
            "da": "Partnere i sundhedsvæsenet: hent de tal, manifestet giver dem.",
            "en": "Partners in the wider health system: fetch the figures the manifest grants.",
        },
        "cli.cmd.fhir": {
            "da": "FHIR R4: eksport af Measure og MeasureReport; import af Bundle og Bulk Data.",
            "en": "FHIR R4: Measure and MeasureReport export; Bundle and Bulk Data import.",
        },
        "cli.typer.options": {"da": "Tilvalg", "en": "Options"},
        "cli.typer.arguments": {"da": "Argumenter", "en": "Arguments"},
        "cli.typer.commands": {"da": "Kommandoer", "en": "Commands"},
        "cli.typer.error": {"da": "Fejl", "en": "Error"},
        "cli.typer.required": {"da": "[påkrævet]", "en": "[required]"},
        "cli.typer.default": {"da": "[standard: {{}}]", "en": "[default: {{}}]"},
        "cli.typer.try": {
            "da": "Prøv [blue]'{{command_path}} {{help_option}}'[/] for hjælp.",
            "en": "Try [blue]'{{command_path}} {{help_option}}'[/] for help.",
        },
        "cli.typer.help": {"da": "Vis denne hjælp og afslut.", "en": "Show this message and exit."},
    }
)

# English help text as written in klynge/commands/ -> Danish.
HELP_DA: dict[str, str] = {}


def translate(text: str | None) -> str | None:
    """`text` in the current language (unchanged in English, or when no translation exists)."""
    if text is None or current_lang() == "en":
        return text
    return HELP_DA.get(text.strip(), text)


def localize(command: _click.Command) -> _click.Command:
    """Translate a freshly built command tree's help in place; returns it."""
    command.help = translate(command.help)
    command.short_help = translate(command.short_help)
    for param in command.params:
        if hasattr(param, "help"):  # options, and typer's arguments
            param.help = translate(param.help)
    original = command.get_help_option

    def help_option(ctx: _click.Context) -> TyperOption | None:
        option = original(ctx)
        if option is not None:
            option.help = t("cli.typer.help")
        return option

    command.get_help_option = help_option  # type: ignore[method-assign]
    for sub in getattr(command, "commands", {}).values():
        localize(sub)
    return command


def localize_typer() -> None:
    """Typer's own words in help and usage errors, in the current language."""
    from typer import rich_utils

    rich_utils.OPTIONS_PANEL_TITLE = t("cli.typer.options")
    rich_utils.ARGUMENTS_PANEL_TITLE = t("cli.typer.arguments")
    rich_utils.COMMANDS_PANEL_TITLE = t("cli.typer.commands")
    rich_utils.ERRORS_PANEL_TITLE = t("cli.typer.error")
    rich_utils.REQUIRED_LONG_STRING = t("cli.typer.required")
    rich_utils.DEFAULT_STRING = t("cli.typer.default")
    rich_utils.RICH_HELP = t("cli.typer.try")
