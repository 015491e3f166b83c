"""What the coordinator's store says when it cannot be opened, in Danish and English.

A region's IT operator reads these from `klynge server status` or `run`, so
they say what is wrong with the file and what to do in the reader's language.
SQLite's own words stay as SQLite wrote them, in quotes.
"""

from __future__ import annotations

from common.i18n import register, speaker

register(
    {
        "store.err.disk_full": {
            "en": "the disk is full (SQLite: '{detail}'); nothing was written",
            "da": "disken er fuld (SQLite: '{detail}'); intet blev skrevet",
        },
        "store.err.damaged": {
            "en": "cannot be read or written (SQLite: '{detail}'); restore the store from a backup",
            "da": "kan ikke læses eller skrives (SQLite: '{detail}'); "
            "gendan lageret fra en sikkerhedskopi",
        },
        "store.err.old_sqlite": {
            "en": "SQLite {version} is older than 3.37",
            "da": "SQLite {version} er ældre end 3.37",
        },
        "store.err.not_a_file": {"en": "is not a file", "da": "er ikke en fil"},
        "store.err.missing": {
            "en": "no store here: has the coordinator run with this server.toml?",
            "da": "intet lager her: har koordinatoren kørt med denne server.toml?",
        },
        "store.err.unreadable": {
            "en": "not a readable Klynge store (SQLite: '{detail}'); restore it from a backup",
            "da": "ikke et læsbart Klynge-lager (SQLite: '{detail}'); "
            "gendan det fra en sikkerhedskopi",
        },
        "store.err.unreadable_because": {
            "en": "not a readable Klynge store: {reason}",
            "da": "ikke et læsbart Klynge-lager: {reason}",
        },
        "store.err.not_a_store": {
            "en": "not a Klynge store: {reason}",
            "da": "ikke et Klynge-lager: {reason}",
        },
        "store.err.no_wal": {
            "en": "cannot switch to WAL mode (got {mode})",
            "da": "kan ikke skifte til WAL-tilstand (fik {mode})",
        },
        "store.err.integrity": {
            "en": "failed SQLite's integrity check ('{detail}'); restore it from a backup",
            "da": "bestod ikke SQLites integritetstjek ('{detail}'); "
            "gendan det fra en sikkerhedskopi",
        },
        "store.err.newer_schema": {
            "en": "schema version {current} is newer than this klynge ({supported}); upgrade",
            "da": "skemaversion {current} er nyere end denne klynge ({supported}); opgrader",
        },
        "store.err.migration": {
            "en": "migration {version} failed: {reason}",
            "da": "migrering {version} mislykkedes: {reason}",
        },
    }
)


say = speaker("store.err")
