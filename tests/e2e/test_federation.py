"""End-to-end: a real coordinator process and real agent processes on loopback.

Real gRPC over real sockets, real mutual TLS with certificates created for
the test, real key files, ledgers and a real SQLite store on disk. Nothing
is mocked. Each scenario is one demo federation run (`klynge.demo`), then
its outputs are checked against `klynge compute` run on every practice's
own extract. The demo runs the cluster rounds and, on its reference date,
the region-wide round beside them: cluster releases carry totals only; the
region-wide round's release carries the strata and the practice-rate
histograms. Who contributed to a round is read from the practices' own
ledgers (a charge, and the hand-over of the masked input), never guessed.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from client.agent.config import load_settings
from client.engine.survey import survey_cells
from client.extract.loader import load_extract
from client.report.gather import gather_report
from indicator_defs import load_catalogue
from indicator_defs.fhir_extensions import structure_definitions
from indicator_defs.survey_loader import installed_surveys
from klynge.cli import root
from klynge.demo import DEMO_PARTNER_MEASURES, DemoOptions, prepare, run, stop_all
from privacy.layout import TOTAL, ReleaseLayout, RoundScope
from privacy.manifest import load_manifest
from privacy.plan import round_params
from reporting.practice_page import render_practice_report
from reporting.release_document import parse_results
from server.fhir_report import release_bundle
from server.results import results_document
from server.store import Store
from tests.server.fhir_schema import klynge_extension_urls, r4_problems
from transport.client import AgentConfig, AgentHandler, AgentTransport
from transport.pki import PkiLayout, init_pki, issue_practices
from transport.tls import TlsFiles

pytestmark = pytest.mark.e2e
SMALL = {"practices": 18, "patients": 250, "stage_timeout_s": 3.0, "timeout_s": 120.0}


def run_demo(tmp: Path, **kw):
    options = DemoOptions(out=tmp / "demo", **{**SMALL, **kw})
    layout = prepare(options)
    outcome = run(layout, options)
    store = Store.open(layout.store)
    try:
        results = results_document(store, options.reference_date)
    finally:
        store.close()
    return options, layout, outcome, results


def compute_all(layout) -> dict[str, dict]:
    """`klynge compute --json` for every practice, exactly as a practice would run it."""
    runner = CliRunner()
    out = {}
    for p in layout.federation.practices:
        res = runner.invoke(
            root,
            ["compute", str(layout.federation.extract_dir(p)), "--as-of", "2026-09-30", "--json"],
        )
        assert res.exit_code == 0, res.output
        out[p.id] = json.loads(res.stdout)
    return out


def survey_truth(layout) -> dict[str, dict[str, tuple[int, int]]]:
    """Per practice, (units, respondents) per survey measure from its own answers file."""
    manifest = load_manifest(layout.manifest).manifest
    reference = date(2026, 9, 30)
    wanted = {s.id: (s.version, s.period(reference)) for s in manifest.survey_entries}
    out = {}
    for p in layout.federation.practices:
        extract = load_extract(layout.federation.extract_dir(p), surveys=installed_surveys())
        out[p.id] = survey_cells(extract.survey_responses, installed_surveys(), wanted)
    return out


def truth(computed: dict[str, dict], practices: list[str]) -> dict[tuple[str, str], list[int]]:
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for pid in practices:
        for ind in computed[pid]["indicators"]:
            for s in ind["strata"]:
                cells[ind["id"], s["stratum"]][0] += s["numerator"]
                cells[ind["id"], s["stratum"]][1] += s["denominator"]
            cells[ind["id"], "total"][0] += ind["numerator"]
            cells[ind["id"], "total"][1] += ind["denominator"]
    return cells


def released_cells(doc: dict):
    for ind in doc["indicators"]:
        yield ind["id"], "total", ind
        for s in ind["strata"]:
            yield ind["id"], s["stratum"], s


def true_cells(computed: dict[str, dict], members: list[str]) -> dict[str, dict[str, int]]:
    """The cells a cluster round releases, from the practices' own `klynge compute` totals:
    (passed, failed) for a proportion, (events, listed) for a rate per listed patient."""
    cells: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for pid in members:
        for ind in computed[pid]["indicators"]:
            n, d = ind["numerator"], ind["denominator"]
            if ind["scale"] == 1000 and ind["unit"] == "events":
                cells[ind["id"]]["events"] += n
                cells[ind["id"]]["listed"] += d
            else:
                cells[ind["id"]]["passed"] += n
                cells[ind["id"]]["failed"] += d - n
    return cells


def ledger_entries(layout, practice_id: str) -> list[dict]:
    ledger = load_settings(layout.agent_configs[practice_id]).ledger_dir / "ledger.jsonl"
    return [json.loads(line) for line in ledger.read_text().splitlines()]


def contributors_of(layout, doc: dict) -> list[str]:
    """The practices whose ledger says they charged and handed over a masked input for the
    release's round (one round: a cluster's, or the region-wide round)."""
    (round_id,) = doc["round_ids"]
    out = []
    for p in layout.federation.practices:
        entries = ledger_entries(layout, p.id)
        charged = any(
            e["kind"] == "charge" and e["receipt"]["round_id"] == round_id for e in entries
        )
        sent = any(e["kind"] == "sent" and e["round_id"] == round_id for e in entries)
        if charged and sent:
            out.append(p.id)
    assert len(out) == doc["contributors"], (doc["unit"], out)
    return out


def true_strata_cells(manifest, computed, members) -> dict[tuple[str, str], dict[str, int]]:
    """(indicator, stratum or total) -> {field: true cell}, summed over `members`."""
    counts = truth(computed, members)
    layout = ReleaseLayout.for_round(manifest, RoundScope.REGION)
    return {
        (block.indicator_id, group): dict(
            zip(block.fields, block.cells(*counts[block.indicator_id, group]), strict=True)
        )
        for block in layout.blocks
        for group in (*block.groups, TOTAL)
    }


def check_cells_within(doc: dict, expected, sigmas: float = 6.0) -> int:
    """Every raw noisy cell of a DP release within `sigmas` of the truth; how many checked."""
    checked = 0
    for ind_id, stratum, cell in released_cells(doc):
        if not cell.get("cells"):  # a total over strata: an estimate, no raw cells of its own
            continue
        want = expected[ind_id, stratum]
        assert set(cell["cells"]) == set(want)
        for field, value in cell["cells"].items():
            sd = cell["cell_noise_sd"][field]
            assert sd > 0
            assert abs(value - want[field]) <= sigmas * sd + 1, (doc["unit"], ind_id, stratum)
            checked += 1
    return checked


def hat_weights(rate: float, bins: int) -> list[float]:
    """Linear binning written out as hat functions on the bin centres (the obvious form)."""
    centres = [(j + 0.5) / bins for j in range(bins)]
    r = min(max(rate, centres[0]), centres[-1])
    return [max(0.0, 1.0 - abs(r - c) * bins) for c in centres]


def expected_histogram(computed, members, indicator_id, bins, full_weight) -> list[float]:
    out = [0.0] * bins
    for pid in members:
        ind = next(i for i in computed[pid]["indicators"] if i["id"] == indicator_id)
        n, d = ind["numerator"], ind["denominator"]
        if d == 0:
            continue
        mass = min(1.0, d / full_weight)
        for j, w in enumerate(hat_weights(n / d, bins)):
            out[j] += mass * w
    return out


def check_cluster_rounds_carry_no_histograms(results) -> None:
    """Practice-rate histograms were pure noise at cluster level; they belong to the
    region-wide round, so a cluster round's release has none."""
    for doc in results["clusters"].values():
        assert "distributions" not in doc


def check_distributions(doc: dict, layout, members: list[str], computed) -> None:
    """Without noise, each histogram the region-wide round releases is the hat-function
    histogram of the true practice rates. Fixed point rounds each practice's two bins to
    1/scale of a practice."""
    spec = load_manifest(layout.manifest).manifest.distribution
    assert spec is not None and spec.indicators
    assert set(doc["distributions"]) == set(spec.indicators)
    for name in spec.indicators:
        dist = doc["distributions"][name]
        want = expected_histogram(computed, members, name, spec.bins, spec.full_weight_denominator)
        assert dist["practices"] == len(members)
        assert dist["bin_noise_sd"] == 0
        assert dist["bins"] == pytest.approx(want, abs=len(members) * 1.5 / spec.scale + 0.01)
        assert sum(dist["bins"]) > 1
        assert dist["deciles"] is not None  # 12+ practices and no noise: deciles are given


def check_exact(doc: dict, expected, where: str) -> int:
    """Every released figure equals the truth; a hidden one says why, never zero."""
    checked = 0
    for ind_id, stratum, cell in released_cells(doc):
        for i, field in enumerate(("numerator", "denominator")):
            if cell[field] is not None:
                assert cell[field] == expected[ind_id, stratum][i], (where, ind_id, stratum)
                checked += 1
            else:
                assert field in cell["suppressed"]
    return checked


def test_no_dp_release_equals_the_sum_of_local_computes_even_with_dropouts(tmp_path):
    _, layout, outcome, results = run_demo(tmp_path, no_dp=True, dropout=0.1)
    assert set(results["clusters"]) == {"K01", "K02", "K03"}, results["aborted_rounds"]
    assert len(outcome.dropouts) == 3  # one practice per cluster vanished mid-round
    computed = compute_all(layout)
    checked = 0
    region_members = []
    for cluster, doc in results["clusters"].items():
        members = contributors_of(layout, doc)
        region_members += members
        assert 4 <= len(members) <= 6
        checked += check_exact(doc, truth(computed, members), cluster)
        # a cluster round releases its totals only
        assert all(ind["strata"] == [] for ind in doc["indicators"])
        assert "distributions" not in doc
    assert checked > 100
    (region,) = results["regions"].values()
    check_exact(region, truth(computed, region_members), "region")
    assert all(ind["strata"] == [] for ind in region["indicators"])

    # The region-wide round: its strata cells are the sums of the practices' own strata,
    # its histograms those of their own rates.
    (wide,) = results["region_rounds"].values()
    assert wide["scope"] == "region" and wide["level"] == "region"
    wide_members = contributors_of(layout, wide)
    assert len(wide_members) >= 12
    assert check_exact(wide, truth(computed, wide_members), "region-wide") > 150
    check_distributions(wide, layout, wide_members, computed)
    same = sorted(wide_members) == sorted(region_members)
    note = region["region_round"]
    assert note == {
        "round_id": wide["round_ids"][0],
        "totals": "exact" if same else "contributors_differ",
    }
    # Survey cells: each PX measure's units and respondents are the sums of the practices'
    # own `compute_survey` over the manifest's period, read from their own answers files.
    answers = survey_truth(layout)
    members_of = {c: contributors_of(layout, d) for c, d in results["clusters"].items()}
    members_of["region"] = region_members
    for unit, doc in [*results["clusters"].items(), ("region", region)]:
        assert set(doc["surveys"]) == set(installed_surveys()["PX"].measures)
        for measure, figure in doc["surveys"].items():
            expected = [sum(answers[p][measure][k] for p in members_of[unit]) for k in (0, 1)]
            units, respondents = expected
            assert figure["cells"] == {"units": units, "respondents": respondents}, unit
            assert expected[1] > 0, (unit, measure)  # synth's practices answer
    # every practice can fetch its cluster's and region's release for its local report
    for p in layout.federation.practices:
        if p.id in outcome.dropouts:
            continue
        releases = load_settings(layout.agent_configs[p.id]).state_dir / "releases"
        names = sorted(x.name for x in releases.glob("*.json"))
        assert any(n.startswith("cluster-") for n in names), p.id
        assert any(n.startswith("region-") for n in names), p.id
        assert f"region-{wide['round_ids'][0]}.json" in names, p.id
    # the demo's partner fetched its grant after the rounds: K01's release, four measures
    assert outcome.partner is not None
    (given,) = outcome.partner.releases
    assert (given.level, given.unit) == ("cluster", "K01")
    assert set(given.figures) == set(DEMO_PARTNER_MEASURES)
    released = {i["id"]: i for i in results["clusters"]["K01"]["indicators"]}
    for measure, figure in given.figures.items():
        assert figure.numerator == released[measure]["numerator"], measure


def test_dp_release_is_within_six_sigma_and_the_server_holds_no_patient_data(tmp_path):
    _, layout, _, results = run_demo(tmp_path)
    assert set(results["clusters"]) == {"K01", "K02", "K03"}, results["aborted_rounds"]
    manifest = load_manifest(layout.manifest).manifest
    computed = compute_all(layout)
    covered = figures = 0
    for doc in results["clusters"].values():
        members = [p.id for p in layout.federation.practices_in(doc["unit"])]
        assert doc["mechanism"] == "distributed_skellam"
        cells = true_cells(computed, members)
        expected = truth(computed, members)
        for ind in doc["indicators"]:
            # Every cell the manifest lays out is released, hidden by nothing (DP releases).
            assert ind["suppressed"] == {} and set(ind["cells"]) == set(cells[ind["id"]])
            for name, value in ind["cells"].items():
                sd = ind["cell_noise_sd"][name]
                assert sd > 0
                err = abs(value - cells[ind["id"]][name])
                assert err <= 6 * sd + 1, (ind["id"], name, err, sd)
            num, den = expected[ind["id"], "total"]
            if den and ind["interval"] is not None:
                figures += 1
                covered += ind["interval"][0] <= num / den <= ind["interval"][1]
            assert isinstance(ind.get("uncertain", False), bool)
        for figure in doc["surveys"].values():  # no answers: the survey cells are noise alone
            for name, value in figure["cells"].items():
                assert abs(value) <= 6 * figure["cell_noise_sd"][name] + 1, (name, value)
        check_cluster_rounds_carry_no_histograms(results)
    # 95 % intervals (noise and chance) hold the practices' true rate in most cases.
    assert figures > 30 and covered >= 0.8 * figures, (covered, figures)
    everyone = [p.id for p in layout.federation.practices]
    (wide,) = results["region_rounds"].values()
    assert wide["contributors"] == len(everyone) and wide["mechanism"] == "distributed_skellam"
    assert check_cells_within(wide, true_strata_cells(manifest, computed, everyone)) > 300
    spec = manifest.distribution
    for name in spec.indicators:
        dist = wide["distributions"][name]
        want = expected_histogram(computed, everyone, name, spec.bins, spec.full_weight_denominator)
        assert dist["bin_noise_sd"] > 0
        for got, true in zip(dist["bins"], want, strict=True):
            # a bin is shown as max(noisy, 0): it can only be nearer a true count ≥ 0
            assert abs(got - true) <= 6 * dist["bin_noise_sd"] + 0.01, (name, got, true)
    # Every practice took part in both rounds, so the region's totals use both
    (region,) = results["regions"].values()
    assert region["region_round"] == {
        "round_id": wide["round_ids"][0],
        "totals": "same_contributors",
    }
    expected = truth(computed, everyone)
    for ind in region["indicators"]:
        num = expected[ind["id"], "total"][0]
        assert abs(ind["numerator"] - num) <= 6 * ind["noise_sd"] + 1, ind["id"]
    check_every_release_exports_as_conformant_fhir(results)

    # Scan everything the coordinator wrote: store, logs, transparency log.
    coordinator_files = [
        p for p in layout.coordinator_dir.rglob("*") if p.is_file() and p.suffix != ".toml"
    ] + [layout.logs / "coordinator.out"]
    blob = b"".join(p.read_bytes() for p in coordinator_files)
    text = blob.decode("utf-8", errors="replace")
    for p in layout.federation.practices:
        extract = layout.federation.extract_dir(p) / "patients.csv"
        rows = [line.split(",") for line in extract.read_text().splitlines()[1:]]
        for patient_id, birth, *_ in rows:
            assert patient_id not in text
            if birth < "2026-09-30":  # later dates are the reference date, timestamps
                assert birth not in text
        vector = np.array(
            [
                v
                for ind in computed[p.id]["indicators"]
                for v in true_cells(computed, [p.id])[ind["id"]].values()
            ],
            dtype=np.int64,
        )
        assert vector.tobytes() not in blob
        assert ",".join(map(str, vector[:24])) not in text.replace(" ", "")
    check_comments_stay_in_the_practice_report(layout)


def check_comments_stay_in_the_practice_report(layout) -> None:
    """The patients' free-text comments are in the practice's own report and nowhere else:
    not in what agents sent or stored (ledgers, receipts, contributions, fetched releases,
    logs), not in the coordinator's store, logs or transparency log (issue 16)."""
    extracts = {}
    for p in layout.federation.practices:
        answers = pd.read_csv(layout.federation.extract_dir(p) / "survey_responses.csv", dtype=str)
        extracts[layout.federation.extract_dir(p).resolve()] = answers[answers["text"].notna()]
    comments = {c for answers in extracts.values() for c in answers["text"]}
    # a practice with comments in the report's year shows them in its own report
    shown = next(
        p
        for p in layout.federation.practices
        if (extracts[layout.federation.extract_dir(p).resolve()]["date"] >= "2025-10-01").any()
    )
    report = render_practice_report(
        gather_report(
            load_settings(layout.agent_configs[shown.id]),
            today=date(2026, 10, 2),
            generated_at="2026-10-02T08:00:00+00:00",
            as_of=date(2026, 9, 30),
        ),
        "da",
    )
    own = extracts[layout.federation.extract_dir(shown).resolve()]
    for comment in own.loc[own["date"] >= "2025-10-01", "text"]:
        assert html.escape(comment, quote=True) in report
    outside = [
        path
        for path in layout.out.rglob("*")
        if path.is_file() and not any(parent in extracts for parent in path.resolve().parents)
    ]
    assert any("ledger" in str(path) for path in outside)  # the agents' state is scanned
    blob = b"".join(path.read_bytes() for path in outside).decode("utf-8", errors="replace")
    for comment in comments:
        assert comment not in blob and html.escape(comment, quote=True) not in blob


def check_every_release_exports_as_conformant_fhir(results: dict) -> None:
    """Every release's Bundle of MeasureReports passes the R4 schema and invariants (each
    Klynge extension against its published StructureDefinition, of which there is exactly
    one), and each report names the definition version and hash its release recorded."""
    catalogue = load_catalogue()
    parsed = parse_results("results.json", results)
    releases = [*parsed.clusters.values(), *parsed.regions.values()]
    assert releases
    published = [sd["url"] for sd in structure_definitions()]
    for release in releases:
        bundle = release_bundle(release, catalogue)
        assert r4_problems(bundle) == [], (release.level, release.unit)
        for url in set(klynge_extension_urls(bundle)):  # each published exactly once
            assert published.count(url) == 1, url
        for entry in bundle["entry"]:
            report = entry["resource"]
            measure_id = report["measure"].rsplit("/", 1)[1].split("|")[0]
            if measure_id in release.surveys:  # a survey measure names the survey's version
                assert report["measure"].endswith("|1")
                continue
            indicator = catalogue.indicators[measure_id]
            assert report["measure"].endswith(f"|{indicator.version}")
            assert release.definitions[indicator.id].content_hash == indicator.content_hash


def test_a_cluster_below_the_minimum_releases_nothing(tmp_path):
    # two clusters of 5; one practice of each vanishes, leaving 4 < 5 survivors
    _, layout, outcome, results = run_demo(
        tmp_path, practices=10, clusters=2, dropout=0.2, dropout_stage="SHARE_KEYS"
    )
    assert results["clusters"] == {} and results["regions"] == {}
    assert outcome.partner is not None and outcome.partner.releases == ()  # nothing to get
    reasons = {r["cluster"]: r["reason"] for r in results["aborted_rounds"]}
    assert {"K01", "K02"} <= set(reasons)
    # recorded in words (server/reasons.py), never as an exception class
    assert all("participants remain" in reasons[c] for c in ("K01", "K02")), reasons
    assert not any("Error" in r for r in reasons.values()), reasons
    manifest = load_manifest(layout.manifest).manifest
    store = Store.open(layout.store)
    try:
        # Only the region-wide round may release: its own sum, at region level, if at least
        # its own floor of the region's ten practices contributed; never a cluster's figures.
        for stored in store.releases():
            release = stored.release
            assert release.level.value == "region" and release.extras["scope"] == "region"
            assert (
                release.extras["contributors"]
                >= round_params(manifest, 10, RoundScope.REGION).min_survivors
            )
    finally:
        store.close()


class _Silent(AgentHandler):
    pass


def test_a_wrong_certificate_is_refused(tmp_path):
    options = DemoOptions(out=tmp_path / "demo", **SMALL)
    layout = prepare(options)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with open(layout.logs / "coordinator.out", "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "klynge",
                "server",
                "run",
                "--config",
                str(layout.server_config),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        port_file = layout.coordinator_dir / "coordinator.port"
        deadline = time.monotonic() + 30
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        port = int(port_file.read_text())
        rogue = PkiLayout(tmp_path / "rogue-pki")  # a CA the coordinator never trusted
        init_pki(rogue, now=_now())
        issue_practices(rogue, ["P0001"], now=_now())
        real = PkiLayout(layout.out / "pki")
        for name, files in {
            "foreign CA": TlsFiles.for_practice(rogue, "P0001"),
            # a real client certificate, but for a practice not in the registry
            "unregistered": _issue_extra(real, "P9999"),
        }.items():
            transport = AgentTransport(
                AgentConfig(target=f"localhost:{port}", tls=files), _Silent()
            )
            transport.start()
            try:
                assert not transport.wait_connected(3.0), name
            finally:
                transport.close()
        events = [
            json.loads(line)
            for line in (layout.coordinator_dir / "coordinator.log").read_text().splitlines()
        ]
        refusals = [e for e in events if e.get("event") == "refused"]
        assert any(
            e.get("practice_id") == "P9999" and "NOT_REGISTERED" in e.get("reason", "")
            for e in refusals
        ), refusals  # refused at the identity layer, with a log line saying why
        assert not any(e.get("event") == "session_open" for e in events)
    finally:
        stop_all([proc])


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _issue_extra(layout: PkiLayout, practice_id: str) -> TlsFiles:
    issue_practices(layout, [practice_id], now=_now())
    return TlsFiles.for_practice(layout, practice_id)


def test_several_periods_are_backfilled_and_charged_per_period(tmp_path):
    options, layout, _, _ = run_demo(tmp_path, practices=10, clusters=2, periods=2)
    assert options.reference_dates == (date(2026, 6, 30), date(2026, 9, 30))
    store = Store.open(layout.store)
    try:
        released = {(r.release.unit, r.release.reference_date) for r in store.releases()}
    finally:
        store.close()
    for ref in options.reference_dates:
        assert {("K01", ref), ("K02", ref)} <= released
    # each practice paid once per period for its cluster round, and once for the region-wide
    # round of the last period (the demo's manifest runs one there), under one yearly budget
    for p in layout.federation.practices:
        charged = [
            (e["receipt"]["reference_date"], e["receipt"]["recipient"])
            for e in ledger_entries(layout, p.id)
            if e["kind"] == "charge"
        ]
        assert sorted(charged) == sorted(
            [
                ("2026-06-30", f"coordinator:{p.cluster}"),
                ("2026-09-30", f"coordinator:{p.cluster}"),
                ("2026-09-30", f"coordinator:region:{p.region}"),
            ]
        ), p.id
        # and holds its cluster's and region's release of each period, not the newest twice
        releases = load_settings(layout.agent_configs[p.id]).state_dir / "releases"
        held = defaultdict(set)
        for path in releases.glob("*.json"):
            doc = json.loads(path.read_text())
            held[doc["level"]].add(doc["reference_date"])
        want = {d.isoformat() for d in options.reference_dates}
        assert held["cluster"] == want and held["region"] == want, (p.id, dict(held))
