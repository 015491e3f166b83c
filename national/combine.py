"""The country's figures from the regions' verified region-level releases: post-processing only.

Each region's aggregate already is its least-squares estimate of the
region's totals (from its cluster sums and, where the same practices took
part, its region-wide round: `privacy.estimation.estimate_region_totals`).
The regions' noise is independent, so the national total of an indicator is
the sum of the regional estimates and its noise variance the sum of their
variances. The national step sees one estimate of each region's total, never
two measurements of the same total, so there is nothing left for least
squares to combine here (docs/national.md).

The rate's noise variance is Σ_r σ²(rate_r)·D_r² / D², exact when the
regions' rates are equal and otherwise off by a second-order term; its 95 %
interval adds the patients' sampling variance, as a region's release does.
Strata and practice-rate histograms come from the regions' region-wide rounds
and are summed the same way (bin noise variances add); deciles are read from
the summed histogram by the regional rule (`privacy.distribution.deciles`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from common.errors import KlyngeError
from common.i18n import register, t
from privacy.disclosure import too_uncertain
from privacy.distribution import deciles
from privacy.estimation import rate_interval
from privacy.manifest import PASS_FAIL, Disclosure, Manifest
from privacy.publication import VerifiedPublication
from reporting.release_document import (
    Distribution,
    IndicatorFigure,
    ReleaseDocument,
    StratumFigure,
    parse_release,
)

NATION = "Danmark"
INCOMPLETE = "region_withheld"  # a region's figure is hidden, so the country's sum is not whole


register(
    {
        "national.err.none": {
            "en": "no publication to combine",
            "da": "ingen publikation at kombinere",
        },
        "national.err.manifest": {
            "en": "released under manifest {hash}…, {first} under {first_hash}…; "
            "one national figure needs one manifest",
            "da": "udgivet under manifest {hash}…, {first} under {first_hash}…; "
            "et nationalt tal kræver ét manifest",
        },
        "national.err.reference_date": {
            "en": "{day}, {first} is of {first_day}",
            "da": "{day}, men {first} gælder {first_day}",
        },
        "national.err.region": {
            "en": "{region} is also published by {other}",
            "da": "{region} udgives også af {other}",
        },
        "national.err.no_aggregate": {
            "en": "holds no regional aggregate",
            "da": "indeholder intet regionalt samlet tal",
        },
    }
)


def _at(source: str, key: str, message: str) -> str:
    """`source: key 'name': message`, the key label in the reader's language."""
    return f"{source}: {t('errors.where.key', name=key)}: {message}"


class CombineError(KlyngeError):
    """Publications that cannot be combined: another manifest or period, a region twice."""


@dataclass(frozen=True)
class RegionInput:
    """One region's verified documents, parsed: its aggregate and its region-wide round's."""

    region: str
    source: str
    aggregate: ReleaseDocument
    region_round: ReleaseDocument | None


@dataclass(frozen=True)
class National:
    """The country's release document and the regions' it was combined from."""

    nation: ReleaseDocument
    regions: Mapping[str, RegionInput]
    manifest_hash: str
    reference_date: date


def region_inputs(verified: Sequence[tuple[str, VerifiedPublication]]) -> list[RegionInput]:
    """Each publication's documents as typed releases; one region, one period, one manifest."""
    if not verified:
        raise CombineError(t("national.err.none"))
    first_source, first = verified[0]
    seen: dict[str, str] = {}
    out = []
    for source, pub in verified:
        if pub.manifest_hash != first.manifest_hash:
            message = t(
                "national.err.manifest",
                hash=pub.manifest_hash[:16],
                first=first_source,
                first_hash=first.manifest_hash[:16],
            )
            raise CombineError(_at(source, "manifest", message))
        if pub.reference_date != first.reference_date:
            message = t(
                "national.err.reference_date",
                day=pub.reference_date,
                first=first_source,
                first_day=first.reference_date,
            )
            raise CombineError(_at(source, "reference_date", message))
        if pub.region in seen:
            message = t("national.err.region", region=pub.region, other=seen[pub.region])
            raise CombineError(_at(source, "region", message))
        seen[pub.region] = source
        docs = [
            parse_release(f"{source} releases[{i}].document", d)
            for i, d in enumerate(pub.documents)
        ]
        aggregates = sorted((d for d in docs if d.scope != "region"), key=lambda d: d.order_key)
        rounds = sorted((d for d in docs if d.scope == "region"), key=lambda d: d.order_key)
        if not aggregates:
            raise CombineError(_at(source, "releases", t("national.err.no_aggregate")))
        out.append(RegionInput(pub.region, source, aggregates[-1], rounds[-1] if rounds else None))
    return out


@dataclass(frozen=True)
class _Rules:
    proportion: Mapping[str, bool]
    disclosure: Disclosure


def _rate_noise_variance(cell: IndicatorFigure | StratumFigure) -> float:
    """A region's rate noise variance times D² (a count's variance, so regions can add)."""
    d = cell.denominator or 0
    if cell.rate_noise_sd is not None:
        return (cell.rate_noise_sd * d) ** 2
    r = cell.rate or 0.0
    return (cell.noise_sd or 0.0) ** 2 * (1 + r * r)


def _sum_cells(
    cells: Sequence[IndicatorFigure | StratumFigure], proportion: bool, rules: _Rules
) -> dict[str, Any]:
    """The country's figure of one cell from the regions' (all of them, or it is withheld)."""
    if any(c.numerator is None or c.denominator is None for c in cells):
        return {
            "numerator": None,
            "denominator": None,
            "rate": None,
            "noise_sd": None,
            "suppressed": {"rate": INCOMPLETE},
        }
    num = sum(c.numerator or 0 for c in cells)
    den = sum(c.denominator or 0 for c in cells)
    noise_sd = math.sqrt(sum((c.noise_sd or 0.0) ** 2 for c in cells))
    out: dict[str, Any] = {"numerator": num, "denominator": den, "noise_sd": round(noise_sd, 3)}
    if den <= 0:
        return {**out, "rate": None, "suppressed": {"rate": "empty"}}
    upper = 1.0 if proportion else math.inf
    rate = min(max(num / den, 0.0), upper)
    rate_noise = sum(_rate_noise_variance(c) for c in cells) / den**2
    # The same interval and label rule as a region's release (privacy/estimation.py,
    # privacy/disclosure.py), on the country's sums.
    i = rate_interval(rate, den, rate_noise, proportion=proportion, upper=upper)
    return {
        **out,
        "rate": rate,
        "suppressed": {},
        "released_interval": (round(i.low, 6), round(i.high, 6)),
        "uncertain": too_uncertain(rules.disclosure, i.half_width, rate, proportion=proportion),
        "rate_noise_sd": round(math.sqrt(rate_noise), 6),
    }


def _figure(indicator_id: str, inputs: Sequence[RegionInput], rules: _Rules) -> IndicatorFigure:
    proportion = rules.proportion.get(indicator_id, True)
    totals = [r.aggregate.figures.get(indicator_id) for r in inputs]
    total: dict[str, Any]
    if any(t is None for t in totals):
        total = {
            "numerator": None,
            "denominator": None,
            "rate": None,
            "noise_sd": None,
            "suppressed": {"rate": INCOMPLETE},
        }
    else:
        total = _sum_cells([t for t in totals if t is not None], proportion, rules)
    strata: list[StratumFigure] = []
    rounds = [r.region_round for r in inputs]
    if all(rr is not None and indicator_id in rr.figures for rr in rounds):
        by_label: dict[str, list[StratumFigure]] = {}
        for rr in rounds:
            assert rr is not None
            for s in rr.figures[indicator_id].strata:
                by_label.setdefault(s.stratum, []).append(s)
        for label, parts in by_label.items():
            if len(parts) == len(inputs):
                strata.append(StratumFigure(label, **_sum_cells(parts, proportion, rules)))
    return IndicatorFigure(indicator_id, **total, strata=tuple(strata))


def _distribution(indicator_id: str, parts: Sequence[Distribution]) -> Distribution | None:
    """The regions' histograms summed bin by bin (independent noise: variances add)."""
    first = parts[0]
    if any(
        len(p.bins) != len(first.bins) or p.full_weight_denominator != first.full_weight_denominator
        for p in parts
    ):
        return None
    bins = tuple(round(sum(p.bins[k] for p in parts), 2) for k in range(len(first.bins)))
    sd = math.sqrt(sum(p.bin_noise_sd**2 for p in parts))
    practices = sum(p.practices for p in parts)
    dec = deciles(bins, sd, practices)
    return Distribution(
        indicator_id=indicator_id,
        bins=bins,
        edges=first.edges,
        bin_noise_sd=round(sd, 3),
        practices=practices,
        full_weight_denominator=first.full_weight_denominator,
        deciles=None if dec.values is None else tuple(round(v, 4) for v in dec.values),
        deciles_withheld=dec.reason,
    )


def combine(
    inputs: Sequence[RegionInput],
    manifest: Manifest,
    manifest_hash: str,
    *,
    created_at: str | None = None,
) -> National:
    """The national release: sums of the regions' estimates, with intervals and labels."""
    ref = inputs[0].aggregate.reference_date
    rules = _Rules({e.id: e.cells == PASS_FAIL for e in manifest.indicators}, manifest.disclosure)
    ids: list[str] = []
    for r in inputs:
        ids += [i for i in r.aggregate.figures if i not in ids]
    figures = {i: _figure(i, inputs, rules) for i in ids}
    distributions: dict[str, Distribution] = {}
    rounds = [r.region_round for r in inputs]
    if all(rr is not None for rr in rounds):
        for indicator_id in rounds[0].distributions if rounds[0] else {}:
            parts = [rr.distributions.get(indicator_id) for rr in rounds if rr is not None]
            if all(p is not None for p in parts):
                dist = _distribution(indicator_id, [p for p in parts if p is not None])
                if dist is not None:
                    distributions[indicator_id] = dist
    aggregates = [r.aggregate for r in inputs]
    contributors = [a.contributors for a in aggregates]
    eps = {a.epsilon_per_release for a in aggregates}
    mechanisms = {a.mechanism for a in aggregates}
    nation = ReleaseDocument(
        release_id=f"nation-{ref.isoformat()}",
        created_at=created_at or datetime.now(UTC).isoformat(timespec="seconds"),
        level="nation",
        unit=NATION,
        reference_date=ref,
        round_ids=tuple(sorted({rid for a in aggregates for rid in a.round_ids})),
        manifest_hash=manifest_hash,
        contributors=None if None in contributors else sum(c or 0 for c in contributors),
        mechanism=mechanisms.pop() if len(mechanisms) == 1 else None,
        epsilon_per_release=eps.pop() if len(eps) == 1 else None,
        figures=figures,
        distributions=distributions,
    )
    return National(nation, {r.region: r for r in inputs}, manifest_hash, ref)
