"""Danish and English names and noise statements of the release mechanisms.

Each mechanism states its own name, parameters and noise for people
(`Release.title`, `parameter_rows`, `noise_summary`); the audit report only
places them, so it never has to ask which mechanism it is looking at.
"""

from __future__ import annotations

from common.i18n import Lang, register

MESSAGES: dict[str, dict[Lang, str]] = {
    "release.mech.distributed_skellam": {
        "da": "Fordelt Skellam-støj over SecAgg+ (hver praksis lægger Poisson(λ) − Poisson(λ) til)",
        "en": "Distributed Skellam noise over SecAgg+ (each practice adds Poisson(λ) − Poisson(λ))",
    },
    "release.mech.local_discrete_laplace": {
        "da": "Lokal DP: diskret Laplace (OpenDP) på hver praksis' vektor",
        "en": "Local DP: discrete Laplace (OpenDP) on each practice's vector",
    },
    "release.mech.local_discrete_gaussian": {
        "da": "Lokal DP: diskret Gauss (OpenDP) på hver praksis' vektor",
        "en": "Local DP: discrete Gaussian (OpenDP) on each practice's vector",
    },
    "release.mu": {
        "da": "Skellam-varians μ i summen (vægt 1)",
        "en": "Skellam variance μ in the sum (weight 1)",
    },
    "release.lambda": {
        "da": "λ pr. praksis ved {n} overlevende",
        "en": "λ per practice at {n} survivors",
    },
    "release.scale": {"da": "Støjskala", "en": "Noise scale"},
    "release.noise.header_block": {"da": "Blok", "en": "Block"},
    "release.noise.header_sd": {
        "da": "Støj-SD pr. værdi i en klyngesum (mindst)",
        "en": "Noise SD per value in a cluster sum (at least)",
    },
    "release.noise.header_typical": {
        "da": "Typisk klynge ({n} praksis, alle overlever)",
        "en": "Typical cluster ({n} practices, all survive)",
    },
    "release.noise.weight": {"da": "vægt {w}", "en": "weight {w}"},
    "release.noise.block.list_size": {"da": "listestørrelse", "en": "list size"},
    "release.noise.local": {
        "da": "Støjens SD pr. værdi for hver praksis: {sd}",
        "en": "Noise SD per value for each practice: {sd}",
    },
    "release.mech.none": {
        "da": "Ingen: præcise summer uden støj, INGEN differential privacy (kun verifikation)",
        "en": "None: exact sums without noise, NO differential privacy (verification only)",
    },
    "release.noise.none": {
        "da": "Ingen støj: støj-SD er 0, og de udgivne summer er præcise.",
        "en": "No noise: the noise SD is 0 and the released sums are exact.",
    },
}

register(MESSAGES)
