"""How useful is the released distribution of practice rates? Prints one JSON object.

    python benchmarks/distribution.py [--trials 200] [--seed 1]

For the default manifest it reports what the practice-rate histograms cost
(the counts' noise SD with and without them, at the same ε per release) and
what they buy: simulated clusters and regions of practices whose DM-01 rates
are drawn around 88 % (SD 6 points) with denominators of 60-250 patients, the
histogram encoded exactly as agents do, Skellam-sized Gaussian noise of the
manifest's variance added, and the released deciles compared with the true
(weighted) deciles. The baseline in the same run is the issue's plain
one-hot bin at the same share of the privacy budget: one patient can then move
a whole practice, so its noise must be far larger.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import replace

import numpy as np

from privacy.defaults import default_manifest_path
from privacy.distribution import (
    DISTRIBUTION_BLOCK,
    DistributionSpec,
    deciles,
    encode_rate,
    patient_l2_units,
    released_histogram,
)
from privacy.manifest import Manifest, load_manifest
from privacy.plan import manifest_release, round_min_survivors
from privacy.release import Release, SkellamRelease, calibrate_skellam_mu
from privacy.sensitivity import Contribution, vector_sensitivity


def bin_sd(manifest: Manifest, release: Release, practices: int) -> float:
    """Noise SD per bin, in practices, of one cluster round with this many practices."""
    spec = manifest.distribution
    floor = round_min_survivors(manifest, practices)
    return release.sum_sd(spec.noise_weight, practices, floor) / spec.scale


def one_hot_bin_sd(manifest: Manifest, release: SkellamRelease, practices: int) -> float:
    """Bin SD for one-hot bins given the same share of ρ as the linear-binned block."""
    spec = manifest.distribution
    linear = next(b for b in release.sensitivity.blocks if b.block == DISTRIBUTION_BLOCK)
    share = linear.l2_squared / linear.noise_weight  # this block's term in Σ Δ²/w
    l2 = 2 * len(spec.indicators)  # one patient moves a whole practice between two bins
    weight = max(1, round(l2 / share))
    blocks = [b for b in release.sensitivity.blocks if b.block != DISTRIBUTION_BLOCK]
    blocks.append(Contribution(DISTRIBUTION_BLOCK, l2, l2, spec.coordinates, weight))
    one_hot = SkellamRelease(
        calibrate_skellam_mu(
            vector_sensitivity(blocks), manifest.dp.epsilon_per_release, manifest.dp.delta
        ),
        release.n_min,
        vector_sensitivity(blocks),
        manifest.dp.delta,
    ).with_min_survivors(round_min_survivors(manifest, practices))
    return math.sqrt(2 * one_hot.lam * weight * practices)


def true_deciles(rates: np.ndarray, weights: np.ndarray) -> np.ndarray:
    order = np.argsort(rates)
    cum = np.cumsum(weights[order]) / weights.sum()
    return np.array([rates[order][np.searchsorted(cum, k / 10)] for k in range(1, 10)])


def simulate(
    spec: DistributionSpec, bin_sd: float, practices: int, trials: int, rng: np.random.Generator
) -> dict[str, float | int | None]:
    """How often deciles are released, and their error; `forced` ignores the withholding rule."""
    shown, errors, forced = 0, [], []
    for _ in range(trials):
        rates = np.clip(rng.normal(0.88, 0.06, practices), 0, 1)
        dens = rng.integers(60, 251, practices)
        block = sum(
            encode_rate(round(r * d), int(d), spec) for r, d in zip(rates, dens, strict=True)
        )
        noisy = block + rng.normal(0, bin_sd * spec.scale, spec.bins)
        hist = released_histogram(noisy, spec)[0]
        weights = np.minimum(1.0, dens / spec.full_weight_denominator)
        truth = true_deciles(rates, weights)
        anyway = deciles(hist, 0.0, practices, min_practices=0)
        if anyway.values is not None:
            forced.append(np.abs(np.array(anyway.values) - truth).mean())
        result = deciles(hist, bin_sd, practices)
        if result.values is not None:
            shown += 1
            errors.append(np.abs(np.array(result.values) - truth).mean())

    def points(values: list[float]) -> float | None:
        return round(100 * float(np.mean(values)), 2) if values else None

    return {
        "deciles_shown_share": shown / trials,
        "mean_abs_decile_error_points": points(errors),
        "mean_abs_decile_error_points_if_forced": points(forced),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    manifest = load_manifest(default_manifest_path()).manifest
    spec = manifest.distribution
    assert spec is not None
    release = manifest_release(manifest)
    without = manifest_release(replace(manifest, distribution=None))
    # μ and the one-hot comparison are Skellam's: this benchmark prices the shipped mechanism.
    assert isinstance(release, SkellamRelease) and isinstance(without, SkellamRelease)
    one_indicator = replace(spec, indicators=(spec.indicators[0],))

    started = time.perf_counter()
    for _ in range(10_000):
        encode_rate(157, 175, spec)
    encode_us = (time.perf_counter() - started) / 10_000 * 1e6

    # (practices per cluster, clusters): a region's histogram is the sum of its clusters'
    # released histograms, so its noise variance is the clusters' variances added.
    levels = {
        "cluster of 6": (6, 1),
        "cluster of 15": (15, 1),
        "region of 10 clusters of 15": (15, 10),
        "region of 25 clusters of 15": (15, 25),
    }
    rows = {}
    for name, (size, clusters) in levels.items():
        sd = bin_sd(manifest, release, size) * math.sqrt(clusters)
        one_hot = one_hot_bin_sd(manifest, release, size) * math.sqrt(clusters)
        rows[name] = {
            "practices": size * clusters,
            "bin_noise_sd_practices": round(sd, 2),
            "one_hot_bin_noise_sd_practices": round(one_hot, 2),
            **simulate(one_indicator, sd, size * clusters, args.trials, rng),
        }
    print(
        json.dumps(
            {
                "indicators": list(spec.indicators),
                "bins": spec.bins,
                "full_weight_denominator": spec.full_weight_denominator,
                "epsilon_per_release": round(release.cost().epsilon, 4),
                "count_noise_sd_without_histograms": round(math.sqrt(without.mu), 1),
                "count_noise_sd_with_histograms": round(math.sqrt(release.mu), 1),
                "per_patient_l2_practices_linear": round(patient_l2_units(spec) / spec.scale, 3),
                "per_patient_l2_practices_one_hot": round(math.sqrt(2), 3),
                "encode_us_per_indicator": round(encode_us, 2),
                "levels": rows,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
