"""The page counter the print test relies on, on a PDF written by hand (no browser)."""

from __future__ import annotations

import pytest

from tests.browser.pdf import page_count, page_sizes_mm

TWO_A4_PAGES = (
    b"%PDF-1.4\n"
    b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    b"2 0 obj << /Type /Pages /Kids [3 0 R 4 0 R] /Count 2 >> endobj\n"
    b"3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 594.96 841.92] >> endobj\n"
    b"4 0 obj <</Type/Page/Parent 2 0 R/MediaBox [0 0 594.96 841.92]>> endobj\n"
)


def test_counts_page_objects_but_not_the_page_tree():
    assert page_count(TWO_A4_PAGES) == 2
    assert page_sizes_mm(TWO_A4_PAGES) == {(210, 297)}


def test_letter_is_not_a4_and_a_non_pdf_is_refused():
    letter = TWO_A4_PAGES.replace(b"594.96 841.92", b"612 792")
    assert page_sizes_mm(letter) == {(216, 279)}
    with pytest.raises(ValueError, match="not a PDF"):
        page_count(b"<html>")
