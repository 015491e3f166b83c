"""Release documents as the coordinator publishes them, for the FHIR export tests."""

from __future__ import annotations

from indicator_defs import load_catalogue
from reporting.release_document import ReleaseDocument, parse_release
from tests.server.builders import release_head

CATALOGUE = load_catalogue()


def release_doc() -> dict:
    strata = []
    for label in CATALOGUE.indicators["DM-01"].strata:
        strata.append(
            {
                "stratum": label,
                "numerator": 40,
                "denominator": 50,
                "rate": 0.8,
                "noise_sd": 3.5,
                "suppressed": {},
            }
        )
    strata[0].update(
        numerator=None,
        rate=None,
        suppressed={"numerator": "small_count", "rate": "numerator_suppressed"},
    )
    return release_head(
        indicators=[
            {
                "id": "DM-01",
                "numerator": 300,
                "denominator": 400,
                "rate": 0.75,
                "noise_sd": 9.0,
                "suppressed": {},
                "strata": strata,
            }
        ],
    )


def parsed(doc: dict | None = None) -> ReleaseDocument:
    """A release document as the exporter reads it: through the one parser."""
    return parse_release("release.json", release_doc() if doc is None else doc)


def dp_release_doc(**changes) -> dict:
    """A DP release as the coordinator publishes it: intervals, an uncertain stratum, ε."""
    doc = release_doc()
    ind = doc["indicators"][0]
    ind.update(interval=[0.70, 0.80], rate_noise_sd=0.01)
    for s in ind["strata"]:
        s.update(numerator=40, rate=0.8, interval=[0.6, 0.95], suppressed={})
    ind["strata"][0].update(uncertain=True, interval=[0.2, 1.0])
    doc.update(epsilon_per_release=0.5, delta_per_release=1e-9)
    doc.update(changes)
    return doc


def distributions(deciles: list[float] | None = None) -> dict:
    """DM-01's released histogram of practice rates: with deciles, or withheld (too few)."""
    return {
        "DM-01": {
            "bins": [1.0, 2.5, 0.0, 4.0],
            "edges": [0.0, 0.25, 0.5, 0.75, 1.0],
            "bin_noise_sd": 0.7,
            "practices": 8,
            "full_weight_denominator": 30,
            "deciles": deciles,
            "deciles_withheld": None if deciles else "too_few_practices",
        }
    }
