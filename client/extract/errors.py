"""The error raised when an extract cannot be used at all."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from client.extract.messages import text
from client.extract.tables import ExtractIssue, IssueCount
from common.errors import KlyngeError


class ExtractError(KlyngeError):
    """An extract with fatal problems; nothing from it is used.

    `issues` holds the fatal issues shown to the user (the first examples of
    each problem plus "N more rows" summaries); `counts` has the exact number
    of rows per problem. The message lists every shown issue on its own line,
    so one run tells the practice everything it must fix.
    """

    def __init__(
        self,
        directory: Path | str,
        issues: Sequence[ExtractIssue],
        *,
        counts: Sequence[IssueCount] = (),
        warnings: Sequence[ExtractIssue] = (),
        warning_counts: Sequence[IssueCount] = (),
    ) -> None:
        self.directory = Path(directory)
        self.issues = tuple(issues)
        self.counts = tuple(counts)
        self.warnings = tuple(warnings)
        self.warning_counts = tuple(warning_counts)
        super().__init__(self._render())

    @property
    def problem_count(self) -> int:
        """Every fatal problem, including rows beyond the shown examples."""
        if self.counts:
            return sum(c.count for c in self.counts)
        return len(self.issues)

    def _render(self) -> str:
        n = self.problem_count
        key = "error_head_one" if n == 1 else "error_head_many"
        lines = [text(key, count=n, path=self.directory)]
        lines += [f"  {issue}" for issue in self.issues]
        n_warnings = sum(c.count for c in self.warning_counts)
        if n_warnings:
            lines.append(text("error_tail_warnings", count=n_warnings))
        return "\n".join(lines)
