"""The CLI's help in Danish and English: one place for every text a `--help` shows.

Typer fixes help strings when a command module is imported, in English (the
source's language). `klynge.localize` translates a built command tree into
the current language (`common.i18n`): every command's and option's help is
looked up in `HELP_DA` by its English text, so the source keeps one readable
text and the translation sits in one table a translator can review. A help
text without a Danish translation fails a test (`tests/cli/test_help.py`).
Typer's and click's own words (the usage line, panel titles, "[required]",
the help option, usage errors) are registered here too, under `cli.typer.`,
`cli.usage.` and `cli.click.`; the English `cli.click.` texts are click's and
pydantic's own, so `common.i18n.reword` recognises them.

No Typer here: `klynge --help` is rendered from these texts without it.
"""

from __future__ import annotations

from common.i18n import current_lang, register

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
        "cli.typer.envvar": {"da": "[miljøvariabel: {{}}]", "en": "[env var: {{}}]"},
        "cli.typer.deprecated": {"da": "(forældet) ", "en": "(deprecated) "},
        "cli.typer.aborted": {"da": "Afbrudt.", "en": "Aborted."},
        "cli.typer.usage": {"da": "Brug:", "en": "Usage:"},
        "cli.usage.options": {"da": "[TILVALG]", "en": "[OPTIONS]"},
        "cli.usage.command": {"da": "KOMMANDO [ARGUMENTER]...", "en": "COMMAND [ARGS]..."},
        "cli.usage.root": {
            "da": "[TILVALG] KOMMANDO [ARGUMENTER]...",
            "en": "[OPTIONS] COMMAND [ARGS]...",
        },
        "cli.opt.lang.metavar": {"da": "da|en", "en": "da|en"},
        "cli.lang.bad": {"da": "skal være 'da' eller 'en'", "en": "must be 'da' or 'en'"},
    }
)

# Usage errors. The English texts are click's and pydantic's own words ({fields} are
# what they fill in), so `common.i18n.reword` finds the Danish for a message click
# built; the more specific texts come first, since the first that matches is used.
register(
    {
        "cli.click.no_such_option": {"da": "ukendt tilvalg {name}", "en": "No such option: {name}"},
        "cli.click.possible": {
            "da": "(mulige tilvalg: {options})",
            "en": "(Possible options: {options})",
        },
        "cli.click.missing.option": {
            "da": "tilvalget {hint} mangler.",
            "en": "Missing option {hint}.",
        },
        "cli.click.missing.argument": {
            "da": "argumentet {hint} mangler.",
            "en": "Missing argument {hint}.",
        },
        "cli.click.missing.parameter": {
            "da": "parameteren {hint} mangler.",
            "en": "Missing parameter {hint}.",
        },
        "cli.click.invalid_for": {
            "da": "ugyldig værdi for {hint}: {message}",
            "en": "Invalid value for {hint}: {message}",
        },
        "cli.click.invalid": {"da": "ugyldig værdi: {message}", "en": "Invalid value: {message}"},
        "cli.click.try": {
            "da": "(se '{command} --help')",
            "en": "(see '{command} --help')",
        },
        "cli.click.did_you_mean": {
            "da": "{message}. Mente du {suggestions}?",
            "en": "{message}. Did you mean {suggestions}?",
        },
        "cli.click.no_command": {"da": "ukendt kommando {name}", "en": "No such command {name}"},
        "cli.click.missing_command": {"da": "en kommando mangler.", "en": "Missing command."},
        "cli.click.extra": {
            "da": "uventede ekstra argumenter ({args})",
            "en": "Got unexpected extra argument(s) ({args})",
        },
        "cli.click.needs_value": {
            "da": "tilvalget {name} skal have en værdi.",
            "en": "Option {name} requires an argument.",
        },
        "cli.click.needs_values": {
            "da": "tilvalget {name} skal have {n} værdier.",
            "en": "Option {name} requires {n} arguments.",
        },
        "cli.click.no_value": {
            "da": "tilvalget {name} tager ingen værdi.",
            "en": "Option {name} does not take a value.",
        },
        "cli.click.argument_values": {
            "da": "argumentet {name} skal have {n} værdier.",
            "en": "Argument {name} takes {n} values.",
        },
        "cli.click.choose": {"da": "Vælg mellem: {choices}", "en": "Choose from:{choices}"},
        "cli.click.not_valid": {
            "da": "{value} er ikke en gyldig værdi ({kind}).",
            "en": "Value {value} is not a valid {kind}.",
        },
        "cli.click.file_missing": {
            "da": "filen {name} findes ikke.",
            "en": "File {name} does not exist.",
        },
        "cli.click.dir_missing": {
            "da": "mappen {name} findes ikke.",
            "en": "Directory {name} does not exist.",
        },
        "cli.click.path_missing": {
            "da": "stien {name} findes ikke.",
            "en": "Path {name} does not exist.",
        },
        "cli.click.is_file": {"da": "{name} er en fil.", "en": "{kind} {name} is a file."},
        "cli.click.is_dir": {"da": "{name} er en mappe.", "en": "{kind} {name} is a directory."},
        "cli.click.unreadable": {
            "da": "{name} kan ikke læses.",
            "en": "{kind} {name} is not readable.",
        },
        "cli.click.unwritable": {
            "da": "{name} kan ikke skrives.",
            "en": "{kind} {name} is not writable.",
        },
        "cli.click.int": {
            "da": "skal være et heltal",
            "en": "Input should be a valid integer, unable to parse string as an integer",
        },
        "cli.click.int_fraction": {
            "da": "skal være et heltal",
            "en": "Input should be a valid integer, got a number with a fractional part",
        },
        "cli.click.number": {
            "da": "skal være et tal",
            "en": "Input should be a valid number, unable to parse string as a number",
        },
        "cli.click.bool": {
            "da": "skal være sand eller falsk",
            "en": "Input should be a valid boolean, unable to interpret input",
        },
        "cli.click.ge": {
            "da": "skal være mindst {n}",
            "en": "Input should be greater than or equal to {n}",
        },
        "cli.click.le": {
            "da": "må højst være {n}",
            "en": "Input should be less than or equal to {n}",
        },
        "cli.click.gt": {
            "da": "skal være større end {n}",
            "en": "Input should be greater than {n}",
        },
        "cli.click.lt": {"da": "skal være mindre end {n}", "en": "Input should be less than {n}"},
    }
)

# English help text as written in klynge/commands/ -> Danish.
HELP_DA: dict[str, str] = {}


def translate(text: str | None) -> str | None:
    """`text` in the current language (unchanged in English, or when no translation exists)."""
    if text is None or current_lang() == "en":
        return text
    return HELP_DA.get(text.strip(), text)
