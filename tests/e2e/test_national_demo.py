"""`klynge demo --regions 2`: two real regional coordinators, then the national step."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from common.formatting import rate
from common.keyfiles import load_public_key
from indicator_defs import load_catalogue
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
    catalogue = load_catalogue()
    shown = {  # the country's rates as the practice report writes them (Danish, the default)
        iid: rate(f["rate"], catalogue.indicators[iid].scale, lang="da")
        for iid, f in nation.items()
        if f["rate"] is not None and iid in catalogue.indicators
    }
    assert shown
    for region in ("Midtjylland", "Nordjylland"):
        # one practice per region fetched the country over Fetch and shows it in its report
        region_dir = out / "regions" / region
        fetched = list(region_dir.glob("agents/*/state/releases/nation-*.json"))
        assert len(fetched) == 1, fetched
        assert json.loads(fetched[0].read_text())["level"] == "nation"
        (page,) = region_dir.glob("practice-*.html")
        html = page.read_text()
        overview = html.split("<table>", 1)[1].split("</table>", 1)[0]
        rows = [
            re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S) for r in overview.split("<tr>")[1:]
        ]
        column = rows[0].index("Landet")
        country = {re.search(r"#([^']+)'", r[0]).group(1): r[column] for r in rows[1:]}
        assert all(country[iid].startswith(text) for iid, text in shown.items()), country
        assert "Danmark" in html  # the sources name the national release
        report = (region_dir / "region-report.html").read_text()
        assert "<th>Landet</th>" in report
