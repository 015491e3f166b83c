"""A coordinator store overwritten with garbage, or damaged in the middle, or cut short.

`klynge server run` and `klynge server status` must each end in one line
naming the store, with a non-zero exit and no traceback; the coordinator
never starts, so no round runs on a store it cannot trust.
"""

from __future__ import annotations

import os

import pytest

from server.store import Level, Practice, Store

from .integrity_support import Federation

pytestmark = pytest.mark.e2e


def _damage(path, how: str) -> None:
    data = path.read_bytes()
    if how == "garbage":
        path.write_bytes(os.urandom(len(data) or 8192))
    elif how == "pages":  # a valid header, the pages after it overwritten
        path.write_bytes(data[:4096] + os.urandom(max(len(data) - 4096, 8192)))
    else:  # "cut": the file ends half-way
        path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("how", ["garbage", "pages", "cut"])
def test_a_damaged_store_is_one_line_from_every_command(tmp_path, how):
    fed = Federation(tmp_path, practices=5)
    with Store.open(fed.layout.store) as store:  # a store with a history worth damaging
        for i in range(200):
            store.register_practice(Practice(f"X{i:04d}", "K01", "Midtjylland"))
        store.record_log_head(0, "0" * 64)
        assert store.releases(level=Level.CLUSTER) == []
    for suffix in ("-wal", "-shm"):
        fed.layout.store.with_name(fed.layout.store.name + suffix).unlink(missing_ok=True)
    _damage(fed.layout.store, how)

    config = str(fed.layout.server_config)
    for verb in ("status", "run"):
        result = fed.klynge("server", verb, "--config", config)
        assert result.returncode != 0, (verb, result.stdout)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1, (verb, result.stderr)
        assert lines[0].startswith("klynge: ") and str(fed.layout.store) in lines[0], lines[0]
        assert "Traceback" not in result.stderr + result.stdout
    assert not fed.port_file.exists()  # it never listened
