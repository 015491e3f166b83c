"""The Danish words for what the definition files write in English only.

Code-list titles, therapeutic areas and sources are English in the TOML files
(they follow WHO ATC, ICPC-2 and the guidelines' own names), and those files
are hashed: what a definition means must not change when a word is
translated. So the Danish words live here, beside the files, outside every
content hash. A test checks that every code list, area and source of the
installed catalogue has its Danish words, so a new definition cannot ship
English-only to a Danish reader.
"""

from __future__ import annotations

from common.i18n import Lang

CODELIST_TITLES: dict[str, str] = {
    "acr": "Albumin/kreatinin-ratio i urin (mg/g)",
    "airway_drugs": "Lægemidler mod obstruktive luftvejssygdomme",
    "annual_review": "Årsstatus",
    "antibacterials": "Antibiotika til systemisk brug",
    "anticoagulants": "Perorale antikoagulantia (VKA, dabigatran, faktor Xa-hæmmere)",
    "antidepressants": "Antidepressiva",
    "antipsychotics": "Antipsykotika, undtagen lithium",
    "antithrombotics": "Antitrombotiske midler",
    "anxiolytic_benzodiazepines": "Angstdæmpende benzodiazepiner",
    "ascvd": "Aterosklerotisk hjerte-kar-sygdom (iskæmisk hjertesygdom, cerebrovaskulær, PAD)",
    "asthma": "Astma",
    "atrial_fibrillation": "Atrieflimren/-flagren",
    "benzodiazepines_z": "Benzodiazepiner og Z-præparater",
    "bp_diastolic": "Blodtryk, diastolisk",
    "bp_systolic": "Blodtryk, systolisk",
    "broad_spectrum": (
        "Bredspektret antibiotika: fluorquinoloner, penicillinkombinationer, cefalosporiner"
    ),
    "copd": "KOL",
    "cystitis": "Blærebetændelse/anden urinvejsinfektion",
    "dementia": "Demens",
    "diabetes_any": "Diabetes, enhver type",
    "egfr": "eGFR (CKD-EPI), nuværende og erstattet kode",
    "gp_contact": "Kontakt med lægen: konsultation, telefon, e-konsultation, video",
    "hba1c": "HbA1c (mmol/mol)",
    "hba1c_local": "HbA1c (mmol/mol), lokalt alias for NPU27300",
    "heart_failure": "Hjertesvigt",
    "home_visit": "Sygebesøg",
    "hypertension": "Forhøjet blodtryk, med eller uden komplikationer",
    "hypnotics": "Sovemidler: benzodiazepiner og Z-præparater",
    "ihd": "Iskæmisk hjertesygdom",
    "influenza_vaccine": "Influenzavacciner",
    "inhaled_corticosteroids": "Inhalationssteroider, alene eller kombineret",
    "kidney_function": "Nyrefunktion: eGFR eller plasma-kreatinin",
    "ldl": "LDL-kolesterol",
    "lipid_lowering": "Lipidsænkende midler",
    "malignancy_icd10": "Ondartede svulster (ICD-10 kapitel II, C00-C97)",
    "malignancy_icpc2": "Ondartede svulster (ICPC-2-koder for kræft)",
    "nsaids": "NSAID (non-steroide antiinflammatoriske midler)",
    "opioids": "Opioider",
    "pad": "Åreforkalkning/perifer arteriesygdom",
    "penicillin_v": "Phenoxymethylpenicillin (penicillin V)",
    "ras_agents": "Midler med virkning på renin-angiotensin-systemet",
    "saba": "Korttidsvirkende beta-2-agonister (salbutamol, terbutalin)",
    "spirometry": "Spirometri",
    "statins": "Statiner og statinkombinationer",
    "stroke_tia": "Apopleksi og TCI (forbigående iskæmisk anfald)",
    "t1d": "Type 1-diabetes",
    "t2d": "Type 2-diabetes",
    "urti": "Akut øvre luftvejsinfektion",
    "uti_first_line": (
        "Førstevalgsantibiotika ved ukompliceret blærebetændelse: pivmecillinam, "
        "sulfamethizol, nitrofurantoin, trimethoprim"
    ),
}

AREAS: dict[str, dict[Lang, str]] = {
    "antibiotics": {"da": "antibiotika", "en": "antibiotics"},
    "asthma": {"da": "astma", "en": "asthma"},
    "cardiovascular": {"da": "hjerte-kar", "en": "cardiovascular"},
    "copd": {"da": "KOL", "en": "COPD"},
    "diabetes": {"da": "diabetes", "en": "diabetes"},
    "kidney": {"da": "nyrer", "en": "kidney"},
    "mental_health": {"da": "psykisk sygdom", "en": "mental health"},
    "palliative_care": {"da": "palliation", "en": "palliative care"},
    "psychotropics": {"da": "psykofarmaka", "en": "psychotropics"},
    "safety": {"da": "lægemiddelsikkerhed", "en": "medication safety"},
}

SOURCES: dict[str, str] = {
    "DDiD (Dansk Diabetes Database) indicators": "DDiD (Dansk Diabetes Database), indikatorer",
    "DSAM COPD guideline": "DSAM's vejledning om KOL",
    "DSAM depression guideline; HEDIS antidepressant medication management (follow-up principle)": (
        "DSAM's vejledning om depression; HEDIS' mål for antidepressiv behandling "
        "(princippet om opfølgning)"
    ),
    "DSAM guidance on respiratory infections; national antibiotic goals 2017; OpenPrescribing": (
        "DSAM's vejledning om luftvejsinfektioner; nationale mål for antibiotika 2017; "
        "OpenPrescribing"
    ),
    "DSAM type 2 diabetes guideline": "DSAM's vejledning om type 2-diabetes",
    "DSAM type 2 diabetes guideline; Klynge issue 2 (binding definition)": (
        "DSAM's vejledning om type 2-diabetes; Klynge, sag 2 (bindende definition)"
    ),
    "European and DSAM cardiovascular prevention guidelines": (
        "Europæiske og DSAM's vejledninger om forebyggelse af hjerte-kar-sygdom"
    ),
    "KDIGO 2024; DSAM chronic kidney disease guidance": (
        "KDIGO 2024; DSAM's vejledning om kronisk nyresygdom"
    ),
    "Klynge issue 2 (binding definition); Sundhedsstyrelsen": (
        "Klynge, sag 2 (bindende definition); Sundhedsstyrelsen"
    ),
    "National antibiotic goals 2017 (checked); DANMAP": (
        "Nationale mål for antibiotika 2017 (kontrolleret); DANMAP"
    ),
    "OpenPrescribing NSAID safety measures; UK PINCER": (
        "OpenPrescribings mål for sikker brug af NSAID; PINCER (Storbritannien)"
    ),
    "OpenPrescribing SABA measure; GINA": "OpenPrescribings mål for SABA; GINA",
    "OpenPrescribing broad-spectrum measure; DANMAP": (
        "OpenPrescribings mål for bredspektret antibiotika; DANMAP"
    ),
    "OpenPrescribing opioid measures; Sundhedsstyrelsen opioid guidance": (
        "OpenPrescribings mål for opioider; Sundhedsstyrelsens vejledning om opioider"
    ),
    "OpenPrescribing opioid measures; US CDC opioid guideline (concurrent benzodiazepines); "
    "Sundhedsstyrelsen": (
        "OpenPrescribings mål for opioider; CDC's vejledning om opioider (USA; samtidige "
        "benzodiazepiner); Sundhedsstyrelsen"
    ),
    "Sundhedsdatastyrelsen benzodiazepine definitions (checked)": (
        "Sundhedsdatastyrelsens definitioner af benzodiazepiner (kontrolleret)"
    ),
    "Sundhedsministeriet national antibiotic goals 2017; DANMAP": (
        "Sundhedsministeriets nationale mål for antibiotika 2017; DANMAP"
    ),
    "Sundhedsstyrelsen influenza vaccination programme": (
        "Sundhedsstyrelsens program for influenzavaccination"
    ),
    "Sundhedsstyrelsen national dementia action plan": (
        "Sundhedsstyrelsens nationale handlingsplan for demens"
    ),
    "Sundhedsstyrelsen palliative care recommendations; DSAM palliation guideline": (
        "Sundhedsstyrelsens anbefalinger for palliation; DSAM's vejledning om palliation"
    ),
    "Sundhedsstyrelsen/DSAM antibiotic guidance for uncomplicated cystitis; "
    "national antibiotic goals 2017": (
        "Sundhedsstyrelsens og DSAM's vejledning om antibiotika ved ukompliceret "
        "blærebetændelse; nationale mål for antibiotika 2017"
    ),
    "UK QOF AF007; ESC atrial fibrillation guideline (CHA2DS2-VASc)": (
        "QOF AF007 (Storbritannien); ESC's vejledning om atrieflimren (CHA2DS2-VASc)"
    ),
    "UK QOF DM006": "QOF DM006 (Storbritannien)",
    "UK QOF hypertension indicators": "QOF's indikatorer for forhøjet blodtryk (Storbritannien)",
}


def codelist_title(name: str, title: str, lang: Lang) -> str:
    """A code list's title in `lang`: the file's own (English) or its Danish words."""
    return CODELIST_TITLES[name] if lang == "da" else title


def area(code: str, lang: Lang) -> str:
    """A therapeutic area in words (the files hold a code such as `mental_health`)."""
    return AREAS[code][lang]


def source(text: str, lang: Lang) -> str:
    """Where a definition comes from, in `lang` (the files hold the English)."""
    return SOURCES[text] if lang == "da" else text
