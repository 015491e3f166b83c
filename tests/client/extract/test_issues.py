"""How issues are collected: exact counts, bounded examples, strict mode."""

from __future__ import annotations

import numpy as np
import pytest

from client.extract.issues import Effect, IssueLog


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KLYNGE_LANG", "en")


def lines(rows: np.ndarray) -> np.ndarray:
    return rows + 2


def test_counts_are_exact_and_examples_bounded() -> None:
    log = IssueLog(cap=5)
    log.add_rows("a.csv", "x", "bad_date", Effect.SKIP_ROW, np.arange(1000), lines, str)
    log.add_rows("a.csv", "y", "bad_decimal", Effect.BLANK_VALUE, np.array([2000]), lines, str)
    report = log.report()
    assert report.fatal == ()
    assert {(c.kind, c.count) for c in report.warning_counts} == {
        ("bad_date", 1000),
        ("bad_decimal", 1),
    }
    examples = [w for w in report.warnings if w.line is not None]
    assert len(examples) == 5
    assert [w.line for w in examples] == [2, 3, 4, 5, 2002]  # the rarer problem is not crowded out
    assert examples[0].message == "0; row skipped"
    assert examples[-1].message == "2000; treated as missing"
    (summary,) = [w for w in report.warnings if w.line is None]
    assert str(summary) == "a.csv, column 'x': 996 more rows with the same problem as line 2"


def test_render_is_called_only_for_shown_rows() -> None:
    calls: list[int] = []

    def render(row: int) -> str:
        calls.append(row)
        return "m"

    log = IssueLog(cap=3)
    log.add_rows("a.csv", "x", "k", Effect.FATAL, np.arange(100_000), lines, render)
    assert calls == [0, 1, 2]
    assert log.has_fatal


def test_strict_makes_warnings_fatal_without_the_consequence() -> None:
    log = IssueLog(strict=True)
    log.add("a.csv", "extra_column", "ignored column", Effect.IGNORED, line=1, column="z")
    log.add_rows("a.csv", "x", "k", Effect.SKIP_ROW, np.array([0]), lines, lambda _: "bad")
    report = log.report()
    assert report.warnings == ()
    assert [(i.message, i.fatal) for i in report.fatal] == [
        ("ignored column", True),
        ("bad", True),
    ]


def test_files_follow_the_given_order() -> None:
    log = IssueLog(file_order=lambda f: {"b.csv": 0, "a.csv": 1}[f])
    log.add("a.csv", "k", "m", Effect.FATAL)
    log.add("b.csv", "k", "m", Effect.FATAL)
    assert [i.file for i in log.report().fatal] == ["b.csv", "a.csv"]
