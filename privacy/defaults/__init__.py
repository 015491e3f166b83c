"""The default protocol manifest shipped with Klynge (package data).

`klynge manifest init` starts from it and pins the installed indicator
definitions; the shipped file is itself `init` output, so regenerating it
after a definition changes is `klynge manifest init --force --out
privacy/defaults/manifest.toml`.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def default_manifest_path() -> Path:
    return Path(str(resources.files("privacy.defaults").joinpath("manifest.toml")))
