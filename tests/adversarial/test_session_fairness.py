"""One certificate, however noisy, never locks out another practice (issue 12, item 2).

In-process coordinator transport, real mTLS on loopback; the real-process version
with a whole round is `test_attacks_on_a_running_federation.py`.
"""

from __future__ import annotations

import dataclasses
import time
from contextlib import ExitStack

import pytest

from tests.adversarial.flood import Flood
from tests.adversarial.support import PRACTICES, agent, coordinator, make_pki, wait_until
from transport.server import CoordinatorConfig
from transport.tls import TlsFiles


@pytest.fixture
def pki(tmp_path):
    return make_pki(tmp_path / "pki", PRACTICES)


def test_a_flood_from_one_certificate_leaves_room_for_every_other_practice(pki):
    sized = CoordinatorConfig.for_registry(len(PRACTICES), "127.0.0.1:0")
    config = dataclasses.replace(sized, hello_timeout=0.5)
    with coordinator(pki, PRACTICES, config) as server:
        flood = Flood(f"127.0.0.1:{server.port}", TlsFiles.for_practice(pki, PRACTICES[0]), 200)
        flood.start(seconds=20)
        try:
            assert wait_until(lambda: flood.outcomes["RESOURCE_EXHAUSTED"] >= 50, 15)
            with ExitStack() as stack:
                clients = [stack.enter_context(agent(pki, p, server.port)) for p in PRACTICES[1:]]
                assert all(c.wait_connected(10) for c in clients)
                assert set(server.connected()) == set(PRACTICES[1:])
            # Hello-less streams do not hold slots: they are closed at the short deadline.
            assert wait_until(lambda: flood.outcomes["DEADLINE_EXCEEDED"] >= 3, 10)
        finally:
            flood.stop()
        assert flood.opened >= 200


def test_the_flooding_practice_itself_is_held_to_its_own_allowance(pki):
    config = CoordinatorConfig(max_sessions_per_practice=2, hello_timeout=5.0)
    with coordinator(pki, PRACTICES, config) as server:
        flood = Flood(f"127.0.0.1:{server.port}", TlsFiles.for_practice(pki, PRACTICES[0]), 20, 2)
        flood.start(seconds=10)
        try:
            assert wait_until(lambda: flood.outcomes["RESOURCE_EXHAUSTED"] >= 10, 10)
            time.sleep(0.2)
            with server._lock:  # two pending streams at most, never more
                assert server._streams.get(PRACTICES[0], 0) <= 2
        finally:
            flood.stop()
