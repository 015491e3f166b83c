"""The HTML reports of a real demo run, opened in real headless Chromium.

String checks on the HTML cannot tell whether the charts are drawn or whether
the page quietly fetches a font or script from the internet. A browser can:
each report must load from file:// with no request that is not ``file:`` or
``data:``, draw its SVG charts at a visible size and give a non-blank
full-page screenshot, and print on A4 in few pages (headless Chromium's own
PDF, its pages counted). Chromium is found, or installed as Debian's ``chromium``
package when running as root (see browser/chromium.py).
"""

from __future__ import annotations

import dataclasses
import html
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.browser.cdp import launch
from tests.browser.chromium import find_or_install_chromium
from tests.browser.danish import scan
from tests.browser.pdf import page_count, page_sizes_mm
from tests.browser.screenshot import png_byte_variety, png_size

pytestmark = pytest.mark.e2e

# The demo's default shape (three clusters, every indicator of the catalogue shown) with
# fewer and smaller practices, so it runs in half the time. What fills a printed page is
# the same: one section per indicator, one bar per cluster, one column per cluster. Small
# lists only make more figures "too uncertain", which adds words, so pages counted here are
# at least those of the default demo (measured: region 6 here against 5, cluster 3 and 3,
# practice 4 and 4).
DEMO_ARGS = ("--practices", "15", "--clusters", "3", "--patients", "300", "--seed", "3")
DEMO_TIMEOUT_S = 240
MIN_CHARTS = 3
MIN_PNG_BYTES = 20_000
MIN_BYTE_VARIETY = 64  # a single-colour PNG inflates to a handful of distinct bytes
WIDTH = 1200
# What the demo above writes: the region, its first cluster, and one practice's own report.
EXPECTED_REPORTS = ("cluster-K01-report.html", "practice-P0001.html", "region-report.html")

# Most A4 pages each report may print on (issue 14): the region and every cluster beside it,
# the cluster meeting's report, the practice's own.
MAX_PAGES = {"region-report.html": 8, "cluster-K01-report.html": 6, "practice-P0001.html": 4}
A4_MM = (210, 297)

CONSOLE = "demo-console.txt"  # what `klynge demo` printed, kept beside its out dir

# What a reader sees of a page: its visible text, the print-only boxes, and the words in
# and on the charts (axis labels, tooltips) that innerText leaves out.
VISIBLE_TEXT = """(() => {
  const parts = [document.title, document.body.innerText];
  for (const e of document.querySelectorAll('.print-only, svg text, svg title, [title]')) {
    parts.push(e.getAttribute('title') || e.textContent);
  }
  return parts.join('\\n');
})()"""

# Charts are <svg> elements; a drawn one is visible and holds at least one shape.
SVG_STATS = """(() => {
  const shapes = 'rect,path,line,circle,polyline,polygon,ellipse';
  const stats = {total: 0, drawn: 0, zeroSize: []};
  for (const svg of document.querySelectorAll('svg')) {
    if (svg.parentElement && svg.parentElement.closest('svg')) continue;
    stats.total += 1;
    const box = svg.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) {
      if (!svg.closest('details:not([open])')) stats.zeroSize.push(svg.outerHTML.slice(0, 120));
    } else if (svg.querySelector(shapes)) {
      stats.drawn += 1;
    }
  }
  return stats;
})()"""


@dataclass(frozen=True)
class Rendered:
    """What one report did in the browser."""

    requests: list[str]
    errors: list[str]
    title: str
    svg: dict[str, Any]
    png: bytes
    screenshot: Path
    pdf: bytes
    text: str


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run a small real demo federation once, as a user would, and return its out dir."""
    out = tmp_path_factory.mktemp("browser-demo") / "demo"
    cmd = [sys.executable, "-m", "klynge", "demo", "--out", str(out), *DEMO_ARGS]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=DEMO_TIMEOUT_S, check=False)
    assert done.returncode == 0, (
        f"{' '.join(cmd)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    (out.parent / CONSOLE).write_text(done.stdout, encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def reports(demo_out: Path) -> list[Path]:
    """Every HTML report the demo wrote next to results.json."""
    return sorted(demo_out.glob("*.html"))


@pytest.fixture(scope="module")
def rendered(reports: list[Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:
    """Load every report in one Chromium and record requests, charts and a screenshot."""
    shots = tmp_path_factory.mktemp("screenshots")
    results: dict[str, Rendered] = {}
    with launch(find_or_install_chromium()) as browser:
        for report in reports:
            page = browser.new_page(width=WIDTH)
            page.navigate(report.resolve().as_uri())
            png = page.screenshot(full_page=True)
            shot = shots / f"{report.stem}.png"
            shot.write_bytes(png)
            pdf = page.print_pdf()
            (shots / f"{report.stem}.pdf").write_bytes(pdf)
            results[report.name] = Rendered(
                requests=list(page.requests),
                errors=list(page.errors),
                title=page.evaluate("document.title"),
                svg=page.evaluate(SVG_STATS),
                png=png,
                screenshot=shot,
                pdf=pdf,
                text=page.evaluate(VISIBLE_TEXT),
            )
            page.close()
    return results


def test_demo_writes_every_report(reports: list[Path], rendered: dict[str, Rendered]) -> None:
    assert [r.name for r in reports] == list(EXPECTED_REPORTS)
    assert sorted(rendered) == list(EXPECTED_REPORTS)


@pytest.mark.parametrize("name", EXPECTED_REPORTS)
def test_report_makes_no_network_requests(rendered: dict[str, Rendered], name: str) -> None:
    r = rendered[name]
    offenders = [url for url in r.requests if not url.startswith(("file:", "data:"))]
    assert not offenders, f"{name} must be self-contained, but it requested: {offenders}"
    assert r.requests, f"{name}: no request recorded at all, so the check saw nothing"


@pytest.mark.parametrize("name", EXPECTED_REPORTS)
def test_report_renders_charts(rendered: dict[str, Rendered], name: str) -> None:
    r = rendered[name]
    assert r.title.strip(), f"{name}: empty <title>"
    assert not r.errors, f"{name}: JavaScript errors: {r.errors}"
    assert not r.svg["zeroSize"], f"{name}: zero-size <svg>: {r.svg['zeroSize']}"
    assert r.svg["drawn"] >= MIN_CHARTS, (
        f"{name}: {r.svg['drawn']} drawn charts of {r.svg['total']} <svg>, want >= {MIN_CHARTS}"
    )


@pytest.mark.parametrize("name", EXPECTED_REPORTS)
def test_screenshot_is_a_non_blank_png(rendered: dict[str, Rendered], name: str) -> None:
    r = rendered[name]
    width, height = png_size(r.png)
    assert width == WIDTH and height > 300, f"{name}: screenshot is {width}x{height}"
    assert len(r.png) > MIN_PNG_BYTES, f"{name}: {len(r.png)} B PNG looks empty"
    variety = png_byte_variety(r.png)
    assert variety >= MIN_BYTE_VARIETY, (
        f"{name}: screenshot {r.screenshot} looks blank ({variety} distinct bytes)"
    )


@pytest.mark.parametrize("name", EXPECTED_REPORTS)
def test_report_prints_on_few_a4_pages(rendered: dict[str, Rendered], name: str) -> None:
    r = rendered[name]
    pages = page_count(r.pdf)
    assert page_sizes_mm(r.pdf) == {A4_MM}, f"{name}: pages of {page_sizes_mm(r.pdf)} mm, not A4"
    assert 1 <= pages <= MAX_PAGES[name], (
        f"{name} prints on {pages} A4 pages, at most {MAX_PAGES[name]} allowed "
        f"(PDF beside {r.screenshot})"
    )


# --- Danish throughout (issue 14, item 6): what a person reads, scanned ------------------


def _identifiers() -> frozenset[str]:
    """Names a reviewer must see as they are: code lists and the extract's columns."""
    from client.extract.schema import TABLES
    from client.extract.tables import Extract
    from indicator_defs import load_catalogue

    columns = {c for table in TABLES for c in (table.name, *table.column_names)}
    tables = {f.name for f in dataclasses.fields(Extract) if "DataFrame" in str(f.type)}
    return frozenset(load_catalogue().codelists) | columns | tables


def _assert_danish(what: str, text: str, allowed: frozenset[str] = frozenset()) -> None:
    assert text.strip(), f"{what}: nothing to scan"
    slips = scan(text, allowed)
    listed = "\n  ".join(str(s) for s in dict.fromkeys(slips))
    assert not slips, f"{what} is not plain Danish ({len(slips)}):\n  {listed}"


@pytest.mark.parametrize("name", EXPECTED_REPORTS)
def test_report_is_plain_danish(rendered: dict[str, Rendered], name: str) -> None:
    _assert_danish(name, rendered[name].text)


def _klynge(*args: str) -> str:
    cmd = [sys.executable, "-m", "klynge", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _html_text(path: Path) -> str:
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    page = re.sub(r"<(br|p|tr|li|div|h\d|td|th|dt|dd|pre)\b", "\n<", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def _audit(out: Path, fmt: str) -> str:
    target = out.parent / f"audit.{fmt}"
    _klynge("audit", "report", str(out / "manifest.toml"), "--format", fmt, "--out", str(target))
    return _html_text(target) if fmt == "html" else target.read_text(encoding="utf-8")


CONSOLE_OUTPUTS = {
    "klynge demo": lambda out: (out.parent / CONSOLE).read_text(encoding="utf-8"),
    "klynge audit report --format md": lambda out: _audit(out, "md"),
    "klynge audit report --format html": lambda out: _audit(out, "html"),
    "klynge agent status": lambda out: _klynge(
        "agent", "status", "--config", str(out / "agents" / "P0001" / "agent.toml")
    ),
    "klynge indicators show": lambda out: _klynge("indicators", "show", "DM-01"),
}


@pytest.mark.parametrize("command", list(CONSOLE_OUTPUTS))
def test_console_output_is_plain_danish(demo_out: Path, command: str) -> None:
    allowed = _identifiers() if command.startswith("klynge audit") else frozenset()
    _assert_danish(command, CONSOLE_OUTPUTS[command](demo_out), allowed)
