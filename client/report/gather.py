"""Read what the practice holds (settings, extract, ledger, downloaded releases) into a report.

The only I/O of the report: the clock comes in as `today` and `generated_at`
so tests pin them. Nothing is sent; the coordinator is never contacted. The
extract is prepared once; the patient lists are evaluated at `as_of` and the
own totals once more for each earlier period with a downloaded cluster release.
"""

from __future__ import annotations

from datetime import date

from client.agent.config import AgentSettings
from client.agent.status import budget_rows
from client.engine.fast import PreparedExtract
from client.extract.loader import load_extract
from client.report.errors import ReportError
from client.report.patients import patients_per_indicator
from client.report.practice_report import budget_years, build_report
from client.report.published import choose_releases, latest_cluster_date, read_releases
from client.report.survey import practice_surveys
from client.report.trend import build_trends, own_counts, trend_dates
from client.report.verdict import is_proportion, read_contribution, rest_of_cluster
from indicator_defs import Catalogue, load_catalogue
from indicator_defs.survey_loader import installed_surveys
from privacy.ledger import Ledger
from privacy.manifest import load_manifest
from reporting.practice_model import PracticeReport


def gather_report(
    settings: AgentSettings,
    *,
    today: date,
    generated_at: str,
    as_of: date | None = None,
    catalogue: Catalogue | None = None,
) -> PracticeReport:
    """The report at `as_of` (default: `default_as_of`) for the first configured manifest."""
    manifest = load_manifest(settings.manifests[0]).manifest
    installed = catalogue or load_catalogue()
    missing = [i for i in manifest.indicator_ids if i not in installed.indicators]
    if missing:
        raise ReportError(
            f"{settings.manifests[0]}: indicators: {missing[0]} is not an installed indicator"
        )
    chosen = installed.select(manifest.indicator_ids)
    releases = read_releases(settings.releases_dir)
    if as_of is None:
        as_of = latest_cluster_date(releases, settings.cluster_id) or today
    extract = load_extract(settings.extract_dir)
    prepared = PreparedExtract.from_extract(extract)
    patients = patients_per_indicator(extract, chosen, as_of, prepared)
    at_as_of = {i: (p.numerator, p.denominator) for i, p in patients.items()}
    own = own_counts(
        prepared, chosen, trend_dates(releases, settings.cluster_id, as_of), {as_of: at_as_of}
    )
    ledger = Ledger.open(settings.ledger_dir)  # verified: a corrupt ledger is an error
    chosen_releases = choose_releases(releases, settings.cluster_id, as_of)
    rest = None
    cluster_release = chosen_releases.cluster
    if cluster_release is not None:
        kept = read_contribution(settings.contributions_dir, cluster_release.round_ids)
        if kept is not None:
            rest = rest_of_cluster(manifest, cluster_release, kept)
    return build_report(
        practice_id=settings.practice_id,
        cluster_id=settings.cluster_id,
        as_of=as_of,
        generated_at=generated_at,
        catalogue=chosen,
        patients=patients,
        releases=chosen_releases,
        charges=ledger.charges(),
        budget=budget_years(budget_rows(ledger, manifest.budget, today)),
        trends=build_trends(chosen, releases, settings.cluster_id, own),
        rest=rest,
        proportions={e.id: is_proportion(manifest, e.id) for e in manifest.indicators},
        surveys=practice_surveys(
            extract.survey_responses,
            installed_surveys(),
            as_of,
            {e.id: e.period(as_of) for e in manifest.survey_entries},
        ),
    )
