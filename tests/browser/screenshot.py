"""Full-page screenshots of HTML reports, and cheap checks that a PNG shows something.

Run as ``python -m tests.browser.screenshot REPORT.html OUT.png [--width 1200]`` to
regenerate the screenshot kept under docs/; the browser test uses the same code.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import zlib
from pathlib import Path

from .cdp import launch
from .chromium import find_or_install_chromium

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """(type, body) of every chunk, checking the signature and each chunk's CRC."""
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError("not a PNG: bad signature")
    chunks: list[tuple[bytes, bytes]] = []
    pos = len(PNG_SIGNATURE)
    while pos < len(data):
        if pos + 12 > len(data):
            raise ValueError("truncated PNG chunk")
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        if len(body) != length or zlib.crc32(kind + body) != crc:
            raise ValueError(f"corrupt PNG chunk {kind!r}")
        chunks.append((kind, body))
        pos += 12 + length
    if not chunks or chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        raise ValueError("PNG must start with IHDR and end with IEND")
    return chunks


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the IHDR chunk of a valid PNG."""
    width, height = struct.unpack(">II", png_chunks(data)[0][1][:8])
    return width, height


def png_byte_variety(data: bytes) -> int:
    """How many distinct byte values the inflated image data holds.

    Undoing PNG's per-row filters in pure Python is slow, so this looks at the
    filtered rows: a single-colour image needs only a handful of values (the
    filter types, zero and the colour), while rendered text and charts with
    anti-aliased edges use nearly all 256.
    """
    raw = zlib.decompress(b"".join(body for kind, body in png_chunks(data) if kind == b"IDAT"))
    return len(set(raw))


def capture(
    report: Path,
    out: Path,
    width: int = 1200,
    chromium: str | None = None,
    height: int | None = None,
    section: str | None = None,
) -> bytes:
    """Load ``report`` in headless Chromium and write a PNG: the full page, or ``height`` px.

    With ``section`` (an element id) the view starts at that element, so the
    README can show one indicator's charts; tests look at whole pages.
    """
    with launch(chromium or find_or_install_chromium()) as browser:
        page = browser.new_page(width=width, height=height or 900)
        page.navigate(report.resolve().as_uri())
        if section is not None:
            script = (
                "(() => { const e = document.getElementById(ID); if (!e) return false;"
                " document.documentElement.style.overflow = 'hidden';"
                " e.scrollIntoView(); return true; })()"
            )
            found = page.evaluate(script.replace("ID", json.dumps(section)))
            if not found:
                raise SystemExit(f"{report}: no element with id {section!r}")
        png = page.screenshot(full_page=height is None)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png)
    return png


def main(argv: list[str] | None = None) -> int:
    """Command line: screenshot one report."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.browser.screenshot", description="Full-page PNG of an HTML report."
    )
    parser.add_argument("report", type=Path, help="the .html file")
    parser.add_argument("out", type=Path, help="where to write the .png")
    parser.add_argument("--width", type=int, default=1200, help="viewport width in CSS px")
    parser.add_argument(
        "--height", type=int, default=None, help="only HEIGHT px of the page (default: all)"
    )
    parser.add_argument("--section", default=None, help="start at the element with this id")
    args = parser.parse_args(argv)
    if not args.report.is_file():
        parser.error(f"no such file: {args.report}")
    png = capture(args.report, args.out, args.width, height=args.height, section=args.section)
    width, height = png_size(png)
    print(f"wrote {args.out} ({width}x{height} px, {len(png) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
