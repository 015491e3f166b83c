"""The manifest reader's error messages, in Danish and English.

A region's IT operator or a practice reads these when a manifest is refused,
so they say what is wrong at which key in the reader's language; the key
names and values stay as they are written in the file.
"""

from __future__ import annotations

from common.i18n import register, speaker

register(
    {
        "manifest.err.before_valid_from": {
            "en": "is before valid_from",
            "da": "ligger før valid_from",
        },
        "manifest.err.after_valid_until": {
            "en": "is after valid_until",
            "da": "ligger efter valid_until",
        },
        "manifest.err.increasing": {
            "en": "must be strictly increasing (no repeats)",
            "da": "skal være stigende (ingen gentagelser)",
        },
        "manifest.err.outside_validity": {
            "en": "{day} lies outside the validity period {start}..{end}",
            "da": "{day} ligger uden for gyldighedsperioden {start}..{end}",
        },
        "manifest.err.frequency": {
            "en": "{count} dates in {year} exceed the {frequency} frequency",
            "da": "{count} datoer i {year} er flere, end hyppigheden {frequency} tillader",
        },
        "manifest.err.none_epsilon": {
            "en": 'kind = "none" adds no noise; remove it',
            "da": 'kind = "none" tilføjer ingen støj; fjern den',
        },
        "manifest.err.not_a_reference_date": {
            "en": "{day} is not one of the schedule's reference dates",
            "da": "{day} er ikke en af tidsplanens referencedatoer",
        },
        "manifest.err.recipient": {
            "en": "unknown recipient; use {allowed}",
            "da": "ukendt modtager; brug {allowed}",
        },
        "manifest.err.level": {
            "en": "unknown level {level}; use {allowed}",
            "da": "ukendt niveau {level}; brug {allowed}",
        },
        "manifest.err.practice_level": {
            "en": "practice-level values are never released under distributed DP; "
            "only the sum over at least the minimum number of practices leaves",
            "da": "værdier for den enkelte praksis udgives aldrig under distribueret DP; "
            "kun summen over mindst det mindste antal praksisser forlader dem",
        },
        "manifest.err.no_recipient": {
            "en": "at least one recipient is required",
            "da": "der skal være mindst én modtager",
        },
        "manifest.err.measure": {
            "en": "{measure} is not one of the manifest's indicators or survey measures",
            "da": "{measure} er ikke en af manifestets indikatorer eller spørgeskemamål",
        },
        "manifest.err.clusters_or_region": {
            "en": 'give either clusters = [...] or region = "...", not both',
            "da": 'angiv enten clusters = [...] eller region = "...", ikke begge',
        },
        "manifest.err.region": {
            "en": "unknown region {region}; use {allowed}",
            "da": "ukendt region {region}; brug {allowed}",
        },
        "manifest.err.region_level": {
            "en": 'the region level needs region = "..." instead of clusters',
            "da": 'regionsniveauet kræver region = "..." i stedet for clusters',
        },
        "manifest.err.no_partners": {
            "en": "leave the section out when there are no partners",
            "da": "udelad afsnittet, når der ingen partnere er",
        },
        "manifest.err.identity_twice": {
            "en": "identity {identity} is declared twice",
            "da": "identiteten {identity} er angivet to gange",
        },
        "manifest.err.dropout": {"en": "must be in [0, 1)", "da": "skal ligge i [0; 1)"},
        "manifest.err.one_of_noise": {
            "en": "set exactly one of epsilon_per_release, mu (Skellam) or scale (local DP)",
            "da": "angiv præcis én af epsilon_per_release, mu (Skellam) og scale (lokal DP)",
        },
        "manifest.err.mu_local": {
            "en": "mu is the Skellam variance; local mechanisms take scale",
            "da": "mu er Skellam-variansen; lokale mekanismer bruger scale",
        },
        "manifest.err.scale_distributed": {
            "en": "scale is for local mechanisms; distributed Skellam takes mu",
            "da": "scale er til lokale mekanismer; distribueret Skellam bruger mu",
        },
        "manifest.err.at_least_min_cell": {
            "en": "must be at least min_cell",
            "da": "skal være mindst min_cell",
        },
        "manifest.err.threshold": {
            "en": "must exceed half the neighbours and not exceed them ({neighbours}); "
            "otherwise a server could collect both kinds of share for one practice",
            "da": "skal være over halvdelen af naboerne og højst alle ({neighbours}); "
            "ellers kunne en server samle begge slags andele for én praksis",
        },
        "manifest.err.min_survivors": {
            "en": "must be at least disclosure.min_practices ({minimum}), "
            "which it enforces cryptographically",
            "da": "skal være mindst disclosure.min_practices ({minimum}), "
            "som den håndhæver kryptografisk",
        },
        "manifest.err.old_format": {
            "en": "{found} manifests released age/sex strata and (numerator, denominator) in "
            "every cluster round; this version reads only the utility-first layout of "
            "{expected}: make a new manifest with `klynge manifest init`",
            "da": "{found}-manifester udgav alders- og kønsgrupper og (tæller, nævner) i hver "
            "klyngerunde; denne version læser kun {expected}: lav et nyt manifest med "
            "`klynge manifest init`",
        },
        "manifest.err.format": {
            "en": "unsupported format {found}; this version reads {expected}",
            "da": "ukendt format {found}; denne version læser {expected}",
        },
        "manifest.err.no_indicator": {
            "en": "at least one indicator is required",
            "da": "der skal være mindst én indikator",
        },
        "manifest.err.indicator_twice": {
            "en": "indicator {id} is listed twice",
            "da": "indikatoren {id} står der to gange",
        },
        "manifest.err.codelist_twice": {
            "en": "code list {name} is listed twice",
            "da": "kodelisten {name} står der to gange",
        },
        "manifest.err.survey_no_measures": {
            "en": "a survey releases at least one measure",
            "da": "et spørgeskema udgiver mindst ét mål",
        },
        "manifest.err.no_surveys": {
            "en": "leave the section out when no survey is released",
            "da": "udelad afsnittet, når intet spørgeskema udgives",
        },
        "manifest.err.survey_mechanism": {
            "en": "survey measures need per-cell noise weights, which {mechanism} does not "
            "have; use distributed_skellam",
            "da": "spørgeskemamål kræver støjvægte pr. celle, som {mechanism} ikke har; "
            "brug distributed_skellam",
        },
        "manifest.err.survey_twice": {
            "en": "{id} is listed twice or is also an indicator's id",
            "da": "{id} står der to gange eller er også en indikators id",
        },
        "manifest.err.partner_is_practice": {
            "en": "{identity} is a practice's identity; a partner's certificate names "
            "urn:klynge:{role}:<id>, so no practice can fetch as a partner",
            "da": "{identity} er en praksis' identitet; en partners certifikat nævner "
            "urn:klynge:{role}:<id>, så ingen praksis kan hente som partner",
        },
        "manifest.err.partner_other_id": {
            "en": "names partner {named!r}, not this partner's id {id!r} (the certificate the "
            "region issues for an id carries exactly that id)",
            "da": "nævner partneren {named!r}, ikke denne partners id {id!r} (certifikatet, "
            "regionen udsteder til et id, bærer netop det id)",
        },
        "manifest.err.partner_level": {
            "en": "a partner receives {levels}, not {level!r}",
            "da": "en partner modtager {levels}, ikke {level!r}",
        },
        "manifest.err.partner_practice_level": {
            "en": "; no figure of one practice leaves it",
            "da": "; intet tal for én praksis forlader den",
        },
        "manifest.err.partner_cluster": {
            "en": "unknown cluster {cluster!r}",
            "da": "ukendt klynge {cluster!r}",
        },
        "manifest.err.partner_region": {
            "en": "no cluster of the federation is in {region}",
            "da": "ingen af føderationens klynger ligger i {region}",
        },
        "manifest.err.partner_identity": {
            "en": "must be urn:klynge:{role}:<id> (1-64 letters, digits, ._-)",
            "da": "skal være urn:klynge:{role}:<id> (1-64 bogstaver, cifre, ._-)",
        },
        "manifest.err.delta_max": {
            "en": "must be ≤ {max}; larger δ lets rare records leak",
            "da": "skal være ≤ {max}; et større δ lader sjældne poster slippe ud",
        },
        "manifest.err.delta_year_max": {
            "en": "must be ≤ {max}",
            "da": "skal være ≤ {max}",
        },
        "manifest.err.purpose": {
            "en": 'must be "{purpose}", got {got}',
            "da": 'skal være "{purpose}", ikke {got}',
        },
        "manifest.err.purpose_kind": {
            "en": 'only kind = "none" takes a purpose (it must be "verification")',
            "da": 'kun kind = "none" har et formål (det skal være "verification")',
        },
        "manifest.err.no_dp_table": {
            "en": 'kind = "none" adds no noise, so it takes no [dp] table; remove it',
            "da": 'kind = "none" tilføjer ingen støj og har derfor ingen [dp]-tabel; fjern den',
        },
    }
)


say = speaker("manifest.err")
