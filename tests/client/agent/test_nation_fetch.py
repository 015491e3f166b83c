"""The agent asks for the country's figures (scope `nation`) after a released round.

A fake answers the transport's Fetch (unit test: the real Fetch path is the e2e
national demo); the agent, its settings, ledger and releases directory are
real files, provisioned as `klynge agent init` does.
"""

from __future__ import annotations

import json

import pytest

from client.agent.daemon import AgentDaemon
from client.agent.releases import ReleaseFormatError, store_national
from client.agent.startup import load_agent
from client.report.published import choose_releases, read_releases
from protocols import wire
from protocols.envelope import FetchNotFound, FetchResult
from tests.client.agent.world import REF, TODAY, provision_world
from tests.client.report.builders import release_doc
from tests.transport.harness import make_pki


class FakeFetch:
    """Answers Fetch from a dict by scope; a scope not in it is NOT_FOUND. Records the asks."""

    def __init__(self, bodies: dict[str, dict]) -> None:
        self.bodies = bodies
        self.asked: list[tuple[str, str]] = []

    def fetch(self, scope: str, round_id: str = "", timeout=None, body=b"") -> FetchResult:
        self.asked.append((scope, round_id))
        if scope not in self.bodies:
            raise FetchNotFound("nothing released")
        data = json.dumps(self.bodies[scope]).encode()
        return FetchResult(round_id, wire.RELEASE_MEDIA_TYPE, data)


@pytest.fixture
def daemon(tmp_path):
    pki = make_pki(tmp_path / "pki", ["P0001"])
    world = provision_world(tmp_path, n=1, pki_dir=pki.root, region_wait_s=0.1)
    settings = world.settings("P0001")
    agent = AgentDaemon(settings, load_agent(settings, today=TODAY), target="127.0.0.1:1")
    yield agent
    agent.transport.close(0.1)


def _released(round_id: str = "r1") -> wire.RoundOutcome:
    return wire.RoundOutcome(round_id, "K01", REF.isoformat(), "released", "", 5)


def test_after_a_released_round_the_agent_stores_the_country_beside_cluster_and_region(daemon):
    ref = REF.isoformat()
    fake = FakeFetch(
        {
            wire.FETCH_CLUSTER: release_doc("cluster", "K01", ref, ("r1",)),
            wire.FETCH_REGION: release_doc("region", "Midtjylland", ref, ("r1", "r2")),
            wire.FETCH_NATION: release_doc("nation", "Danmark", ref, ("r1", "r9"), "DK-1"),
        }
    )
    daemon.transport.fetch = fake.fetch  # type: ignore[method-assign]
    daemon._fetch_releases(_released())
    assert fake.asked == [("cluster", "r1"), ("region", "r1"), ("nation", "")]
    stored = daemon.settings.releases_dir / f"nation-{ref}.json"
    assert stored.exists()
    status = daemon.status()["releases"]
    assert status["nation"]["file"].endswith(f"nation-{ref}.json")
    choice = choose_releases(read_releases(daemon.settings.releases_dir), "K01", REF)
    assert choice.nation is not None and choice.nation.unit == "Danmark"
    assert choice.cluster is not None and choice.region is not None


def test_no_national_release_yet_is_no_error_and_is_asked_once(daemon):
    fake = FakeFetch({wire.FETCH_CLUSTER: release_doc(rounds=("r1",))})
    daemon.transport.fetch = fake.fetch  # type: ignore[method-assign]
    daemon._fetch_releases(_released())
    assert fake.asked.count(("nation", "")) == 1  # not retried for region_wait_s
    assert not list(daemon.settings.releases_dir.glob("nation-*.json"))
    assert "nation" not in daemon.status()["releases"]


def test_a_national_answer_of_another_level_is_refused(tmp_path):
    body = json.dumps(release_doc("region", "Midtjylland")).encode()
    with pytest.raises(ReleaseFormatError, match="nation release: level 'region'"):
        store_national(tmp_path, FetchResult("", wire.RELEASE_MEDIA_TYPE, body))
    assert not list(tmp_path.iterdir())
