"""Danish and English text for why the secure-aggregation core refused something.

A practice reads these when its agent leaves a round, so each reason exists in
both languages, side by side for the translator. Errors carry a rendered
reason (`reason(key, ...)`) inside their own bilingual template
(`protocols.errors`). Reasons raised only by the coordinator or by message
decoding are technical details for operators and stay in English.
"""

from __future__ import annotations

from common.i18n import Lang, register, t

_PREFIX = "secagg.reason."

_REASONS: dict[str, dict[Lang, str]] = {
    # announcement and registry
    "not_announced": {
        "en": "this practice is not among the announced participants",
        "da": "denne praksis er ikke blandt de annoncerede deltagere",
    },
    "announced_other_key": {
        "en": "this practice was announced with an identity key that is not its own",
        "da": "denne praksis blev annonceret med en identitetsnøgle, der ikke er dens egen",
    },
    "not_in_registry": {
        "en": "not in the signed practice registry",
        "da": "findes ikke i det signerede praksisregister",
    },
    "registry_key_differs": {
        "en": "the announced identity key differs from the signed practice registry",
        "da": "den annoncerede identitetsnøgle afviger fra det signerede praksisregister",
    },
    "vector_too_long": {
        "en": "a vector of {length} values is longer than this practice allows ({limit})",
        "da": "en vektor med {length} værdier er længere, end denne praksis tillader ({limit})",
    },
    "already_joined": {
        "en": "this practice already joined a round with this agent",
        "da": "denne praksis deltager allerede i en runde med denne agent",
    },
    # keys and shares
    "advertised_omits_self": {
        "en": "the list of practices with keys omits this practice",
        "da": "listen over praksisser med nøgler udelader denne praksis",
    },
    "graph_nonces_malformed": {
        "en": "the graph nonces are not one 16-byte value per practice that advertised keys",
        "da": "grafens nonces er ikke én 16-byte-værdi pr. praksis, der har annonceret nøgler",
    },
    "graph_nonce_altered": {
        "en": "a graph nonce differs from the one its practice signed (the graph was altered)",
        "da": "en graf-nonce afviger fra den, dens praksis har signeret (grafen er manipuleret)",
    },
    "keys_not_neighbours": {
        "en": "the keys delivered are not exactly those of this practice's neighbours",
        "da": "de leverede nøgler er ikke præcis nøglerne fra denne praksis' naboer",
    },
    "round_keys": {
        "en": "its round keys",
        "da": "dens nøgler til runden",
    },
    "unusable_key": {
        "en": "unusable X25519 key from {participant}",
        "da": "ubrugelig X25519-nøgle fra {participant}",
    },
    "share_from_stranger": {
        "en": "a key share from {participant}, who is not a neighbour",
        "da": "en nøgleandel fra {participant}, som ikke er nabo",
    },
    "two_shares": {
        "en": "two key shares from {participant}",
        "da": "to nøgleandele fra {participant}",
    },
    "bad_share": {
        "en": "a malformed key share from {participant}",
        "da": "en fejlformateret nøgleandel fra {participant}",
    },
    "too_few_shares": {
        "en": "only {got} of {total} neighbours' key shares arrived; at least t={t} are required",
        "da": "kun {got} af {total} naboers nøgleandele ankom; mindst t={t} kræves",
    },
    # the practice's own vector
    "input_dtype": {
        "en": "expected integer counts, got {dtype}",
        "da": "forventede heltal (optællinger), fik {dtype}",
    },
    "input_shape": {
        "en": "expected a vector of length {length}, got shape {shape}",
        "da": "forventede en vektor med længden {length}, fik formen {shape}",
    },
    "input_range": {
        "en": "values above the int64 range",
        "da": "værdier over int64-intervallet",
    },
    "input_second": {
        "en": "a different vector was already masked and sent in this round; "
        "sending a second would reveal the difference",
        "da": "en anden vektor er allerede maskeret og sendt i denne runde; "
        "at sende endnu en ville afsløre forskellen",
    },
    "shares_not_arrived": {
        "en": "the key shares of this stage have not arrived",
        "da": "nøgleandelene for denne fase er ikke ankommet",
    },
    # survivor set and unmasking
    "second_survivor_set": {
        "en": "asked to sign a second, different survivor set",
        "da": "bedt om at signere en anden, afvigende liste over overlevende",
    },
    "survivors_unknown": {
        "en": "the survivor set names practices that never advertised keys",
        "da": "listen over overlevende nævner praksisser, der aldrig annoncerede nøgler",
    },
    "excluded_self": {
        "en": "the coordinator lists this practice as dropped although it sent its masked input",
        "da": "koordinatoren angiver denne praksis som frafaldet, "
        "selv om den har sendt sit maskerede input",
    },
    "too_few_signatures": {
        "en": "only {valid} neighbours signed the same survivor set "
        "({rejected} signatures rejected); t={t} are required",
        "da": "kun {valid} naboer signerede den samme liste over overlevende "
        "({rejected} signaturer afvist); t={t} kræves",
    },
    # message flow
    "abandoned": {
        "en": "this practice abandoned the round",
        "da": "denne praksis har forladt runden",
    },
    "other_round": {
        "en": "belongs to another round (old or replayed)",
        "da": "hører til en anden runde (gammel eller genafspillet)",
    },
    "other_recipient": {
        "en": "addressed to another practice",
        "da": "adresseret til en anden praksis",
    },
    "wrong_stage": {
        "en": "stage {got} does not match this practice's stage {stage}",
        "da": "fasen {got} passer ikke med denne praksis' fase {stage}",
    },
    "already_answered": {
        "en": "this practice already answered",
        "da": "denne praksis har allerede svaret",
    },
    "not_accepted": {
        "en": "an agent does not accept {kind}",
        "da": "en agent modtager ikke {kind}",
    },
    "no_announcement": {
        "en": "no announcement accepted yet",
        "da": "ingen annoncering accepteret endnu",
    },
    "bad_indices": {
        "en": "participant indices must be sorted, distinct and announced",
        "da": "deltagerindeks skal være sorterede, forskellige og annoncerede",
    },
    # parameters
    "below_floor": {
        "en": "{value} is below the privacy floor {floor}",
        "da": "{value} er under privatlivsgulvet {floor}",
    },
    "above_limit": {
        "en": "{value} exceeds {limit}",
        "da": "{value} overstiger {limit}",
    },
    "not_integer": {
        "en": "must be an integer",
        "da": "skal være et heltal",
    },
    "out_of_range": {
        "en": "must be in {low}..{high}",
        "da": "skal ligge i {low}..{high}",
    },
    "k_even": {
        "en": "must be even when the neighbour graph is not complete",
        "da": "skal være lige, når nabografen ikke er komplet",
    },
    "t_above_degree": {
        "en": "{t} exceeds the {degree} neighbours per practice",
        "da": "{t} overstiger de {degree} naboer pr. praksis",
    },
    "t_not_majority": {
        "en": "{t} is not a majority of the {degree} neighbours; "
        "a coordinator could then collect both shares of a practice",
        "da": "{t} er ikke et flertal af de {degree} naboer; "
        "en koordinator kunne så indsamle begge andele for en praksis",
    },
    "m_above_n": {
        "en": "{m} exceeds the {n} participants",
        "da": "{m} overstiger de {n} deltagere",
    },
    # registry, signed documents and key files
    "not_utf8": {"en": "not UTF-8", "da": "ikke UTF-8"},
    "not_json": {"en": "not valid JSON ({detail})", "da": "ikke gyldig JSON ({detail})"},
    "not_object": {"en": "must be a JSON object", "da": "skal være et JSON-objekt"},
    "keys_mismatch": {
        "en": "missing keys {missing}, unknown keys {unknown}",
        "da": "manglende nøgler {missing}, ukendte nøgler {unknown}",
    },
    "expected_value": {"en": "expected {expected}", "da": "forventede {expected}"},
    "unsupported_version": {
        "en": "unsupported version {version}",
        "da": "ikke-understøttet version {version}",
    },
    "non_empty_text": {
        "en": "must be a non-empty string",
        "da": "skal være en ikke-tom tekst",
    },
    "text": {"en": "must be a string", "da": "skal være en tekst"},
    "date": {"en": "must be a date YYYY-MM-DD", "da": "skal være en dato ÅÅÅÅ-MM-DD"},
    "list": {"en": "must be a list", "da": "skal være en liste"},
    "entry_keys": {
        "en": "needs {required}, may have {optional}",
        "da": "kræver {required}, kan have {optional}",
    },
    "practice_id_format": {
        "en": "1-64 letters, digits, '.', '_' or '-'",
        "da": "1-64 bogstaver, cifre, '.', '_' eller '-'",
    },
    "listed_twice": {
        "en": "practice {practice_id} listed twice",
        "da": "praksis {practice_id} står der to gange",
    },
    "shared_key": {
        "en": "same identity key as practice {practice_id}",
        "da": "samme identitetsnøgle som praksis {practice_id}",
    },
    "unreadable": {"en": "cannot be read ({detail})", "da": "kan ikke læses ({detail})"},
    "signature_invalid": {
        "en": "the signature does not verify under the trusted authority key",
        "da": "signaturen kan ikke verificeres med den betroede myndigheds nøgle",
    },
    "hex_length": {
        "en": "expected {expected} hexadecimal characters, got {got}",
        "da": "forventede {expected} hexadecimale tegn, fik {got}",
    },
    "not_hex": {"en": "not hexadecimal", "da": "ikke hexadecimal"},
    "not_ed25519_public": {
        "en": "not a valid Ed25519 public key",
        "da": "ikke en gyldig offentlig Ed25519-nøgle",
    },
}

register({_PREFIX + key: texts for key, texts in _REASONS.items()})


def reason(key: str, **values: object) -> str:
    """The reason `key` in the current language, formatted with `values`."""
    return t(_PREFIX + key, None, **values)
