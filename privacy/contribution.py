"""The agent's privacy steps for one round: bound its own vector, then add its noise.

The pipeline is verify manifest → compute → **bound → noise** → mask →
charge ledger → send; this module is the bold part, kept pure (randomness is
passed in) so it can be tested step by step. The Release it returns is the
one the ledger must be charged with, so the cost charged is computed from
the very parameters that drew the noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from privacy.bounding import BoundingReport, bound_vector
from privacy.layout import ReleaseLayout, RoundScope, append_distribution
from privacy.manifest import Manifest
from privacy.plan import round_release
from privacy.randomness import RandomSource, system_source
from privacy.release import Release


@dataclass(frozen=True)
class PreparedContribution:
    values: np.ndarray  # int64: bounded values plus this practice's noise, ready to mask
    bounded: np.ndarray  # int64: the bounded values alone (kept locally, never sent)
    release: Release  # charge the ledger with exactly this
    bounding: BoundingReport  # what clipping changed (kept locally, never sent)

    @property
    def noise(self) -> np.ndarray:
        """This practice's own noise share. Kept locally: knowing it, the practice can
        compare itself with the rest of its cluster; sent with its values, it would
        strip them of their protection."""
        noise: np.ndarray = self.values - self.bounded
        return noise


def prepare_contribution(
    manifest: Manifest,
    vector: np.ndarray,
    *,
    round_min_survivors: int,
    scope: RoundScope = RoundScope.CLUSTER,
    source: RandomSource | None = None,
) -> PreparedContribution:
    """Bound `vector` (the round's cells, `ReleaseLayout.encode`) and add noise.

    `round_min_survivors` is the survivor floor the round announced; it must not
    be below the manifest's, and the agent must refuse to unmask below it.
    """
    layout = ReleaseLayout.for_round(manifest, scope)
    bounded_counts, report = bound_vector(vector, layout, manifest.bounding.max_list_size)
    bounded = append_distribution(bounded_counts, layout)
    release = round_release(manifest, round_min_survivors, scope)
    noisy = release.add_noise(bounded, source or system_source())
    return PreparedContribution(noisy.astype(np.int64), bounded, release, report)
