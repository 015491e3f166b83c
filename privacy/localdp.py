"""OpenDP measurements for local DP: each practice releases its own noisy vector.

Used only by manifests whose mechanism is `local_discrete_laplace` or
`local_discrete_gaussian`. OpenDP builds the measurement, draws the noise
from its own CSPRNG and states the cost through its privacy map, so the
noise and the accounted cost come from one object. OpenDP's integer
mechanisms sample exactly (no floating-point artefacts, cf. Mironov 2012).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import opendp.prelude as dp

from privacy.errors import MechanismError

dp.enable_features("contrib")


def _domain(dimension: int) -> Any:
    if dimension < 1:
        raise MechanismError(f"vector dimension must be ≥ 1, got {dimension}")
    return dp.vector_domain(dp.atom_domain(T="i64"), size=dimension)


def _measurement(name: str, make: Any, metric: Any, dimension: int, scale: float) -> Any:
    """OpenDP's `make(domain, metric, scale)`, its refusals as MechanismError naming `name`."""
    if not scale > 0:
        raise MechanismError(f"{name} scale must be positive, got {scale}")
    try:
        return make(_domain(dimension), metric, scale=float(scale))
    except dp.OpenDPException as exc:
        raise MechanismError(f"OpenDP refused the {name} mechanism: {exc}") from None


def discrete_laplace(dimension: int, scale: float) -> Any:
    """Discrete Laplace on an integer vector under the L1 metric (pure ε-DP)."""
    return _measurement(
        "discrete Laplace", dp.m.make_laplace, dp.l1_distance(T="i64"), dimension, scale
    )


def discrete_gaussian(dimension: int, scale: float) -> Any:
    """Discrete Gaussian on an integer vector under the L2 metric (ρ-zCDP)."""
    return _measurement(
        "discrete Gaussian", dp.m.make_gaussian, dp.l2_distance(T="f64"), dimension, scale
    )


def laplace_epsilon(measurement: Any, l1: int) -> float:
    """Pure-DP ε from OpenDP's privacy map at L1 sensitivity Δ₁."""
    return float(measurement.map(int(l1)))


def gaussian_rho(measurement: Any, l2: float) -> float:
    """zCDP ρ from OpenDP's privacy map at L2 sensitivity Δ₂."""
    return float(measurement.map(float(l2)))


def apply(measurement: Any, vector: Sequence[int] | np.ndarray, dimension: int) -> np.ndarray:
    """Run the measurement on one practice's bounded vector."""
    values = np.asarray(vector, dtype=np.int64)
    if values.shape != (dimension,):
        raise MechanismError(
            f"vector has shape {values.shape}, the mechanism expects ({dimension},)"
        )
    return np.asarray(measurement(values.tolist()), dtype=np.int64)
