"""The tests live in rooms that mirror the packages, and no room shadows its package."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests import REPO_ROOT

TESTS = REPO_ROOT / "tests"
PACKAGES = (
    "common", "indicator_defs", "protocols", "transport", "privacy", "reporting", "client",
    "server", "klynge",
)  # fmt: skip


@pytest.mark.parametrize("name", PACKAGES)
def test_a_package_is_the_real_one_not_its_test_room(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == REPO_ROOT / name


def test_every_test_folder_is_a_package() -> None:
    """Without __init__.py, tests/common/ could be imported as `common` itself."""
    folders = [
        d
        for d in TESTS.rglob("*")
        if d.is_dir() and d.name != "__pycache__" and any(d.glob("*.py"))  # data folders aside
    ]
    assert folders, "no test rooms found"
    missing = [str(d.relative_to(REPO_ROOT)) for d in folders if not (d / "__init__.py").exists()]
    assert not missing, f"add __init__.py to {missing}"


def test_tests_live_in_rooms() -> None:
    """A test of privacy/ goes in tests/privacy/ (and so on); only this file is at the top."""
    loose = sorted(p.name for p in TESTS.glob("test_*.py") if p.name != Path(__file__).name)
    assert not loose, f"move {loose} into the room of the package they test"
