"""`klynge agent report` on a provisioned agent: with and without downloaded releases."""

from __future__ import annotations

import json
import os
import re
from datetime import date

import pytest
from typer.testing import CliRunner

from client.agent.config import load_settings
from client.extract.loader import load_extract
from client.report.patients import patients_per_indicator
from common.keyfiles import load_private_key
from indicator_defs import load_catalogue
from klynge.cli import root
from klynge.demo import DemoOptions, prepare
from privacy.ledger import ChargeRequest, Ledger
from privacy.manifest import load_manifest
from privacy.plan import manifest_release
from tests.privacy.builders import cluster_length

AS_OF = date(2026, 9, 30)


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    out = tmp_path_factory.mktemp("practice-report") / "demo"
    layout = prepare(DemoOptions(out=out, practices=5, clusters=1, patients=60))
    return load_settings(layout.agent_configs["P0001"])


def _invoke(*args):
    return CliRunner().invoke(root, list(args))


def test_without_releases_the_report_renders_own_values_and_says_so(agent, tmp_path):
    out = tmp_path / "own.html"
    res = _invoke(
        "--lang",
        "en",
        "agent",
        "report",
        "--config",
        str(agent.path),
        "--out",
        str(out),
        "--as-of",
        AS_OF.isoformat(),
    )
    assert res.exit_code == 0, res.output
    assert "own figures only" in res.output
    page = out.read_text(encoding="utf-8")
    assert "No cluster or regional results have been downloaded" in page
    assert os.stat(out).st_mode & 0o077 == 0  # holds patient ids: owner only
    catalogue = load_catalogue()
    manifest = load_manifest(agent.manifests[0]).manifest
    lists = patients_per_indicator(
        load_extract(agent.extract_dir), catalogue.select(manifest.indicator_ids), AS_OF
    )
    first = next(iter(lists.values()))
    assert f"({first.numerator}/{first.denominator})" in page


def _write_release(agent, level, unit, rounds):
    manifest = load_manifest(agent.manifests[0]).manifest
    ids = manifest.indicator_ids
    doc = {
        "release_id": 7,
        "created_at": "2026-10-01T10:00:00+00:00",
        "level": level,
        "unit": unit,
        "reference_date": AS_OF.isoformat(),
        "round_ids": rounds,
        "manifest_hash": manifest.hash(),
        "contributors": 5,
        "mechanism": manifest.mechanism,
        "epsilon_per_release": 1.0,
        "indicators": [
            {
                "id": ids[0],
                "numerator": None,
                "denominator": None,
                "rate": None,
                "noise_sd": 50.0,
                "suppressed": {
                    "numerator": "small_count",
                    "denominator": "small_count",
                    "rate": "denominator_suppressed",
                },
            },
            *(
                {
                    "id": i,
                    "numerator": 50,
                    "denominator": 100,
                    "rate": 0.5,
                    "noise_sd": 5.0,
                    "suppressed": {},
                }
                for i in ids[1:]
            ),
        ],
    }
    agent.releases_dir.mkdir(parents=True, exist_ok=True)
    (agent.releases_dir / f"{level}-r1.json").write_text(json.dumps(doc), encoding="utf-8")
    return ids


def test_with_releases_and_a_charged_round(agent, tmp_path):
    ids = _write_release(agent, "cluster", agent.cluster_id, ["r1"])
    _write_release(agent, "region", "Midtjylland", ["r1", "r2"])
    manifest = load_manifest(agent.manifests[0]).manifest
    ledger = Ledger.open(agent.ledger_dir, key=load_private_key(agent.identity_key))
    receipt = ledger.charge(
        ChargeRequest(
            round_id="r1",
            recipient=f"coordinator:{agent.cluster_id}",
            manifest=manifest,
            reference_date=AS_OF,
            release=manifest_release(manifest),
            payload=b"masked-bytes" * 20,
            coordinates=cluster_length(manifest),
        )
    )
    ledger.mark_sent("r1")
    out = tmp_path / "da.html"
    res = _invoke(
        "agent", "report", "--config", str(agent.path), "--out", str(out)
    )  # as-of: latest
    assert res.exit_code == 0, res.output
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert "referencedato 2026-09-30" in page
    assert "aldrig sendt" in page
    card = page[page.index(f"id='{ids[0]}'") :].split("<div class='card'")[0]
    assert "skjult (lille tal)" in card
    assert receipt.round_id in page and receipt.payload_sha256[:16] in page
    assert manifest.hash()[:12] in page and str(receipt.payload_bytes) in page
    assert "brugt ε" in page and "tilbage ε" in page
    en = _invoke(
        "agent",
        "report",
        "--config",
        str(agent.path),
        "--out",
        str(tmp_path / "en.html"),
        "--lang",
        "en",
    )
    assert en.exit_code == 0, en.output
    assert "never uploaded" in (tmp_path / "en.html").read_text(encoding="utf-8")


def test_errors_are_one_line(agent, tmp_path):
    agent.releases_dir.mkdir(parents=True, exist_ok=True)  # another worker may hold the rest
    bad = agent.releases_dir / "cluster-broken.json"
    bad.write_text("{not json", encoding="utf-8")
    try:
        res = _invoke(
            "agent", "report", "--config", str(agent.path), "--out", str(tmp_path / "x.html")
        )
    finally:
        bad.unlink()
    assert res.exit_code != 0 and "cluster-broken.json" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "x.html").exists()
    res = _invoke(
        "agent",
        "report",
        "--config",
        str(tmp_path / "missing.toml"),
        "--out",
        str(tmp_path / "x.html"),
    )
    assert res.exit_code != 0 and "missing.toml" in res.output
    res = _invoke(
        "agent",
        "report",
        "--config",
        str(agent.path),
        "--out",
        str(tmp_path / "x.html"),
        "--lang",
        "fr",
    )
    assert res.exit_code != 0
