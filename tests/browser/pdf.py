"""Just enough of a PDF to count its pages and read their size, without a PDF library.

Chromium writes every page as an object ``<< /Type /Page … /MediaBox [0 0 w h] … >>``
uncompressed (only content streams are deflated), so matching the page objects
is exact for its output; the page tree's own ``/Type /Pages`` objects do not match.
"""

from __future__ import annotations

import re

_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_MEDIA_BOX = re.compile(rb"/MediaBox\s*\[\s*([-\d.\s]+)\]")
POINTS_PER_MM = 72 / 25.4


def page_count(pdf: bytes) -> int:
    """How many pages the PDF has."""
    if not pdf.startswith(b"%PDF-"):
        raise ValueError("not a PDF: no %PDF- header")
    return len(_PAGE.findall(pdf))


def page_sizes_mm(pdf: bytes) -> set[tuple[int, int]]:
    """The distinct page sizes in whole millimetres (A4 is (210, 297))."""
    sizes = set()
    for box in _MEDIA_BOX.findall(pdf):
        x0, y0, x1, y1 = (float(v) for v in box.split())
        sizes.add((round((x1 - x0) / POINTS_PER_MM), round((y1 - y0) / POINTS_PER_MM)))
    return sizes
