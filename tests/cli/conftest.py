"""Every CLI test leaves the process's language as it found it.

`klynge --lang da --help` sets the language for the invocation and exits
before it is reset, so a test run in the same process after it would read
Danish where it set KLYNGE_LANG=en (seen with two workers: `pki sign`
refusals in tests/transport/ read in Danish after tests/cli/test_quick.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from common.i18n import set_lang


@pytest.fixture(autouse=True)
def no_language_left_behind() -> Iterator[None]:
    yield
    set_lang(None)  # back to KLYNGE_LANG, else Danish
