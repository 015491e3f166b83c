"""The publication reader's error messages, in Danish and English.

A national body reads these from `klynge national combine` (a region's
publication refused), and a region's operator when a national publication is
refused; key names, formats and values quoted from the file stay as written.
"""

from __future__ import annotations

from common.i18n import register, speaker

register(
    {
        "publication.err.text": {"en": "expected text", "da": "forventede tekst"},
        "publication.err.iso_date": {
            "en": "not an ISO date (YYYY-MM-DD)",
            "da": "ikke en ISO-dato (ÅÅÅÅ-MM-DD)",
        },
        "publication.err.object": {"en": "expected an object", "da": "forventede et objekt"},
        "publication.err.lacks": {"en": "lacks {name}", "da": "mangler {name}"},
        "publication.err.unknown_field": {
            "en": "has unknown field {name}",
            "da": "har det ukendte felt {name}",
        },
        "publication.err.hashes": {
            "en": "expected a list of at most {count} hashes",
            "da": "forventede en liste med højst {count} hashværdier",
        },
        "publication.err.hash": {
            "en": "not a SHA-256 hash in hex",
            "da": "ikke en SHA-256-hashværdi i hex",
        },
        "publication.err.format": {
            "en": "expected {expected}, got {got}",
            "da": "forventede {expected}, fik {got}",
        },
        "publication.err.non_empty": {
            "en": "expected a non-empty list",
            "da": "forventede en ikke-tom liste",
        },
        "publication.err.untrusted_region": {
            "en": "region {region} is not in the trust file",
            "da": "regionen {region} står ikke i tillidsfilen",
        },
        "publication.err.head": {
            "en": "{reason} (the trust file's key for {region})",
            "da": "{reason} (tillidsfilens nøgle for {region})",
        },
        "publication.err.not_release": {
            "en": "a {kind} entry is not a release",
            "da": "en post af typen {kind} er ikke en udgivelse",
        },
        "publication.err.is_expected": {
            "en": "is {got}, expected {expected}",
            "da": "er {got}, forventede {expected}",
        },
        "publication.err.below_region": {
            "en": "is {got}, expected {expected} (nothing below region level is accepted)",
            "da": "er {got}, forventede {expected} (intet under regionsniveau modtages)",
        },
        "publication.err.recipient": {
            "en": "the manifest does not name {nation} as a recipient of region-level releases",
            "da": "manifestet nævner ikke {nation} som modtager af udgivelser på regionsniveau",
        },
        "publication.err.release_id": {
            "en": "is not the release the entry names",
            "da": "er ikke den udgivelse, posten nævner",
        },
        "publication.err.unbound": {
            "en": "missing: this release was logged before releases were bound to their content",
            "da": "mangler: udgivelsen blev logget, før udgivelser blev bundet til deres indhold",
        },
        "publication.err.canonical": {
            "en": "has no canonical form ({reason})",
            "da": "har ingen kanonisk form ({reason})",
        },
        "publication.err.content": {
            "en": "content does not match the log (hash {actual}…, "
            "the log's entry {index} binds {bound}…)",
            "da": "indholdet svarer ikke til loggen (hash {actual}…, "
            "loggens post {index} binder {bound}…)",
        },
        "publication.err.not_in_head": {
            "en": "entry {index} is not in the log's head: {reason}",
            "da": "post {index} er ikke med i loggens hoved: {reason}",
        },
        "publication.err.signer": {
            "en": "signed by key {got}, not the national key {expected}",
            "da": "underskrevet med nøglen {got}, ikke den nationale nøgle {expected}",
        },
        "publication.err.nation_regions": {
            "en": "expected objects for nation and regions",
            "da": "forventede objekter for nation og regions",
        },
        "publication.err.region_documents": {
            "en": "expected an object of release documents",
            "da": "forventede et objekt med udgivelsesdokumenter",
        },
        "publication.err.signature": {
            "en": "does not verify (altered or forged)",
            "da": "kan ikke verificeres (ændret eller forfalsket)",
        },
        "publication.err.manifest_hash": {
            "en": "combined under manifest {combined}…, this region runs {ours}…",
            "da": "kombineret under manifest {combined}…, denne region kører {ours}…",
        },
    }
)


say = speaker("publication.err")
