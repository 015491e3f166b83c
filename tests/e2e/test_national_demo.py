"""`klynge demo --regions 2`: two real regional coordinators, then the national step."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from common.keyfiles import load_public_key
from privacy.publication import load_json, parse_national

pytestmark = pytest.mark.e2e


def test_two_regions_and_the_country(tmp_path):
    out = tmp_path / "demo"
    args = ["--regions", "2", "--practices", "5", "--clusters", "1", "--patients", "150"]
    done = subprocess.run(
        [sys.executable, "-m", "klynge", "demo", *args, "--no-dp", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert (out / "national-report.html").exists()
    national_dir = out / "national"
    signed = parse_national(
        national_dir / "national.json",
        load_json(national_dir / "national.json"),
        national_key=load_public_key(national_dir / "national.key.pub"),
        manifest_hash=json.loads((national_dir / "national.json").read_text())["manifest_hash"],
    )
    nation = {i["id"]: i for i in signed.nation["indicators"]}
    regions = [{i["id"]: i for i in doc["indicators"]} for doc in signed.regions.values()]
    assert len(regions) == 2
    compared = 0
    for iid, figure in nation.items():  # without noise: the country is the regions' sum
        parts = [r[iid]["numerator"] for r in regions]
        if None in parts:  # a small cell hidden in a region hides the country's figure
            assert figure["numerator"] is None
            continue
        compared += 1
        assert figure["numerator"] == sum(parts)
        assert figure["denominator"] == sum(r[iid]["denominator"] for r in regions)
    assert compared > 0
    for region in ("Midtjylland", "Nordjylland"):  # each region imported it
        assert (out / "regions" / region / "coordinator" / "state" / "national.json").exists()
    english = (national_dir / "national-report.en.html").read_text()
    assert "National report" in english and "Midtjylland" in english
