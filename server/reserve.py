"""Disk space the coordinator sets aside so that a full disk still ends rounds cleanly.

When the disk fills up, the coordinator must still record why its running
rounds end (in the store and in the transparency log), or a round would sit
in `running` with nothing said. So it keeps a reserve file beside the log;
when a write fails for lack of space it deletes the reserve, which frees
enough room for the abort records, and it opens no new round until the
reserve is back *and* as much again is free: the operator freed space, not
merely the coordinator its own reserve. The reserve is written with real
bytes, not a sparse file, so the space is really held.
"""

from __future__ import annotations

import os
from pathlib import Path

RESERVE_BYTES = 1024 * 1024  # an abort's store row and log entry need a few kB


class DiskReserve:
    def __init__(self, path: Path, size: int = RESERVE_BYTES) -> None:
        self.path = Path(path)
        self.size = size

    def ensure(self) -> bool:
        """Hold the reserve with as much again free beside it; False (and nothing left
        behind) if the disk has not that much room."""
        present = self.path.exists() and self.path.stat().st_size == self.size
        if self.free_bytes() < (self.size if present else 2 * self.size):
            return False
        if present:
            return True
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                block = b"\0" * 65536
                left = self.size
                while left:
                    written = os.write(fd, block[: min(left, len(block))])
                    if written <= 0:
                        raise OSError(28, "No space left on device")
                    left -= written
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)
            return False
        return True

    def free_bytes(self) -> int:
        try:
            stats = os.statvfs(self.path.parent)
        except OSError:
            return 0
        return stats.f_bavail * stats.f_frsize

    def release(self) -> bool:
        """Free the reserve for the writes that must still happen; True if it was held."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        return True
