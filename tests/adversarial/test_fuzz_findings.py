"""Defects the fuzzer found, kept as plain tests."""

from __future__ import annotations

from protocols.agent import SecAggAgent
from protocols.messages import ShareBundle, Stage
from protocols.params import RoundParams
from protocols.randomness import seeded_random_bytes
from protocols.simulator import make_cluster
from server.cluster_round import ClusterRound
from tests.adversarial.support import new_round


def test_a_resent_earlier_message_does_not_count_as_answering_the_current_stage() -> None:
    """Found by the fuzzer: a practice's ShareBundle delivered again (a new sequence number,
    the same bytes) was taken as its answer to MASKED_INPUT, so the stage closed without
    its masked input."""
    from protocols.messages import ShareBundle

    cluster = make_cluster(6, seeded_random_bytes("resend"))
    coordinator = new_round(cluster, RoundParams(5, 3, 5), length=4)
    rnd = ClusterRound(coordinator, 60.0, now=0.0)
    agents = {
        p: SecAggAgent(p, cluster.identities[p], cluster.registry) for p in cluster.practice_ids
    }
    bundles: dict[str, ShareBundle] = {}
    queue = list(rnd.start())
    while queue and rnd.stage is not Stage.MASKED_INPUT:
        item = queue.pop(0)
        reply = agents[item.practice_id].handle(item.message)
        if isinstance(reply, ShareBundle):
            bundles[item.practice_id] = reply
        if reply is not None:
            queue.extend(rnd.receive(item.practice_id, reply, 0.0))
    assert rnd.stage is Stage.MASKED_INPUT
    for pid, bundle in bundles.items():  # everyone resends its bundle: nothing is answered
        rnd.receive(pid, bundle, 0.0)
    assert rnd.stage is Stage.MASKED_INPUT
