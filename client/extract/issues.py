"""Collecting extract issues without drowning the user (or memory) in them.

A broken export usually breaks the same way on every row. Validation reports
each rule once per column with the exact number of offending rows, and keeps
only the first examples (at most `cap` per file) as issue objects, so a
100,000-row problem costs a count, not 100,000 objects.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import numpy as np

from client.extract.messages import text
from client.extract.tables import ExtractIssue, IssueCount, location

LineLookup = Callable[[np.ndarray], np.ndarray]
"""Maps 0-based data-row indices to the 1-based line (CSV) or row (Parquet) to report."""

DEFAULT_CAP = 50


class Effect(Enum):
    """What a problem does to the load; the suffix tells the user what happened to the row."""

    FATAL = None
    SKIP_ROW = "row_skipped"
    BLANK_VALUE = "treated_missing"
    NOTE = "kept"
    IGNORED = ""  # the message itself says what is ignored


@dataclass
class _Group:
    file: str
    column: str | None
    kind: str
    fatal: bool
    count: int
    examples: list[ExtractIssue]


@dataclass(frozen=True)
class IssueReport:
    fatal: tuple[ExtractIssue, ...]
    fatal_counts: tuple[IssueCount, ...]
    warnings: tuple[ExtractIssue, ...]
    warning_counts: tuple[IssueCount, ...]


class IssueLog:
    """Accumulates issues; `strict` turns every warning into a fatal issue."""

    def __init__(
        self,
        *,
        strict: bool = False,
        cap: int = DEFAULT_CAP,
        file_order: Callable[[str], int] | None = None,
    ) -> None:
        self._strict = strict
        self._cap = cap
        self._file_order = file_order
        self._groups: dict[tuple[str, str | None, str, bool], _Group] = {}

    @property
    def has_fatal(self) -> bool:
        return any(g.fatal for g in self._groups.values())

    def add(
        self,
        file: str,
        kind: str,
        message: str | Callable[[], str],
        effect: Effect,
        *,
        line: int | None = None,
        column: str | None = None,
        count: int = 1,
    ) -> None:
        """Record `count` issues of one kind; a callable message is built only for an example."""
        fatal = self._is_fatal(effect)
        group = self._group(file, column, kind, fatal)
        group.count += count
        if len(group.examples) < self._cap:
            text_ = message() if callable(message) else message
            group.examples.append(
                ExtractIssue(file, line, column, self._finish(text_, effect), fatal, kind)
            )

    def groups(self) -> tuple[tuple[IssueCount, tuple[ExtractIssue, ...]], ...]:
        """Every problem with its exact count and its first examples, in the order first seen."""
        return tuple(
            (IssueCount(g.file, g.column, g.kind, g.fatal, g.count), tuple(g.examples))
            for g in self._groups.values()
        )

    def add_rows(
        self,
        file: str,
        column: str | None,
        kind: str,
        effect: Effect,
        rows: np.ndarray,
        lines: LineLookup,
        render: Callable[[int], str],
    ) -> None:
        """Record one rule broken on `rows` (0-based indices, ascending).

        `render(i)` builds the message for row i; it is called for the first
        `cap` rows only, so it may be slow (e.g. read the raw cell).
        """
        if len(rows) == 0:
            return
        fatal = self._is_fatal(effect)
        group = self._group(file, column, kind, fatal)
        group.count += len(rows)
        room = self._cap - len(group.examples)
        if room <= 0:
            return
        shown = np.asarray(rows[:room])
        for row, line in zip(shown.tolist(), lines(shown).tolist(), strict=True):
            message = self._finish(render(row), effect)
            group.examples.append(ExtractIssue(file, int(line), column, message, fatal, kind))

    def report(self) -> IssueReport:
        fatal: list[ExtractIssue] = []
        warnings: list[ExtractIssue] = []
        all_groups = list(self._groups.values())
        for is_fatal, out in ((True, fatal), (False, warnings)):
            groups = [g for g in all_groups if g.fatal == is_fatal]
            files = list(dict.fromkeys(g.file for g in groups))
            if self._file_order is not None:
                files.sort(key=self._file_order)
            for file in files:
                out.extend(self._shown([g for g in groups if g.file == file]))
        counts = [IssueCount(g.file, g.column, g.kind, g.fatal, g.count) for g in all_groups]
        return IssueReport(
            fatal=tuple(fatal),
            fatal_counts=tuple(c for c in counts if c.fatal),
            warnings=tuple(warnings),
            warning_counts=tuple(c for c in counts if not c.fatal),
        )

    def _shown(self, groups: list[_Group]) -> list[ExtractIssue]:
        """The first example of every problem, then the earliest lines up to the cap."""
        by_line = sorted(
            ((g, ex) for g in groups for ex in g.examples), key=lambda ge: _line_key(ge[1])
        )
        chosen: dict[int, tuple[_Group, ExtractIssue]] = {}
        firsts = {id(g): (g, g.examples[0]) for g in groups if g.examples}
        for g, ex in firsts.values():
            chosen[id(ex)] = (g, ex)
        for g, ex in by_line:
            if len(chosen) >= self._cap:
                break
            chosen.setdefault(id(ex), (g, ex))
        shown = sorted(chosen.values(), key=lambda ge: _line_key(ge[1]))
        out = [ex for _, ex in shown]
        for g in groups:
            n_shown = sum(1 for gg, _ in shown if gg is g)
            rest = g.count - n_shown
            if rest > 0:
                first = g.examples[0]
                where = location(g.file, first.line) if first.line is not None else g.file
                out.append(
                    ExtractIssue(
                        g.file,
                        None,
                        g.column,
                        text("more_rows", count=rest, where=where),
                        g.fatal,
                        g.kind,
                    )
                )
        return out

    def _group(self, file: str, column: str | None, kind: str, fatal: bool) -> _Group:
        key = (file, column, kind, fatal)
        if key not in self._groups:
            self._groups[key] = _Group(file, column, kind, fatal, 0, [])
        return self._groups[key]

    def _is_fatal(self, effect: Effect) -> bool:
        return effect is Effect.FATAL or self._strict

    def _finish(self, message: str, effect: Effect) -> str:
        if self._is_fatal(effect) or not effect.value:
            return message
        return f"{message}; {text(effect.value)}"


def _line_key(issue: ExtractIssue) -> int:
    return 0 if issue.line is None else issue.line
