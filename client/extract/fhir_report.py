"""The import report: every resource kept, altered or dropped, counted by reason, with examples.

Built from the same `IssueLog` the CSV loader uses, so counts are exact and
examples capped. Examples never show a CPR-like value (`common.cpr`). The
text is Danish by default and English with --lang en; the JSON has stable
English keys for machines, with the messages in the chosen language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from client.extract.fhir_messages import text
from client.extract.issues import IssueLog
from common.cpr import mask_cpr
from common.formatting import integer

OUTCOMES = ("kept", "altered", "dropped")


@dataclass(frozen=True)
class ReasonCount:
    """How many resources one reason applied to, and the first examples."""

    element: str  # e.g. "Condition.verificationStatus"
    kind: str  # e.g. "verificationStatus:entered-in-error"
    outcome: str  # kept | altered | dropped | fatal
    count: int
    examples: tuple[str, ...]


@dataclass(frozen=True)
class ImportReport:
    sources: tuple[str, ...]
    resources: dict[str, tuple[int, int, int, int]]  # type -> (read, kept, altered, dropped)
    rows: dict[str, int]  # extract table -> rows
    patients: dict[str, int]  # read, listed, skipped, not_listed, cpr_like_ids
    reasons: tuple[ReasonCount, ...]
    fatal: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "sources": list(self.sources),
            "resources": {
                rtype: dict(zip(("read", *OUTCOMES), counts, strict=True))
                for rtype, counts in sorted(self.resources.items())
            },
            "rows": dict(self.rows),
            "patients": dict(self.patients),
            "reasons": [
                {
                    "element": r.element,
                    "kind": r.kind,
                    "outcome": r.outcome,
                    "count": r.count,
                    "examples": list(r.examples),
                }
                for r in self.reasons
            ],
            "fatal": list(self.fatal),
        }

    def render(self) -> str:
        lines = [text("title")]
        lines += [f"  {text('sources')}: {mask_cpr(s)}" for s in self.sources]
        p = self.patients
        lines.append(
            text(
                "patients_head",
                read=integer(p.get("read", 0)),
                listed=integer(p.get("listed", 0)),
                skipped=integer(p.get("skipped", 0)),
                not_listed=integer(p.get("not_listed", 0)),
            )
        )
        for rtype, (read, kept, altered, dropped) in sorted(self.resources.items()):
            lines.append(
                "  "
                + text(
                    "resources_head",
                    type=rtype,
                    read=integer(read),
                    kept=integer(kept),
                    altered=integer(altered),
                    dropped=integer(dropped),
                )
            )
        if self.rows:
            lines.append(text("rows_head", **{k: integer(v) for k, v in self.rows.items()}))
        if "survey_responses" in self.rows:
            lines.append(text("rows_survey", rows=integer(self.rows["survey_responses"])))
        for reason in self.reasons:
            lines.append(
                "  "
                + text(
                    "reason_line",
                    outcome=text(f"outcome_{reason.outcome}"),
                    count=integer(reason.count),
                    element=reason.element,
                    reason=reason.kind,
                )
            )
            lines += ["    " + text("example", example=e) for e in reason.examples]
        return "\n".join(lines)


def reasons_from(log: IssueLog, outcomes: dict[tuple[str, str], str]) -> tuple[ReasonCount, ...]:
    """The log's problems as report lines, examples rendered where they happened."""
    merged: dict[tuple[str, str], tuple[str, int, list[str]]] = {}
    for count, examples in log.groups():
        key = (count.column or "", count.kind)
        outcome = "fatal" if count.fatal else outcomes.get(key, "dropped")
        _, total, shown = merged.get(key, (outcome, 0, []))
        shown += [mask_cpr(str(e)) for e in examples][: max(0, 3 - len(shown))]
        merged[key] = (outcome, total + count.count, shown)
    order = {"fatal": 0, "dropped": 1, "altered": 2, "kept": 3}
    out = [
        ReasonCount(element, kind, outcome, total, tuple(shown))
        for (element, kind), (outcome, total, shown) in merged.items()
    ]
    out.sort(key=lambda r: (order[r.outcome], -r.count, r.element, r.kind))
    return tuple(out)
