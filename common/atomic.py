"""Crash-safe file replacement: write a temp file, fsync it, rename it over, fsync the directory.

rename(2) within one directory is atomic on POSIX file systems, so a reader
(or a process restarted after a crash) sees either the whole old file or the
whole new one, never a mixture. The directory fsync makes the rename itself
durable. `hook` is called between the steps so tests can kill the process at
each point and show that no state is lost or doubled.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

Hook = Callable[[str], None]

# The points at which `hook` is called, in order.
STEPS: tuple[str, ...] = ("tmp_written", "tmp_synced", "renamed", "dir_synced")


def _noop(step: str) -> None:
    return None


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644, hook: Hook | None = None) -> None:
    hook = hook or _noop
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        try:
            os.fchmod(fd, mode)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            hook("tmp_written")
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        tmp.unlink(missing_ok=True)  # a full disk must not leave a half-written temp file
        raise
    hook("tmp_synced")
    os.replace(tmp, path)
    hook("renamed")
    fsync_directory(path.parent)
    hook("dir_synced")
