"""Find Chromium, or install Debian's package, so the README's plain ``pytest`` just works.

On a fresh Debian/Ubuntu machine (the CI image, a container) running as root,
the browser test installs the ``chromium`` package itself; anywhere else it
fails with a message that says what to install instead of skipping silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

NAMES = ("chromium", "chromium-browser")
FALLBACK = Path("/usr/bin/chromium")
INSTALL_TIMEOUT_S = 900


class ChromiumMissing(RuntimeError):
    """No Chromium, and this process cannot install it."""


def find_chromium() -> str | None:
    """Path to a Chromium executable on PATH (or /usr/bin/chromium), else None."""
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return found
    return str(FALLBACK) if os.access(FALLBACK, os.X_OK) else None


def _apt_get(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return subprocess.run(
        ["apt-get", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )


def find_or_install_chromium() -> str:
    """Chromium's path; as root with apt-get, install Debian's ``chromium`` package if absent.

    ``apt-get update`` only runs when the first install fails, because on most
    machines the package lists are fresh enough and updating them is slow.
    """
    found = find_chromium()
    if found:
        return found
    can_install = os.geteuid() == 0 and shutil.which("apt-get") is not None
    if not can_install:
        raise ChromiumMissing(
            "Chromium is needed for the browser test of the HTML reports. Install the Debian "
            "package `chromium` (sudo apt-get install chromium), or put `chromium` or "
            "`chromium-browser` on PATH."
        )
    install = _apt_get("install", "-y", "-q", "chromium")
    if install.returncode != 0:
        update = _apt_get("update", "-q")
        install = _apt_get("install", "-y", "-q", "chromium")
        if install.returncode != 0:
            raise ChromiumMissing(
                "`apt-get install -y -q chromium` failed (after `apt-get update -q`, exit "
                f"{update.returncode}); install the Debian package `chromium` by hand.\n"
                f"{install.stderr[-2000:]}"
            )
    found = find_chromium()
    if not found:
        raise ChromiumMissing(
            "installed the Debian package `chromium`, but no `chromium` "
            "executable is on PATH or at /usr/bin/chromium"
        )
    return found
