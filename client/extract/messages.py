"""Danish and English text for everything the extract loader tells a practice.

The people who fix a broken extract are practice staff and EPJ vendors, so
every message says what is wrong with the cell and, where it helps, what a
valid value looks like. Keys are `extract.<kind>`; `<kind>` is also the
machine-readable `ExtractIssue.kind`.
"""

from __future__ import annotations

from common.i18n import Lang, register, t

MESSAGES: dict[str, dict[Lang, str]] = {
    # where an issue is
    "extract.where_line": {"en": "line {n}", "da": "linje {n}"},
    "extract.where_row": {"en": "row {n}", "da": "række {n}"},
    "extract.where_column": {"en": "column '{name}'", "da": "kolonne '{name}'"},
    "extract.where_entry": {"en": "entry {n}", "da": "post {n}"},  # a FHIR Bundle entry
    "extract.where_element": {"en": "element '{name}'", "da": "element '{name}'"},
    # the error as a whole
    "extract.error_head_one": {
        "en": "1 problem in the extract {path}; nothing was loaded:",
        "da": "1 fejl i udtrækket {path}; intet blev indlæst:",
    },
    "extract.error_head_many": {
        "en": "{count} problems in the extract {path}; nothing was loaded:",
        "da": "{count} fejl i udtrækket {path}; intet blev indlæst:",
    },
    "extract.error_tail_warnings": {
        "en": "There are also {count} warnings (errors in strict mode).",
        "da": "Der er også {count} advarsler (fejl i streng tilstand).",
    },
    "extract.more_rows": {
        "en": "{count} more rows with the same problem as {where}",
        "da": "{count} rækker mere med samme fejl som {where}",
    },
    # consequences of a warning
    "extract.row_skipped": {"en": "row skipped", "da": "rækken springes over"},
    "extract.treated_missing": {"en": "treated as missing", "da": "behandles som tom"},
    "extract.kept": {"en": "row kept", "da": "rækken bevares"},
    # files
    "extract.not_a_directory": {
        "en": "is not a directory; an extract is a directory of CSV or Parquet files",
        "da": "er ikke en mappe; et udtræk er en mappe med CSV- eller Parquet-filer",
    },
    "extract.missing_file": {
        "en": "file is missing; the extract needs {csv} or {parquet}",
        "da": "filen mangler; udtrækket skal have {csv} eller {parquet}",
    },
    "extract.ambiguous_file": {
        "en": "both {csv} and {parquet} exist; keep only one of them",
        "da": "både {csv} og {parquet} findes; behold kun den ene",
    },
    "extract.unreadable": {
        "en": "cannot be read: {reason}",
        "da": "kan ikke læses: {reason}",
    },
    "extract.not_utf8": {
        "en": "is not UTF-8 text (invalid byte at offset {offset}); save the file as UTF-8",
        "da": "er ikke UTF-8-tekst (ugyldig byte ved position {offset}); gem filen som UTF-8",
    },
    "extract.empty_file": {
        "en": "file is empty; its first line must name the columns",
        "da": "filen er tom; første linje skal navngive kolonnerne",
    },
    "extract.wrong_separator": {
        "en": "columns are separated by {separator}; an extract uses commas (,)",
        "da": "kolonnerne er adskilt af {separator}; et udtræk bruger kommaer (,)",
    },
    "extract.unclosed_quote": {
        "en": "a quoted field that starts in this row is never closed",
        "da": "et felt i anførselstegn, der begynder i denne række, afsluttes aldrig",
    },
    "extract.ragged_row": {
        "en": "row has {actual} fields but the header has {expected}",
        "da": "rækken har {actual} felter, men overskriften har {expected}",
    },
    # columns
    "extract.missing_column": {
        "en": "column is missing; the file must have the columns {columns}",
        "da": "kolonnen mangler; filen skal have kolonnerne {columns}",
    },
    "extract.duplicate_column": {
        "en": "column appears {count} times in the header",
        "da": "kolonnen optræder {count} gange i overskriften",
    },
    "extract.extra_column": {
        "en": "column is not part of the extract schema and is ignored",
        "da": "kolonnen er ikke en del af udtræksskemaet og ignoreres",
    },
    "extract.bad_column_type": {
        "en": "has Parquet type {actual}; expected {expected}",
        "da": "har Parquet-typen {actual}; forventede {expected}",
    },
    # cells
    "extract.empty_required": {
        "en": "is empty; a value is required",
        "da": "er tom; der skal stå en værdi",
    },
    "extract.bad_date": {
        "en": "{value} is not a date; expected YYYY-MM-DD, e.g. 2024-03-31",
        "da": "{value} er ikke en dato; forventede ÅÅÅÅ-MM-DD, fx 2024-03-31",
    },
    "extract.bad_decimal": {
        "en": "{value} is not a decimal number; use '.' as decimal separator, e.g. 7.5",
        "da": "{value} er ikke et decimaltal; brug '.' som decimaltegn, fx 7.5",
    },
    "extract.not_allowed": {
        "en": "{value} is not allowed; use one of {allowed}",
        "da": "{value} er ikke tilladt; brug en af {allowed}",
    },
    "extract.duplicate_patient": {
        "en": "patient {value} already appears on {where}",
        "da": "patient {value} optræder allerede på {where}",
    },
    "extract.unknown_patient": {
        "en": "patient {value} is not in {patients}",
        "da": "patient {value} findes ikke i {patients}",
    },
    # survey answers (survey_responses; rules in client/extract/survey_rules.py)
    "extract.unknown_item": {
        "en": "{value} is not an item of survey {survey} version {version} (known: {known})",
        "da": (
            "{value} er ikke et spørgsmål i spørgeskema {survey} version {version} "
            "(kendte: {known})"
        ),
    },
    "extract.out_of_scale": {
        "en": "{value} is not an answer to {item}; expected a whole number {low}–{high}",
        "da": "{value} er ikke et svar på {item}; forventede et helt tal {low}–{high}",
    },
    "extract.duplicate_answer": {
        "en": "respondent {value} already answered {item} that day on {first}",
        "da": "svarperson {value} har allerede svaret på {item} samme dag på {first}",
    },
    "extract.duplicate_respondent": {
        "en": (
            "respondent {value} answered first on {first}; "
            "in a period holding both dates only the first response counts"
        ),
        "da": (
            "svarperson {value} svarede første gang {first}; "
            "i en periode med begge datoer tæller kun første besvarelse"
        ),
    },
    "extract.before": {
        "en": "{value} is before {other_column} {other}",
        "da": "{value} ligger før {other_column} {other}",
    },
}

register(MESSAGES)


def text(kind: str, **values: object) -> str:
    """The message for issue kind `kind` in the current language."""
    return t(f"extract.{kind}", None, **values)
