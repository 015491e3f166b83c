"""A round with patient-experience answers: the agents' real cores and the real SecAgg+ state
machine (`world.run_round`), some practices with answers and some without.

The survey cells travel in the same vector as the indicators and are charged
once with them; without noise (verification) the released survey cells are
exactly the sum of each practice's own `compute_survey` counts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd

from client.engine.survey import survey_cells
from indicator_defs.survey_loader import installed_surveys
from privacy.authoring import verification_variant
from privacy.layout import ReleaseLayout, RoundScope
from tests.client.agent.world import REF, default_manifest, make_world, run_round

SURVEY = installed_surveys()["PX"]


def answers(seed: int, respondents: int) -> pd.DataFrame:
    """`respondents` people answering a random subset of PX's rated items, and one free text."""
    rng = np.random.default_rng(seed)
    items = [i.id for i in SURVEY.scale_items()]
    rows = []
    for r in range(respondents):
        day = REF - dt.timedelta(days=int(rng.integers(0, 300)))
        for item in rng.choice(items, size=int(rng.integers(1, len(items) + 1)), replace=False):
            rows.append((f"S{seed}-{r}", item, float(rng.integers(1, 6)), day, ""))
        rows.append((f"S{seed}-{r}", "Q11", math.nan, day, "Fri tekst, der bliver i praksis"))
    return pd.DataFrame(
        {
            "respondent": [x[0] for x in rows],
            "survey": "PX",
            "version": 1,
            "item": [x[1] for x in rows],
            "answer": [x[2] for x in rows],
            "date": pd.to_datetime([x[3] for x in rows]),
            "text": [x[4] for x in rows],
            "patient": "",
        }
    )


def test_survey_cells_are_summed_exactly_with_the_indicators_and_charged_once(tmp_path):
    manifest = verification_variant(default_manifest())
    world = make_world(tmp_path, n=5, manifest=manifest)
    world.answers = {pid: answers(k, 40 + 10 * k) for k, pid in enumerate(world.practice_ids[:3])}
    cores = {p: world.core(p) for p in world.practice_ids}
    run = run_round(world, cores)
    assert run.result is not None and not run.refusals
    layout = ReleaseLayout.for_round(manifest, RoundScope.CLUSTER)
    assert layout.surveys, "the default manifest releases the PX survey"
    wanted = {"PX": (1, manifest.survey_entries[0].period(REF))}
    own = [survey_cells(world.answers.get(p), {"PX": SURVEY}, wanted) for p in world.practice_ids]
    for block in layout.surveys:
        expected = tuple(sum(o[block.measure_id][k] for o in own) for k in (0, 1))
        assert block.counts(run.result.vector) == expected
        assert expected[1] > 0
    for pid in world.practice_ids:  # one ledger entry per practice for the joint vector
        charges = cores[pid].context.ledger.charges()
        assert len(charges) == 1 and charges[0].receipt.coordinates == layout.length


def test_a_noisy_round_with_answers_is_one_charge_at_the_manifests_cost(tmp_path):
    manifest = default_manifest()
    world = make_world(tmp_path, n=5, manifest=manifest)
    world.answers = {world.practice_ids[0]: answers(7, 30)}
    cores = {p: world.core(p) for p in world.practice_ids}
    run = run_round(world, cores)
    assert run.result is not None and not run.refusals
    costs = set()
    for pid in world.practice_ids:
        [charge] = cores[pid].context.ledger.charges()
        costs.add(round(charge.receipt.epsilon, 9))
    assert len(costs) == 1
    without = dataclasses.replace(manifest, surveys=None)
    assert ReleaseLayout.for_round(without, RoundScope.CLUSTER).length + 10 == len(
        run.result.vector
    )
