"""The language a test reads messages in.

Messages are Danish by default. A unit test that pins a message's exact
English words reads them in English (`in_english`); the Danish words are
pinned through the real CLI in `tests/cli/test_errors.py`.
"""

from __future__ import annotations

import pytest

from common.i18n import set_lang


def in_english(monkeypatch: pytest.MonkeyPatch) -> None:
    """English for the rest of this test (the environment, as `--lang en` would be)."""
    set_lang(None)  # a CLI invocation earlier in this process may have left its choice
    monkeypatch.setenv("KLYNGE_LANG", "en")
