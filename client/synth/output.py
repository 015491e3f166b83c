"""Claiming an output directory for `klynge synth` without ever clobbering someone's files.

A directory may be written to if it is empty or absent, or if it is a
previous synth output: it carries the marker file and nothing but what synth
itself writes. The marker is written before anything else, so even a run
that crashed half-way is recognised (and cleaned) by the next one, while a
directory holding anything unexpected is refused with the offending name.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from common.errors import KlyngeError
from common.i18n import register, t

MARKER = ".klynge-synth"
FEDERATION_FILE = "federation.toml"
PRACTICES_DIR = "practices"
_OURS = {MARKER, FEDERATION_FILE, PRACTICES_DIR}

register(
    {
        "synth.out_not_dir": {
            "da": "{path}: findes og er ikke en mappe",
            "en": "{path}: exists and is not a directory",
        },
        "synth.out_not_ours": {
            "da": "{path}: mappen er ikke tom og er ikke output fra 'klynge synth' "
            "(fandt '{entry}'); vælg en tom eller ny mappe",
            "en": "{path}: the directory is not empty and is not output of 'klynge synth' "
            "(found '{entry}'); choose an empty or new directory",
        },
        "synth.out_foreign_entry": {
            "da": "{path}: ligner output fra 'klynge synth', men indeholder også '{entry}', "
            "som synth ikke har skrevet; flyt den eller vælg en anden mappe",
            "en": "{path}: looks like 'klynge synth' output but also holds '{entry}', "
            "which synth did not write; move it or choose another directory",
        },
    }
)


class SynthOutputError(KlyngeError):
    """The output directory cannot be used without destroying files synth did not write."""


def claim_output_dir(out_dir: Path) -> None:
    """Make `out_dir` an empty synth output (marker only), or refuse."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise SynthOutputError(t("synth.out_not_dir", path=out_dir))
    if out_dir.is_dir():
        entries = sorted(p.name for p in out_dir.iterdir())
        if entries:
            if MARKER not in entries:
                raise SynthOutputError(t("synth.out_not_ours", path=out_dir, entry=entries[0]))
            foreign = [e for e in entries if e not in _OURS and not _is_our_temp(e)]
            if foreign:
                raise SynthOutputError(t("synth.out_foreign_entry", path=out_dir, entry=foreign[0]))
            _clear(out_dir, entries)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MARKER).write_text(
        "Written by 'klynge synth'. Synthetic data; may be overwritten by klynge synth.\n",
        encoding="utf-8",
    )


def _is_our_temp(name: str) -> bool:
    return name.startswith(f".{FEDERATION_FILE}.") and name.endswith(".tmp")


def _clear(out_dir: Path, entries: list[str]) -> None:
    for name in entries:
        path = out_dir / name
        if name == MARKER:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
