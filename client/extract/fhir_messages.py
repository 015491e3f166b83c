"""Danish and English text for the FHIR import report and its errors.

Keys are `extract.fhir_<reason>`; the reason is also the machine-readable
`kind` in the report's JSON (with the FHIR value after a colon where one
reason covers several values, e.g. `status:entered-in-error`).
"""

from __future__ import annotations

from client.extract import messages
from common.i18n import register

MESSAGES = {
    # report headings
    "extract.fhir_title": {"en": "FHIR import report", "da": "FHIR-importrapport"},
    "extract.fhir_sources": {"en": "Read", "da": "Læst"},
    "extract.fhir_resources_head": {
        "en": "{type}: {read} read, {kept} kept, {altered} altered, {dropped} dropped",
        "da": "{type}: {read} læst, {kept} bevaret, {altered} ændret, {dropped} udeladt",
    },
    "extract.fhir_rows_head": {
        "en": "Extract: {patients} patients, {conditions} conditions, {prescriptions} "
        "prescriptions, {lab_results} lab results, {encounters} encounters",
        "da": "Udtræk: {patients} patienter, {conditions} diagnoser, {prescriptions} "
        "recepter, {lab_results} laboratoriesvar, {encounters} ydelser",
    },
    "extract.fhir_reason_line": {
        "en": "{outcome} {count}: {element} {reason}",
        "da": "{outcome} {count}: {element} {reason}",
    },
    "extract.fhir_example": {"en": "e.g. {example}", "da": "fx {example}"},
    "extract.fhir_outcome_dropped": {"en": "dropped", "da": "udeladt"},
    "extract.fhir_outcome_altered": {"en": "altered", "da": "ændret"},
    "extract.fhir_outcome_kept": {"en": "kept", "da": "bevaret"},
    "extract.fhir_outcome_fatal": {"en": "error", "da": "fejl"},
    "extract.fhir_patients_head": {
        "en": "Patients: {read} read, {listed} in the extract, {skipped} skipped, "
        "{not_listed} not on the list",
        "da": "Patienter: {read} læst, {listed} i udtrækket, {skipped} sprunget over, "
        "{not_listed} ikke tilmeldt",
    },
    # patients
    "extract.fhir_no_id": {
        "en": "a Patient without id; skipped",
        "da": "en Patient uden id; springes over",
    },
    "extract.fhir_duplicate_patient": {
        "en": "patient appears twice with different content; skipped",
        "da": "patienten optræder to gange med forskelligt indhold; springes over",
    },
    "extract.fhir_duplicate_resource": {
        "en": "the same resource appears again; the copy is dropped",
        "da": "samme ressource optræder igen; kopien udelades",
    },
    "extract.fhir_gender": {
        "en": "gender {value}: the strata need female or male; the patient is skipped",
        "da": "køn {value}: strata kræver female eller male; patienten springes over",
    },
    "extract.fhir_no_birth_date": {
        "en": "no birthDate; the patient is skipped",
        "da": "ingen birthDate; patienten springes over",
    },
    "extract.fhir_bad_date": {
        "en": "{value} is not a FHIR date or dateTime; {consequence}",
        "da": "{value} er ikke en FHIR-dato eller -tidspunkt; {consequence}",
    },
    "extract.fhir_partial_date": {
        "en": "{value} names no day (a partial date); {consequence}",
        "da": "{value} angiver ingen dag (en delvis dato); {consequence}",
    },
    "extract.fhir_patient_skipped_consequence": {
        "en": "the patient is skipped",
        "da": "patienten springes over",
    },
    "extract.fhir_dropped_consequence": {
        "en": "the resource is dropped",
        "da": "ressourcen udelades",
    },
    "extract.fhir_death_without_date": {
        "en": "deceasedBoolean true without a date; the patient is skipped",
        "da": "deceasedBoolean true uden dato; patienten springes over",
    },
    "extract.fhir_inactive_record": {
        "en": "active is false (the record is not in use); the patient is skipped",
        "da": "active er false (journalen er ikke i brug); patienten springes over",
    },
    "extract.fhir_no_list_membership": {
        "en": "no list membership (no Group member and no list-membership extension); "
        "the patient is skipped",
        "da": "intet tilmeldingsforhold (ikke medlem af en Group og ingen "
        "list-membership-extension); patienten springes over",
    },
    "extract.fhir_no_list_start": {
        "en": "the Group member has no period.start; the patient is skipped",
        "da": "Group-medlemmet har ingen period.start; patienten springes over",
    },
    "extract.fhir_member_inactive": {
        "en": "the Group member is inactive without period.end; the patient is skipped",
        "da": "Group-medlemmet er inaktivt uden period.end; patienten springes over",
    },
    "extract.fhir_several_list_periods": {
        "en": "{count} list periods; the one that starts last is used",
        "da": "{count} tilmeldingsperioder; den, der begynder sidst, bruges",
    },
    "extract.fhir_before": {
        "en": "{later} {value} is before {earlier} {other}; {consequence}",
        "da": "{later} {value} ligger før {earlier} {other}; {consequence}",
    },
    "extract.fhir_kept_consequence": {"en": "kept as written", "da": "bevares som skrevet"},
    "extract.fhir_not_listed": {
        "en": "not a member of the list Group; the patient and their resources are left out",
        "da": "ikke medlem af tilmeldingslisten (Group); patienten og dennes ressourcer udelades",
    },
    "extract.fhir_cpr_like_id": {
        "en": "the patient id looks like a CPR number; it stays in this extract and the "
        "local report only and is masked everywhere else",
        "da": "patient-id'et ligner et CPR-nummer; det bliver kun i dette udtræk og den "
        "lokale rapport og skjules alle andre steder",
    },
    "extract.fhir_no_zone": {
        "en": "{value} has a time but no time zone; read as Danish time",
        "da": "{value} har et klokkeslæt, men ingen tidszone; læses som dansk tid",
    },
    # events
    "extract.fhir_status": {
        "en": "{element} {value} is not counted; the resource is dropped",
        "da": "{element} {value} tælles ikke; ressourcen udelades",
    },
    "extract.fhir_ended_without_date": {
        "en": "clinicalStatus {value} without an abatement date; never counted as active",
        "da": "clinicalStatus {value} uden slutdato; tælles aldrig som aktiv",
    },
    "extract.fhir_onset_partial": {
        "en": "onset {value} names no day; counted from its last day, {day}",
        "da": "onset {value} angiver ingen dag; tælles fra dens sidste dag, {day}",
    },
    "extract.fhir_onset_from_recorded": {
        "en": "no onset; recordedDate {value} is used as the start",
        "da": "ingen onset; recordedDate {value} bruges som start",
    },
    "extract.fhir_no_date": {
        "en": "no {element}; the resource is dropped",
        "da": "ingen {element}; ressourcen udelades",
    },
    "extract.fhir_no_known_code": {
        "en": "no code in a system Klynge reads (found {found}); the resource is dropped",
        "da": "ingen kode i et kodesystem, Klynge læser (fandt {found}); ressourcen udelades",
    },
    "extract.fhir_conflicting_codes": {
        "en": "ATC codes {value} disagree; the prescription is dropped",
        "da": "ATC-koderne {value} er uenige; recepten udelades",
    },
    "extract.fhir_unresolved_medication": {
        "en": "medicationReference {value} is not in the import; the resource is dropped",
        "da": "medicationReference {value} findes ikke i importen; ressourcen udelades",
    },
    "extract.fhir_end_before_start": {
        "en": "abatement {value} is before onset {other}; the resource is dropped",
        "da": "slutdato {value} ligger før start {other}; ressourcen udelades",
    },
    "extract.fhir_comparator_resolved": {
        "en": "{value}: every threshold on this analysis gives the same answer; stored as {stored}",
        "da": "{value}: alle grænser for denne analyse giver samme svar; gemt som {stored}",
    },
    "extract.fhir_supply_not_days": {
        "en": "expectedSupplyDuration {value} is not a number of days (UCUM d or wk); "
        "days_supply is left empty and the DDD stand-in applies",
        "da": "expectedSupplyDuration {value} er ikke et antal dage (UCUM d eller wk); "
        "days_supply efterlades tom, og DDD-stedfortræderen bruges",
    },
    "extract.fhir_comparator_undecided": {
        "en": "{value}: a threshold on this analysis could go either way; the value is left "
        "empty and the result still counts as taken",
        "da": "{value}: en grænse for denne analyse kan gå begge veje; værdien efterlades tom, "
        "og svaret tæller stadig som taget",
    },
    "extract.fhir_value_from_text": {
        "en": "valueString {value} read as a number",
        "da": "valueString {value} læst som et tal",
    },
    "extract.fhir_no_service_code": {
        "en": "no OK22 service code in serviceType or type; the encounter is dropped",
        "da": "ingen OK22-ydelseskode i serviceType eller type; kontakten udelades",
    },
    "extract.fhir_unresolved_subject": {
        "en": "subject {value} is not a Patient in the import; the resource is dropped",
        "da": "subject {value} er ikke en Patient i importen; ressourcen udelades",
    },
    "extract.fhir_patient_skipped": {
        "en": "its patient was skipped; the resource is dropped",
        "da": "dens patient blev sprunget over; ressourcen udelades",
    },
    "extract.fhir_patient_not_listed": {
        "en": "its patient is not on the list; the resource is left out",
        "da": "dens patient er ikke tilmeldt; ressourcen udelades",
    },
    "extract.fhir_malformed": {
        "en": "{problem} at {path}; {consequence}",
        "da": "{problem} ved {path}; {consequence}",
    },
    "extract.fhir_not_used": {
        "en": "resource type {value} is not used by Klynge's indicators; not imported",
        "da": "ressourcetypen {value} bruges ikke af Klynges indikatorer; importeres ikke",
    },
    "extract.fhir_no_resource": {
        "en": "an entry without a resource (request {value}); nothing imported",
        "da": "en post uden ressource (request {value}); intet importeret",
    },
    "extract.fhir_export_error": {
        "en": "the exporting server reported: {value}",
        "da": "den eksporterende server meldte: {value}",
    },
    "extract.fhir_no_manifest": {
        "en": "no manifest.json; every *.ndjson file was read, but nothing checks that the "
        "export is complete",
        "da": "ingen manifest.json; alle *.ndjson-filer blev læst, men intet kontrollerer, "
        "at eksporten er komplet",
    },
    # fatal
    "extract.fhir_error_head": {
        "en": "the FHIR import {path} cannot be used; nothing was written:",
        "da": "FHIR-importen {path} kan ikke bruges; intet blev skrevet:",
    },
    "extract.fhir_too_many_skipped": {
        "en": "{skipped} of {read} patients were skipped, more than the {allowed} allowed "
        "(--max-skipped-patients); every denominator would be wrong",
        "da": "{skipped} af {read} patienter blev sprunget over, flere end de tilladte "
        "{allowed} (--max-skipped-patients); alle nævnere ville være forkerte",
    },
    "extract.fhir_no_patients": {
        "en": "no usable Patient resources",
        "da": "ingen brugbare Patient-ressourcer",
    },
    "extract.fhir_bundle_type": {
        "en": "Bundle type {value} holds no current data to import; use a collection, "
        "transaction, batch, searchset, document or message Bundle",
        "da": "Bundle-typen {value} indeholder ingen aktuelle data at importere; brug en "
        "collection-, transaction-, batch-, searchset-, document- eller message-Bundle",
    },
    "extract.fhir_incomplete_searchset": {
        "en": "a searchset page with a 'next' link: the rest of the result is missing",
        "da": "en searchset-side med et 'next'-link: resten af resultatet mangler",
    },
    "extract.fhir_missing_output": {
        "en": "the manifest lists {value}, which is not in the folder",
        "da": "manifestet nævner {value}, som ikke findes i mappen",
    },
    "extract.fhir_bad_manifest": {
        "en": "not a Bulk Data manifest ({value})",
        "da": "ikke et Bulk Data-manifest ({value})",
    },
    # QuestionnaireResponse (survey answers; client/extract/fhir_survey.py)
    "extract.fhir_rows_survey": {
        "en": "Survey answers: {rows} rows",
        "da": "Svar på spørgeskemaer: {rows} rækker",
    },
    "extract.fhir_no_questionnaire": {
        "en": "no questionnaire; the response is dropped",
        "da": "intet questionnaire; besvarelsen udelades",
    },
    "extract.fhir_unknown_questionnaire": {
        "en": "questionnaire {value} is not a survey Klynge defines ({known}); "
        "the response is dropped",
        "da": "questionnaire {value} er ikke et spørgeskema, Klynge kender ({known}); "
        "besvarelsen udelades",
    },
    "extract.fhir_no_answer": {
        "en": "no answer that can count; the response is dropped",
        "da": "intet svar, der kan tælle; besvarelsen udelades",
    },
    "extract.fhir_unknown_item": {
        "en": "linkId {value} is not a question of the survey; the answer is left out",
        "da": "linkId {value} er ikke et spørgsmål i spørgeskemaet; svaret udelades",
    },
    "extract.fhir_out_of_scale": {
        "en": "{value} is not an answer to {item} (a whole number {low}–{high}); "
        "the answer is left out",
        "da": "{value} er ikke et svar på {item} (et helt tal {low}–{high}); svaret udelades",
    },
    "extract.fhir_duplicate_answer": {
        "en": "{value} is answered twice; the first answer counts",
        "da": "{value} er besvaret to gange; første svar tæller",
    },
    "extract.fhir_duplicate_response": {
        "en": "the same respondent answered again on {value}; this response is dropped",
        "da": "samme svarperson svarede igen {value}; denne besvarelse udelades",
    },
    "extract.fhir_duplicate_respondent": {
        "en": "the respondent answered on {first} too; in a period holding both dates "
        "only the first response counts",
        "da": "svarpersonen svarede også {first}; i en periode med begge datoer "
        "tæller kun første besvarelse",
    },
    "extract.fhir_patient_link_blanked": {
        "en": "{value} is not a listed patient of the import; the answers are kept "
        "without a patient link",
        "da": "{value} er ikke en tilmeldt patient i importen; svarene bevares "
        "uden kobling til en patient",
    },
    "extract.fhir_groups": {
        "en": "{count} Group resources ({value}); choose the list with --group-id",
        "da": "{count} Group-ressourcer ({value}); vælg listen med --group-id",
    },
    "extract.fhir_group_not_found": {
        "en": "no Group with id {value}",
        "da": "ingen Group med id {value}",
    },
    "extract.fhir_no_input": {
        "en": "no FHIR files (*.json, *.ndjson) found",
        "da": "ingen FHIR-filer (*.json, *.ndjson) fundet",
    },
}

register(MESSAGES)  # type: ignore[arg-type]  # str keys are exactly LANGS


def text(kind: str, **values: object) -> str:
    """The FHIR import message `kind` in the current language."""
    return messages.text(f"fhir_{kind}", **values)
