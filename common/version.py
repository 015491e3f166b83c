"""The installed Klynge version, as agents announce it and the transparency log records it."""

from __future__ import annotations

from importlib import metadata


def code_version() -> str:
    """`klynge/<version>`, or `klynge/unknown` when run from a tree that is not installed."""
    try:
        return f"klynge/{metadata.version('klynge')}"
    except metadata.PackageNotFoundError:
        return "klynge/unknown"
