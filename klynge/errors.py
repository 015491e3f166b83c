"""The root of Klynge's error types.

Every error a user can cause (a bad extract, manifest, key, message) is a
KlyngeError subclass whose message names the file, row or field. The CLI
prints that message and exits non-zero; it never shows a traceback.
"""

from __future__ import annotations


class KlyngeError(Exception):
    exit_code: int = 2
