"""The report kit itself: its layer, its words for codes, escaping and Danish numbers."""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from markupsafe import Markup

import reporting
from client.report.published import choose_releases
from common.i18n import LANGS
from privacy import disclosure, release
from reporting import words
from reporting.charts.bars import BarRow, interval_bars
from reporting.charts.svg import element
from reporting.practice_page import render_practice_report
from reporting.release_document import parse_release
from tests.client.report.builders import AS_OF, CATALOGUE, PATIENTS, practice_report, release_doc
from tests.reporting.builders import CAT, render_cluster_report, render_region_report, results_doc

KIT = Path(reporting.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def test_the_kit_sits_below_client_server_and_the_cli():
    modules = sorted(KIT.rglob("*.py"))
    assert len(modules) > 10
    for path in modules:
        wrong = _imports(path) & {"client", "server", "klynge"}
        assert not wrong, f"{path.relative_to(KIT.parent)} imports {sorted(wrong)}"


def test_every_code_klynge_writes_has_words_in_both_languages():
    codes = [*disclosure.REASONS, "missing"]
    for lang in LANGS:
        for code in codes:
            assert words.reason(code, lang) != code, code
        mechanisms = (release.DISTRIBUTED_SKELLAM, release.LOCAL_LAPLACE, release.LOCAL_GAUSSIAN)
        for code in (*mechanisms, release.NO_NOISE):
            assert words.mechanism(code, lang) != code, code
    assert words.reason("a_newer_code", "da") == "a_newer_code"  # shown, not hidden


def test_text_in_an_svg_is_escaped_by_construction():
    hostile = "<script>alert(1)</script> & 'x\""
    svg = interval_bars(
        [BarRow(hostile, None, missing=hostile, why=hostile)],
        scale=100,
        target=None,
        upper=1.0,
        lang="en",
    )
    assert isinstance(svg, Markup) and "<script>" not in svg and "&lt;script&gt;" in svg
    assert element("text", Markup("<tspan/>"), x=1) == '<text x="1"><tspan/></text>'
    assert element("a", title='"') == '<a title="&#34;"/>'  # an attribute cannot be closed


class _Text(HTMLParser):
    """The text a reader sees: no CSS, no attribute values."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._style = False

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self._style = self._style or tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._style = self._style and tag != "style"

    def handle_data(self, data: str) -> None:
        if not self._style:
            self.parts.append(data)


def _dot_decimals(page: str) -> list[str]:
    """English decimals ("12.3", "0.5") in what a reader sees; Danish "1.234" is thousands."""
    parser = _Text()
    parser.feed(page)
    text = " ".join(parser.parts)
    return re.findall(r"\S*\d\.\d{1,2}(?!\d)\S*", text)


def _practice_page() -> str:
    cluster = release_doc()
    cluster["indicators"][0]["interval"] = [0.7, 0.9]
    docs = [cluster, release_doc("region", "Midtjylland", rounds=("r1", "r2"), release_id=4)]
    releases = [parse_release(f"r{i}.json", d) for i, d in enumerate(docs)]
    report = practice_report(
        as_of=AS_OF,
        catalogue=CATALOGUE,
        patients=PATIENTS,
        releases=choose_releases(releases, "K01", AS_OF),
    )
    return render_practice_report(report, "da")


@pytest.mark.parametrize(
    "page",
    [
        lambda: render_region_report(results_doc(), CAT, "da"),
        lambda: render_cluster_report(results_doc(), CAT, "K01", "da"),
        _practice_page,
    ],
    ids=["region", "cluster", "practice"],
)
def test_a_danish_report_has_no_english_decimal_point(page):
    html = page()
    assert "%" in html and "," in html  # it does show numbers
    assert _dot_decimals(html) == []
