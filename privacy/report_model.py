"""A tiny document model for reviewer reports, rendered to Markdown, self-contained HTML or JSON.

The audit builder produces one `Report`; the three renderers only change the
notation, so the formats can never say different things.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


Block = Para | Bullets | Table


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Report:
    lang: str
    title: str
    intro: tuple[str, ...]
    sections: tuple[Section, ...]
    data: dict[str, Any] = field(default_factory=dict)  # machine-readable figures
    warnings: tuple[str, ...] = ()  # shown before everything else, e.g. "no DP"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    out = [f"# {report.title}", ""]
    out.extend(line for warning in report.warnings for line in (f"> **⚠ {warning}**", ""))
    out.extend(line for para in report.intro for line in (para, ""))
    for section in report.sections:
        out.extend([f"## {section.title}", ""])
        for block in section.blocks:
            if isinstance(block, Para):
                out.extend([block.text, ""])
            elif isinstance(block, Bullets):
                out.extend(f"- {item}" for item in block.items)
                out.append("")
            else:
                out.append("| " + " | ".join(_md_cell(h) for h in block.header) + " |")
                out.append("|" + "|".join("---" for _ in block.header) + "|")
                out.extend("| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows)
                out.append("")
    return "\n".join(out).rstrip("\n") + "\n"


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6rem;border-bottom:2px solid #1b4f72;padding-bottom:.3rem}
h2{font-size:1.2rem;margin-top:2rem;color:#1b4f72}
table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem;width:100%}
th,td{border:1px solid #c8c8c8;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef3f7}
code{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-all}
.warning{border:3px solid #a50f15;background:#fde0dd;color:#67000d;padding:.6rem .8rem;
font-weight:bold}
@media print{body{max-width:none}h2{page-break-after:avoid}}
"""


def render_html(report: Report) -> str:
    """Self-contained HTML: inline CSS, no scripts, no external assets."""
    e = html.escape
    out = [
        "<!DOCTYPE html>",
        f'<html lang="{e(report.lang)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(report.title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(report.title)}</h1>",
    ]
    out.extend(f'<p class="warning" role="alert">⚠ {e(w)}</p>' for w in report.warnings)
    out.extend(f"<p>{e(p)}</p>" for p in report.intro)
    for section in report.sections:
        out.append(f'<section id="{e(section.key)}">')
        out.append(f"<h2>{e(section.title)}</h2>")
        for block in section.blocks:
            if isinstance(block, Para):
                out.append(f"<p>{e(block.text)}</p>")
            elif isinstance(block, Bullets):
                out.append("<ul>" + "".join(f"<li>{e(i)}</li>" for i in block.items) + "</ul>")
            else:
                head = "".join(f"<th>{e(h)}</th>" for h in block.header)
                rows = "".join(
                    "<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
                    for row in block.rows
                )
                out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        out.append("</section>")
    out.extend(["</body>", "</html>"])
    return "\n".join(out) + "\n"


def _block_json(block: Block) -> dict[str, Any]:
    if isinstance(block, Para):
        return {"type": "paragraph", "text": block.text}
    if isinstance(block, Bullets):
        return {"type": "list", "items": list(block.items)}
    return {"type": "table", "header": list(block.header), "rows": [list(r) for r in block.rows]}


def render_json(report: Report) -> str:
    doc = {
        "lang": report.lang,
        "title": report.title,
        "warnings": list(report.warnings),
        "intro": list(report.intro),
        "figures": report.data,
        "sections": [
            {"key": s.key, "title": s.title, "blocks": [_block_json(b) for b in s.blocks]}
            for s in report.sections
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=False) + "\n"
