"""The shape of a synthetic federation: practices, list sizes, clusters and regions.

Figures (INDICATORS.md): about 1,600 patients per full-time GP (Nordjylland
1,714, Midtjylland 1,563; solo practices 1,753, partnerships 1,614); about
1.8 GPs per practice with 27 % of GPs working solo, so about 49 % of
practices are solo and partnerships average about 2.6 GPs. Clusters are
placed in regions in proportion to the regions' numbers of practices
(Hovedstaden ~600, Midtjylland ~390, Syddanmark ~360, Sjælland ~220,
Nordjylland ~130), by largest remainder, so three clusters land in
Hovedstaden, Midtjylland and Syddanmark.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from common.federation import Cluster

PRACTICES_PER_REGION: dict[str, int] = {
    "Hovedstaden": 600,
    "Midtjylland": 390,
    "Syddanmark": 360,
    "Sjælland": 220,
    "Nordjylland": 130,
}
PATIENTS_PER_GP: dict[str, float] = {"Nordjylland": 1714.0, "Midtjylland": 1563.0}
PATIENTS_PER_GP_DEFAULT = 1600.0
SOLO_SHARE = 0.486  # of practices: 0.27 of GPs x 1.8 GPs per practice
SOLO_FACTOR, PARTNERSHIP_FACTOR = 1753 / 1660, 1614 / 1660  # relative to the mean per GP

_NAME_WORDS = (
    "Birkebakken", "Egeparken", "Havnegade", "Kirkepladsen", "Torvet", "Åbyen", "Strandvejen",
    "Bøgely", "Engvej", "Søndergade", "Nørrebro", "Vestergade", "Skovbrynet", "Møllevej",
    "Bakkegården", "Fjordvej", "Lindealle", "Rosenhaven", "Stationsvej", "Østerbro",
)  # fmt: skip


@dataclass(frozen=True)
class PracticePlan:
    id: str
    name: str
    cluster: str
    region: str
    gps: int
    list_size: int


def allocate_regions(n_clusters: int) -> list[str]:
    """Region of each cluster, K01 first, by largest remainder over practice counts."""
    names = list(PRACTICES_PER_REGION)
    weights = np.array([PRACTICES_PER_REGION[r] for r in names], dtype=float)
    quotas = n_clusters * weights / weights.sum()
    counts = np.floor(quotas).astype(int)
    order = np.argsort(-(quotas - counts), kind="stable")
    counts[order[: n_clusters - counts.sum()]] += 1
    return [name for name, k in zip(names, counts, strict=True) for _ in range(k)]


def plan_federation(
    rng: np.random.Generator,
    n_practices: int,
    n_clusters: int,
    patients_override: int | None = None,
    region: str | None = None,
) -> tuple[tuple[Cluster, ...], tuple[PracticePlan, ...]]:
    """Clusters (as balanced as possible) and practices with GP counts and list sizes.

    With `region`, every cluster lies in that region (a regional demo);
    otherwise clusters are spread over the regions in proportion to size.
    """
    if n_clusters < 1 or n_practices < n_clusters:
        raise ValueError("need at least one cluster and at least one practice per cluster")
    regions = [region] * n_clusters if region else allocate_regions(n_clusters)
    per_region: dict[str, int] = {}
    clusters = []
    for i, region in enumerate(regions):
        per_region[region] = per_region.get(region, 0) + 1
        clusters.append(Cluster(f"K{i + 1:02d}", f"Klynge {region} {per_region[region]}", region))
    sizes = [n_practices // n_clusters + (1 if i < n_practices % n_clusters else 0)
             for i in range(n_clusters)]  # fmt: skip
    members = np.repeat(np.arange(n_clusters), sizes)

    solo = rng.random(n_practices) < SOLO_SHARE
    gps = np.where(solo, 1, 2 + np.minimum(rng.poisson(0.56, n_practices), 6))
    spread = np.exp(rng.normal(0.0, 0.15, n_practices))
    words = rng.permutation(len(_NAME_WORDS))
    plans = []
    for i in range(n_practices):
        cluster = clusters[int(members[i])]
        per_gp = PATIENTS_PER_GP.get(cluster.region, PATIENTS_PER_GP_DEFAULT)
        factor = SOLO_FACTOR if solo[i] else PARTNERSHIP_FACTOR
        size = patients_override or max(300, round(gps[i] * per_gp * factor * spread[i]))
        word = _NAME_WORDS[int(words[i % len(words)])]
        suffix = f" {i // len(words) + 1}" if i >= len(words) else ""
        name = f"{'Lægen' if solo[i] else 'Lægerne'} {word}{suffix}"
        pid = f"P{i + 1:04d}"
        plans.append(PracticePlan(pid, name, cluster.id, cluster.region, int(gps[i]), int(size)))
    return tuple(clusters), tuple(plans)
