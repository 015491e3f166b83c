"""Klynge's tests, one room per package (tests/privacy/ tests privacy/, and so on).

Every folder here is a package, so a test module is imported as `tests.privacy.test_ledger`
and `tests/common/` can never be found as the real `common`.
"""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
