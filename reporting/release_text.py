"""The release reader's error messages, in Danish and English.

A practice, a region or a national office reads these when a fetched release
or a results.json is refused, so they say what is wrong at which key in the
reader's language; key names, codes and the values quoted from the file stay
as they are written in it.
"""

from __future__ import annotations

from common.i18n import register, speaker

register(
    {
        "release.err.object": {
            "en": "expected an object, got {got}",
            "da": "forventede et objekt, fik {got}",
        },
        "release.err.missing": {
            "en": "required field is missing",
            "da": "påkrævet felt mangler",
        },
        "release.err.kind": {
            "en": "expected {kind}, got {got}",
            "da": "forventede {kind}, fik {got}",
        },
        "release.err.number_or_null": {
            "en": "expected a number or null, got {got}",
            "da": "forventede et tal eller null, fik {got}",
        },
        "release.err.whole_or_null": {
            "en": "expected a whole number or null, got {got}",
            "da": "forventede et heltal eller null, fik {got}",
        },
        "release.err.at_least": {
            "en": "expected at least {least}, got {got}",
            "da": "forventede mindst {least}, fik {got}",
        },
        "release.err.numbers": {
            "en": "expected a list of numbers, got {got}",
            "da": "forventede en liste af tal, fik {got}",
        },
        "release.err.number": {
            "en": "expected a number, got {got}",
            "da": "forventede et tal, fik {got}",
        },
        "release.err.reasons": {
            "en": "expected an object of reasons",
            "da": "forventede et objekt med begrundelser",
        },
        "release.err.interval": {
            "en": "expected [low, high] or null, got {got}",
            "da": "forventede [nedre, øvre] eller null, fik {got}",
        },
        "release.err.interval_order": {
            "en": "expected 0 ≤ low ≤ high, got {got}",
            "da": "forventede 0 ≤ nedre ≤ øvre, fik {got}",
        },
        "release.err.interval_suppressed": {
            "en": "an interval is given for a suppressed rate",
            "da": "der er angivet et interval for en tilbageholdt andel",
        },
        "release.err.bool": {"en": "expected true or false", "da": "forventede true eller false"},
        "release.err.cells": {
            "en": "expected an object of whole numbers",
            "da": "forventede et objekt med heltal",
        },
        "release.err.cell_sds": {
            "en": "expected an object of standard deviations",
            "da": "forventede et objekt med standardafvigelser",
        },
        "release.err.list": {
            "en": "expected a list, got {got}",
            "da": "forventede en liste, fik {got}",
        },
        "release.err.indicator_keys": {
            "en": "expected indicator ids as keys",
            "da": "forventede indikator-id'er som nøgler",
        },
        "release.err.negative_bin": {
            "en": "a bin holds a negative number of practices",
            "da": "et interval i histogrammet rummer et negativt antal praksisser",
        },
        "release.err.edges": {
            "en": "expected {count} equal-width edges over [0, 1]",
            "da": "forventede {count} ligeligt fordelte grænser over [0, 1]",
        },
        "release.err.non_negative": {
            "en": "expected ≥ 0, got {got}",
            "da": "forventede ≥ 0, fik {got}",
        },
        "release.err.deciles": {
            "en": "expected 9 rising rates or null",
            "da": "forventede 9 stigende andele eller null",
        },
        "release.err.deciles_given": {
            "en": "deciles are given, so must be null",
            "da": "skal være null, da decilerne er angivet",
        },
        "release.err.withheld": {
            "en": "expected one of {allowed} when deciles is null, got {got}",
            "da": "forventede en af {allowed}, når deciles er null, fik {got}",
        },
        "release.err.one_of": {
            "en": "expected one of {allowed}, got {got}",
            "da": "forventede en af {allowed}, fik {got}",
        },
        "release.err.one_of_or_null": {
            "en": "expected one of {allowed} or null, got {got}",
            "da": "forventede en af {allowed} eller null, fik {got}",
        },
        "release.err.interval_holds": {
            "en": "the interval must hold the value",
            "da": "intervallet skal indeholde værdien",
        },
        "release.err.value_interval": {
            "en": "a value needs its interval",
            "da": "en værdi skal have sit interval",
        },
        "release.err.per_cell_whole": {
            "en": "expected whole numbers per cell",
            "da": "forventede heltal for hver celle",
        },
        "release.err.per_cell_number": {
            "en": "expected a number per cell",
            "da": "forventede et tal for hver celle",
        },
        "release.err.period": {
            "en": "expected [first, last] ISO dates, got {got}",
            "da": "forventede [første, sidste] ISO-datoer, fik {got}",
        },
        "release.err.iso_dates": {
            "en": "not ISO dates (YYYY-MM-DD)",
            "da": "ikke ISO-datoer (ÅÅÅÅ-MM-DD)",
        },
        "release.err.iso_date": {
            "en": "not an ISO date (YYYY-MM-DD)",
            "da": "ikke en ISO-dato (ÅÅÅÅ-MM-DD)",
        },
        "release.err.first_after_last": {
            "en": "the first day is after the last",
            "da": "den første dag ligger efter den sidste",
        },
        "release.err.version": {
            "en": "expected a version ≥ 1, got {got}",
            "da": "forventede en version ≥ 1, fik {got}",
        },
        "release.err.filed_under": {
            "en": "filed under {implied}, but says {got}",
            "da": "arkiveret under {implied}, men angiver {got}",
        },
        "release.err.release_object": {
            "en": "a release must be a JSON object",
            "da": "en udgivelse skal være et JSON-objekt",
        },
        "release.err.round_ids": {
            "en": "expected a list of round ids",
            "da": "forventede en liste af runde-id'er",
        },
        "release.err.mechanism": {
            "en": "expected a mechanism name, got {got}",
            "da": "forventede navnet på en mekanisme, fik {got}",
        },
        "release.err.filed_scope": {
            "en": "filed as a {scope} round's release, but says {got}",
            "da": "arkiveret som udgivelse fra en runde af typen {scope}, men angiver {got}",
        },
        "release.err.results_object": {
            "en": "results must be a JSON object",
            "da": "resultaterne skal være et JSON-objekt",
        },
        "release.err.history": {
            "en": "expected a list of earlier periods at the top only",
            "da": "forventede en liste af tidligere perioder, og kun på øverste niveau",
        },
        "release.err.dropouts": {
            "en": "expected an object of practice → stage",
            "da": "forventede et objekt med praksis → trin",
        },
    }
)


say = speaker("release.err")


def got(value: object) -> str:
    """A value quoted from the file, cut short: it came from another party."""
    return f"{value!r:.40}"
