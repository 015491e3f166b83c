"""The indicator and code-list reader's error messages, in Danish and English.

Whoever edits an indicator definition or a code list reads these, so they say
what is wrong at which key in the reader's language; key names, criterion
names and the examples to copy stay as they are written in the TOML.
"""

from __future__ import annotations

from common.i18n import register, speaker

register(
    {
        "defs.err.file_name": {
            "en": "must equal the file name '{stem}'",
            "da": "skal være lig med filnavnet '{stem}'",
        },
        "defs.err.code_system": {
            "en": "unknown code system '{name}' (allowed: {allowed})",
            "da": "ukendt kodesystem '{name}' (tilladt: {allowed})",
        },
        "defs.err.list": {"en": "must be a list", "da": "skal være en liste"},
        "defs.err.codes": {
            "en": "must be a list with at least one code",
            "da": "skal være en liste med mindst én kode",
        },
        "defs.err.exclude": {
            "en": "is only meaningful for ATC (prefix) code lists",
            "da": "giver kun mening for ATC-kodelister (præfikser)",
        },
        "defs.err.codelist_names": {
            "en": "must be a code list name or a list of names",
            "da": "skal være navnet på en kodeliste eller en liste af navne",
        },
        "defs.err.unknown_codelist": {
            "en": "unknown code list '{name}'",
            "da": "ukendt kodeliste '{name}'",
        },
        "defs.err.codelist_system": {
            "en": "code list '{name}' is {system}, which cannot match {kind} rows",
            "da": "kodelisten '{name}' er {system} og kan ikke matche rækker i {kind}",
        },
        "defs.err.window_required": {
            "en": 'is required (a number of days, or "all")',
            "da": 'er påkrævet (et antal dage eller "all")',
        },
        "defs.err.window": {
            "en": 'must be a positive number of days or "all"',
            "da": 'skal være et positivt antal dage eller "all"',
        },
        "defs.err.one_key": {
            "en": "a criterion is a table with exactly one key, e.g. {{ listed = true }}",
            "da": "et kriterium er en tabel med præcis én nøgle, f.eks. {{ listed = true }}",
        },
        "defs.err.criterion": {
            "en": "unknown criterion (allowed: {allowed})",
            "da": "ukendt kriterium (tilladt: {allowed})",
        },
        "defs.err.true": {"en": "must be true", "da": "skal være true"},
        "defs.err.min_max": {"en": "needs min, max or both", "da": "kræver min, max eller begge"},
        "defs.err.min_above_max": {"en": "min is above max", "da": "min er større end max"},
        "defs.err.sex": {"en": 'must be "F" or "M"', "da": 'skal være "F" eller "M"'},
        "defs.err.status": {
            "en": 'needs exactly one of status ("active"/"ever") and started_within_days',
            "da": 'kræver præcis én af status ("active"/"ever") og started_within_days',
        },
        "defs.err.one_comparison": {
            "en": "must hold exactly one comparison: lt, le, ge or gt",
            "da": "skal indeholde præcis én sammenligning: lt, le, ge eller gt",
        },
        "defs.err.comparison": {
            "en": "unknown comparison (allowed: lt, le, ge, gt)",
            "da": "ukendt sammenligning (tilladt: lt, le, ge, gt)",
        },
        "defs.err.days_for": {
            "en": "must be a number of days for {what}",
            "da": "skal være et antal dage for {what}",
        },
        "defs.err.days_for_anchor": {
            "en": "must be a number of days for an anchor",
            "da": "skal være et antal dage for et anker",
        },
        "defs.err.min_days": {
            "en": "cannot exceed window_days ({days})",
            "da": "må ikke være større end window_days ({days})",
        },
        "defs.err.at_death": {
            "en": "'{name}' has no meaning inside at_death (nobody is listed after death)",
            "da": "'{name}' giver ingen mening i at_death (ingen er tilmeldt efter døden)",
        },
        "defs.err.criteria": {
            "en": "must be a non-empty list of criteria",
            "da": "skal være en ikke-tom liste af kriterier",
        },
        "defs.err.non_empty": {
            "en": "must be a non-empty list",
            "da": "skal være en ikke-tom liste",
        },
        "defs.err.event_kinds": {
            "en": "event counts are prescriptions or episodes: {{ prescription = {{...}} }} "
            "or {{ episodes = {{...}} }}",
            "da": "hændelser tælles som recepter eller forløb: {{ prescription = {{...}} }} "
            "eller {{ episodes = {{...}} }}",
        },
        "defs.err.one_table": {
            "en": "must name exactly one table ({tables})",
            "da": "skal nævne præcis én tabel ({tables})",
        },
        "defs.err.table": {
            "en": "unknown table (allowed: {tables})",
            "da": "ukendt tabel (tilladt: {tables})",
        },
        "defs.err.requirements": {
            "en": "must be a list of requirements",
            "da": "skal være en liste af krav",
        },
        "defs.err.from_after_to": {
            "en": "must not be after to_day",
            "da": "må ikke ligge efter to_day",
        },
        "defs.err.follow_up": {
            "en": "looks {days} days past the anchor, beyond the anchor's follow_up_days "
            "({follow_up}): events after the reference date would be needed",
            "da": "ser {days} dage efter ankeret, ud over ankerets follow_up_days "
            "({follow_up}): der ville skulle bruges hændelser efter referencedatoen",
        },
        "defs.err.signed_days": {
            "en": "must be a whole number of days (may be negative)",
            "da": "skal være et helt antal dage (må være negativt)",
        },
        "defs.err.episodes_both": {
            "en": "must count episodes when the denominator does",
            "da": "skal tælle forløb, når nævneren gør det",
        },
        "defs.err.same_anchor": {
            "en": "must equal the denominator's anchor",
            "da": "skal være lig med nævnerens anker",
        },
        "defs.err.repeat_requirements": {
            "en": "must repeat every requirement of the denominator's episodes",
            "da": "skal gentage alle krav i nævnerens forløb",
        },
        "defs.err.population": {
            "en": "must require {{ listed = true }} (or, for the deceased, {{ died = {{...}} }}) "
            "at the top level",
            "da": "skal kræve {{ listed = true }} (eller, for afdøde, {{ died = {{...}} }}) "
            "på øverste niveau",
        },
        "defs.err.patient_level": {
            "en": "a patient-level indicator has numerator.criterion and no events or cap",
            "da": "en indikator på patientniveau har numerator.criterion og hverken events "
            "eller cap_per_patient",
        },
        "defs.err.event_level": {
            "en": "an event-level indicator has numerator.events",
            "da": "en indikator på hændelsesniveau har numerator.events",
        },
        "defs.err.cap": {
            "en": "is required for event-level indicators (it bounds sensitivity)",
            "da": "er påkrævet for indikatorer på hændelsesniveau (den begrænser følsomheden)",
        },
        "defs.err.age_bands": {
            "en": "must be a strictly ascending list of ages, e.g. [18, 40, 65, 80]",
            "da": "skal være en stigende liste af aldre, f.eks. [18, 40, 65, 80]",
        },
        "defs.err.age_floor": {
            "en": "starts at {start} but the population admits younger patients; "
            "add {{ age = {{ min = {start} }} }} or start the bands at 0",
            "da": "starter ved {start}, men populationen tillader yngre patienter; "
            "tilføj {{ age = {{ min = {start} }} }} eller start aldersgrupperne ved 0",
        },
        "defs.err.no_directory": {"en": "directory is missing", "da": "mappen mangler"},
        "defs.err.no_definitions": {
            "en": "holds no indicator definitions",
            "da": "indeholder ingen indikatordefinitioner",
        },
    }
)


say = speaker("defs.err")
