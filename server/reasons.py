"""Why a round ended or a trigger was refused: recorded in English, read in Danish.

The store and the transparency log keep a round's reason as English text
(stable, searchable, what the audit quotes). Every reason the coordinator
records is one of the templates below or a secure-aggregation error
(`protocols/errors.py`); `in_words` renders a recorded reason in the reader's
language, so `klynge server status` never shows an exception class or code.
"""

from __future__ import annotations

from common.i18n import Lang, register, reword, t

register(
    {
        "server.reason.restarted": {
            "en": "coordinator restarted",
            "da": "koordinatoren blev genstartet",
        },
        "server.reason.stopped": {"en": "coordinator stopped", "da": "koordinatoren blev stoppet"},
        "server.reason.too_few": {
            "en": "too few practices connected ({n}): {detail}",
            "da": "for få praksisser forbundet ({n}): {detail}",
        },
        "server.reason.log_write": {
            "en": "the coordinator could not write its log: {error}",
            "da": "koordinatoren kunne ikke skrive sin log: {error}",
        },
        "server.reason.not_opened": {
            "en": "the round could not be recorded as opened: {error}",
            "da": "runden kunne ikke registreres som åbnet: {error}",
        },
        "server.reason.not_recorded": {
            "en": "the release could not be recorded ({error}); nothing was released",
            "da": "udgivelsen kunne ikke registreres ({error}); intet blev udgivet",
        },
        "server.reason.cannot_meet": {
            "en": "{n} cannot meet the minimum",
            "da": "{n} kan ikke nå minimum",
        },
        "server.reason.implausible": {
            "en": "implausible sum ({n} flags; first: {first})",
            "da": "usandsynlig sum ({n} markeringer; første: {first})",
        },
        # Why `klynge server trigger` was refused (the coordinator's answer).
        "server.refused.unknown_cluster": {
            "en": "unknown cluster {cluster}; the federation has {clusters}",
            "da": "ukendt klynge {cluster}; føderationen har {clusters}",
        },
        "server.refused.unknown_region": {
            "en": "unknown region {region}; the federation has {regions}",
            "da": "ukendt region {region}; føderationen har {regions}",
        },
        "server.refused.no_region_round": {
            "en": "the manifest runs no region-wide round on {date} (its dates: {dates})",
            "da": "manifestet har ingen regionsrunde pr. {date} (dens datoer: {dates})",
        },
        "server.refused.not_scheduled": {
            "en": "{date} is not a reference date of the manifest's schedule ({dates})",
            "da": "{date} er ikke en referencedato i manifestets plan ({dates})",
        },
        "server.refused.running": {
            "en": "a round for {cluster} on {date} is already running ({round})",
            "da": "en runde for {cluster} pr. {date} kører allerede ({round})",
        },
        "server.refused.pending": {
            "en": "a round for {cluster} on {date} is already waiting to start",
            "da": "en runde for {cluster} pr. {date} venter allerede på at starte",
        },
        "server.refused.released": {
            "en": "{cluster} on {date} is already released (round {round})",
            "da": "{cluster} pr. {date} er allerede udgivet (runde {round})",
        },
        "server.refused.exhausted": {
            "en": "{cluster} on {date} has had its {n} attempts",
            "da": "{cluster} pr. {date} har brugt sine {n} forsøg",
        },
        "server.refused.paused": {
            "en": "no round opens while storage fails: {error}",
            "da": "ingen runde åbner, mens lageret svigter: {error}",
        },
        "server.refused.bad_request": {
            "en": "the request could not be read: {error}",
            "da": "bestillingen kunne ikke læses: {error}",
        },
    }
)

_RECORDED = ("server.reason.", "secagg.")


def recorded(key: str, **fields: object) -> str:
    """The English text the store and log keep for reason `key`."""
    return t(key, "en", **fields)


def in_words(reason: str, lang: Lang | None = None) -> str:
    """A recorded reason in the reader's language (unknown text unchanged)."""
    return reword(reason, _RECORDED, lang)
