"""Least-squares estimates of the counts a release measures, and rates with honest intervals.

A release is a set of noisy cells, each a known linear combination of latent
counts: a population's size D, the patients P who pass an indicator, the
list size L. Several cells can measure the same count. Every indicator's
(pass, fail) pair measures its population's size as pass + fail, so the five
indicators on the type 2 diabetes population give five measurements of one
D; a region's cluster sums and its region-wide round both measure the
region's totals. The generalised least-squares estimate combines them with
weights 1 / variance: it is unbiased, has the smallest variance of any
linear unbiased estimate (Gauss–Markov), and its covariance is exact,
because the noise variances are public (they follow from the signed
manifest). It is post-processing of released figures, so it costs no
privacy.

Cells without noise (a verification release) have variance 0; they get a
very large weight, and the covariance is computed with the sandwich formula,
which stays exact for any weights.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from privacy.errors import MechanismError
from privacy.layout import TOTAL, IndicatorBlock, ReleaseLayout
from privacy.manifest import LIST_POPULATION, PASS_FAIL

Z95 = 1.959963984540054  # two-sided 95 %
Z998 = 3.090232306167813  # two-sided 99.8 %: funnel limits, and verdicts on a page of ~23


@dataclass(frozen=True)
class Cell:
    """One released coordinate: `value` measures Σ coefficient × latent, with noise `variance`."""

    terms: tuple[tuple[str, float], ...]
    value: float
    variance: float

    def __post_init__(self) -> None:
        if not self.terms:
            raise MechanismError("a cell must measure at least one latent count")
        if not (self.variance >= 0 and math.isfinite(self.variance)):
            raise MechanismError(f"a cell's noise variance must be finite and ≥ 0: {self.variance}")


@dataclass(frozen=True)
class Estimate:
    """Latent counts, estimated, with the covariance of their noise."""

    names: tuple[str, ...]
    values: np.ndarray
    covariance: np.ndarray

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise KeyError(name) from None

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def value(self, name: str) -> float:
        return float(self.values[self.index(name)])

    def variance(self, name: str) -> float:
        i = self.index(name)
        return float(self.covariance[i, i])

    def combination(self, weights: Mapping[str, float]) -> tuple[float, float]:
        """Value and noise variance of Σ weight × latent."""
        g = self._gradient(weights)
        return float(g @ self.values), float(g @ self.covariance @ g)

    def pair(
        self, numerator: Mapping[str, float], denominator: Mapping[str, float]
    ) -> tuple[float, float, float, float, float]:
        """(N, D, var N, var D, cov N D) of two linear combinations of latents."""
        gn, gd = self._gradient(numerator), self._gradient(denominator)
        cn, cd = self.covariance @ gn, self.covariance @ gd
        return (
            float(gn @ self.values),
            float(gd @ self.values),
            float(gn @ cn),
            float(gd @ cd),
            float(gn @ cd),
        )

    def ratio(self, numerator: str, denominator: str) -> tuple[float, float]:
        """N / D and its noise variance by the delta method (the denominator's noise included)."""
        n, d = self.value(numerator), self.value(denominator)
        if d <= 0:
            return math.nan, math.inf
        r = n / d
        g = self._gradient({numerator: 1 / d}) + self._gradient({denominator: -r / d})
        return r, float(g @ self.covariance @ g)

    def _gradient(self, weights: Mapping[str, float]) -> np.ndarray:
        g = np.zeros(len(self.names))
        for name, w in weights.items():
            g[self.index(name)] += w
        return g


def estimate(cells: Iterable[Cell]) -> Estimate:
    """The generalised least-squares estimate of every latent count the cells measure.

    Raises MechanismError if some latent is not identified by the cells (for
    example a population measured only through differences).
    """
    cells = list(cells)
    if not cells:
        raise MechanismError("nothing to estimate from: no cells")
    names = tuple(sorted({name for c in cells for name, _ in c.terms}))
    where = {name: i for i, name in enumerate(names)}
    design = np.zeros((len(cells), len(names)))
    for row, cell in enumerate(cells):
        for name, coefficient in cell.terms:
            design[row, where[name]] += coefficient
    values = np.array([c.value for c in cells], dtype=np.float64)
    variances = np.array([c.variance for c in cells], dtype=np.float64)
    positive = variances[variances > 0]
    exact_weight = 1e9 / positive.min() if positive.size else 1.0
    weights = np.where(variances > 0, 1 / np.where(variances > 0, variances, 1), exact_weight)
    normal = design.T @ (weights[:, None] * design)
    if np.linalg.matrix_rank(normal) < len(names):
        raise MechanismError("the released cells do not identify every count: " + ", ".join(names))
    inverse = np.linalg.inv(normal)
    projector = inverse @ (design.T * weights)  # θ̂ = projector @ y
    theta = projector @ values
    covariance = projector @ (variances[:, None] * projector.T)
    return Estimate(names, theta, (covariance + covariance.T) / 2)


def sampling_variance(rate: float, denominator: float, *, proportion: bool) -> float:
    """Chance variation of a rate with this denominator: binomial r(1−r)/D, or Poisson r/D.

    A practice's patients are one draw of what its population could have
    produced; a benchmark that ignored this would call chance a difference.
    """
    if not denominator > 0 or math.isnan(rate):
        return math.inf
    r = min(max(rate, 0.0), 1.0) if proportion else max(rate, 0.0)
    return (r * (1 - r) if proportion else r) / denominator


@dataclass(frozen=True)
class RateInterval:
    """A rate with its interval, and the parts of its variance."""

    rate: float
    low: float
    high: float
    noise_variance: float
    sampling_variance: float

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def rate_interval(
    rate: float,
    denominator: float,
    noise_variance: float,
    *,
    proportion: bool = True,
    z: float = Z95,
    upper: float | None = None,
) -> RateInterval:
    """A normal interval covering chance and noise, clamped to what the rate can be."""
    sampling = sampling_variance(rate, denominator, proportion=proportion)
    half = z * math.sqrt(sampling + noise_variance)
    top = upper if upper is not None else (1.0 if proportion else math.inf)
    if math.isnan(rate) or math.isinf(half):
        return RateInterval(rate, 0.0, top, noise_variance, sampling)
    return RateInterval(
        rate, max(0.0, rate - half), min(top, rate + half), noise_variance, sampling
    )


def pass_fail_cells(
    population: str,
    indicators: Sequence[str],
    values: Sequence[tuple[float, float]],
    variances: Sequence[tuple[float, float]],
) -> list[Cell]:
    """The cells of indicators on one population: pass_i measures P_i, fail_i measures D − P_i."""
    cells = []
    for name, (passed, failed), (v_pass, v_fail) in zip(indicators, values, variances, strict=True):
        cells.append(Cell(((passed_name(name), 1.0),), passed, v_pass))
        cells.append(
            Cell(((population_name(population), 1.0), (passed_name(name), -1.0)), failed, v_fail)
        )
    return cells


def population_name(population: str) -> str:
    return f"D:{population}"


def passed_name(indicator: str) -> str:
    return f"P:{indicator}"


# ---------------------------------------------------------------------------
# A whole release: every group of every indicator of a round's layout


@dataclass(frozen=True)
class GroupEstimate:
    """One indicator's figure in one group (the total, or a stratum), estimated from the cells."""

    indicator_id: str
    group: str
    numerator: float
    denominator: float
    numerator_variance: float  # noise only
    denominator_variance: float
    covariance: float  # of the numerator's and the denominator's noise
    rate: float  # a proportion, or events per listed patient; NaN if the denominator is ≤ 0
    rate_noise_variance: float
    proportion: bool


def _group_estimate(
    indicator_id: str,
    group: str,
    moments: tuple[float, float, float, float, float],
    proportion: bool,
) -> GroupEstimate:
    """A figure from (numerator, denominator, their variances, their covariance): the rate
    N / D with its noise variance by the delta method."""
    num, den, var_n, var_d, cov = moments
    if den <= 0:
        rate, rate_var = math.nan, math.inf
    else:
        rate = num / den
        rate_var = (var_n - 2 * rate * cov + rate * rate * var_d) / (den * den)
    return GroupEstimate(
        indicator_id, group, num, den, var_n, var_d, cov, rate, max(rate_var, 0.0), proportion
    )


def combined(indicator_id: str, group: str, parts: Sequence[GroupEstimate]) -> GroupEstimate:
    """The figure of a sum of groups whose noise is independent (e.g. the strata of a total)."""
    moments = (
        sum(p.numerator for p in parts),
        sum(p.denominator for p in parts),
        sum(p.numerator_variance for p in parts),
        sum(p.denominator_variance for p in parts),
        sum(p.covariance for p in parts),
    )
    return _group_estimate(indicator_id, group, moments, parts[0].proportion)


def _passed(indicator_id: str, group: str) -> str:
    return passed_name(f"{indicator_id}|{group}")


def _population(population: str, group: str) -> str:
    return population_name(f"{population}|{group}")


class _Cells:
    """The cells of one or more released vectors, as measurements of latent counts.

    Latents are per group: P (passed, or events) of an indicator and D (size) of
    a population. A group's cells may measure a sum of latents over several
    groups (`over`): a cluster round's totals measure the sums of the
    region-wide round's strata. Cells couple latents of one population only,
    so each population is solved on its own.
    """

    def __init__(self) -> None:
        self.systems: dict[str, list[Cell]] = {}

    def add_block(
        self,
        block: IndicatorBlock,
        group: int,
        values: np.ndarray,
        variances: np.ndarray,
        over: Sequence[str],
    ) -> None:
        entry = block.entry
        passed = tuple((_passed(entry.id, s), 1.0) for s in over)
        population = tuple((_population(entry.population, s), 1.0) for s in over)
        first, second = (block.index(group, f) for f in block.fields)
        cells = self.systems.setdefault(entry.population, [])
        cells.append(Cell(passed, float(values[first]), float(variances[first])))
        if entry.cells == PASS_FAIL:  # fail = D − P
            terms = population + tuple((name, -1.0) for name, _ in passed)
        else:  # listed = D
            terms = population
        cells.append(Cell(terms, float(values[second]), float(variances[second])))

    def add_list_size(
        self, layout: ReleaseLayout, values: np.ndarray, variances: np.ndarray, over: Sequence[str]
    ) -> None:
        """The list-size cell measures the listed population that COUNT indicators divide by."""
        if LIST_POPULATION not in self.systems or not over:
            return
        i = layout.list_size_index
        terms = tuple((_population(LIST_POPULATION, s), 1.0) for s in over)
        self.systems[LIST_POPULATION].append(Cell(terms, float(values[i]), float(variances[i])))

    def solve(self) -> dict[str, Estimate]:
        return {population: estimate(cells) for population, cells in self.systems.items()}


def _list_groups(layout: ReleaseLayout) -> tuple[str, ...]:
    """The groups of the listed population (those of the first COUNT indicator), if any."""
    for block in layout.blocks:
        if block.entry.population == LIST_POPULATION:
            return block.groups
    return ()


def _figure(
    solved: Mapping[str, Estimate], block: IndicatorBlock, group: str, over: Sequence[str]
) -> GroupEstimate:
    """The figure of `block`'s indicator summed over the groups `over`, labelled `group`."""
    entry = block.entry
    moments = solved[entry.population].pair(
        {_passed(entry.id, s): 1.0 for s in over},
        {_population(entry.population, s): 1.0 for s in over},
    )
    return _group_estimate(entry.id, group, moments, entry.cells == PASS_FAIL)


def estimate_release(
    layout: ReleaseLayout, values: np.ndarray, variances: np.ndarray
) -> dict[tuple[str, str], GroupEstimate]:
    """Least-squares figures for every indicator and group of one released vector.

    Indicators on the same population share their denominator's estimate, per
    group; the list-size cell is a further measurement of the listed
    population that COUNT indicators divide by (its total, in a region-wide
    round the sum of its strata).
    """
    cells = _Cells()
    for block in layout.blocks:
        for g, group in enumerate(block.groups):
            cells.add_block(block, g, values, variances, (group,))
    cells.add_list_size(layout, values, variances, _list_groups(layout))
    solved = cells.solve()
    return {
        (block.indicator_id, group): _figure(solved, block, group, (group,))
        for block in layout.blocks
        for group in block.groups
    }


def estimate_region_totals(
    clusters: ReleaseLayout,
    cluster_values: np.ndarray,
    cluster_variances: np.ndarray,
    region: ReleaseLayout,
    region_values: np.ndarray,
    region_variances: np.ndarray,
) -> dict[str, GroupEstimate]:
    """Each indicator's regional total from the cluster sums and the region-wide round together.

    `cluster_values` is the sum of the region's cluster sums (their noise is
    independent, so its variance is the sum of theirs); it measures each
    indicator's totals. The region-wide round's strata cells measure the
    per-stratum counts whose sums are those totals. Valid only when both
    rounds summed exactly the same practices: then both measure the same
    latent counts, and one generalised least-squares fit over all cells gives
    totals whose noise variance is below either measurement's alone.
    """
    if tuple(b.indicator_id for b in clusters.blocks) != tuple(
        b.indicator_id for b in region.blocks
    ):
        raise MechanismError("the cluster and region-wide layouts come from different manifests")
    cells = _Cells()
    for block in region.blocks:
        for g, group in enumerate(block.groups):
            cells.add_block(block, g, region_values, region_variances, (group,))
    strata = _list_groups(region)
    cells.add_list_size(region, region_values, region_variances, strata)
    for block in clusters.blocks:
        over = region.block(block.indicator_id).groups
        cells.add_block(block, 0, cluster_values, cluster_variances, over)
    cells.add_list_size(clusters, cluster_values, cluster_variances, strata)
    solved = cells.solve()
    return {
        block.indicator_id: _figure(solved, block, TOTAL, block.groups) for block in region.blocks
    }
