"""Generate a whole synthetic federation: `federation.toml` plus one extract per practice.

Reproducible by seed: practice i draws from its own stream,
SeedSequence(seed, spawn_key=(1, i)), so its data do not depend on how many
other practices are generated, and the layout (list sizes, clusters) draws
from spawn_key (0,). Its survey answers draw from spawn_key (2, i), so adding
them changed no clinical row of an earlier generator version. The same
arguments therefore give byte-identical files.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import numpy as np

from client.extract.writer import Format, write_extract
from client.synth.layout import plan_federation
from client.synth.output import FEDERATION_FILE, PRACTICES_DIR, claim_output_dir
from client.synth.practice import synthesize_practice
from client.synth.quality import draw_quality
from client.synth.survey import draw_survey_responses
from common.federation import REGIONS, Federation, Practice, SyntheticInfo, write_federation
from indicator_defs.survey_loader import installed_surveys

GENERATOR = "klynge synth"
GENERATOR_VERSION = 2  # bump when the same seed starts giving different data
DEFAULT_AS_OF = date(2026, 9, 30)
DEFAULT_YEARS = 10
SURVEY = "PX"  # the survey every synthetic practice runs


@dataclass(frozen=True)
class PracticeReport:
    """Progress for one practice, for the CLI's progress bar and summary."""

    index: int  # 1-based
    total: int
    practice: Practice
    rows: dict[str, int]  # table name -> rows written
    generate_seconds: float
    write_seconds: float


def synthesize_federation(
    out_dir: Path,
    n_practices: int = 15,
    n_clusters: int = 3,
    seed: int = 1,
    *,
    as_of: date = DEFAULT_AS_OF,
    years: int = DEFAULT_YEARS,
    fmt: Format = "csv",
    patients_override: int | None = None,
    on_practice: Callable[[PracticeReport], None] | None = None,
    region: str | None = None,
    survey_errors: bool = False,
) -> Federation:
    """Write DIR/federation.toml and DIR/practices/<id>/ extracts; return the federation.

    Refuses (SynthOutputError) to write into a non-empty directory that is not
    a previous synth output. The federation file is written last, so a run
    that stops early never leaves a federation pointing at missing extracts.
    Every practice gets survey answers; `survey_errors` adds a few bad rows
    to each, one per skip rule.
    """
    if n_clusters < 1:
        raise ValueError("n_clusters must be at least 1")
    if n_practices < n_clusters:
        raise ValueError("need at least as many practices as clusters")
    if years < 1:
        raise ValueError("years must be at least 1")
    if patients_override is not None and patients_override < 1:
        raise ValueError("patients_override must be at least 1")
    out_dir = Path(out_dir)
    claim_output_dir(out_dir)

    layout_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0,)))
    if region is not None and region not in REGIONS:
        raise ValueError(f"unknown region {region!r}; choose one of {', '.join(REGIONS)}")
    clusters, plans = plan_federation(
        layout_rng, n_practices, n_clusters, patients_override, region=region
    )
    survey = installed_surveys()[SURVEY]
    practices: list[Practice] = []
    for i, plan in enumerate(plans):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1, i)))
        quality = draw_quality(rng)
        started = time.perf_counter()
        extract = synthesize_practice(plan.list_size, as_of, years, quality, rng)
        survey_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2, i)))
        answers = draw_survey_responses(
            survey_rng, extract.patients, survey, as_of, errors=survey_errors
        )
        extract = replace(extract, survey_responses=answers)
        generated = time.perf_counter()
        relative = f"{PRACTICES_DIR}/{plan.id}"
        write_extract(extract, out_dir / PRACTICES_DIR / plan.id, fmt)
        written = time.perf_counter()
        practice = Practice(
            id=plan.id,
            name=plan.name,
            cluster=plan.cluster,
            region=plan.region,
            extract=relative,
            list_size=plan.list_size,
            synthetic_quality=quality.as_pairs(),
        )
        practices.append(practice)
        if on_practice is not None:
            rows = {name: len(extract.table(name)) for name in extract.present_tables()}
            on_practice(
                PracticeReport(
                    i + 1, len(plans), practice, rows, generated - started, written - generated
                )
            )

    federation = Federation(
        name=f"Syntetisk føderation (seed {seed})",
        clusters=clusters,
        practices=tuple(practices),
        synthetic=SyntheticInfo(
            generator=GENERATOR,
            generator_version=GENERATOR_VERSION,
            seed=seed,
            as_of=as_of,
            years=years,
            format=fmt,
            patients_override=patients_override,
        ),
        base_dir=out_dir,
    )
    write_federation(federation, out_dir / FEDERATION_FILE)
    return federation
